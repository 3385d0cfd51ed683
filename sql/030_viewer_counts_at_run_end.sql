-- The nightly summary's counts are brought up to date by the run that changed them, at
-- its end (an ingest, QC or publish run whose qc.job_runs row leaves 'running'), not by
-- the first reader after it: after an ingest of a thousand nights the first summary
-- would otherwise recount them all while the reader waits. The viewer still recounts
-- what is left (a validation, a file changed outside a run) before it reads.
CREATE FUNCTION qc.viewer_counts_at_run_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qc.viewer_refresh_counts();
    RETURN NULL;
END $$;

CREATE TRIGGER job_runs_refresh_viewer_counts
    AFTER UPDATE OF status ON qc.job_runs
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
    EXECUTE FUNCTION qc.viewer_counts_at_run_end();
