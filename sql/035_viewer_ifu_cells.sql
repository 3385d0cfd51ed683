-- The heat map's cells (nights x IFU), kept per night, file type, mode, IFU and
-- visibility class, so that the heat map of a thousand nights reads 24,000 narrow rows
-- instead of joining files, metrics and IFU statuses of 24,000 files while the reader
-- waits. They follow the nightly summary's counts: whenever qc.viewer_refresh_counts()
-- deletes and recounts nights (at the end of a run, before the viewer reads, after a
-- validation), triggers on qc.viewer_night_counts delete and recompute the same nights'
-- cells. Only the files the summary counts (of a category) have cells, so their
-- visibility classes are the counts' (qc.viewer_count_classes).

-- The worst IFU status of the class's files: 2 invalid, 1 flagged, 0 fine; the file
-- is the first of the worst.
CREATE TABLE qc.viewer_ifu_states (
    project_id     integer NOT NULL,
    night          date NOT NULL,
    ftype          text NOT NULL,             -- DPR TYPE of raw frames, PRO CATG of products
    ins_mode       text,
    ifu            smallint NOT NULL,
    owner_group_id integer NOT NULL,          -- 0: none
    privilege      smallint NOT NULL,
    release_date   date NOT NULL,
    worst          smallint NOT NULL,
    file_id        bigint NOT NULL,
    flags          text[] NOT NULL
);
CREATE INDEX viewer_ifu_states_type_night ON qc.viewer_ifu_states (ftype, night, ifu);
CREATE INDEX viewer_ifu_states_night ON qc.viewer_ifu_states (night);   -- a night's refresh

-- Every value of one metric of the class's files for one IFU (all its sub-units): the
-- heat map's median is taken over the classes the reader may see. file_id: the first
-- file with a value.
CREATE TABLE qc.viewer_ifu_values (
    project_id     integer NOT NULL,
    night          date NOT NULL,
    ftype          text NOT NULL,
    ins_mode       text,
    ifu            smallint NOT NULL,
    owner_group_id integer NOT NULL,
    privilege      smallint NOT NULL,
    release_date   date NOT NULL,
    metric         text NOT NULL,
    file_id        bigint NOT NULL,
    vals           double precision[] NOT NULL
);
CREATE INDEX viewer_ifu_values_metric ON qc.viewer_ifu_values (metric, ftype, night, ifu);
CREATE INDEX viewer_ifu_values_night ON qc.viewer_ifu_values (night);

CREATE FUNCTION qc.viewer_cell_nights(p_nights date[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    CREATE TEMPORARY TABLE IF NOT EXISTS viewer_cell_files (
        file_id bigint, night date, ftype text, ins_mode text, project_id integer,
        og integer, priv smallint, rel date) ON COMMIT DROP;
    TRUNCATE viewer_cell_files;
    INSERT INTO viewer_cell_files
    SELECT x.file_id, x.night, x.ftype, x.ins_mode, f.project_id,
           coalesce(f.owner_group_id, 0), f.privilege, f.release_date
    FROM (SELECT file_id, night, dpr_type, ins_mode FROM qc.raw_frames
          WHERE night = ANY (p_nights) AND dpr_type IS NOT NULL
            AND qc.viewer_raw_category(dpr_catg, dpr_type) IS NOT NULL
          UNION ALL
          SELECT file_id, night, pro_catg, ins_mode FROM qc.products
          WHERE night = ANY (p_nights) AND qc.viewer_product_category(pro_catg) IS NOT NULL
          ) x (file_id, night, ftype, ins_mode)
    JOIN qc.files f USING (file_id);
    INSERT INTO qc.viewer_ifu_states
    SELECT DISTINCT ON (x.project_id, x.night, x.ftype, x.ins_mode, s.ifu, x.og, x.priv,
                        x.rel)
           x.project_id, x.night, x.ftype, x.ins_mode, s.ifu, x.og, x.priv, x.rel,
           CASE WHEN NOT s.is_valid THEN 2 WHEN cardinality(s.flags) > 0 THEN 1 ELSE 0 END,
           s.file_id, s.flags
    FROM viewer_cell_files x JOIN qc.ifu_status s USING (file_id)
    ORDER BY x.project_id, x.night, x.ftype, x.ins_mode, s.ifu, x.og, x.priv, x.rel,
             9 DESC, s.file_id;
    INSERT INTO qc.viewer_ifu_values
    SELECT x.project_id, x.night, x.ftype, x.ins_mode, m.ifu, x.og, x.priv, x.rel, m.name,
           min(m.file_id), array_agg(m.value)
    FROM viewer_cell_files x JOIN qc.metrics m USING (file_id)
    WHERE m.ifu IS NOT NULL AND m.value IS NOT NULL
    GROUP BY x.project_id, x.night, x.ftype, x.ins_mode, m.ifu, x.og, x.priv, x.rel, m.name;
END $$;

CREATE FUNCTION qc.viewer_cells_follow_counts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    nights date[];
BEGIN
    SELECT array_agg(DISTINCT night) INTO nights FROM changed;
    IF nights IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM qc.viewer_ifu_states WHERE night = ANY (nights);
    DELETE FROM qc.viewer_ifu_values WHERE night = ANY (nights);
    IF TG_OP = 'INSERT' THEN
        PERFORM qc.viewer_cell_nights(nights);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER viewer_cells_del AFTER DELETE ON qc.viewer_night_counts
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION qc.viewer_cells_follow_counts();
CREATE TRIGGER viewer_cells_ins AFTER INSERT ON qc.viewer_night_counts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION qc.viewer_cells_follow_counts();

-- Metrics change the cells (not the counts): their nights are noted dirty as well.
CREATE TRIGGER viewer_note_ins AFTER INSERT ON qc.metrics
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION qc.viewer_note_nights('file');
CREATE TRIGGER viewer_note_del AFTER DELETE ON qc.metrics
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION qc.viewer_note_nights('file');
CREATE TRIGGER viewer_note_upd_new AFTER UPDATE ON qc.metrics
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
    EXECUTE FUNCTION qc.viewer_note_nights('file');
CREATE TRIGGER viewer_note_trunc AFTER TRUNCATE ON qc.metrics
    FOR EACH STATEMENT EXECUTE FUNCTION qc.viewer_note_nights('file');

INSERT INTO qc.viewer_dirty_nights (night) VALUES (NULL);
