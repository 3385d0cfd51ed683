-- The QA viewer's server-side sessions. The browser holds only a random token; the
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
-- SCIENCE raw / scibasic / scipost, BIAS, DARK, FLAT, WAVE raw / reduced (prototype).
CREATE FUNCTION qc.viewer_raw_category(p_catg text, p_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_catg = 'SCIENCE' THEN 'science_raw'
        WHEN p_type = 'BIAS' THEN 'bias_raw' WHEN p_type = 'DARK' THEN 'dark_raw'
        WHEN p_type LIKE 'FLAT%' THEN 'flat_raw' WHEN p_type = 'WAVE' THEN 'wave_raw' END
$$;

CREATE FUNCTION qc.viewer_product_category(p_catg text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_catg
        WHEN 'PIXTABLE_OBJECT' THEN 'science_scibasic' WHEN 'OBJECT_RED' THEN 'science_scibasic'
        WHEN 'DATACUBE_FINAL' THEN 'science_scipost'
        WHEN 'MASTER_BIAS' THEN 'bias_red' WHEN 'MASTER_DARK' THEN 'dark_red'
        WHEN 'MASTER_FLAT' THEN 'flat_red' WHEN 'WAVECAL_TABLE' THEN 'wave_red' END
$$;

-- 1 valid, -1 invalid, 0 not assessed. A raw frame: its QA state when Pass/Usable/Fail,
-- else invalid when any IFU is invalid, valid when QC assessed its IFUs. A product: its
-- QA state (Pass/Usable valid, Fail invalid).
CREATE FUNCTION qc.viewer_validity(p_file_id bigint, p_kind text, p_state text)
RETURNS smallint LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_state IN ('Pass', 'Usable') THEN 1 WHEN p_state = 'Fail' THEN -1
        WHEN p_kind <> 'raw' THEN 0
        WHEN EXISTS (SELECT 1 FROM qc.ifu_status s WHERE s.file_id = p_file_id
                     AND NOT s.is_valid) THEN -1
        WHEN EXISTS (SELECT 1 FROM qc.ifu_status s WHERE s.file_id = p_file_id) THEN 1
        ELSE 0 END::smallint
$$;

-- The nightly summary, kept per night and visibility class so that the summary of a
-- thousand nights is read, not recomputed. Triggers note the nights whose files, QA or
-- IFU statuses changed in qc.viewer_dirty_nights (an append-only queue: no lock between
-- concurrent writers; NULL means every night); qc.viewer_refresh_counts() recomputes
-- those nights, and the viewer calls it before reading.
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

CREATE TABLE qc.viewer_dirty_nights (night date, noted_at timestamptz NOT NULL DEFAULT now());
INSERT INTO qc.viewer_dirty_nights (night) VALUES (NULL);

CREATE FUNCTION qc.viewer_count_nights(p_nights date[]) RETURNS void
LANGUAGE sql VOLATILE AS $$
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
        WHERE r.night = ANY (p_nights)
        UNION ALL
        SELECT p.file_id, p.night, p.ins_mode, qc.viewer_product_category(p.pro_catg),
               NULL, NULL, false, qc.viewer_validity(p.file_id, 'product', q.state)
        FROM qc.products p LEFT JOIN qc.qa q USING (file_id)
        WHERE p.night = ANY (p_nights)
    ) x (file_id, night, ins_mode, cat, exptime, dimm, sci, validity)
    JOIN qc.files f USING (file_id)
    WHERE x.cat IS NOT NULL
    GROUP BY f.project_id, x.night, x.ins_mode, x.cat, coalesce(f.owner_group_id, 0),
             f.privilege, f.release_date
$$;

-- Recompute the nights noted dirty; returns how many (-1: all of them).
CREATE FUNCTION qc.viewer_refresh_counts() RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    todo date[];
    everything boolean;
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
    ELSIF todo IS NOT NULL THEN
        DELETE FROM qc.viewer_night_counts WHERE night = ANY (todo);
        PERFORM qc.viewer_count_nights(todo);
    ELSE
        RETURN 0;
    END IF;
    -- a class whose sample file left it (deleted; owner, privilege or release changed)
    DELETE FROM qc.viewer_count_classes c WHERE NOT EXISTS (
        SELECT 1 FROM qc.files f WHERE f.file_id = c.sample_file_id
           AND f.project_id = c.project_id AND coalesce(f.owner_group_id, 0) = c.owner_group_id
           AND f.privilege = c.privilege AND f.release_date = c.release_date);
    GET DIAGNOSTICS n_stale = ROW_COUNT;
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
