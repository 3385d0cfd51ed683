"""The QC task of a final cube (DATACUBE_FINAL): PSF, star positions, drift, sky residual,
in two passes over the cube (read block by block, ``qc.cubeio``):
- pass 1: the white-light image (mean over all planes) and the RGB bands;
- pass 2: band images at 5000..9000 A (100 A wide, median over planes clear of sky
  lines), whose mean is the line-free continuum image where point sources are found
  (``qc.psf``) and sky is chosen; then the sky spaxels' spectra (``qc.sky``).
Then metrics, images and plots."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np

from qcservice import metricnames as mn
from qcservice.qc import plots
from qcservice.qc.cubeio import PlaneReader, band_median, geometry, plane_blocks
from qcservice.qc.psf import BAND_HALF_WIDTH_A, BANDS_A, psf_metrics
from qcservice.qc.result import Image, Metric, TaskResult
from qcservice.qc.sky import SIDE_BAND_A, null_wavelengths, sky_check, sky_mask, sky_metrics
from qcservice.qc.starfind import POINT_SOURCE, find_stars
from qcservice.vocabulary import SKY_LINES_A

RGB_A = ((7500.0, 9300.0), (6000.0, 7500.0), (4750.0, 6000.0))   # A: the colour image
MAX_SKY_SPAXELS = 2000  # an even sample of the sky spaxels: the residual RMS needs no more
DEFAULT_SEEING_ARCSEC = 0.8  # the size of sources to mask when neither stars nor DIMM tell


def _white_and_rgb(cube: PlaneReader, geo) -> tuple[np.ndarray, list[np.ndarray]]:
    """One pass over the cube: the white-light image and the three RGB band images.

    The planes are cut into contiguous segments at the RGB band edges; each plane is
    summed once (in float32 within a block, float64 across blocks) and the white light
    is the sum of all segments.
    """
    rgb = [geo.planes(lo, hi - 1e-6) for lo, hi in RGB_A]
    edges = sorted({0, geo.nz, *(z for band in rgb for z in band)})
    segments = list(itertools.pairwise(edges))
    sums = np.zeros((len(segments), geo.ny, geo.nx))
    counts = np.zeros((len(segments), geo.ny, geo.nx))
    for z0, z1 in plane_blocks(geo):
        block = cube[z0:z1].astype(np.float32)          # native copy, ours to modify
        bad = np.isnan(block)
        has_bad = bool(bad.any())
        if has_bad:
            block[bad] = 0.0
        for k, (s0, s1) in enumerate(segments):
            lo, hi = max(s0, z0) - z0, min(s1, z1) - z0
            if lo < hi:
                sums[k] += block[lo:hi].sum(axis=0)
                counts[k] += (hi - lo) - (bad[lo:hi].sum(axis=0) if has_bad else 0)

    def mean(parts: list[int]) -> np.ndarray:
        total, n = sums[parts].sum(axis=0), counts[parts].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, total / np.maximum(n, 1), np.nan)

    in_band = [[k for k, (s0, s1) in enumerate(segments) if b0 <= s0 and s1 <= b1]
               for b0, b1 in rgb]
    return mean(list(range(len(segments)))), [mean(parts) for parts in in_band]


def _sky_planes(geo) -> list[tuple[int, int]]:
    """Plane ranges around the sky lines and the off-line wavelengths of the noise
    calibration (line windows and side bands), merged."""
    centres = SKY_LINES_A + null_wavelengths(geo.wave(), SKY_LINES_A)
    ranges = sorted(geo.planes(line - SIDE_BAND_A[1] - 2, line + SIDE_BAND_A[1] + 2)
                    for line in centres)
    merged: list[tuple[int, int]] = []
    for z0, z1 in ranges:
        if z0 >= z1:
            continue
        if merged and z0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(z1, merged[-1][1]))
        else:
            merged.append((z0, z1))
    return merged


def _sky_spectra(cube: PlaneReader, stat: PlaneReader | None, geo, mask: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """(planes x sky spaxels) data and variance around the sky lines and the off-line
    wavelengths (NaN elsewhere)."""
    idx = np.flatnonzero(mask.ravel())
    if idx.size > MAX_SKY_SPAXELS:
        idx = idx[np.linspace(0, idx.size - 1, MAX_SKY_SPAXELS).astype(int)]
    data = np.full((geo.nz, idx.size), np.nan, dtype=np.float32)
    var = None if stat is None else np.full_like(data, np.nan)
    for z0, z1 in _sky_planes(geo):
        data[z0:z1] = cube[z0:z1].reshape(z1 - z0, -1)[:, idx]
        if var is not None:
            var[z0:z1] = stat[z0:z1].reshape(z1 - z0, -1)[:, idx]
    return data, var


def cube_qc(path: str, image_dir: str | None, seeing: float | None = None) -> TaskResult:
    """Metrics (PSF, positions, drift, sky residual) and images of one final cube.

    Stars and sky are chosen on the line-free continuum image (the mean of the band
    medians, sky-line planes left out), which sky residuals cannot mimic. ``seeing``
    (DIMM, arcsec), when known, also bounds what can be a star (see ``find_stars``).
    """
    geo = geometry(path)
    cube = PlaneReader(path, geo, geo.data)
    stat = PlaneReader(path, geo, geo.stat) if geo.stat is not None else None
    white, rgb = _white_and_rgb(cube, geo)
    if not np.isfinite(white).any():   # else no metric, no flag: it would pass
        raise ValueError("DATA has no finite pixel: every value is NaN or infinite")
    metrics = [Metric(mn.CUBE_WHITE_MEDIAN, float(np.nanmedian(white)), "flux"),
               Metric(mn.CUBE_PIXSCALE, geo.pixscale, "arcsec")]
    bands = {w: band_median(cube, geo, w - BAND_HALF_WIDTH_A, w + BAND_HALF_WIDTH_A)
             for w in BANDS_A}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        continuum = np.nanmean(np.array(list(bands.values())), axis=0)
    if not np.isfinite(continuum).any():
        continuum = white
    limit = POINT_SOURCE["seeing_factor"] * seeing / geo.pixscale if seeing else None
    stars, others = find_stars(continuum, max_fwhm_pix=limit)
    psf, psf_plot = psf_metrics(bands, stars, geo.pixscale, others)
    fwhm_pix = (float(np.median([s[3] for s in stars])) if stars
                else (seeing or DEFAULT_SEEING_ARCSEC) / geo.pixscale)
    mask = sky_mask(continuum, fwhm_pix, [(s[1], s[2], s[3]) for s in stars])
    data, var = _sky_spectra(cube, stat, geo, mask)
    sky = sky_metrics(data, var, geo.wave(), SKY_LINES_A)
    metrics += psf + sky_check(continuum, mask) + sky
    images: list[Image] = []
    if image_dir:
        out = Path(image_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            images = [
                plots.white_light(white, stars, out / "white_light.png"),
                plots.rgb(rgb, out / "rgb.png"),
                plots.psf_fwhm(psf_plot, out / "psf_fwhm.png"),
                plots.psf_drift(psf_plot, out / "psf_drift.png"),
                plots.sky_residual(sky, out / "sky_residual.png"),
            ]
        except OSError as exc:
            raise OSError(f"cannot write its QC images to {out}: "
                          f"{exc.strerror or exc}") from exc
        images = [i for i in images if i is not None]
    return TaskResult(metrics=metrics, images=images)
