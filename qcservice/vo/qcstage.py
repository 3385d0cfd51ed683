"""Stage the QC side for TAP: inputs of the published products (raw frames, master
calibrations), their provenance links, per-IFU status, metrics and a per-night summary;
and the extracted spectra (SSA and ObsCore) with the cube each was extracted from."""

from __future__ import annotations

import datetime as dt
import functools
import math

from sqlalchemy import Engine, text

from qcservice.vo.config import VOConfig
from qcservice.vo.filestats import FileStats, spectrum_snr
from qcservice.vo.stage import (
    accref,
    acl_group,
    creator_did,
    datalink_url,
    embargo,
    obs_id,
    pub_did,
)

_INPUTS_SQL = """
SELECT DISTINCT ON (f.file_id) f.file_id, f.path, f.filename, f.size_bytes, f.release_date,
       f.privilege, f.owner_group_id, f.project_id, f.kind,
       COALESCE(r.dpr_catg || COALESCE('/' || r.dpr_type, ''), p.pro_catg) AS catg,
       COALESCE(p.ifu, h.ifu) AS ifu, COALESCE(r.night, p.night) AS night,
       COALESCE(q.state, 'Undefined') AS qa_state
FROM qc.provenance pv
JOIN qc.files f ON f.file_id = pv.input_file_id
LEFT JOIN qc.raw_frames r ON r.file_id = f.file_id
LEFT JOIN qc.products p ON p.file_id = f.file_id
LEFT JOIN LATERAL (SELECT min(ifu) AS ifu FROM qc.hdus WHERE file_id = f.file_id) h ON true
LEFT JOIN qc.qa q ON q.file_id = f.file_id
WHERE pv.file_id = ANY(:ids)
ORDER BY f.file_id
"""

_PROVENANCE_SQL = """
SELECT DISTINCT pv.file_id, pv.input_file_id, pv.role, f.filename
FROM qc.provenance pv JOIN qc.files f ON f.file_id = pv.file_id
WHERE pv.file_id = ANY(:ids) AND pv.input_file_id IS NOT NULL
ORDER BY 1, 2
"""

_IFU_SQL = """
SELECT s.file_id, COALESCE(r.night, p.night) AS night, s.ifu,
       CASE WHEN s.is_valid THEN 1 ELSE 0 END AS is_valid,
       array_to_string(s.flags, ',') AS flags, s.decided_by
FROM qc.ifu_status s
LEFT JOIN qc.raw_frames r ON r.file_id = s.file_id
LEFT JOIN qc.products p ON p.file_id = s.file_id
WHERE s.file_id = ANY(:ids)
ORDER BY s.file_id, s.ifu
"""

# spellings of the catalogue that are not VOUnits (astropy's VOUnit parser rejects or
# deprecates them), and what they mean in VOUnit
_VO_UNITS = {"Angstrom": "0.1nm", "angstrom": "0.1nm", "A": "0.1nm", "pix/1000A": "0.01pix/nm",
             "pix/1000 A": "0.01pix/nm", "flux": None, "relative": None}


def is_vounit(text: str) -> bool:
    """Whether astropy reads ``text`` as a VOUnit without a warning (a deprecated unit
    warns)."""
    import warnings

    from astropy import units as u

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            u.Unit(text, format="vounit")
            return True
        except (ValueError, Warning):
            return False


@functools.lru_cache(maxsize=256)
def vo_unit(unit: str | None) -> str | None:
    """``unit`` as a VOUnit TAP can serve: mapped, or NULL when it names no unit."""
    if not unit:
        return None
    if unit in _VO_UNITS:
        return _VO_UNITS[unit]
    if is_vounit(unit):
        return unit
    import warnings

    from astropy import units as u

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # e.g. several slashes: fine, we rewrite it
        try:
            candidate = u.Unit(unit.replace("ADU", "adu")).to_string("vounit")
        except ValueError:
            return None
    return candidate if is_vounit(candidate) else None


_METRICS_SQL = """
SELECT m.file_id, COALESCE(r.night, p.night) AS night, m.ifu, m.subunit, m.name,
       m.value AS metric_value, m.unit, m.source
FROM qc.metrics m
LEFT JOIN qc.raw_frames r ON r.file_id = m.file_id
LEFT JOIN qc.products p ON p.file_id = m.file_id
WHERE m.file_id = ANY(:ids) AND m.value IS NOT NULL
ORDER BY m.file_id, m.name, m.ifu, m.subunit
"""

