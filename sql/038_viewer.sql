-- replaces: 4 30 31 35 36 37
-- The QA viewer's schema objects: its sessions, the nightly summary's counts and the heat
-- map's cells, with the triggers that keep them up to date. A squash: migrations 004,
-- 030, 031, 035, 036 and 037 built this step by step, each restating the functions it
-- changed; this file says the final state once (a database that has all six records it
-- without running it: qcservice/db/migrate.py).

-- The viewer's server-side sessions. The browser holds only a random token; the
-- database keeps its SHA-256, the user, the CSRF token of the session and the project and
-- mode the user chose. Deleting a user ends their sessions.
CREATE TABLE qc.viewer_sessions (
    token_hash  text PRIMARY KEY,            -- sha256 hex of the cookie's token
    user_id     integer NOT NULL REFERENCES qc.users ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    project     text NOT NULL DEFAULT 'GTO',
    ins_mode    text,                        -- NULL: every mode
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX viewer_sessions_user ON qc.viewer_sessions (user_id);
CREATE INDEX viewer_sessions_expires ON qc.viewer_sessions (expires_at);

-- The nightly summary's categories and validity, in one place for every query. ---------
-- SCIENCE raw / scibasic / scipost, BIAS, DARK, FLAT, WAVE raw / reduced, standard stars
-- (raw STD frames); white-light images (IMAGE_FOV) and extracted spectra (SPECTRUM_1D)
-- have columns of their own (group OTHER). qcservice/vocabulary.py says the same (a test
-- compares them).
CREATE FUNCTION qc.viewer_raw_category(p_catg text, p_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_catg = 'SCIENCE' THEN 'science_raw'
        WHEN p_type = 'BIAS' THEN 'bias_raw' WHEN p_type = 'DARK' THEN 'dark_raw'
        WHEN p_type LIKE 'FLAT%' THEN 'flat_raw' WHEN p_type = 'WAVE' THEN 'wave_raw'
        WHEN p_type LIKE 'STD%' THEN 'std_raw' END
$$;

CREATE FUNCTION qc.viewer_product_category(p_catg text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_catg
        WHEN 'PIXTABLE_OBJECT' THEN 'science_scibasic' WHEN 'OBJECT_RED' THEN 'science_scibasic'
        WHEN 'DATACUBE_FINAL' THEN 'science_scipost'
        WHEN 'MASTER_BIAS' THEN 'bias_red' WHEN 'MASTER_DARK' THEN 'dark_red'
        WHEN 'MASTER_FLAT' THEN 'flat_red' WHEN 'WAVECAL_TABLE' THEN 'wave_red'
        WHEN 'IMAGE_FOV' THEN 'image_fov' WHEN 'SPECTRUM_1D' THEN 'spectrum_1d' END
$$;

-- 1 valid, -1 invalid, 0 not assessed. A raw frame: its QA state when Pass/Usable/Fail,
-- else invalid when any IFU is invalid, valid when QC assessed its IFUs. A product: its
-- QA state (Pass/Usable valid, Fail invalid). qc.viewer_validity_of is inlinable: a
-- night's recount reads the IFU statuses in one pass instead of starting an executor for
-- each file's sub-selects.
CREATE FUNCTION qc.viewer_validity_of(p_state text, p_raw boolean, p_any_invalid boolean,
                                      p_assessed boolean) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_state IN ('Pass', 'Usable') THEN 1 WHEN p_state = 'Fail' THEN -1
        WHEN NOT p_raw THEN 0 WHEN p_any_invalid THEN -1 WHEN p_assessed THEN 1
        ELSE 0 END::smallint
$$;

CREATE FUNCTION qc.viewer_validity(p_file_id bigint, p_kind text, p_state text)
RETURNS smallint LANGUAGE sql STABLE AS $$
    SELECT qc.viewer_validity_of(
        p_state, p_kind = 'raw',
        EXISTS (SELECT 1 FROM qc.ifu_status s WHERE s.file_id = p_file_id AND NOT s.is_valid),
        EXISTS (SELECT 1 FROM qc.ifu_status s WHERE s.file_id = p_file_id))
$$;

-- The nightly summary, kept per night and visibility class so that the summary of a
-- thousand nights is read, not recomputed. Triggers note the nights whose files, QA or
-- IFU statuses changed in qc.viewer_dirty_nights (an append-only queue: no lock between
-- concurrent writers; NULL means every night); qc.viewer_refresh_counts() recomputes
-- those nights, at the end of the run that changed them and before the viewer reads.
CREATE TABLE qc.viewer_night_counts (
    project_id     integer NOT NULL,
    night          date NOT NULL,
    ins_mode       text,
    cat            text NOT NULL,
    owner_group_id integer NOT NULL,          -- 0: none
    privilege      smallint NOT NULL,
    release_date   date NOT NULL,
    sample_file_id bigint NOT NULL,           -- one file of this class, to ask qc.may_see
    n              integer NOT NULL,
    n_valid        integer NOT NULL,
    n_invalid      integer NOT NULL,
    exptime        double precision,          -- s, science exposures
    dimm_sum       double precision,          -- arcsec, science exposures
    dimm_n         integer NOT NULL
);
CREATE INDEX viewer_night_counts_night ON qc.viewer_night_counts (night);

-- The visibility classes of the counts, one sample file each (a few rows per night).
CREATE TABLE qc.viewer_count_classes (
    project_id     integer NOT NULL,
    owner_group_id integer NOT NULL,
    privilege      smallint NOT NULL,
    release_date   date NOT NULL,
    sample_file_id bigint NOT NULL,
    PRIMARY KEY (project_id, owner_group_id, privilege, release_date)
);
CREATE INDEX viewer_count_classes_sample ON qc.viewer_count_classes (sample_file_id);

-- The counts summed over the modes: the summary of every mode (the default) reads a third
-- of the rows.
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

CREATE TABLE qc.viewer_dirty_nights (night date, noted_at timestamptz NOT NULL DEFAULT now());
INSERT INTO qc.viewer_dirty_nights (night) VALUES (NULL);

-- A night's statements are planned for the nights asked (EXECUTE ... USING): a SQL
-- function's generic plan expects thousands of files for "night = ANY ($1)" and
-- hash-joins every QA row.
CREATE FUNCTION qc.viewer_count_nights(p_nights date[]) RETURNS void
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
               qc.viewer_validity_of(q.state, true, s.bad, s.seen)
        FROM qc.raw_frames r LEFT JOIN qc.qa q USING (file_id)
        LEFT JOIN LATERAL (SELECT bool_or(NOT is_valid) AS bad, count(*) > 0 AS seen
                           FROM qc.ifu_status WHERE file_id = r.file_id) s ON true
        WHERE r.night = ANY ($1)
        UNION ALL
        SELECT p.file_id, p.night, p.ins_mode, qc.viewer_product_category(p.pro_catg),
               NULL, NULL, false, qc.viewer_validity_of(q.state, false, NULL, NULL)
        FROM qc.products p LEFT JOIN qc.qa q USING (file_id)
        WHERE p.night = ANY ($1)
    ) x (file_id, night, ins_mode, cat, exptime, dimm, sci, validity)
    JOIN qc.files f USING (file_id)
    WHERE x.cat IS NOT NULL
    GROUP BY f.project_id, x.night, x.ins_mode, x.cat, coalesce(f.owner_group_id, 0),
             f.privilege, f.release_date$q$ USING p_nights;
END $$;

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

-- Empty a queue of nights noted dirty (qc.viewer_dirty_nights, qc.viewer_dirty_cells):
-- the nights noted, and whether every night was (a NULL night).
CREATE FUNCTION qc.viewer_take_dirty(p_queue text, OUT todo date[], OUT everything boolean)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    EXECUTE format('WITH gone AS (DELETE FROM qc.%I RETURNING night) '
                   'SELECT array_agg(DISTINCT night) FILTER (WHERE night IS NOT NULL), '
                   'bool_or(night IS NULL) FROM gone', p_queue) INTO todo, everything;
END $$;

-- Recompute the nights noted dirty; returns how many (-1: all of them). The check for
-- visibility classes whose sample file left them reads the classes of the recounted
-- nights only: a class's sample file is counted in its night, and a file that changes
-- its class or goes notes that night dirty.
CREATE FUNCTION qc.viewer_refresh_counts() RETURNS integer
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
    SELECT d.todo, d.everything INTO todo, everything FROM qc.viewer_take_dirty('viewer_dirty_nights') d;
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

-- Statement-level triggers: 'night' tables carry the night, 'file' tables a file_id.
CREATE FUNCTION qc.viewer_note_nights() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO qc.viewer_dirty_nights (night) VALUES (NULL);
    ELSIF TG_ARGV[0] = 'night' THEN
        INSERT INTO qc.viewer_dirty_nights (night) SELECT DISTINCT night FROM changed;
    ELSE
        INSERT INTO qc.viewer_dirty_nights (night)
        SELECT r.night FROM qc.raw_frames r WHERE r.file_id IN (SELECT file_id FROM changed)
        UNION
        SELECT p.night FROM qc.products p WHERE p.file_id IN (SELECT file_id FROM changed);
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('raw_frames', 'night'), ('products', 'night'),
                                   ('qa', 'file'), ('ifu_status', 'file'), ('files', 'file'))
                            AS v (tab, how) LOOP
        IF t.tab <> 'files' THEN
            EXECUTE format('CREATE TRIGGER viewer_note_ins AFTER INSERT ON qc.%I '
                           'REFERENCING NEW TABLE AS changed FOR EACH STATEMENT '
                           'EXECUTE FUNCTION qc.viewer_note_nights(%L)', t.tab, t.how);
            EXECUTE format('CREATE TRIGGER viewer_note_del AFTER DELETE ON qc.%I '
                           'REFERENCING OLD TABLE AS changed FOR EACH STATEMENT '
                           'EXECUTE FUNCTION qc.viewer_note_nights(%L)', t.tab, t.how);
        END IF;
        EXECUTE format('CREATE TRIGGER viewer_note_upd_new AFTER UPDATE ON qc.%I '
                       'REFERENCING NEW TABLE AS changed FOR EACH STATEMENT '
                       'EXECUTE FUNCTION qc.viewer_note_nights(%L)', t.tab, t.how);
        IF t.how = 'night' THEN
            EXECUTE format('CREATE TRIGGER viewer_note_upd_old AFTER UPDATE ON qc.%I '
                           'REFERENCING OLD TABLE AS changed FOR EACH STATEMENT '
                           'EXECUTE FUNCTION qc.viewer_note_nights(%L)', t.tab, t.how);
        END IF;
        EXECUTE format('CREATE TRIGGER viewer_note_trunc AFTER TRUNCATE ON qc.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION qc.viewer_note_nights(%L)',
                       t.tab, t.how);
    END LOOP;
END $$;

-- The heat map's cells (nights x IFU), kept per night, file type, mode, IFU and
-- visibility class, so that the heat map of a thousand nights reads 24,000 narrow rows
-- instead of joining files, metrics and IFU statuses of 24,000 files while the reader
-- waits. Only the files the summary counts (of a category) have cells, so their
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

-- The cells' files are a CTE of each statement (planned for the nights asked), not a
-- temporary table without statistics (which made the planner hash every metric).
CREATE FUNCTION qc.viewer_cell_nights(p_nights date[]) RETURNS void
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

-- The cells are brought up to date by the heat map and at the end of a run, not by every
-- recount of the summary (the summary read right after a validation would pay for cells
-- it does not show). The nights whose counts were recounted, and those whose metrics
-- changed (which the summary does not count), are noted in qc.viewer_dirty_cells (NULL:
-- every night).
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

-- Recount the summary first (the cells use its visibility classes), then recompute the
-- cells of the nights noted; returns how many nights' cells (-1: all of them).
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

-- At the end of a run (an ingest, QC or publish run whose qc.job_runs row leaves
-- 'running'): the summary and the cells, so that the first reader after an ingest of a
-- thousand nights waits for neither. The viewer still recounts what is left (a
-- validation, a file changed outside a run) before it reads.
CREATE FUNCTION qc.viewer_counts_at_run_end() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM qc.viewer_refresh_cells();
    RETURN NULL;
END $$;

CREATE TRIGGER job_runs_refresh_viewer_counts
    AFTER UPDATE OF status ON qc.job_runs
    FOR EACH ROW WHEN (OLD.status = 'running' AND NEW.status <> 'running')
    EXECUTE FUNCTION qc.viewer_counts_at_run_end();
