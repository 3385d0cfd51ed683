-- Duplicate exposures (issue #14). A raw file whose exposure is already catalogued (the
-- same ARCFILE, else the same DATE-OBS, instrument and DPR keys) is a copy under another
-- name: it keeps its qc.files row (path, size, checksum, headers) and gets a row here
-- naming the first file of that exposure, but no qc.raw_frames row and no metrics, so
-- every night count, summary, QC run and publication, which all start from raw_frames,
-- counts the exposure once.

ALTER TABLE qc.raw_frames ADD COLUMN arcfile text, ADD COLUMN instrume text;

CREATE TABLE qc.duplicates (
    file_id          bigint PRIMARY KEY REFERENCES qc.files ON DELETE CASCADE,
    original_file_id bigint NOT NULL REFERENCES qc.files ON DELETE CASCADE,
    reason           text NOT NULL,       -- 'same ARCFILE ...' or 'same DATE-OBS ...'
    found_at         timestamptz NOT NULL DEFAULT now(),
    run_id           bigint REFERENCES qc.job_runs,
    CHECK (file_id <> original_file_id)
);
CREATE INDEX duplicates_original ON qc.duplicates (original_file_id);

-- What is catalogued already: ARCFILE and INSTRUME from the stored primary headers, and
-- the duplicates among them (the first file_id of an exposure stays the raw frame). A
-- function, so that the move is tested on a catalogue that holds copies.
CREATE FUNCTION qc.mark_duplicate_exposures() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    moved integer;
BEGIN
    CREATE TEMPORARY TABLE seen ON COMMIT DROP AS
        SELECT r.file_id, h.header ->> 'ARCFILE' AS arcfile,
               h.header ->> 'INSTRUME' AS instrume, r.date_obs, r.dpr_catg, r.dpr_type,
               r.dpr_tech
        FROM qc.raw_frames r JOIN qc.hdus h ON h.file_id = r.file_id AND h.hdu_index = 0;

    INSERT INTO qc.duplicates (file_id, original_file_id, reason)
    SELECT file_id, first_id, 'same ARCFILE ' || arcfile FROM (
        SELECT file_id, arcfile,
               min(file_id) OVER (PARTITION BY arcfile, date_obs) AS first_id
        FROM seen WHERE arcfile IS NOT NULL) d
    WHERE file_id <> first_id;

    INSERT INTO qc.duplicates (file_id, original_file_id, reason)
    SELECT file_id, first_id, 'same DATE-OBS, instrument and DPR keys' FROM (
        SELECT file_id, min(file_id) OVER (PARTITION BY instrume, date_obs, dpr_catg,
                                           dpr_type, dpr_tech) AS first_id
        FROM seen
        WHERE instrume IS NOT NULL
          AND file_id NOT IN (SELECT file_id FROM qc.duplicates)) d
    WHERE file_id <> first_id;

    DELETE FROM seen WHERE file_id NOT IN (SELECT file_id FROM qc.duplicates);
    SELECT count(*) INTO moved FROM seen;
    DELETE FROM qc.metrics WHERE file_id IN (SELECT file_id FROM seen);
    DELETE FROM qc.ifu_status WHERE file_id IN (SELECT file_id FROM seen);
    DELETE FROM qc.qa WHERE file_id IN (SELECT file_id FROM seen);
    DELETE FROM qc.qc_done WHERE file_id IN (SELECT file_id FROM seen);
    DELETE FROM qc.qc_images WHERE file_id IN (SELECT file_id FROM seen);
    DELETE FROM qc.raw_frames WHERE file_id IN (SELECT file_id FROM seen);
    DROP TABLE seen;

    UPDATE qc.raw_frames r       -- what stays: the columns the ingest now fills
    SET arcfile = h.header ->> 'ARCFILE', instrume = h.header ->> 'INSTRUME'
    FROM qc.hdus h
    WHERE h.file_id = r.file_id AND h.hdu_index = 0 AND r.instrume IS NULL;
    RETURN moved;
END $$;

SELECT qc.mark_duplicate_exposures();

-- One raw frame per ARCFILE and DATE-OBS, whatever runs at once (ESO names the archive
-- file after DATE-OBS; a file whose two disagree was edited and counts on its own). The
-- DATE-OBS rule is kept by the ingest: hand-made catalogues of tests and benchmarks
-- share one DATE-OBS on purpose.
CREATE UNIQUE INDEX raw_frames_arcfile ON qc.raw_frames (arcfile, date_obs)
    WHERE arcfile IS NOT NULL;
CREATE INDEX raw_frames_exposure ON qc.raw_frames (date_obs, dpr_catg);
