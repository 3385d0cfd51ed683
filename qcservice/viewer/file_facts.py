"""What the pages show about one file: catalogue row, observation, QA, IFUs, metrics."""

from __future__ import annotations

from qcservice.viewer.db import row as one
from qcservice.viewer.db import rows
from qcservice.vocabulary import N_IFU

_FILE = """
SELECT f.file_id, f.filename, f.path, f.kind, f.size_bytes, f.checksum, f.privilege,
       f.release_date, f.ingested_at, p.name AS project, g.name AS owner_group,
       coalesce(r.night, x.night) AS night, coalesce(r.date_obs, x.date_obs) AS date_obs,
       coalesce(r.mjd_obs, x.mjd_obs) AS mjd_obs, coalesce(r.ins_mode, x.ins_mode) AS ins_mode,
       coalesce(r.exptime, x.exptime) AS exptime, coalesce(r.object, x.object) AS object,
       coalesce(r.targ_name, x.targ_name) AS targ_name,
       coalesce(r.prog_id, x.prog_id) AS prog_id, coalesce(r.pi_coi, x.pi_coi) AS pi_coi,
       coalesce(r.observer, x.observer) AS observer, coalesce(r.airmass, x.airmass) AS airmass,
       coalesce(r.dimm_fwhm, x.dimm_fwhm) AS dimm_fwhm, coalesce(r.ra, x.ra) AS ra,
       coalesce(r.dec, x.dec) AS dec, coalesce(r.drot_posang, x.drot_posang) AS drot_posang,
       r.dpr_catg, r.dpr_type, r.dpr_tech, r.n_ifu, x.pro_catg, x.pro_type, x.ifu,
       x.ncombine, x.creation_date, x.creator,
       q.auto_state, q.state, q.decided_by AS qa_decided_by, q.comment AS qa_comment,
       coalesce(q.flags, '{}') AS qa_flags, d.status AS qc_status, d.error AS qc_error,
       (SELECT h.header ->> 'ARCFILE' FROM qc.hdus h
        WHERE h.file_id = f.file_id AND h.hdu_index = 0) AS reference_name
FROM qc.files f JOIN qc.projects p USING (project_id)
LEFT JOIN qc.groups g ON g.group_id = f.owner_group_id
LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products x USING (file_id)
LEFT JOIN qc.qa q USING (file_id) LEFT JOIN qc.qc_done d USING (file_id)
WHERE f.file_id = :fid"""


# For lists of files (alias ``f``): how many IFUs are assessed, flagged and invalid, and
# which flags on which IFUs ("BAD_RON (IFU 3, 7), HIGH_DARK (IFU 12)").
IFU_SUMMARY = """LEFT JOIN LATERAL (
    SELECT count(*) AS n_status, count(*) FILTER (WHERE cardinality(s.flags) > 0) AS n_flagged,
           count(*) FILTER (WHERE NOT s.is_valid) AS n_invalid,
           (SELECT string_agg(flag || ' (IFU ' || ifus || ')', ', ' ORDER BY flag) FROM (
                SELECT flag, string_agg(s2.ifu::text, ', ' ORDER BY s2.ifu) AS ifus
                FROM qc.ifu_status s2, unnest(s2.flags) AS flag
                WHERE s2.file_id = f.file_id GROUP BY flag) z) AS ifu_flags
    FROM qc.ifu_status s WHERE s.file_id = f.file_id) st ON true"""


def file_record(file_id: int) -> dict | None:
    """Catalogue, observation and QA facts of one file."""
    return one(_FILE, fid=file_id)


def ifu_grid(file_id: int) -> list[dict | None]:
    """The 24 IFU statuses of a file (None where QC has not been), IFU 1 first."""
    cells: list[dict | None] = [None] * N_IFU
    for r in rows("SELECT ifu, flags, is_valid, decided_by, comment, updated_at "
                  "FROM qc.ifu_status WHERE file_id = :fid", fid=file_id):
        cells[r["ifu"] - 1] = r
    return cells


def grid_counts(cells: list[dict | None]) -> dict:
    """How many IFUs are flagged, invalid, assessed: '3 of 24 flagged'."""
    known = [c for c in cells if c is not None]
    return {"assessed": len(known),
            "flagged": sum(1 for c in known if c["flags"]),
            "invalid": sum(1 for c in known if not c["is_valid"])}


def ifu_metrics(file_id: int) -> dict[str, dict]:
    """Per metric: unit and the median over sub-units of each IFU (``values[ifu-1]``)."""
    out: dict[str, dict] = {}
    for r in rows("""
            SELECT name, ifu, max(unit) AS unit, count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median
            FROM qc.metrics WHERE file_id = :fid AND ifu IS NOT NULL AND value IS NOT NULL
            GROUP BY name, ifu ORDER BY name, ifu""", fid=file_id):
        m = out.setdefault(r["name"], {"unit": r["unit"] or "", "values": [None] * N_IFU})
        m["values"][r["ifu"] - 1] = r["median"]
    return out


def file_metrics(file_id: int) -> list[dict]:
    """The whole-file metrics (no IFU), by name and sub-unit."""
    return rows("SELECT name, subunit, value, value_text, unit, source FROM qc.metrics "
                "WHERE file_id = :fid AND ifu IS NULL ORDER BY name, subunit", fid=file_id)


def provenance(file_id: int) -> list[dict]:
    """The inputs of a product, with their file ids when catalogued."""
    return rows("SELECT recipe, role, input_name, input_catg, input_file_id "
                "FROM qc.provenance WHERE file_id = :fid "
                "ORDER BY recipe_index, role DESC, input_index", fid=file_id)


def recipe_runs(file_id: int) -> list[dict]:
    """The pipeline run (musedc reduce) that wrote a product: status, time, memory, log."""
    return rows("SELECT r.recipe, r.run_key, r.status, r.duration_s, r.peak_mem_mb, "
                "r.message, r.log, r.inputs FROM qc.recipe_runs r JOIN "
                "qc.recipe_run_products p USING (recipe_run_id) WHERE p.file_id = :fid",
                fid=file_id)


def audit(file_id: int) -> list[dict]:
    """The audit log of a file, newest first."""
    return rows("SELECT at, actor, action, ifu, old_value, new_value, comment "
                "FROM qc.audit_log WHERE file_id = :fid ORDER BY at DESC, entry_id DESC",
                fid=file_id)


def images(file_id: int) -> list[dict]:
    """The QC images and plots of a file."""
    return rows("SELECT image_id, ifu, kind, title FROM qc.qc_images WHERE file_id = :fid "
                "ORDER BY kind, ifu NULLS FIRST", fid=file_id)
