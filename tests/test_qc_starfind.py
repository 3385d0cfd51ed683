"""Which sources are PSF stars: a faint star on a bright one's wing is found, a galaxy as
bright as the stars beside them is not taken, noise alone gives no star."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qcservice.qc.psf import moffat
from qcservice.qc.starfind import find_stars, image_noise

FWHM, BETA = 6.0, 2.5   # spaxels: 1.2" seeing


def _field(n: int, seed: int, noise: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:n, :n].astype(float)
    return np.random.default_rng(seed).normal(0.0, noise, (n, n)), xx, yy


def _galaxy(xx: np.ndarray, yy: np.ndarray, x0: float, y0: float, peak: float) -> np.ndarray:
    """An exponential disc (scale 1.5 spaxels, axis ratio 0.7) seen through the PSF."""
    disc = np.exp(-np.hypot(xx - x0, (yy - y0) / 0.7) / 1.5)
    n = xx.shape[0]
    psf = np.fft.ifftshift(moffat(1.0, n // 2, n // 2, FWHM, BETA, xx, yy))
    seen = np.real(np.fft.ifft2(np.fft.fft2(disc) * np.fft.fft2(psf)))
    return peak * seen / seen.max()


@pytest.mark.parametrize("seed", range(5))
def test_a_faint_star_on_a_bright_ones_wing_is_found(seed: int) -> None:
    """20 times fainter, one FWHM away: on the bright star's wing it is a shoulder, not a
    peak, so only the search of the residual finds it."""
    image, xx, yy = _field(48, seed)
    truth = [(20.3, 24.2, 40.0), (26.4, 24.6, 2.0), (35.1, 10.7, 8.0)]
    for x, y, amp in truth:
        image += moffat(amp, x, y, FWHM, BETA, xx, yy)
    stars, others = find_stars(image)
    assert len(stars) == 3 and others == []
    for x, y, _ in truth:
        assert min(math.hypot(s[1] - x, s[2] - y) for s in stars) < 0.1


@pytest.mark.parametrize("seed", range(5))
def test_a_galaxy_as_bright_as_the_stars_is_no_star(seed: int) -> None:
    image, xx, yy = _field(48, seed)
    stars_in = [(12.2, 14.7, 6.0), (33.6, 30.1, 3.0)]
    for x, y, amp in stars_in:
        image += moffat(amp, x, y, FWHM, BETA, xx, yy)
    image += _galaxy(xx, yy, 20.4, 34.8, 4.0)
    stars, others = find_stars(image)
    assert sorted((round(s[1]), round(s[2])) for s in stars) == [(12, 15), (34, 30)]
    assert [(round(x), round(y)) for x, y in others] == [(20, 35)]
    assert all(s[3] == pytest.approx(FWHM, rel=0.05) for s in stars)


def test_noise_alone_has_no_star() -> None:
    image, _, _ = _field(64, 1, noise=1.0)
    assert find_stars(image)[0] == []


def test_the_noise_is_read_past_sources_and_gradients() -> None:
    image, xx, yy = _field(48, 2)
    image += 0.02 * xx + moffat(30.0, 24.0, 24.0, FWHM, BETA, xx, yy)
    assert image_noise(image) == pytest.approx(0.05, rel=0.15)
