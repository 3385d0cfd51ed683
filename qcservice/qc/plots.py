"""QC images and plots as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from qcservice import metricnames as mn
from qcservice.qc.result import Image, Metric


def _stretch(image: np.ndarray) -> np.ndarray:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return np.zeros_like(image)
    lo, hi = np.percentile(finite, [1, 99.5])
    scaled = np.clip((np.nan_to_num(image, nan=lo) - lo) / max(hi - lo, 1e-12), 0, 1)
    return np.arcsinh(10 * scaled) / np.arcsinh(10)


def _save(fig, path: Path, kind: str, title: str) -> Image:
    """Write a PNG through a temporary file renamed into place: a write that fails (disk
    full) leaves the image an earlier run recorded whole, never truncated."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fig.savefig(tmp, dpi=90, bbox_inches="tight", format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return Image(kind, str(path), title)


def white_light(white: np.ndarray, stars: list, path: Path) -> Image:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.imshow(_stretch(white), origin="lower", cmap="gray")
    for k, s in enumerate(stars, 1):
        ax.plot(s[1], s[2], "o", mfc="none", mec="tab:red", ms=12)
        ax.annotate(f"S{k}", (s[1], s[2]), color="tab:red", xytext=(6, 6),
                    textcoords="offset points")
    ax.set_title("white light (stars used for the PSF circled)")
    return _save(fig, path, "white_light", "White-light image")


def rgb(bands: list[np.ndarray], path: Path) -> Image:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.imshow(np.dstack([_stretch(b) for b in bands]), origin="lower")
    ax.set_title("R 7500-9300  G 6000-7500  B 4750-6000 A")
    return _save(fig, path, "rgb", "RGB image")


def psf_fwhm(data: dict, path: Path) -> Image | None:
    if not data.get("wave"):
        return None
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(data["wave"], data["fwhm"], "o-")
    ax.set_xlabel("wavelength [A]")
    ax.set_ylabel("PSF FWHM [arcsec]")
    ax.grid(alpha=0.3)
    return _save(fig, path, "psf_fwhm", "PSF FWHM against wavelength")


def psf_drift(data: dict, path: Path) -> Image | None:
    if not data.get("dwave"):
        return None
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(data["dwave"], data["dx"], "o", label="x - x(7000 A)")
    ax.plot(data["dwave"], data["dy"], "s", label="y - y(7000 A)")
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xlabel("wavelength [A]")
    ax.set_ylabel("centroid offset [spaxel]")
    ax.legend()
    return _save(fig, path, "psf_drift", "Centroid drift against wavelength")


# The sky residual has one definition, the QC metric ``sky.residual_spectrum``: per sky
# line, the RMS over sky spaxels of the line amplitude left (qc/sky.py; never negative).
# The PNG draws those metrics and the cube page's interactive plot draws them from the
# catalogue; the mean sky-spaxel spectrum the PNG drew before could hide residuals of
# either sign and disagreed with the page (-0.3..0.2 against 2.3-4.7).
def residual_points(metrics: list[Metric]) -> tuple[list[float], list[float], str]:
    """(line wavelengths in Angstrom, RMS amplitudes, unit) of the residual metrics."""
    pts = sorted((float(m.subunit), m.value, m.unit) for m in metrics
                 if m.name == mn.SKY_RESIDUAL_SPECTRUM and m.subunit and m.value is not None)
    return [p[0] for p in pts], [p[1] for p in pts], pts[0][2] if pts else ""


def sky_residual_figure(metrics: list[Metric]):
    """The residual plot (a matplotlib figure), or None without residual metrics."""
    wave, rms, unit = residual_points(metrics)
    if not wave:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(wave, rms, "o-", ms=4)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("wavelength [A]")
    ax.set_ylabel(f"RMS line amplitude left [{unit}]")
    ax.set_title("sky residual at each sky line (RMS over sky spaxels)")
    return fig


def sky_residual(metrics: list[Metric], path: Path) -> Image | None:
    fig = sky_residual_figure(metrics)
    if fig is None:
        return None
    return _save(fig, path, "sky_residual", "Sky-subtraction residual at the sky lines")
