"""A science OB's scene on one IFU's CCD: through the slicer, as muse_scibasic undoes it.

The scene is the OB's :class:`~qcservice.simulate.cube.CubeModel` (its stars: Moffat
PSF, FWHM shrinking with wavelength, refraction drift), centred on the field: model
spaxel ``(x, y)`` is the GEOMETRY_TABLE position ``((nx - 1) / 2 - x, y - (ny - 1) / 2)``
of :mod:`qcservice.simulate.geometry` (muse_scipost's cube runs x against the table's
x, measured: so the pipeline's cube has the model's orientation). Each slice of the
IFU sees the row of spaxels at its ``y``; CCD column ``c`` of a slice traced from
``left`` to ``right`` sees ``x = x_slice + ((c + 0.5 - left) / (right - left) - 0.5)
* width``, and each CCD row its wavelength. Electrons: flux density x the pixel's share
of the PSF x the simulator's response (:func:`qcservice.simulate.spectra.response_mag`,
the STD_RESPONSE it writes) x exposure time x the row's width in Angstrom, times the
slice's efficiency (the flat field takes it out again).
"""

from __future__ import annotations

import numpy as np

from qcservice.simulate import spectra
from qcservice.simulate.cube import CubeModel, moffat
from qcservice.simulate.geometry import SLICE_SKY_WIDTH, sky_slice, slice_centre
from qcservice.simulate.layout import CcdLayout, slice_columns
from qcservice.simulate.spectra import response_mag
from qcservice.vocabulary import N_SLICE

FLUX_UNIT = 1e-20  # erg/s/cm**2/A of the model's fluxes
FIELD_SPAXELS = 300  # the field of view is 300 x 300 spaxels


def covers_field(model: CubeModel) -> bool:
    """Whether the scene spans the field of view (the full scale's does; the tiny and
    small scales' cubes are a corner of it and keep their simple star trace)."""
    return min(model.nx, model.ny) >= FIELD_SPAXELS


def stars_on_ccd(model: CubeModel, layout: CcdLayout, ifu: int, exptime_s: float,
                 efficiency: tuple[float, ...] | None = None) -> np.ndarray:
    """Electrons the model's stars put on the trimmed CCD of ``ifu`` (float32)."""
    rows = 2 * layout.ny
    edges = spectra.ccd_row_edges(rows)
    wave = 0.5 * (edges[:-1] + edges[1:])
    per_flux = FLUX_UNIT * 10 ** (0.4 * response_mag(wave)) * exptime_s * np.diff(edges)
    fwhm = model.fwhm_arcsec(wave) / model.pixscale_arcsec
    image = np.zeros(layout.trimmed_shape, np.float32)
    x0, y0 = (model.nx - 1) / 2.0, (model.ny - 1) / 2.0
    reach = model.star_radius()
    for j in range(1, N_SLICE + 1):
        xs, ys = slice_centre(ifu, sky_slice(j))
        cols = slice_columns(layout, j)
        n = cols.stop - cols.start
        x_sky = xs + ((np.arange(n) + 0.5) / n - 0.5) * SLICE_SKY_WIDTH
        area = SLICE_SKY_WIDTH / n   # spaxels of sky one CCD column of the slice sees
        gain = efficiency[j - 1] if efficiency else 1.0
        for src in model.sources:
            if src.kind != "star" or abs(src.y - y0 - ys) > reach:
                continue
            cx, cy = model.centroid(src, wave)
            r2 = (x0 - x_sky[None, :] - cx[:, None]) ** 2 + (ys + y0 - cy[:, None]) ** 2
            psf = moffat(r2, fwhm[:, None]) * area
            image[:, cols] += (gain * (src.spectrum(wave) * per_flux)[:, None] * psf
                               ).astype(np.float32)
    return image
