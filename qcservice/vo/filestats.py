"""What publish measures in the files themselves: the white-light noise behind ObsCore's
``abmaglim`` and the median S/N behind a spectrum's ``snr``.

Both are read once per file version (path, size, mtime) and kept in a small JSON cache
in the stage directory, so a re-publish of 3 GB cubes reads no pixel again. A cube is
read a block of planes at a time (memory-mapped): memory is bounded by the block, not the
cube.

abmaglim (5-sigma limiting AB magnitude of a point source, total flux, as ESO's):
  1. the white-light image W = mean of DATA over all planes (the file's own f_lambda
     unit, BUNIT); for an image, the image itself;
  2. sigma = 1.4826 x the median absolute deviation of the differences of neighbouring
     spaxels of W (both axes), over sqrt(2): the noise of one spaxel of W, robust to
     sources and to a galaxy filling the field (on mpdaf's minicube, a cluster galaxy
     covers every spaxel: the plain scatter of W is 10x its noise);
  3. a circular aperture of radius r = the product's PSF FWHM (s_resolution; 0.8 arcsec
     when unknown) holds N = pi r^2 / pixscale^2 spaxels and, for a Gaussian PSF,
     1 - 2^-4 = 93.75 % of the flux: the 5-sigma total flux is 5 sigma sqrt(N) / 0.9375;
  4. f_nu = f_lambda lambda^2 / c at the mean wavelength of the planes (the MUSE range's
     centre for an image), and abmaglim = -2.5 log10(f_nu / (erg/s/cm2/Hz)) - 48.60.
  Resampled cubes have correlated noise: a spaxel-to-spaxel sigma scaled by sqrt(N)
  underestimates the aperture's noise (by ~1.3 on mpdaf's minicube), so abmaglim is
  an optimistic limit, as a pipeline's is.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

BLOCK_PLANES = 64
DEFAULT_FWHM_ARCSEC = 0.8
GAUSS_EE_AT_FWHM = 1.0 - 2.0 ** -4      # flux of a Gaussian PSF within r = FWHM
C_ANGSTROM_PER_S = 2.99792458e18
MUSE_CENTRE_A = 7050.0


def white_light(data) -> np.ndarray:
    """Mean over the planes of a (nz, ny, nx) array (NaN-aware), BLOCK_PLANES at a time."""
    total = np.zeros(data.shape[1:], dtype=np.float64)
    count = np.zeros(data.shape[1:], dtype=np.int64)
    for start in range(0, data.shape[0], BLOCK_PLANES):
        block = np.asarray(data[start:start + BLOCK_PLANES], dtype=np.float64)
        good = np.isfinite(block)
        total += np.where(good, block, 0.0).sum(axis=0)
        count += good.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def robust_sigma(image: np.ndarray) -> float | None:
    """The noise of one spaxel: the robust scatter of neighbour differences (along both
    axes) over sqrt(2). Differences cancel what is smooth (a galaxy filling the field,
    the sky level); the median absolute deviation ignores the stars' edges."""
    diffs = np.concatenate([np.diff(image, axis=1).ravel(), np.diff(image, axis=0).ravel()])
    diffs = diffs[np.isfinite(diffs)]
    if diffs.size < 16:
        return None
    mad = np.median(np.abs(diffs - np.median(diffs)))
    return float(1.4826 * mad / math.sqrt(2))


def _flambda_cgs(bunit: str) -> float | None:
    """How many erg/s/cm2/Angstrom one BUNIT is (None: not a flux density per wavelength)."""
    from astropy import units as u

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unit = u.Unit(bunit.replace("Angstrom", "AA"), parse_strict="raise")
        return float(unit.to(u.erg / u.s / u.cm**2 / u.AA))
    except (ValueError, u.UnitsError, TypeError):
        return None


def white_noise(path: str | Path) -> dict | None:
    """The white-light noise of a cube or image (DATA extension, else the first with
    data): sigma in erg/s/cm2/A per spaxel, pixel scale (arcsec), mean wavelength (A)."""
    from astropy.io import fits

    with fits.open(path, memmap=True) as hdul:
        hdu = hdul["DATA"] if "DATA" in hdul else next(
            (h for h in hdul if h.data is not None), None)
        if hdu is None or hdu.header.get("NAXIS", 0) not in (2, 3):
            return None
        h = hdu.header
        scale = _flambda_cgs(str(h.get("BUNIT", "")))
        if scale is None:
            return None
        if h["NAXIS"] == 3:
            image = white_light(hdu.data)
            step = float(h.get("CD3_3", h.get("CDELT3", 1.25)))
            first = float(h.get("CRVAL3", 0)) + (1 - float(h.get("CRPIX3", 1))) * step
            wave = first + (h["NAXIS3"] - 1) * step / 2
        else:
            image, wave = np.asarray(hdu.data, dtype=np.float64), MUSE_CENTRE_A
        sigma = robust_sigma(image)
        pix = abs(float(h.get("CD2_2", h.get("CDELT2", 0.2 / 3600)))) * 3600
    if sigma is None or not sigma > 0:
        return None
    return {"sigma": sigma * scale, "pixscale": pix, "wave": wave}


def abmaglim(noise: dict | None, fwhm_arcsec: float | None) -> float | None:
    """5-sigma limiting AB magnitude of a point source (see the module's docstring)."""
    if not noise:
        return None
    fwhm = fwhm_arcsec if fwhm_arcsec and fwhm_arcsec > 0 else DEFAULT_FWHM_ARCSEC
    n_spaxels = math.pi * fwhm**2 / noise["pixscale"] ** 2
    flux = 5 * noise["sigma"] * math.sqrt(n_spaxels) / GAUSS_EE_AT_FWHM
    f_nu = flux * noise["wave"] ** 2 / C_ANGSTROM_PER_S
    return -2.5 * math.log10(f_nu) - 48.60


def spectrum_snr(path: str | Path) -> dict | None:
    """Median FLUX/ERR over the pixels where both are finite and ERR > 0."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        table = next((h for h in hdul if isinstance(h, fits.BinTableHDU)), None)
        if table is None or not {"FLUX", "ERR"} <= set(table.columns.names):
            return None
        flux = np.ravel(table.data["FLUX"]).astype(np.float64)
        err = np.ravel(table.data["ERR"]).astype(np.float64)
    good = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    return {"snr": float(np.median(flux[good] / err[good]))} if good.any() else None


class FileStats:
    """Per-file measurements, cached by (path, size, mtime) in ``cache``."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        try:
            self.known = json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        self.used: dict = {}

    def measure(self, kind: str, path: str, how: Callable[[str], dict | None]) -> dict | None:
        try:
            st = os.stat(path)
        except OSError:
            return None     # the file is gone: NULL, the rest of the row is still right
        key = f"{kind}:{path}:{st.st_size}:{st.st_mtime_ns}"
        if key not in self.known:
            try:
                self.known[key] = how(path)
            except (OSError, ValueError, KeyError) as exc:
                warnings.warn(f"{path}: cannot measure {kind}: {exc}", stacklevel=2)
                self.known[key] = None
        self.used[key] = self.known[key]
        return self.known[key]

    def save(self) -> None:
        """Keep what this publish used (files since removed drop out)."""
        tmp = self.cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.used), encoding="utf-8")
        tmp.replace(self.cache)
