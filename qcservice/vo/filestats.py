"""What publish measures in the files themselves: the white-light noise behind ObsCore's
``abmaglim`` and the median S/N behind a spectrum's ``snr``.

Both are read once per file version (path, size, mtime) and kept in a small JSON cache
in the stage directory, so a re-publish of 3 GB cubes reads no pixel again. A cube is
read a block of planes at a time (memory-mapped): memory is bounded by the block, not the
cube.

abmaglim (5-sigma limiting AB magnitude of a point source, total flux, as ESO's):
  1. the white-light image W = mean of DATA over all planes (the file's own f_lambda
     unit, BUNIT); for an image, the image itself;
  2. sigma = 1.4826 x the median absolute deviation of the second differences
     W[i-1] - 2 W[i] + W[i+1] of neighbouring spaxels (both axes), over sqrt(6): the
     noise of one spaxel of W for white noise. Second differences cancel every linear
     gradient exactly and a smooth galaxy filling the field up to its curvature (first
     differences kept its gradient: +5 % on a broad simulated galaxy); the median
     ignores the stars' edges. Over 1000 seeds of noise under a broad galaxy (80x80
     spaxels) it gives 0.999 sigma, spread 1.4 %, worst 5.3 % (first differences:
     1.052, 1.7 % of seeds beyond 8 %);
  3. a circular aperture of radius r = the product's PSF FWHM (s_resolution; 0.8 arcsec
     when unknown) holds N = pi r^2 / pixscale^2 spaxels and, for a Gaussian PSF,
     1 - 2^-4 = 93.75 % of the flux: the 5-sigma total flux is 5 sigma sqrt(N) / 0.9375;
  4. f_nu = f_lambda lambda^2 / c at the mean wavelength of the planes (the MUSE range's
     centre for an image), and abmaglim = -2.5 log10(f_nu / (erg/s/cm2/Hz)) - 48.60.
  Resampled cubes have correlated noise (neighbour correlation rho1, next rho2): the
  estimator then measures sigma sqrt(1 - 4/3 rho1 + 1/3 rho2), the noise at the highest
  spatial frequencies, and the aperture's noise exceeds sigma sqrt(N). On mpdaf's
  minicube (one 900 s exposure), a noise-only image, (mean of planes 0, 4, 8, ... minus
  mean of planes 2, 6, 10, ...) / (2 sqrt 2), which cancels the sources, has W's noise
  sigma = 0.19e-20 (STAT says 0.18e-20), rho1 0.16, rho2 0.08, estimate 0.91 sigma and
  4x4 sums 1.4 x sqrt(16) sigma: correlation alone makes abmaglim ~0.5 mag optimistic.
  On the minicube's own W, though, the cluster galaxy's core is not smooth at spaxel
  scale: the estimate is 0.27e-20, 1.4 x the noise (first differences gave 1.01e-20,
  5.3 x), so the two errors nearly cancel there (25.98 mag at s_resolution 0.7",
  24.54 before). The limit is only as good as W is smooth (scripts/noise_accuracy.py
  measures all this).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qcservice.robust import mad_sigma
from qcservice.vocabulary import WAVE_RANGE_A

BLOCK_PLANES = 64
DEFAULT_FWHM_ARCSEC = 0.8
GAUSS_EE_AT_FWHM = 1.0 - 2.0 ** -4      # flux of a Gaussian PSF within r = FWHM
C_ANGSTROM_PER_S = 2.99792458e18
MUSE_CENTRE_A = sum(WAVE_RANGE_A) / 2      # an image's wavelength: the range's centre
CACHE_VERSION = 2    # bump when a measurement changes: older cached values are recomputed


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
    """The noise of one spaxel: the robust scatter of second differences of neighbours
    (along both axes) over sqrt(6), the scatter of 1, -2, 1 weighted unit-variance
    noise. What is linear cancels exactly, a smooth galaxy up to its curvature."""
    diffs = np.concatenate([np.diff(image, n=2, axis=1).ravel(),
                            np.diff(image, n=2, axis=0).ravel()])
    diffs = diffs[np.isfinite(diffs)]
    if diffs.size < 16:
        return None
    return mad_sigma(diffs) / math.sqrt(6)


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
        key = f"{kind}/v{CACHE_VERSION}:{path}:{st.st_size}:{st.st_mtime_ns}"
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
