-- What batch QC leaves besides metrics: which files it has done (for incremental reruns),
-- and the images and plots it saved (files on disk, referenced here).

-- One row per file QC has processed: done, or failed with its error. A file whose
-- qc.files.updated_at is newer than file_updated_at, or whose code_version differs from
-- the running code's, is done again.
CREATE TABLE qc.qc_done (
    file_id         bigint PRIMARY KEY REFERENCES qc.files ON DELETE CASCADE,
    task            text NOT NULL,               -- e.g. 'raw_bias', 'master_flat', 'cube'
    status          text NOT NULL CHECK (status IN ('done', 'failed')),
    error           text,
    file_updated_at timestamptz NOT NULL,
    code_version    text NOT NULL,
    run_id          bigint REFERENCES qc.job_runs ON DELETE SET NULL,
    done_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qc_done_status ON qc.qc_done (status);

-- Images and plots QC saved: white-light and RGB images of cubes, QC plots. ``path`` is
-- absolute; ``ifu`` NULL for whole-field images.
CREATE TABLE qc.qc_images (
    image_id   bigserial PRIMARY KEY,
    file_id    bigint NOT NULL REFERENCES qc.files ON DELETE CASCADE,
    ifu        smallint CHECK (ifu BETWEEN 1 AND 24),
    kind       text NOT NULL,     -- 'white_light', 'rgb', 'psf_fwhm', 'psf_drift', 'sky_residual', ...
    title      text NOT NULL DEFAULT '',
    path       text NOT NULL,
    mime       text NOT NULL DEFAULT 'image/png',
    run_id     bigint REFERENCES qc.job_runs ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX qc_images_identity ON qc.qc_images (file_id, kind, COALESCE(ifu, 0));
