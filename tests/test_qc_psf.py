"""PSF metrics on band images drawn from a known PSF: the star's position at 7000 A is
on the line of its drift through the bands, and the drift and FWHM are the drawn ones."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qcservice.qc.psf import BANDS_A, REFERENCE_A, moffat, psf_metrics
from qcservice.qc.starfind import find_stars


@settings(max_examples=12, deadline=None)
@given(x0=st.floats(9.0, 15.0), y0=st.floats(9.0, 15.0), dx=st.floats(-0.3, 0.3),
       dy=st.floats(-0.3, 0.3), fwhm=st.floats(2.5, 5.0), seed=st.integers(0, 2 ** 16))
def test_position_and_drift_from_all_bands(x0: float, y0: float, dx: float, dy: float,
                                           fwhm: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:24, :24].astype(float)
    bands = {}
    for wave in BANDS_A:
        t = (wave - REFERENCE_A) / 1000.0
        star = moffat(10.0, x0 + dx * t, y0 + dy * t, fwhm, 2.5, xx, yy)
        bands[wave] = star + rng.normal(0.0, 0.05, star.shape)   # peak S/N 200
    stars, _ = find_stars(np.mean(list(bands.values()), axis=0))
    assert len(stars) == 1
    metrics, _ = psf_metrics(bands, stars, 0.2)
    got = {(m.name, m.subunit): m.value for m in metrics}
    assert abs(got["psf.star_x", "S1"] - x0) < 0.03
    assert abs(got["psf.star_y", "S1"] - y0) < 0.03
    assert abs(got["psf.drift_x", None] - dx) < 0.03
    assert abs(got["psf.drift_y", None] - dy) < 0.03
    assert abs(got["psf.fwhm", "7000"] / (0.2 * fwhm) - 1) < 0.03


def test_faint_star_position_uses_every_band() -> None:
    """A faint star (peak S/N 10 per band): one band's centroid scatters by ~0.13 spaxel
    RMS; the line through the five bands' PSF-fit positions, at 7000 A, by ~0.06."""
    yy, xx = np.mgrid[:32, :32].astype(float)
    x0, y0, dx, dy = 15.3, 16.6, 0.2, -0.1
    errors = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        bands = {wave: moffat(1.0, x0 + dx * (wave - REFERENCE_A) / 1000.0,
                              y0 + dy * (wave - REFERENCE_A) / 1000.0, 5.0, 2.5, xx, yy)
                 + rng.normal(0.0, 0.1, xx.shape) for wave in BANDS_A}
        stars, _ = find_stars(np.mean(list(bands.values()), axis=0))
        assert len(stars) == 1, seed
        got = {(m.name, m.subunit): m.value for m in psf_metrics(bands, stars, 0.2)[0]}
        errors.append(np.hypot(got["psf.star_x", "S1"] - x0, got["psf.star_y", "S1"] - y0))
    assert np.sqrt(np.mean(np.square(errors))) < 0.09
