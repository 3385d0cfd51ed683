"""QC of master calibrations (one file per IFU) and wavelength calibration tables.

The pipeline already wrote its QC1 keywords (harvested at ingest); here the pixels are
measured again where the QC scientist needs more than the keywords say: the level and
noise of the master bias per quadrant, the dark current of the master dark, saturated
pixels and dead or faint slices of the master flat. For WAVECAL_TABLE the 48 per-slice
QC keywords are summarised per IFU: identified lines, fit RMS, resolving power.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from qcservice import metricnames as mn
from qcservice.fits.header import read_headers
from qcservice.qc import preview
from qcservice.qc.raw import dead_slices
from qcservice.qc.result import Metric, TaskResult

_SATURATED_DQ = 4096  # the pipeline's EURO3D_SATURATED bit


def _quadrant_tiles(data: np.ndarray) -> dict[str, np.ndarray]:
    ny, nx = data.shape[0] // 2, data.shape[1] // 2
    return {"Q1": data[:ny, :nx], "Q2": data[:ny, nx:], "Q3": data[ny:, nx:],
            "Q4": data[ny:, :nx]}


def _finite(values: np.ndarray) -> np.ndarray:
    v = values[np.isfinite(values)]
    return v if v.size else np.array([np.nan])


def _read_master(path: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """DATA (float64), DQ and the DATA unit (BUNIT) of a master calibration."""
    with fits.open(path, memmap=True) as hdul:
        if "DATA" not in hdul or hdul["DATA"].data is None:
            raise ValueError(f"no DATA extension with pixels (HDUs: "
                             f"{', '.join(h.name for h in hdul)})")
        data = np.asarray(hdul["DATA"].data, dtype=np.float64)
        dq = np.asarray(hdul["DQ"].data) if "DQ" in hdul else None
        bunit = str(hdul["DATA"].header.get("BUNIT", "")).strip() or "adu"
    if data.ndim != 2:
        raise ValueError(f"DATA has {data.ndim} axes: a master calibration is an image (2)")
    if not np.isfinite(data).any():   # else NaN metrics, no flag: it would pass
        raise ValueError("DATA has no finite pixel: every value is NaN or infinite")
    return data, dq, bunit


def _result(metrics: list[Metric], data: np.ndarray, image_dir: str | None,
            title: str, ifu: int | None) -> TaskResult:
    """The metrics, and the master's preview under ``image_dir`` when given."""
    images = preview.save_png(preview.single(preview.thumbnail(data)), image_dir,
                              "preview.png", f"{title} IFU {ifu}", ifu)
    return TaskResult(metrics=metrics, images=images)


def master_bias_qc(path: str, ifu: int | None, image_dir: str | None = None) -> TaskResult:
    """Level and noise of a MASTER_BIAS per quadrant."""
    data, _, bunit = _read_master(path)
    metrics = []
    for sub, tile in _quadrant_tiles(data).items():
        v = _finite(tile)
        metrics += [Metric(mn.MASTER_BIAS_LEVEL, float(np.median(v)), bunit, ifu, sub),
                    Metric(mn.MASTER_BIAS_NOISE, float(np.std(v)), bunit, ifu, sub)]
    return _result(metrics, data, image_dir, "MASTER_BIAS", ifu)


def master_dark_qc(path: str, ifu: int | None, image_dir: str | None = None) -> TaskResult:
    """Median of a MASTER_DARK, in its own unit (the pipeline's: count, e-, per hour)."""
    data, _, bunit = _read_master(path)
    return _result([Metric(mn.MASTER_DARK_MEDIAN, float(np.median(_finite(data))), bunit, ifu)],
                   data, image_dir, "MASTER_DARK", ifu)


def master_flat_qc(path: str, ifu: int | None, image_dir: str | None = None) -> TaskResult:
    """Saturated pixels (DQ) and dead or faint slices of a MASTER_FLAT."""
    data, dq, _ = _read_master(path)
    saturated = int(np.count_nonzero(dq & _SATURATED_DQ)) if dq is not None else 0
    return _result([
        Metric(mn.MASTER_FLAT_NSATURATED, saturated, "pix", ifu),
        Metric(mn.MASTER_FLAT_DEAD_SLICES, dead_slices(np.nan_to_num(data, nan=0.0)), "", ifu)],
        data, image_dir, "MASTER_FLAT", ifu)


def wavecal_qc(path: str, ifu: int | None) -> TaskResult:
    """Per-IFU summary of the per-slice wavelength calibration QC keywords."""
    primary = read_headers(path)[0]
    per_slice: dict[str, list[float]] = {"FIT NLINES": [], "FIT RMS": [], "RESOL": []}
    for key in primary.keywords():
        parts = key.split()
        if len(parts) >= 5 and parts[:3] == ["ESO", "QC", "WAVECAL"] and \
                parts[3].startswith("SLICE"):
            what = " ".join(parts[4:])
            value = primary.get(key)
            if what in per_slice and isinstance(value, int | float):
                per_slice[what].append(float(value))
    if not per_slice["FIT RMS"]:
        raise ValueError(f"{path}: no ESO QC WAVECAL SLICEj keywords")
    lines = np.array(per_slice["FIT NLINES"] or [np.nan])
    return TaskResult(metrics=[
        Metric(mn.WAVECAL_NLINES_MIN, float(lines.min()), "", ifu),
        Metric(mn.WAVECAL_NLINES_MEDIAN, float(np.median(lines)), "", ifu),
        Metric(mn.WAVECAL_FIT_RMS, float(np.median(per_slice["FIT RMS"])), "Angstrom", ifu),
        Metric(mn.WAVECAL_RESOLVING_POWER, float(np.median(per_slice["RESOL"] or [np.nan])),
               "", ifu),
        Metric(mn.WAVECAL_NSLICES, len(per_slice["FIT RMS"]), "", ifu),
    ])
