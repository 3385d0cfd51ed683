-- The qc schema: the catalogue of files, raw frames and products, one long narrow metrics
-- table, dated thresholds, per-IFU status, QA state, audit log, job runs, and the people.
-- Files stay on disk: this holds paths, checksums, headers and metrics, never pixels.

CREATE EXTENSION IF NOT EXISTS pg_sphere;
CREATE EXTENSION IF NOT EXISTS q3c;
CREATE SCHEMA IF NOT EXISTS qc;

CREATE TABLE qc.schema_migrations (
    version     integer PRIMARY KEY,
    filename    text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);

-- people and rights ---------------------------------------------------------------------
CREATE TABLE qc.projects (
    project_id  serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    is_dry_run  boolean NOT NULL DEFAULT false
);
INSERT INTO qc.projects (name, description, is_dry_run) VALUES
    ('GTO', 'MUSE GTO production', false),
    ('GTO-DRYRUN', 'MUSE GTO dry run: reprocessing tests, never published', true);

-- A group owns data: a programme's team, a project, the whole consortium.
CREATE TABLE qc.groups (
    group_id    serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL DEFAULT 'programme'
                CHECK (kind IN ('programme', 'project', 'consortium', 'other')),
    description text NOT NULL DEFAULT ''
);
INSERT INTO qc.groups (name, kind, description) VALUES
    ('consortium', 'consortium', 'every member of the MUSE GTO consortium');

