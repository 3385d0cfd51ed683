"""Datacube QA (DATACUBE_FINAL): tabs General, PSF and Sky subtraction.

Images come from ``qc.qc_images`` (kinds white_light, rgb, psf_*, sky_*). Curves come
from the cube's metrics whose sub-unit is a wavelength in Angstrom, as batch QC writes
them: ``psf.fwhm`` (arcsec), ``psf.drift_dx`` / ``psf.drift_dy`` (pixels, when QC stores
them per wavelength) and ``sky.residual_spectrum``; the PSF stars are ``psf.star_x``,
``psf.star_y``, ``psf.star_fwhm`` and ``psf.star_rms`` with sub-unit ``S<n>``. Header QC
keywords (``QC SCIPOST``, ``QC EXPCOMB``) are listed as they are.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, render_template, request

from qcservice import metricnames as mn
from qcservice.viewer import evidence, records
from qcservice.viewer.access import require_file
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
    rec = records.file_record(file_id)
    metrics = records.file_metrics(file_id)
    cells = records.ifu_grid(file_id)
    kinds = {"general": ("white", "rgb"), "psf": ("psf",), "sky": ("sky",)}[tab]
    shown = [i for i in records.images(file_id) if i["kind"].startswith(kinds)]
    listed = [m for m in metrics if tab == "general"
              or (tab == "psf" and _about(m["name"], ("psf", "fwhm")))
              or (tab == "sky" and _about(m["name"], ("sky",)))]
    return render_template(
        "cube.html", rec=rec, tab=tab, tabs=TABS, images=shown, metrics=listed,
        curves=curves(metrics, CURVES.get(tab, ())), stars=stars(metrics),
        sky_lines=SKY_LINES_A, cells=cells, counts=records.grid_counts(cells),
        provenance=records.provenance(file_id), audit=records.audit(file_id),
        datalink=datalink_url(rec), user=g.user, evidence=found, why=evidence.by_ifu(found))
