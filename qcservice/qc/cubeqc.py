"""The QC task of a final cube: two passes over the cube, metrics, images and plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qcservice.qc import plots
from qcservice.qc.cube import (
    BAND_HALF_WIDTH_A,
    BANDS_A,
    RGB_A,
    SKY_LINES_A,
    band_mean,
    band_median,
    find_stars,
    geometry,
    memmap_cube,
    plane_blocks,
    psf_metrics,
)
from qcservice.qc.result import Image, Metric, TaskResult
from qcservice.qc.sky import sky_mask, sky_metrics


def _sky_spectra(cube: np.ndarray, stat: np.ndarray | None, geo, mask: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """(planes x sky spaxels) data and variance, read block by block."""
    idx = np.flatnonzero(mask.ravel())
    data = np.empty((geo.nz, idx.size), dtype=np.float32)
    var = None if stat is None else np.empty_like(data)
    for z0, z1 in plane_blocks(geo):
        data[z0:z1] = np.asarray(cube[z0:z1]).reshape(z1 - z0, -1)[:, idx]
        if var is not None:
            var[z0:z1] = np.asarray(stat[z0:z1]).reshape(z1 - z0, -1)[:, idx]
    return data, var


def cube_qc(path: str, image_dir: str | None) -> TaskResult:
    """Metrics (PSF, positions, drift, sky residual) and images of one final cube."""
    geo = geometry(path)
    cube = memmap_cube(path, geo, geo.data)
    stat = memmap_cube(path, geo, geo.stat) if geo.stat is not None else None
    white = band_mean(cube, geo, geo.wave0, geo.wave0 + geo.dwave * geo.nz)
    metrics = [Metric("cube.white_median", float(np.nanmedian(white)), "flux"),
               Metric("cube.pixscale", geo.pixscale, "arcsec")]
    stars = find_stars(white)
    bands = {w: band_median(cube, geo, w - BAND_HALF_WIDTH_A, w + BAND_HALF_WIDTH_A)
             for w in BANDS_A}
    psf, psf_plot = psf_metrics(bands, stars, geo.pixscale)
    mask = sky_mask(white)
    for s in stars:   # keep the stars' wings out of the sky
        yy, xx = np.ogrid[:geo.ny, :geo.nx]
        mask &= (xx - s[1]) ** 2 + (yy - s[2]) ** 2 > (2 * s[3]) ** 2
    data, var = _sky_spectra(cube, stat, geo, mask)
    sky, sky_plot = sky_metrics(data, var, geo.wave(), SKY_LINES_A)
    metrics += psf + sky
    images: list[Image] = []
    if image_dir:
        out = Path(image_dir)
        out.mkdir(parents=True, exist_ok=True)
        rgb = [band_mean(cube, geo, lo, hi) for lo, hi in RGB_A]
        images = [
            plots.white_light(white, stars, out / "white_light.png"),
            plots.rgb(rgb, out / "rgb.png"),
            plots.psf_fwhm(psf_plot, out / "psf_fwhm.png"),
            plots.psf_drift(psf_plot, out / "psf_drift.png"),
            plots.sky_residual(geo.wave(), sky_plot, out / "sky_residual.png"),
        ]
        images = [i for i in images if i is not None]
    return TaskResult(metrics=metrics, images=images)
