"""The figures behind abmaglim's noise estimator (qcservice/vo/filestats.py's docstring).

    .venv/bin/python scripts/noise_accuracy.py [--seeds 1000]

1. Simulated: unit Gaussian noise under a broad galaxy (80x80 spaxels, the test's field):
   mean, spread and worst error of ``robust_sigma`` over the seeds, against the first
   differences it replaced.
2. Real (mpdaf's minicube): the noise of the white-light image W from the cube itself,
   by a noise-only image: (mean of planes 0, 4, 8, ... minus mean of planes 2, 6, 10, ...)
   / (2 sqrt 2) has W's noise and no source (planes 4 apart: no spectral correlation); its
   neighbour correlations, what the estimator reads on it and on W, the STAT extension's
   sigma and how the noise of 4x4 sums exceeds 4 sigma. About a minute, 1 GB.
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from qcservice.vo.filestats import robust_sigma


def first_differences(image: np.ndarray) -> float:
    """The estimator before: neighbour differences over sqrt(2)."""
    d = np.concatenate([np.diff(image, axis=1).ravel(), np.diff(image, axis=0).ravel()])
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def simulated(seeds: int) -> None:
    y, x = np.mgrid[:80, :80]
    galaxy = 30 * np.exp(-((x - 40)**2 + (y - 40)**2) / 800)
    for name, estimate in (("second differences", robust_sigma),
                           ("first differences", first_differences)):
        r = np.array([estimate(galaxy + np.random.default_rng(s).normal(size=galaxy.shape))
                      for s in range(seeds)])
        print(f"{name}: mean {r.mean():.4f} spread {r.std():.4f} worst {abs(r - 1).max():.4f}"
              f" outside 8 %: {np.mean(abs(r - 1) > 0.08):.2%} ({seeds} seeds)")


def correlation(img: np.ndarray, lag: int) -> float:
    z = img - img.mean()
    return float((np.mean(z[:, lag:] * z[:, :-lag]) + np.mean(z[lag:] * z[:-lag])) / 2
                 / z.var())


def minicube() -> None:
    import mpdaf

    path = Path(mpdaf.__file__).parent / "data" / "sdetect" / "minicube.fits"
    with fits.open(path) as hdul:
        data, stat = (hdul[e].data.astype(np.float64) for e in ("DATA", "STAT"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        white = np.nanmean(data, axis=0)
        n = np.isfinite(data).sum(axis=0)
        stat_sigma = math.sqrt(np.median(np.nansum(stat, axis=0) / n**2))
        noise = (np.nanmean(data[0::4], axis=0) - np.nanmean(data[2::4], axis=0)) / 8**0.5
    sigma = noise.std()
    m = noise.shape[0] // 4 * 4
    sums = noise[:m, :m].reshape(m // 4, 4, m // 4, 4).sum(axis=(1, 3))
    print(f"minicube (units of BUNIT): STAT sigma {stat_sigma:.4f}, noise image sigma "
          f"{sigma:.4f}, rho1 {correlation(noise, 1):.3f} rho2 {correlation(noise, 2):.3f}")
    print(f"  on the noise image: second differences {robust_sigma(noise) / sigma:.3f} sigma,"
          f" first {first_differences(noise) / sigma:.3f} sigma; 4x4 sums "
          f"{sums.std() / (4 * sigma):.2f} x 4 sigma")
    print(f"  on W: second differences {robust_sigma(white):.4f} "
          f"({robust_sigma(white) / sigma:.2f} sigma), first {first_differences(white):.4f} "
          f"({first_differences(white) / sigma:.2f} sigma)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    simulated(parser.parse_args().seeds)
    minicube()