_NIGHTS_SQL = """
WITH nights AS (
    SELECT night, ins_mode FROM qc.raw_frames
    UNION SELECT night, ins_mode FROM qc.products WHERE pro_catg = ANY(:catgs)
)
SELECT n.night, n.ins_mode,
  (SELECT count(*) FROM qc.raw_frames r WHERE r.night = n.night
     AND r.ins_mode IS NOT DISTINCT FROM n.ins_mode) AS n_raw,
  (SELECT count(*) FROM qc.products p WHERE p.night = n.night AND p.pro_catg = ANY(:catgs)
     AND p.ins_mode IS NOT DISTINCT FROM n.ins_mode) AS n_products,
  (SELECT count(*) FROM qc.products p WHERE p.night = n.night AND p.file_id = ANY(:ids)
     AND p.ins_mode IS NOT DISTINCT FROM n.ins_mode) AS n_published,
  (SELECT count(*) FROM qc.ifu_status s
     LEFT JOIN qc.raw_frames r ON r.file_id = s.file_id
     LEFT JOIN qc.products p ON p.file_id = s.file_id
     WHERE NOT s.is_valid AND COALESCE(r.night, p.night) = n.night
       AND COALESCE(r.ins_mode, p.ins_mode) IS NOT DISTINCT FROM n.ins_mode) AS n_ifu_invalid,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r.dimm_fwhm) FROM qc.raw_frames r
     WHERE r.night = n.night AND r.dpr_catg = 'SCIENCE'
       AND r.ins_mode IS NOT DISTINCT FROM n.ins_mode) AS dimm_seeing_median
FROM nights n ORDER BY n.night, n.ins_mode
"""


def qc_rows(engine: Engine, product_ids: list[int], catgs: tuple[str, ...]) -> dict:
    """Staging rows of every QC table, keyed by staging-file stem."""
    with engine.connect() as conn:
        inputs = conn.execute(text(_INPUTS_SQL), {"ids": product_ids}).mappings().all()
        input_ids = [r["file_id"] for r in inputs]
        ids = product_ids + input_ids
        prov = conn.execute(text(_PROVENANCE_SQL), {"ids": product_ids}).mappings().all()
        ifus = conn.execute(text(_IFU_SQL), {"ids": ids}).mappings().all()
        metrics = conn.execute(text(_METRICS_SQL), {"ids": ids}).mappings().all()
        nights = conn.execute(text(_NIGHTS_SQL), {"ids": product_ids,
                                                  "catgs": list(catgs)}).mappings().all()
    return {
        "inputs": [_input_row(r) for r in inputs],
        "provenance": [{"obs_id": obs_id(r["file_id"]),
                        "product_accref": accref(r["file_id"], r["filename"]),
                        "input_file_id": r["input_file_id"], "role": r["role"]}
                       for r in prov],
        "ifu_status": [{**dict(r), "obs_id": obs_id(r["file_id"])} for r in ifus],
        "metrics": [{**dict(r), "unit": vo_unit(r["unit"]), "obs_id": obs_id(r["file_id"])}
                    for r in metrics],
        "nights": [dict(r) for r in nights],
    }


def _input_row(r) -> dict:
    return {
        "p_accref": accref(r["file_id"], r["filename"]), "p_path": r["path"],
        "p_fsize": r["size_bytes"],
        "p_owner": acl_group(r["owner_group_id"], r["project_id"], r["privilege"]),
        "p_embargo": embargo(r["release_date"]), "p_preview": None,
        "file_id": r["file_id"], "filename": r["filename"],
        "kind": "raw" if r["kind"] == "raw" else "calib", "catg": r["catg"],
        "ifu": r["ifu"], "night": r["night"], "qa_state": r["qa_state"],
    }


