-- Reduction with the official MUSE pipeline (musedc reduce): one row per recipe run.
-- A run is keyed by what it makes (recipe, night, group of raw frames, IFU); its inputs
-- are the exact files the association chose (path, SOF tag, checksum, file_id when
-- catalogued), so a product's provenance names the very calibrations used. input_digest
-- changes when any input changes: the run is then done again.

ALTER TABLE qc.job_runs DROP CONSTRAINT IF EXISTS job_runs_kind_check;
ALTER TABLE qc.job_runs ADD CONSTRAINT job_runs_kind_check
    CHECK (kind IN ('ingest', 'qc', 'publish', 'simulate', 'reduce'));

CREATE TABLE qc.recipe_runs (
    recipe_run_id bigserial PRIMARY KEY,
    run_key       text NOT NULL UNIQUE,     -- e.g. 2014-12-07/muse_flat/<group>/IFU02
    recipe        text NOT NULL,            -- muse_bias ... muse_scipost
    night         date NOT NULL,
    ifu           smallint CHECK (ifu BETWEEN 1 AND 24),   -- NULL: all IFUs together
    ins_mode      text,
    status        text NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'blocked')),
    inputs        jsonb NOT NULL DEFAULT '[]',   -- [{path, tag, sha256, file_id}]
    outputs       jsonb NOT NULL DEFAULT '[]',   -- [{path, pro_catg, data_sha256}]
    params        jsonb NOT NULL DEFAULT '[]',
    input_digest  text NOT NULL,
    message       text NOT NULL DEFAULT '',      -- the pipeline's own error lines
    log           text NOT NULL DEFAULT '',      -- the tail of esorex.log
    duration_s    real,
    peak_mem_mb   real,
    workdir       text,
    started_at    timestamptz,
    finished_at   timestamptz,
    job_run_id    bigint REFERENCES qc.job_runs ON DELETE SET NULL
);
CREATE INDEX recipe_runs_night ON qc.recipe_runs (night, recipe);

-- The products a recipe run wrote, once catalogued: provenance to the exact run.
CREATE TABLE qc.recipe_run_products (
    recipe_run_id bigint NOT NULL REFERENCES qc.recipe_runs ON DELETE CASCADE,
    file_id       bigint NOT NULL REFERENCES qc.files ON DELETE CASCADE,
    PRIMARY KEY (recipe_run_id, file_id)
);
CREATE INDEX recipe_run_products_file ON qc.recipe_run_products (file_id);