CREATE TABLE qc.users (
    user_id       serial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    full_name     text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    password_hash text,
    role          text NOT NULL DEFAULT 'reader'
                  CHECK (role IN ('reader', 'qc_scientist', 'admin')),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE qc.user_groups (
    user_id  integer NOT NULL REFERENCES qc.users ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES qc.groups ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

-- job runs: ingest, qc, publish (status from the database, not from log files) ----------
CREATE TABLE qc.job_runs (
    run_id      bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('ingest', 'qc', 'publish', 'simulate')),
    status      text NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'finished', 'failed', 'nothing_to_do')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    host        text NOT NULL DEFAULT '',
    args        jsonb NOT NULL DEFAULT '{}',
    n_done      integer NOT NULL DEFAULT 0,
    n_skipped   integer NOT NULL DEFAULT 0,
    n_failed    integer NOT NULL DEFAULT 0,
    message     text NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_kind_started ON qc.job_runs (kind, started_at DESC);

-- files ---------------------------------------------------------------------------------
CREATE TABLE qc.files (
    file_id        bigserial PRIMARY KEY,
    path           text NOT NULL UNIQUE,
    filename       text NOT NULL,
    size_bytes     bigint NOT NULL,
    mtime          timestamptz NOT NULL,
    checksum       text,             -- 'sha256:<hex>' of the whole file, or NULL when not computed
    kind           text NOT NULL CHECK (kind IN ('raw', 'product')),
    n_hdu          integer NOT NULL,
    project_id     integer NOT NULL REFERENCES qc.projects,
    owner_group_id integer REFERENCES qc.groups,
    release_date   date NOT NULL,
    ingested_at    timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    ingest_run_id  bigint REFERENCES qc.job_runs
);
CREATE INDEX files_filename ON qc.files (filename);
CREATE INDEX files_release ON qc.files (release_date);

-- The full header of every HDU, one row per HDU, as a JSON object of keyword -> value
-- (COMMENT and HISTORY as lists). HIERARCH keywords keep ESO's spaces: "ESO DPR CATG".
CREATE TABLE qc.hdus (
    file_id   bigint NOT NULL REFERENCES qc.files ON DELETE CASCADE,
    hdu_index integer NOT NULL,
    extname   text,
    ifu       smallint CHECK (ifu BETWEEN 1 AND 24),
    header    jsonb NOT NULL,
    PRIMARY KEY (file_id, hdu_index)
);

-- raw frames ----------------------------------------------------------------------------
CREATE TABLE qc.raw_frames (
    file_id     bigint PRIMARY KEY REFERENCES qc.files ON DELETE CASCADE,
    night       date NOT NULL,
    date_obs    timestamp NOT NULL,   -- UT
    mjd_obs     double precision,
    dpr_catg    text NOT NULL,
    dpr_type    text,
    dpr_tech    text,
    ins_mode    text,
    exptime     real,                 -- s
    object      text,
    targ_name   text,
    prog_id     text,
    obs_id      bigint,
    pi_coi      text,
    observer    text,
    airmass     real,                 -- mean of TEL AIRM START/END
    dimm_fwhm   real,                 -- arcsec, mean of TEL AMBI FWHM START/END
    ra          double precision,     -- deg ICRS
    dec         double precision,     -- deg ICRS
    pos         spoint GENERATED ALWAYS AS (spoint(radians(ra), radians(dec))) STORED,
    drot_posang real,                 -- deg
    n_ifu       smallint NOT NULL     -- CHANnn extensions present (24 for a complete frame)
);
CREATE INDEX raw_frames_night ON qc.raw_frames (night);
CREATE INDEX raw_frames_mode_night ON qc.raw_frames (ins_mode, night);
CREATE INDEX raw_frames_catg_night ON qc.raw_frames (dpr_catg, dpr_type, night);
CREATE INDEX raw_frames_pos ON qc.raw_frames USING gist (pos);
CREATE INDEX raw_frames_q3c ON qc.raw_frames (q3c_ang2ipix(ra, dec));

-- pipeline products ---------------------------------------------------------------------
CREATE TABLE qc.products (
    file_id       bigint PRIMARY KEY REFERENCES qc.files ON DELETE CASCADE,
    pro_catg      text NOT NULL,
    pro_type      text,
    pro_tech      text,
    ifu           smallint CHECK (ifu BETWEEN 1 AND 24),   -- NULL: the whole field
    night         date NOT NULL,
    date_obs      timestamp NOT NULL,
    mjd_obs       double precision,
    ins_mode      text,
    exptime       real,
    object        text,
    targ_name     text,
    prog_id       text,
    pi_coi        text,
    observer      text,
    airmass       real,
    dimm_fwhm     real,
    ra            double precision,
    dec           double precision,
    pos           spoint GENERATED ALWAYS AS (spoint(radians(ra), radians(dec))) STORED,
    drot_posang   real,
    ncombine      integer,                -- ESO PRO DATANCOM
    creation_date timestamp,              -- DATE: when the pipeline wrote it
    creator       text                    -- last recipe and pipeline version
);
CREATE INDEX products_night ON qc.products (night);
CREATE INDEX products_catg_night ON qc.products (pro_catg, night);
CREATE INDEX products_mode_night ON qc.products (ins_mode, night);
CREATE INDEX products_pos ON qc.products USING gist (pos);
CREATE INDEX products_q3c ON qc.products (q3c_ang2ipix(ra, dec));

-- Provenance: the inputs each product was made from (ESO PRO RECi RAWj / CALj). An input
-- may be catalogued later, or never: its name is kept and input_file_id filled when known.
CREATE TABLE qc.provenance (
    file_id       bigint NOT NULL REFERENCES qc.products ON DELETE CASCADE,
    recipe_index  smallint NOT NULL,
    recipe        text,
    role          text NOT NULL CHECK (role IN ('raw', 'calib')),
    input_index   smallint NOT NULL,
    input_name    text NOT NULL,
    input_catg    text,
    input_md5     text,
    input_file_id bigint REFERENCES qc.files ON DELETE SET NULL,
    PRIMARY KEY (file_id, recipe_index, role, input_index)
);
CREATE INDEX provenance_input_name ON qc.provenance (input_name);
CREATE INDEX provenance_input_file ON qc.provenance (input_file_id);

-- metrics: one long, narrow table ---------------------------------------------------------
-- One value of one metric of one file, for one IFU (NULL: the whole file) and sub-unit
-- (quadrant, slice, source, ...: the index of the QC keyword, NULL when there is none).
-- Harvested header keywords keep the ESO dictionary's shape: "QC BIAS MASTERi RON" with
-- subunit '1'.
CREATE TABLE qc.metrics (
    metric_id   bigserial PRIMARY KEY,
    file_id     bigint NOT NULL REFERENCES qc.files ON DELETE CASCADE,
    ifu         smallint CHECK (ifu BETWEEN 1 AND 24),
    subunit     text,
    name        text NOT NULL,
    value       double precision,
    value_text  text,                     -- for the few non-numeric QC keywords
    unit        text,
    source      text NOT NULL CHECK (source IN ('header', 'computed')),
    run_id      bigint REFERENCES qc.job_runs ON DELETE SET NULL,
    computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX metrics_identity ON qc.metrics
    (file_id, source, name, COALESCE(ifu, 0), COALESCE(subunit, ''));
CREATE INDEX metrics_name_ifu ON qc.metrics (name, ifu);

-- thresholds as dated data (DESI Nightwatch) ----------------------------------------------
CREATE TABLE qc.thresholds (
    threshold_id serial PRIMARY KEY,
    metric       text NOT NULL,
    ins_mode     text,                    -- NULL: every mode
    ifu          smallint CHECK (ifu BETWEEN 1 AND 24),
    subunit      text,
    flag         text NOT NULL,           -- the flag raised, e.g. BAD_RON
    nominal      double precision,
    warn_low     double precision,
    warn_high    double precision,
    error_low    double precision,
    error_high   double precision,
    unit         text,
    valid_from   date NOT NULL,           -- first night it applies to
    source       text NOT NULL DEFAULT '',
    comment      text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX thresholds_identity ON qc.thresholds
    (metric, COALESCE(ins_mode, ''), COALESCE(ifu, 0), COALESCE(subunit, ''), flag, valid_from);

-- QA: per-IFU status and the product's QA state (Gemini FitsStorage vocabulary) ----------
CREATE TABLE qc.qa_states (
    code        text PRIMARY KEY,
    rank        smallint NOT NULL UNIQUE,
    description text NOT NULL
);
INSERT INTO qc.qa_states VALUES
    ('Pass', 1, 'meets every requirement'),
    ('Usable', 2, 'has problems that do not prevent its use'),
    ('Fail', 3, 'must not be used'),
    ('Check', 4, 'needs a look by a QC scientist'),
    ('Undefined', 5, 'not assessed yet');

CREATE TABLE qc.ifu_status (
    file_id    bigint NOT NULL REFERENCES qc.files ON DELETE CASCADE,
    ifu        smallint NOT NULL CHECK (ifu BETWEEN 1 AND 24),
    flags      text[] NOT NULL DEFAULT '{}',
    is_valid   boolean NOT NULL DEFAULT true,
    decided_by text NOT NULL DEFAULT 'auto',   -- 'auto' or the QC scientist's username
    comment    text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (file_id, ifu)
);
CREATE INDEX ifu_status_invalid ON qc.ifu_status (file_id) WHERE NOT is_valid;

CREATE TABLE qc.qa (
    file_id     bigint PRIMARY KEY REFERENCES qc.files ON DELETE CASCADE,
    auto_state  text NOT NULL DEFAULT 'Undefined' REFERENCES qc.qa_states,
    state       text NOT NULL DEFAULT 'Undefined' REFERENCES qc.qa_states,  -- what counts
    decided_by  text NOT NULL DEFAULT 'auto',
    comment     text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_state ON qc.qa (state);

-- the audit log: append-only ------------------------------------------------------------
CREATE TABLE qc.audit_log (
    entry_id   bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    file_id    bigint,                    -- no foreign key: the log outlives what it names
    ifu        smallint,
    old_value  jsonb,
    new_value  jsonb,
    comment    text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_file ON qc.audit_log (file_id, at);

CREATE FUNCTION qc.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'qc.audit_log is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON qc.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION qc.audit_log_is_append_only();

-- files that could not be taken, with the reason (cleared when the file is taken later) --
CREATE TABLE qc.ingest_failures (
    path        text PRIMARY KEY,
    reason      text NOT NULL,
    size_bytes  bigint,
    mtime       timestamptz,
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    run_id      bigint REFERENCES qc.job_runs ON DELETE SET NULL
);
