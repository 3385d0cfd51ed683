"""Stage what DaCHS publishes: JSON-lines files read by ``qcservice/vo/resources/muse/q.rd``.

The qc schema is the one source. This module selects the final products (cubes and
images) in a publishable QA state, their inputs (raw frames, master calibrations), the
per-IFU QC, the metrics and a per-night summary, and writes them under the instance's
``inputs/muse/stage``. ``dachs imp muse/q`` then replaces the published tables, so a
validation change is reflected at the next publish.

QC values are read from ``qc.metrics`` by name (see :data:`QC_METRICS`); a missing metric
is a NULL column, never a guess.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine, text

from qcservice import metricnames as mn
from qcservice.vo.config import VOConfig
from qcservice.vo.filestats import FileStats, abmaglim, white_noise
from qcservice.vocabulary import N_IFU, PUBLISHED_CATEGORIES, WAVE_RANGE_A

MUSE_RES_POWER = 3000.0

# Which metric fills which QC column: (name, subunit) in order of preference. Computed
# metrics (batch QC) first, then harvested QC1 keywords of the pipeline.
QC_METRICS = {
    "psf_fwhm_7000": "COALESCE(" + ", ".join([
        "(SELECT value FROM qc.metrics m WHERE m.file_id = f.file_id AND m.source = 'computed'"
        f" AND m.name = '{mn.PSF_FWHM}' AND m.subunit = '7000' LIMIT 1)",
        "(SELECT NULLIF(value, 0) FROM qc.metrics m WHERE m.file_id = f.file_id"
        " AND m.name = 'QC SCIPOST FWHM MEDIAN' LIMIT 1)",
        "(SELECT avg(value) FROM qc.metrics m WHERE m.file_id = f.file_id AND m.value > 0"
        " AND m.name IN ('QC SCIPOST FWHMi X', 'QC SCIPOST FWHMi Y',"
        " 'QC EXPCOMB FWHMi X', 'QC EXPCOMB FWHMi Y'))"]) + ")",
    "psf_fwhm_blue": "(SELECT value FROM qc.metrics m WHERE m.file_id = f.file_id"
                     f" AND m.source = 'computed' AND m.name = '{mn.PSF_FWHM}'"
                     " AND m.subunit = '5000' LIMIT 1)",
    "psf_fwhm_red": "(SELECT value FROM qc.metrics m WHERE m.file_id = f.file_id"
                    f" AND m.source = 'computed' AND m.name = '{mn.PSF_FWHM}'"
                    " AND m.subunit = '9000' LIMIT 1)",
    # relative: the RMS of the sky-line residuals over what noise alone gives (1 = ideal)
    "sky_residual": "(SELECT value FROM qc.metrics m WHERE m.file_id = f.file_id"
                    f" AND m.source = 'computed' AND m.name = '{mn.SKY_RESIDUAL_RATIO}'"
                    " AND m.ifu IS NULL LIMIT 1)",
    # the stars' RMS offset from their 7000 A positions (pixels) times the spaxel size
    "astrometry_rms": "(SELECT d.value * s.value FROM qc.metrics d JOIN qc.metrics s"
                      f" ON s.file_id = d.file_id AND s.name = '{mn.CUBE_PIXSCALE}'"
                      " AND s.source = 'computed' WHERE d.file_id = f.file_id"
                      f" AND d.source = 'computed' AND d.name = '{mn.PSF_DRIFT_RMS}' LIMIT 1)",
    # a cube has no per-IFU status of its own: an IFU counts as valid unless QC found it
    # invalid in the product or in a raw frame or master calibration it was made from
    "n_valid_ifu": "(SELECT CASE WHEN count(*) = 0 THEN NULL"
                   f" ELSE {N_IFU} - count(DISTINCT s.ifu) FILTER (WHERE NOT s.is_valid) END"
                   " FROM qc.ifu_status s WHERE s.file_id = f.file_id OR s.file_id IN"
                   " (SELECT v.input_file_id FROM qc.provenance v WHERE v.file_id = f.file_id))",
}

_PRODUCTS_SQL = """
SELECT * FROM (
SELECT f.file_id, f.path, f.filename, f.size_bytes, f.release_date, f.privilege,
       f.owner_group_id, f.project_id, p.pro_catg, p.night, p.mjd_obs, p.exptime,
       p.ins_mode, p.object, p.targ_name, p.prog_id, p.airmass, p.dimm_fwhm, p.ra, p.dec,
       -- an IMAGE_FOV has no QC of its own: it shares the state of its cube (same
       -- exposures: same night, DATE-OBS and mode)
       COALESCE(q.state, (SELECT cq.state FROM qc.products c JOIN qc.qa cq USING (file_id)
                          WHERE p.pro_catg = 'IMAGE_FOV' AND c.pro_catg = 'DATACUBE_FINAL'
                            AND c.night = p.night AND c.date_obs = p.date_obs
                            AND c.ins_mode IS NOT DISTINCT FROM p.ins_mode LIMIT 1),
                'Undefined') AS qa_state,
       (SELECT h.header FROM qc.hdus h WHERE h.file_id = f.file_id
        ORDER BY (h.extname = 'DATA') IS TRUE DESC, h.hdu_index LIMIT 1) AS data_header,
       (SELECT h.header ->> 'ARCFILE' FROM qc.hdus h WHERE h.file_id = f.file_id
        AND h.hdu_index = 0) AS arcfile,
       -- an IMAGE_FOV without a PNG of its own shows its cube's white light (the same
       -- exposures): without a preview DaCHS would make one from the file itself for
       -- ?preview=True, past the embargo guard (it crashed on the empty primary: 500)
       COALESCE((SELECT i.path FROM qc.qc_images i WHERE i.file_id = f.file_id
                 AND i.kind = 'white_light' AND i.ifu IS NULL LIMIT 1),
                -- (not a cube released later: its pixels stay behind its own embargo)
                (SELECT i.path FROM qc.products c JOIN qc.qc_images i USING (file_id)
                 JOIN qc.files cf ON cf.file_id = c.file_id
                 WHERE p.pro_catg = 'IMAGE_FOV' AND c.pro_catg = 'DATACUBE_FINAL'
                   AND cf.release_date <= f.release_date
                   AND c.night = p.night AND c.date_obs = p.date_obs
                   AND c.ins_mode IS NOT DISTINCT FROM p.ins_mode
                   AND i.kind = 'white_light' AND i.ifu IS NULL LIMIT 1)) AS preview_path,
       x.first_start, x.last_end, x.exptime_sum, x.n_exposures,
       (SELECT count(DISTINCT v.input_name) FROM qc.provenance v WHERE v.file_id = f.file_id
        AND v.role = 'raw' AND v.input_catg = 'OBJECT') AS n_object_inputs,
       GREATEST(f.updated_at, q.updated_at) AS last_mod,
       {qc}
