"""Wavelengths and spectral shapes: sky and arc lines, lamp and twilight continua.

All wavelengths are in air, in Angstrom. Line lists hold real lines: the night-sky
[OI] 5577.34, 6300.30, 6363.78, Na D, and OH Meinel bands between 6800 and 9400 A;
the HgCd, Ne and Xe arc lamps of MUSE's calibration unit.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

TELESCOPE_AREA_CM2 = 48.5e4  # a VLT unit telescope's collecting area
THROUGHPUT = 0.35  # telescope, instrument and CCD, flat in wavelength
HC_ERG_A = 1.98645e-8  # Planck constant x speed of light, erg Angstrom

# The CCD's 4112 rows at MUSE's 1.25 A per row around 7000 A (muse_wavecal 2.8.7 assumes
# 1.25 +- 0.05 A/pixel and cannot trace arc lines at other dispersions).
CCD_WAVE_MIN_A = 7000.0 - 2056 * 1.25  # wavelength at the bottom row of the CCD: 4430 A
CCD_WAVE_MAX_A = 7000.0 + 2056 * 1.25  # ... and at the top row: 9570 A
CUBE_WAVE0_A = 4750.0  # first plane of a DATACUBE_FINAL
CUBE_DWAVE_A = 1.25
CUBE_NWAVE = 3681  # 4750 .. 9350 A
LSF_SIGMA_A = 1.1  # instrumental line width (FWHM ~2.6 A)
NAD_NOTCH_A = (5755.0, 6008.0)  # blocked by the notch filter in AO modes

# (wavelength, relative peak) of sky lines; the residuals after sky subtraction scale
# with these weights.
SKY_LINES = ((5577.34, 1.0), (5889.95, 0.25), (5895.92, 0.2), (6300.30, 0.6),
             (6363.78, 0.2), (6863.96, 0.3), (7276.41, 0.35), (7316.28, 0.4),
             (7340.89, 0.35), (7571.75, 0.3), (7750.64, 0.45), (7794.11, 0.45),
             (7821.50, 0.3), (7913.71, 0.5), (7993.33, 0.5), (8344.60, 0.7),
             (8399.17, 0.6), (8430.17, 0.6), (8465.36, 0.55), (8827.10, 0.8),
             (8885.85, 0.75), (8919.63, 0.6), (8943.40, 0.75), (8958.09, 0.8),
             (9001.38, 0.65), (9310.00, 0.5))
# (wavelength, relative flux) of arc lines (HgCd, Ne, Xe).
ARC_LINES = ((4799.91, 0.3), (5085.82, 0.5), (5460.75, 1.0), (5769.60, 0.4),
             (5790.66, 0.4), (5852.49, 0.6), (6402.25, 0.9), (6438.47, 0.8),
             (6506.53, 0.6), (6929.47, 0.5), (7032.41, 0.7), (7245.17, 0.5),
             (7642.02, 0.4), (8231.63, 0.6), (8280.12, 0.3), (8377.61, 0.5),
             (8495.36, 0.4), (8654.38, 0.3), (8819.41, 0.6), (8952.25, 0.3),
             (9045.45, 0.2))
# Rest wavelengths (air) and relative fluxes of nebular lines of star-forming galaxies.
NEBULAR_LINES = (("[OII]3726", 3726.03, 0.7), ("[OII]3729", 3728.82, 0.9),
                 ("Hbeta", 4861.33, 0.35), ("[OIII]4959", 4958.91, 0.33),
                 ("[OIII]5007", 5006.84, 1.0), ("Halpha", 6562.80, 1.0),
                 ("[NII]6584", 6583.45, 0.3), ("[SII]6717", 6716.44, 0.15),
                 ("[SII]6731", 6730.82, 0.12))


def cube_wavelengths() -> np.ndarray:
    """Wavelength of each DATACUBE_FINAL plane (A), float64."""
    return CUBE_WAVE0_A + CUBE_DWAVE_A * np.arange(CUBE_NWAVE)


def ccd_row_edges(n_rows: int) -> np.ndarray:
    """Wavelengths of the lower edges of CCD rows 0..n-1 and the top edge (n + 1 values)."""
    return np.linspace(CCD_WAVE_MIN_A, CCD_WAVE_MAX_A, n_rows + 1)


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorised error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                                                       + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - poly * np.exp(-x * x))


def gaussian_in_bins(edges: np.ndarray, center: float, sigma: float) -> np.ndarray:
    """Fraction of a unit Gaussian falling into each bin between ``edges``."""
    return np.diff(0.5 * (1.0 + erf((edges - center) / (sigma * math.sqrt(2.0)))))


def line_profile(wave: np.ndarray, center: float, sigma: float) -> np.ndarray:
    """Peak-normalised Gaussian of a line sampled at ``wave``."""
    return np.exp(-0.5 * ((wave - center) / sigma) ** 2)


def lamp_continuum(wave: np.ndarray) -> np.ndarray:
    """Relative lamp-flat spectrum through MUSE: a broad hump peaking near 7000 A."""
    return 0.45 + 0.55 * np.exp(-0.5 * ((wave - 7000.0) / 1600.0) ** 2)


def twilight_continuum(wave: np.ndarray) -> np.ndarray:
    """Relative twilight-sky spectrum: blue, falling to the red."""
    return (wave / 5500.0) ** -2.0


@lru_cache(maxsize=8)
def sky_lines_on_rows(n_rows: int) -> np.ndarray:
    """Sky-line flux per CCD row (relative, summed over lines) of an n-row CCD."""
    edges = ccd_row_edges(n_rows)
    total = np.zeros(n_rows)
    for center, weight in SKY_LINES:
        if edges[0] - 10 < center < edges[-1] + 10:
            total += weight * gaussian_in_bins(edges, center, LSF_SIGMA_A)
    return total


@lru_cache(maxsize=8)
def arc_lines_on_rows(n_rows: int) -> np.ndarray:
    """Arc-line flux per CCD row (relative, summed over lines) of an n-row CCD."""
    edges = ccd_row_edges(n_rows)
    total = np.zeros(n_rows)
    for center, weight in ARC_LINES:
        total += weight * gaussian_in_bins(edges, center, LSF_SIGMA_A)
    return total


def response_mag(lam: np.ndarray) -> np.ndarray:
    """2.5 log10(electrons/s/A per erg/s/cm**2/A): photons per erg at ``lam``, collected
    by the telescope and detected with the simulator's throughput."""
    return 2.5 * np.log10(TELESCOPE_AREA_CM2 * THROUGHPUT * lam / HC_ERG_A)