_SPECTRA_SQL = """
SELECT f.file_id, f.path, f.filename, f.size_bytes, f.release_date, f.privilege,
       f.owner_group_id, f.project_id, p.mjd_obs, p.ra,
       -- an extracted spectrum's header may carry no EXPTIME: the cube's exposure
       COALESCE(p.exptime, cube.exptime) AS exptime, p.dec, p.object,
       p.targ_name, p.night, p.ins_mode, p.prog_id, p.airmass, p.dimm_fwhm,
       -- a spectrum has no QC of its own: it shares the state of the cube it was
       -- extracted from (as an IMAGE_FOV does), unless a QC scientist decided
       COALESCE(q.state, cube.state, 'Undefined') AS qa_state,
       cube.file_id AS cube_id, cube.filename AS cube_filename,
       (h.header ->> 'WAVELMIN')::float AS wmin, (h.header ->> 'WAVELMAX')::float AS wmax,
       (h.header ->> 'APERTURE')::float AS aperture, h.header ->> 'ARCFILE' AS arcfile
FROM qc.products p
JOIN qc.files f USING (file_id)
JOIN qc.projects pr ON pr.project_id = f.project_id AND NOT pr.is_dry_run
LEFT JOIN qc.qa q ON q.file_id = f.file_id
LEFT JOIN qc.hdus h ON h.file_id = f.file_id AND h.hdu_index = 0
LEFT JOIN LATERAL (SELECT cf.file_id, cf.filename, cq.state, c.exptime FROM qc.provenance v
    JOIN qc.products c ON c.file_id = v.input_file_id AND c.pro_catg = 'DATACUBE_FINAL'
    JOIN qc.files cf ON cf.file_id = c.file_id
    LEFT JOIN qc.qa cq ON cq.file_id = c.file_id
    WHERE v.file_id = f.file_id LIMIT 1) AS cube ON true
WHERE p.pro_catg = 'SPECTRUM_1D' AND COALESCE(q.state, cube.state, 'Undefined') = ANY(:states)
ORDER BY f.file_id
"""


def _aperture_octagon(ra: float | None, dec: float | None,
                      radius_deg: float) -> list[list[float]] | None:
    """An octagon circumscribing the extraction aperture: the spectrum's s_region."""
    if ra is None or dec is None:
        return None
    r = radius_deg / math.cos(math.pi / 8)
    cos_dec = max(math.cos(math.radians(dec)), 1e-6)
    return [[ra + r * math.cos(a) / cos_dec, dec + r * math.sin(a)]
            for a in (math.pi / 8 + k * math.pi / 4 for k in range(8))]


def spectra_rows(engine: Engine, vo: VOConfig, stats: FileStats,
                 published_cubes: set[str] = frozenset()) -> list[dict]:
    """Staging rows of the SSA table (also in ivoa.obscore): extracted spectra in a
    publishable QA state; ``cube_accref`` names their cube when it is published too."""
    with engine.connect() as conn:
        rows = conn.execute(text(_SPECTRA_SQL),
                            {"states": list(vo.publishable)}).mappings().all()
    out = []
    for r in rows:
        cube = accref(r["cube_id"], r["cube_filename"]) if r["cube_id"] else None
        wmin = (r["wmin"] or 475.0) * 1e-9   # WAVELMIN/MAX are in nm (ESO SDP)
        wmax = (r["wmax"] or 935.0) * 1e-9
        ref = accref(r["file_id"], r["filename"])
        snr = stats.measure("snr", r["path"], spectrum_snr)
        out.append({
            "p_accref": ref, "p_path": r["path"],
            "p_fsize": r["size_bytes"],
            "p_owner": acl_group(r["owner_group_id"], r["project_id"], r["privilege"]),
            "p_embargo": embargo(r["release_date"]),
            "file_id": r["file_id"], "qa_state": r["qa_state"],
            "snr": snr and snr["snr"],
            "obs_creator_did": creator_did(r["arcfile"], pub_did(vo, ref)),
            "dl_url": datalink_url(vo, ref, "muse/ssa/dl"),
            "title": f"MUSE spectrum of {r['object'] or r['targ_name']}, night {r['night']}",
            "target": r["targ_name"] or r["object"], "ra": r["ra"], "dec": r["dec"],
            "mjd": r["mjd_obs"], "exptime": r["exptime"],
            # SSA's BAND and ObsCore's em_min/em_max read these (specmid/specext are
            # ignored by DaCHS 2.7's setMeta: BAND found nothing)
            "specstart": wmin, "specend": wmax,
            "aperture": r["aperture"] or 0.0002,
            "obs_id": obs_id(r["file_id"]), "night": r["night"],
            "corners": _aperture_octagon(r["ra"], r["dec"], r["aperture"] or 0.0002),
            "ins_mode": r["ins_mode"], "prog_id": r["prog_id"], "airmass": r["airmass"],
            "dimm_seeing": r["dimm_fwhm"],
            "obs_release_date": dt.datetime.combine(r["release_date"], dt.time()),
            "cube_accref": cube if cube in published_cubes else None,
        })
    return out