FROM qc.products p
JOIN qc.files f USING (file_id)
JOIN qc.projects pr ON pr.project_id = f.project_id AND NOT pr.is_dry_run
LEFT JOIN qc.qa q ON q.file_id = f.file_id
-- the raw science exposures the product was combined from (its provenance)
LEFT JOIN LATERAL (
    SELECT min(r.mjd_obs) AS first_start, max(r.mjd_obs + r.exptime / 86400.0) AS last_end,
           sum(r.exptime) AS exptime_sum, count(*) AS n_exposures
    FROM qc.raw_frames r
    WHERE r.dpr_catg = 'SCIENCE' AND r.file_id IN (
        SELECT v.input_file_id FROM qc.provenance v
        WHERE v.file_id = f.file_id AND v.role = 'raw')) AS x ON true
WHERE p.pro_catg = ANY(:catgs) AND p.ifu IS NULL
) AS candidates
WHERE qa_state = ANY(:states)
ORDER BY file_id
"""


def acl_group(owner_group_id: int | None, project_id: int, privilege: int) -> str:
    """The DaCHS group owning files of this (owner, project, privilege): see accounts."""
    return f"acl_{owner_group_id or 0}_{project_id}_{privilege}"


def accref(file_id: int, filename: str) -> str:
    return f"muse/{file_id}/{filename}"


def obs_id(file_id: int) -> str:
    return f"musedc-{file_id}"


def standard_pub_did(authority: str, ref: str) -> str:
    """DaCHS's standard publisher DID of an accref under ``authority``."""
    return f"ivo://{authority}/~?{quote(ref, safe='/')}"


