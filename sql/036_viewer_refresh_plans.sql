-- A night's refresh of the nightly summary's counts and the heat map's cells (sql/004,
-- sql/035) in milliseconds, not a second, with a thousand nights catalogued:
-- * the nights' statements are planned for the nights asked (EXECUTE ... USING): a SQL
--   function's generic plan expects thousands of files for "night = ANY ($1)" and
--   hash-joins every QA row; a temporary table without statistics made the planner
--   hash all 600,000 metrics for a night's 600 (EXPLAIN ANALYZE: 714 of 750 ms);
-- * the cells' files are a CTE of each statement, not a temporary table created in
--   every transaction;
-- * the check for visibility classes whose sample file left them reads the classes of
--   the recounted nights only: a class's sample file is counted in its night, and a
--   file that changes its class or goes notes that night dirty (sql/004 triggers);
-- * the summary of every mode (the default) reads the counts summed over the modes,
--   kept beside them (a third of the rows: the bench's summary SQL took half the time).

CREATE TABLE qc.viewer_night_totals (
    project_id     integer NOT NULL,
    night          date NOT NULL,
    cat            text NOT NULL,
    owner_group_id integer NOT NULL,
    privilege      smallint NOT NULL,
    release_date   date NOT NULL,
    n              integer NOT NULL,
    n_valid        integer NOT NULL,
    n_invalid      integer NOT NULL,
    exptime        double precision,
    dimm_sum       double precision,
    dimm_n         integer NOT NULL
);
CREATE INDEX viewer_night_totals_night ON qc.viewer_night_totals (night);

-- The totals of the nights (NULL: every night) from their counts.
CREATE FUNCTION qc.viewer_total_nights(p_nights date[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    EXECUTE $q$
    INSERT INTO qc.viewer_night_totals
    SELECT project_id, night, cat, owner_group_id, privilege, release_date, sum(n),
           sum(n_valid), sum(n_invalid), sum(exptime), sum(dimm_sum), sum(dimm_n)
    FROM qc.viewer_night_counts WHERE $1 IS NULL OR night = ANY ($1)
    GROUP BY project_id, night, cat, owner_group_id, privilege, release_date$q$
    USING p_nights;
END $$;

CREATE OR REPLACE FUNCTION qc.viewer_count_nights(p_nights date[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    EXECUTE $q$
    INSERT INTO qc.viewer_night_counts
    SELECT f.project_id, x.night, x.ins_mode, x.cat, coalesce(f.owner_group_id, 0),
           f.privilege, f.release_date, min(f.file_id), count(*),
           count(*) FILTER (WHERE x.validity = 1), count(*) FILTER (WHERE x.validity = -1),
           sum(x.exptime) FILTER (WHERE x.sci), sum(x.dimm) FILTER (WHERE x.sci),
           count(x.dimm) FILTER (WHERE x.sci)
    FROM (
        SELECT r.file_id, r.night, r.ins_mode, qc.viewer_raw_category(r.dpr_catg, r.dpr_type),
               r.exptime, r.dimm_fwhm, r.dpr_catg = 'SCIENCE',
               qc.viewer_validity(r.file_id, 'raw', q.state)
        FROM qc.raw_frames r LEFT JOIN qc.qa q USING (file_id)
        WHERE r.night = ANY ($1)
        UNION ALL
        SELECT p.file_id, p.night, p.ins_mode, qc.viewer_product_category(p.pro_catg),
               NULL, NULL, false, qc.viewer_validity(p.file_id, 'product', q.state)
        FROM qc.products p LEFT JOIN qc.qa q USING (file_id)
        WHERE p.night = ANY ($1)
    ) x (file_id, night, ins_mode, cat, exptime, dimm, sci, validity)
    JOIN qc.files f USING (file_id)
    WHERE x.cat IS NOT NULL
    GROUP BY f.project_id, x.night, x.ins_mode, x.cat, coalesce(f.owner_group_id, 0),
             f.privilege, f.release_date$q$ USING p_nights;
END $$;

CREATE OR REPLACE FUNCTION qc.viewer_cell_nights(p_nights date[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    -- the files of the nights that have cells (those of a summary category)
    files CONSTANT text := $f$
    x AS (SELECT x.file_id, x.night, x.ftype, x.ins_mode, f.project_id,
                 coalesce(f.owner_group_id, 0) AS og, f.privilege AS priv,
                 f.release_date AS rel
          FROM (SELECT file_id, night, dpr_type, ins_mode FROM qc.raw_frames
                WHERE night = ANY ($1) AND dpr_type IS NOT NULL
                  AND qc.viewer_raw_category(dpr_catg, dpr_type) IS NOT NULL
                UNION ALL
                SELECT file_id, night, pro_catg, ins_mode FROM qc.products
                WHERE night = ANY ($1) AND qc.viewer_product_category(pro_catg) IS NOT NULL
                ) x (file_id, night, ftype, ins_mode)
          JOIN qc.files f USING (file_id))$f$;
BEGIN
    EXECUTE 'WITH ' || files || $q$
    INSERT INTO qc.viewer_ifu_states
    SELECT DISTINCT ON (x.project_id, x.night, x.ftype, x.ins_mode, s.ifu, x.og, x.priv,
                        x.rel)
           x.project_id, x.night, x.ftype, x.ins_mode, s.ifu, x.og, x.priv, x.rel,
           CASE WHEN NOT s.is_valid THEN 2 WHEN cardinality(s.flags) > 0 THEN 1 ELSE 0 END,
           s.file_id, s.flags
    FROM x JOIN qc.ifu_status s USING (file_id)
    ORDER BY x.project_id, x.night, x.ftype, x.ins_mode, s.ifu, x.og, x.priv, x.rel,
             9 DESC, s.file_id$q$ USING p_nights;
    EXECUTE 'WITH ' || files || $q$
    INSERT INTO qc.viewer_ifu_values
    SELECT x.project_id, x.night, x.ftype, x.ins_mode, m.ifu, x.og, x.priv, x.rel, m.name,
           min(m.file_id), array_agg(m.value)
    FROM x JOIN qc.metrics m USING (file_id)
    WHERE m.ifu IS NOT NULL AND m.value IS NOT NULL
    GROUP BY x.project_id, x.night, x.ftype, x.ins_mode, m.ifu, x.og, x.priv, x.rel,
             m.name$q$ USING p_nights;
END $$;

CREATE INDEX viewer_count_classes_sample ON qc.viewer_count_classes (sample_file_id);

-- Recompute the nights noted dirty; returns how many (-1: all of them).
CREATE OR REPLACE FUNCTION qc.viewer_refresh_counts() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    todo date[];
    everything boolean;
    samples bigint[];    -- the sample files of the recounted nights' classes
    n_stale integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM qc.viewer_dirty_nights) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('qc.viewer_night_counts'));
    WITH gone AS (DELETE FROM qc.viewer_dirty_nights RETURNING night)
    SELECT array_agg(DISTINCT night) FILTER (WHERE night IS NOT NULL), bool_or(night IS NULL)
    INTO todo, everything FROM gone;
    IF everything THEN
        DELETE FROM qc.viewer_night_counts;
        PERFORM qc.viewer_count_nights(ARRAY(SELECT night FROM qc.raw_frames
                                             UNION SELECT night FROM qc.products));
        DELETE FROM qc.viewer_night_totals;
        PERFORM qc.viewer_total_nights(NULL);
        n_stale := 0;
    ELSIF todo IS NOT NULL THEN
        WITH old AS (DELETE FROM qc.viewer_night_counts WHERE night = ANY (todo)
                     RETURNING sample_file_id)
        SELECT array_agg(DISTINCT sample_file_id) INTO samples FROM old;
        PERFORM qc.viewer_count_nights(todo);
        DELETE FROM qc.viewer_night_totals WHERE night = ANY (todo);
        PERFORM qc.viewer_total_nights(todo);
        -- a class whose sample file left it (deleted; owner, privilege or release changed)
        DELETE FROM qc.viewer_count_classes c
        WHERE c.sample_file_id = ANY (samples) AND NOT EXISTS (
            SELECT 1 FROM qc.files f WHERE f.file_id = c.sample_file_id
               AND f.project_id = c.project_id
               AND coalesce(f.owner_group_id, 0) = c.owner_group_id
               AND f.privilege = c.privilege AND f.release_date = c.release_date);
        GET DIAGNOSTICS n_stale = ROW_COUNT;
    ELSE
        RETURN 0;
    END IF;
    IF everything OR n_stale > 0 THEN
        DELETE FROM qc.viewer_count_classes;
        INSERT INTO qc.viewer_count_classes
        SELECT project_id, owner_group_id, privilege, release_date, min(sample_file_id)
        FROM qc.viewer_night_counts
        GROUP BY project_id, owner_group_id, privilege, release_date;
    ELSE
        INSERT INTO qc.viewer_count_classes
        SELECT project_id, owner_group_id, privilege, release_date, min(sample_file_id)
        FROM qc.viewer_night_counts WHERE night = ANY (todo)
        GROUP BY project_id, owner_group_id, privilege, release_date
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN CASE WHEN everything THEN -1 ELSE cardinality(todo) END;
END $$;

SELECT qc.viewer_total_nights(NULL);
