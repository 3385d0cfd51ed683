"""Datacube QA (DATACUBE_FINAL): tabs General, PSF and Sky subtraction.

Images come from ``qc.qc_images`` (kinds white_light, rgb, psf_*, sky_*). Curves come
from the cube's metrics whose sub-unit is a wavelength in Angstrom, as batch QC writes
them: ``psf.fwhm`` (arcsec), ``psf.drift_dx`` / ``psf.drift_dy`` (pixels, when QC stores
them per wavelength) and ``sky.residual_spectrum``; the PSF stars are ``psf.star_x``,
``psf.star_y``, ``psf.star_fwhm`` and ``psf.star_rms`` with sub-unit ``S<n>``. Header QC
keywords (``QC SCIPOST``, ``QC EXPCOMB``) are listed as they are.

QC numbers the PSF stars it finds S1, S2, ... (its own numbering, brightest first); a
field's sources are named by the spectra extracted from the cube (``OBJECT``, e.g.
``J0622-5510-S05``, there a galaxy), so "S5" alone read as a source it is not. Each
star is therefore placed on the sky through the cube's WCS and named by the extracted
source within ``MATCH_ARCSEC``, or said to be at none (a noise peak or part of an
extended source, that QC took for a star).
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from flask import Blueprint, abort, g, render_template, request

from qcservice import metricnames as mn
from qcservice.viewer import evidence, file_facts
from qcservice.viewer.access import require_file
from qcservice.viewer.db import row, rows
from qcservice.viewer.files import datalink_url
from qcservice.vocabulary import SKY_LINES_A

bp = Blueprint("cube", __name__)

TABS = ("general", "psf", "sky")
CURVES = {"psf": (mn.PSF_FWHM, mn.PSF_DRIFT_DX, mn.PSF_DRIFT_DY),
          "sky": (mn.SKY_RESIDUAL_SPECTRUM,)}
STAR_METRICS = (mn.PSF_STAR_X, mn.PSF_STAR_Y, mn.PSF_STAR_FWHM, mn.PSF_STAR_RMS)


def _wavelength(subunit: str | None) -> float | None:
    try:
        return float(subunit) if subunit else None
    except ValueError:
        return None


def curves(metrics: list[dict], names: tuple[str, ...]) -> dict[str, dict]:
    """Metric name -> {x: wavelengths, y: values, unit} for the named curve metrics."""
    out: dict[str, dict] = {}
    for m in metrics:
        wave = _wavelength(m["subunit"])
        if m["name"] in names and wave is not None and m["value"] is not None:
            c = out.setdefault(m["name"], {"x": [], "y": [], "unit": m["unit"] or ""})
            c["x"].append(wave)
            c["y"].append(m["value"])
    for c in out.values():
        pairs = sorted(zip(c["x"], c["y"], strict=True))
        c["x"], c["y"] = [p[0] for p in pairs], [p[1] for p in pairs]
    return out


def stars(metrics: list[dict]) -> list[dict]:
    """One row per PSF star: number, position, FWHM, RMS dispersion."""
    table: dict[str, dict] = {}
    for m in metrics:
        if m["name"] in STAR_METRICS:
            key = m["name"].removeprefix("psf.star_")
            table.setdefault(m["subunit"] or "", {})[key] = m["value"]
    return [{"star": k, **v} for k, v in sorted(table.items(), key=lambda kv: kv[0].zfill(5))]


MATCH_ARCSEC = 1.0
# the sources extracted from the cube (its spectra) that the reader may see
_SOURCES = """
SELECT DISTINCT x.object, x.ra, x.dec FROM qc.provenance pv JOIN qc.products x USING (file_id)
WHERE (pv.input_file_id = :cube OR pv.input_name = :name) AND x.pro_catg = 'SPECTRUM_1D'
  AND x.ra IS NOT NULL AND x.dec IS NOT NULL AND qc.may_see(:uid, x.file_id)"""


def name_stars(table: list[dict], rec: dict) -> str | None:
    """Set each star's ``source`` (the extracted source at its position, or None) and
    ``ra``/``dec``; returns why no star can be named (no WCS, no extracted source)."""
    if not table:
        return None
    found = row("SELECT header FROM qc.hdus WHERE file_id = :f AND extname = 'DATA'",
                f=rec["file_id"])
    if found is None:
        return "the cube's DATA header is not catalogued: no sky position"
    sky = WCS(fits.Header({k: v for k, v in found["header"].items()
                           if not isinstance(v, list)}), naxis=2).celestial
    sources = rows(_SOURCES, cube=rec["file_id"], name=rec["filename"], uid=g.user.user_id)
    for s in table:
        s["ra"], s["dec"] = (float(v) for v in sky.pixel_to_world_values(s["x"], s["y"])) \
            if s.get("x") is not None and s.get("y") is not None else (None, None)
        s["source"] = s["offset"] = None
        if s["ra"] is None or not sources:
            continue
        cos = np.cos(np.radians(s["dec"]))
        offsets = [3600 * np.hypot((src["ra"] - s["ra"]) * cos, src["dec"] - s["dec"])
                   for src in sources]
        best = int(np.argmin(offsets))
        if offsets[best] <= MATCH_ARCSEC:
            s["source"], s["offset"] = sources[best]["object"], float(offsets[best])
    return None if sources else "no spectrum has been extracted from this cube"


def _about(name: str, words: tuple[str, ...]) -> bool:
    lower = name.lower()
    return any(w in lower for w in words)


def _tab_of(found: list[dict]) -> str:
    """The tab a cube page opens on: the one of the metric that raised the worst flag."""
    for e in found:
        for tab in ("psf", "sky"):
            if _about(e["name"], (tab,)):
                return tab
    return "general"


@bp.route("/cube/<int:file_id>")
def cube(file_id: int) -> str:
    """The datacube QA page, one tab at a time (?tab=general|psf|sky)."""
    require_file(file_id)
    found = evidence.evidence(file_id)
    tab = request.args.get("tab") or _tab_of(found)
    if tab not in TABS:
        abort(404)
    rec = file_facts.file_record(file_id)
    metrics = file_facts.file_metrics(file_id)
    cells = file_facts.ifu_grid(file_id)
    kinds = {"general": ("white", "rgb"), "psf": ("psf",), "sky": ("sky",)}[tab]
    shown = [i for i in file_facts.images(file_id) if i["kind"].startswith(kinds)]
    listed = [m for m in metrics if tab == "general"
              or (tab == "psf" and _about(m["name"], ("psf", "fwhm")))
              or (tab == "sky" and _about(m["name"], ("sky",)))]
    table = stars(metrics)
    unnamed = name_stars(table, rec) if tab == "psf" else None
    return render_template(
        "cube.html", rec=rec, tab=tab, tabs=TABS, images=shown, metrics=listed,
        curves=curves(metrics, CURVES.get(tab, ())), stars=table, unnamed=unnamed,
        match_arcsec=MATCH_ARCSEC,
        sky_lines=SKY_LINES_A, cells=cells, counts=file_facts.grid_counts(cells),
        provenance=file_facts.provenance(file_id), audit=file_facts.audit(file_id),
        datalink=datalink_url(rec), user=g.user, evidence=found, why=evidence.by_ifu(found))