def pub_did(vo: VOConfig, ref: str) -> str:
    """DaCHS's standard publisher DID of an accref of this site."""
    return standard_pub_did(vo.authority, ref)


def datalink_url(vo: VOConfig, ref: str, service: str = "muse/q/dl") -> str:
    """The DataLink document of a product: ObsCore's access_url (as at ESO)."""
    return f"{vo.url}/{service}/dlmeta?ID={quote(pub_did(vo, ref), safe='')}"


def creator_did(arcfile: str | None, publisher_did: str) -> str:
    """ESO's DID of an ESO archive product (ARCFILE ADP.*), else the consortium's: it
    created the product (a pipeline product's ARCFILE names its first raw frame)."""
    if arcfile and arcfile.startswith("ADP."):
        return f"ivo://eso.org/ID?{arcfile.removesuffix('.fits')}"
    return publisher_did


def embargo(release: dt.date, today: dt.date | None = None) -> str | None:
    """The DaCHS embargo date: the release date while it is in the future, else None."""
    today = today or dt.date.today()
    return release.isoformat() if release > today else None


def _geometry(header: dict) -> dict:
    """Footprint, sampling and spectral range from a DATA header's WCS."""
    n1, n2 = int(header.get("NAXIS1", 0)), int(header.get("NAXIS2", 0))
    scale = abs(float(header.get("CD2_2", header.get("CDELT2", 0.2 / 3600))))
    out: dict = {"s_xel1": n1, "s_xel2": n2, "s_pixel_scale": scale * 3600,
                 "s_fov": math.hypot(n1, n2) * scale}
    try:
        from astropy.io import fits
        from astropy.wcs import WCS

        with warnings.catch_warnings():   # astropy's WCS fixes; this block only
            warnings.simplefilter("ignore")
            hdr = fits.Header({k: v for k, v in header.items()
                               if isinstance(v, int | float | str) and len(k) <= 8})
            wcs = WCS(hdr).celestial
            corners = wcs.calc_footprint(axes=(n1, n2))
        out["corners"] = [[float(ra), float(dec)] for ra, dec in corners]
    except Exception:  # a header without a usable WCS: no footprint
        out["corners"] = None
    if int(header.get("NAXIS", 2)) >= 3 and "CRVAL3" in header:
        step = float(header.get("CD3_3", header.get("CDELT3", 1.25)))
        first = float(header["CRVAL3"]) + (1 - float(header.get("CRPIX3", 1))) * step
        nz = int(header.get("NAXIS3", 1))
        out.update(em_min=first * 1e-10, em_max=(first + (nz - 1) * step) * 1e-10, em_xel=nz)
    else:
        out.update(em_min=WAVE_RANGE_A[0] * 1e-10, em_max=WAVE_RANGE_A[1] * 1e-10, em_xel=1)
    return out


def _time_coverage(r) -> tuple[float | None, float | None, float | None]:
    """(t_min, t_max, t_exptime): from the first start to the last end of the raw
    science exposures of the provenance and their summed exposure time; the product's
    own DATE-OBS and EXPTIME when none of them is catalogued."""
    if r["n_exposures"] and r["first_start"] is not None and r["last_end"] is not None:
        return r["first_start"], r["last_end"], r["exptime_sum"]
    t_min = r["mjd_obs"]
    t_max = None if t_min is None else t_min + (r["exptime"] or 0) / 86400
    return t_min, t_max, r["exptime"]


