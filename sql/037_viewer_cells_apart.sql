-- The heat map's cells (sql/035) are brought up to date by the heat map and at the end of
-- a run, no longer by every recount of the nightly summary: the summary read right after
-- a change outside a run (a validation, a new metric) paid for cells it does not show
-- (20-50 ms of a night's refresh, more under load). The nights whose counts were
-- recounted, and those whose metrics changed (which the summary does not count), are
-- noted in qc.viewer_dirty_cells (NULL: every night); qc.viewer_refresh_cells() recounts
-- the summary first (the cells use its visibility classes), then those nights' cells.

DROP TRIGGER viewer_cells_del ON qc.viewer_night_counts;
DROP TRIGGER viewer_cells_ins ON qc.viewer_night_counts;
DROP FUNCTION qc.viewer_cells_follow_counts();

CREATE TABLE qc.viewer_dirty_cells (night date, noted_at timestamptz NOT NULL DEFAULT now());
INSERT INTO qc.viewer_dirty_cells (night) VALUES (NULL);

-- Recounted nights: their cells follow (statement triggers on the counts' deletions and
-- insertions: a night with files no more, a night new).
CREATE FUNCTION qc.viewer_note_cells() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'viewer_night_counts' THEN
        INSERT INTO qc.viewer_dirty_cells (night) SELECT DISTINCT night FROM changed;
    ELSIF TG_OP = 'TRUNCATE' THEN
        INSERT INTO qc.viewer_dirty_cells (night) VALUES (NULL);
    ELSE   -- metrics: by file
        INSERT INTO qc.viewer_dirty_cells (night)
        SELECT r.night FROM qc.raw_frames r WHERE r.file_id IN (SELECT file_id FROM changed)
        UNION
        SELECT p.night FROM qc.products p WHERE p.file_id IN (SELECT file_id FROM changed);
    END IF;
    RETURN NULL;
END $$;

-- Metrics change the cells only: the summary no longer recounts their nights.
DROP TRIGGER viewer_note_ins ON qc.metrics;
DROP TRIGGER viewer_note_del ON qc.metrics;
DROP TRIGGER viewer_note_upd_new ON qc.metrics;
DROP TRIGGER viewer_note_trunc ON qc.metrics;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('viewer_night_counts', 'viewer_cells_note_ins', 'INSERT', 'NEW'),
                                   ('viewer_night_counts', 'viewer_cells_note_del', 'DELETE', 'OLD'),
                                   ('metrics', 'viewer_note_ins', 'INSERT', 'NEW'),
                                   ('metrics', 'viewer_note_del', 'DELETE', 'OLD'),
                                   ('metrics', 'viewer_note_upd_new', 'UPDATE', 'NEW'))
                            AS v (tab, name, op, side) LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER %s ON qc.%I REFERENCING %s TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION qc.viewer_note_cells()',
                       t.name, t.op, t.tab, t.side);
    END LOOP;
END $$;
CREATE TRIGGER viewer_note_trunc AFTER TRUNCATE ON qc.metrics
    FOR EACH STATEMENT EXECUTE FUNCTION qc.viewer_note_cells();

-- Recount the summary, then recompute the cells of the nights noted; returns how many
-- nights' cells (-1: all of them).
CREATE FUNCTION qc.viewer_refresh_cells() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    todo date[];
    everything boolean;
BEGIN
    PERFORM qc.viewer_refresh_counts();
    IF NOT EXISTS (SELECT 1 FROM qc.viewer_dirty_cells) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('qc.viewer_ifu_states'));
    SELECT d.todo, d.everything INTO todo, everything FROM qc.viewer_take_dirty('viewer_dirty_cells') d;
    IF everything THEN
        todo := ARRAY(SELECT night FROM qc.raw_frames UNION SELECT night FROM qc.products);
        DELETE FROM qc.viewer_ifu_states;
        DELETE FROM qc.viewer_ifu_values;
    ELSIF todo IS NOT NULL THEN
        DELETE FROM qc.viewer_ifu_states WHERE night = ANY (todo);
        DELETE FROM qc.viewer_ifu_values WHERE night = ANY (todo);
    ELSE
        RETURN 0;
    END IF;
    PERFORM qc.viewer_cell_nights(todo);
    RETURN CASE WHEN everything THEN -1 ELSE cardinality(todo) END;
END $$;

-- At the end of a run: the summary and the cells (the heat map's first reader waits for
-- neither).
CREATE OR REPLACE FUNCTION qc.viewer_counts_at_run_end() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qc.viewer_refresh_cells();
    RETURN NULL;
END $$;