def product_rows(engine: Engine, vo: VOConfig, stats: FileStats) -> list[dict]:
    """One staging row per publishable cube or image (``stats``: measured in the file)."""
    qc = ",\n       ".join(f"{sql} AS {name}" for name, sql in QC_METRICS.items())
    with engine.connect() as conn:
        rows = conn.execute(text(_PRODUCTS_SQL.format(qc=qc)),
                            {"catgs": list(PUBLISHED_CATEGORIES),
                             "states": list(vo.publishable)}).mappings().all()
    out = []
    for r in rows:
        ref = accref(r["file_id"], r["filename"])
        geo = _geometry(r["data_header"] or {})
        t_min, t_max, t_exptime = _time_coverage(r)
        psf = r["psf_fwhm_7000"]
        resolution = psf if psf is not None else r["dimm_fwhm"]
        out.append({
            "p_accref": ref, "p_path": r["path"], "p_fsize": r["size_bytes"],
            "p_owner": acl_group(r["owner_group_id"], r["project_id"], r["privilege"]),
            "p_embargo": embargo(r["release_date"]),
            # always the guarded preview service (its PNG, else 404 after the embargo
            # guard): with no preview DaCHS would render one from the file itself for
            # ?preview=True, unguarded. Without a PNG, DataLink lists no #preview.
            "p_preview": f"{vo.url}/muse/q/pv/dlget?ID={quote(pub_did(vo, ref), safe='')}",
            "preview_path": r["preview_path"],
            "file_id": r["file_id"], "obs_id": obs_id(r["file_id"]),
            "pub_did": pub_did(vo, ref),
            "dl_url": datalink_url(vo, ref),
            "obs_title": f"MUSE {r['ins_mode'] or ''} {r['pro_catg']} of "
                         f"{r['targ_name'] or r['object'] or 'unknown target'}, "
                         f"night {r['night']}",
            "pro_catg": r["pro_catg"],
            "dptype": "cube" if r["pro_catg"] == "DATACUBE_FINAL" else "image",
            "night": r["night"].isoformat(),
            "target_name": r["targ_name"] or r["object"],
            "s_ra": r["ra"], "s_dec": r["dec"],
            "s_resolution": resolution,
            "t_min": t_min, "t_max": t_max, "t_exptime": t_exptime,
            "em_res_power": MUSE_RES_POWER,
            "qa_state": r["qa_state"],
            **{name: r[name] for name in QC_METRICS},
            "dimm_seeing": r["dimm_fwhm"], "airmass": r["airmass"],
            # exposures combined: the catalogued raw science frames, else the OBJECT
            # frames the header's provenance names (a real cube's raws are not here)
            "n_obs": r["n_exposures"] or r["n_object_inputs"] or None,
            "obstech": "IFU",
            "abmaglim": abmaglim(stats.measure("white_noise", r["path"], white_noise),
                                 resolution),
            "snr": None, "obs_creator_did": creator_did(r["arcfile"], pub_did(vo, ref)),
            "last_mod_date": r["last_mod"].astimezone(dt.UTC).replace(tzinfo=None)
                             .isoformat(),
            "ins_mode": r["ins_mode"], "prog_id": r["prog_id"],
            "obs_release_date": dt.datetime.combine(r["release_date"], dt.time()).isoformat(),
            **geo,
        })
    return out


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    """Write ``rows`` as JSON lines (dates as ISO strings); return how many."""
    n = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, default=_iso) + "\n")
            n += 1
    tmp.replace(path)
    return n


def _iso(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot stage {type(value).__name__}")


def preview_rows(products: list[dict]) -> Iterator[dict]:
    for p in products:
        if p["preview_path"]:
            yield {"accref": p["p_accref"], "path": p["preview_path"]}
