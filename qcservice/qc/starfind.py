"""Finding the point sources of a (line-free continuum) image: the PSF stars of a cube.

In the manner of DAOPHOT's FIND / NSTAR / ALLSTAR:
1. the noise is measured on the image itself (:func:`image_noise`);
2. peaks of the smoothed image are candidates; neighbours are fitted together (a Moffat
   each, with its own width, and one background per group);
3. the fitted sources are subtracted and the residual is searched again (also less its
   broad mean), so a faint star on a bright one's wing (a shoulder there, not a peak) is
   found; two fits that ended on one source are merged, fits of noise dropped; up to
   :data:`ROUNDS` rounds;
4. a candidate is a point source (:data:`POINT_SOURCE`) when it is bright enough to measure
   (``min_snr``) and has the stars' PSF: see :func:`find_stars`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.optimize import least_squares
from scipy.sparse import csr_matrix

from qcservice.qc.psf import fit_moffat, fit_radius, moffat, weighted_median
from qcservice.robust import mad_sigma

DETECT_SMOOTH_PIX = 1.0
SHOULDER_SMOOTH_PIX = 2.5
DETECT_NOISE = 3.0   # a peak of the smoothed residual, in units of the image's own noise
MISMATCH = 0.15     # ... plus this fraction of the model there (a galaxy is no Moffat)
ROUNDS = 3
WIDEST = 2.5       # times the PSF's FWHM: no fit grows wider (see _fit_group)
MIN_FIT_SNR = 5.0  # a fit of less is noise (or a residual), dropped before the next round
# What a point source is (documented in find_stars); seeing_factor bounds its FWHM
# against the DIMM seeing when the header gives one.
POINT_SOURCE = {"min_beta": 1.3, "min_fwhm_pix": 1.0, "max_sharpness": 0.7,
                "relative": (0.8, 1.1), "seeing_factor": 2.5, "min_snr": 45.0}


def image_noise(image: np.ndarray) -> float:
    """The pixel noise from second differences (a pixel against its four neighbours,
    median absolute deviation): sources and gradients hardly move it. Noise correlated
    between neighbouring spaxels (a resampled cube) is undercounted; the detection
    threshold is set with that in mind (on simulated cubes with correlated noise it
    reads 0.8x the noise far from the sources)."""
    kernel = np.array([[0, -0.25, 0], [-0.25, 1, -0.25], [0, -0.25, 0]])
    second = ndimage.convolve(image, kernel, mode="nearest")[1:-1, 1:-1]
    return mad_sigma(second) / math.sqrt(1.25) or float(np.std(image)) or 1.0


def _peaks(residual: np.ndarray, model: np.ndarray, noise: float,
           taken: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """New candidates: peaks of the smoothed residual above the threshold, brightest
    first, not within 2 spaxels of a source already taken. DAOFIND's sharpness on the
    unsmoothed residual drops spikes (a hot spaxel or cosmic residual stands alone)."""
    clean = ndimage.gaussian_filter(residual, DETECT_SMOOTH_PIX)
    bg = float(np.median(clean))
    floor = DETECT_NOISE * noise + MISMATCH * ndimage.gaussian_filter(model, DETECT_SMOOTH_PIX)
    peaks = (clean == ndimage.maximum_filter(clean, size=5)) & (clean > bg + floor)
    # a faint source on a bright one's wing is a shoulder, not a peak: on the wing less
    # its broad mean (a difference of Gaussians, DoG) the shoulder is a peak again
    dog = clean - ndimage.gaussian_filter(residual, SHOULDER_SMOOTH_PIX)
    peaks |= (dog == ndimage.maximum_filter(dog, size=5)) & (dog > floor)
    around = (ndimage.uniform_filter(residual, size=3) * 9 - residual) / 8
    with np.errstate(invalid="ignore", divide="ignore"):
        sharp = (residual - around) / (residual - bg)
    peaks &= ~(sharp > POINT_SOURCE["max_sharpness"])
    ys, xs = np.nonzero(peaks)
    new: list[tuple[float, float]] = []
    for i in np.argsort(clean[ys, xs])[::-1]:
        p = (float(xs[i]), float(ys[i]))
        if len(new) < limit and all(math.hypot(p[0] - q[0], p[1] - q[1]) > 2.0
                                    for q in taken + new):
            new.append(p)
    return new


def _groups(points: list[tuple[float, float]], reach: float) -> list[list[int]]:
    """Indices of the points in groups linked by distances under ``reach``."""
    parent = list(range(len(points)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, (xa, ya) in enumerate(points):
        for j in range(i):
            if math.hypot(xa - points[j][0], ya - points[j][1]) < reach:
                parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(points)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def _fit_group(image: np.ndarray, starts: list[np.ndarray], radius: int,
               widest: float) -> list[np.ndarray]:
    """Joint Moffat fit of neighbouring sources, (amp, x, y, fwhm, beta) each, and one
    background, over the boxes around them. No fit grows wider
    than ``widest``: a galaxy's fit would spread over its neighbours and take their light."""
    ny, nx = image.shape
    box = np.zeros(image.shape, bool)
    for s in starts:
        box[max(0, int(s[2]) - radius):int(s[2]) + radius + 1,
            max(0, int(s[1]) - radius):int(s[1]) + radius + 1] = True
    box &= np.isfinite(image)
    yy, xx = np.nonzero(box)
    x, y, z = xx.astype(float), yy.astype(float), image[box]
    p0, lower, upper = [float(np.median(z))], [-np.inf], [np.inf]
    for s in starts:
        p0 += [max(float(s[0]), 1e-6), s[1], s[2], min(s[3], widest), s[4]]
        lower += [0.0, max(s[1] - 3, -0.5), max(s[2] - 3, -0.5), 0.5, 1.2]
        upper += [np.inf, min(s[1] + 3, nx - 0.5), min(s[2] + 3, ny - 0.5), widest, 10.0]

    def residual(p: np.ndarray) -> np.ndarray:
        total = np.full(z.shape, p[0])
        for k in range(len(starts)):
            total += moffat(*p[1 + 5 * k: 6 + 5 * k], x, y)
        return total - z

    fit = least_squares(residual, np.clip(p0, lower, upper), bounds=(lower, upper),
                        x_scale="jac", max_nfev=200 * (len(starts) + 1),
                        jac_sparsity=_sparsity(x, y, starts, radius) if len(starts) > 4 else None)
    return [np.array([*fit.x[1 + 5 * k: 6 + 5 * k], fit.x[0]]) for k in range(len(starts))]


def _sparsity(x: np.ndarray, y: np.ndarray, starts: list[np.ndarray],
              radius: int) -> csr_matrix:
    """Which pixels each parameter moves: the background all, a source's five those
    within two box radii of it (its far wings are negligible). With many sources in a
    group (over four: for fewer the dense Jacobian is faster) the Jacobian then costs a
    few model evaluations, not five per source."""
    rows, cols = [np.arange(x.size)], [np.zeros(x.size, int)]
    for k, s in enumerate(starts):
        near = np.flatnonzero(np.hypot(x - s[1], y - s[2]) < 2 * radius)
        for j in range(5):
            rows.append(near)
            cols.append(np.full(near.size, 1 + 5 * k + j))
    rows_, cols_ = np.concatenate(rows), np.concatenate(cols)
    return csr_matrix((np.ones(rows_.size), (rows_, cols_)), shape=(x.size, 1 + 5 * len(starts)))


def _fit_all(image: np.ndarray, starts: list[np.ndarray], width: float) -> list[np.ndarray]:
    """Every group fitted, in boxes for sources of FWHM ``width``."""
    fits: list[np.ndarray] = [np.empty(0)] * len(starts)
    radius = fit_radius(width)
    for group in _groups([(s[1], s[2]) for s in starts], 2 * radius):
        starting = [starts[i] for i in group]
        for i, f in zip(group, _fit_group(image, starting, radius, WIDEST * width),
                        strict=True):
            fits[i] = f
    return fits


def _model(shape: tuple[int, ...], fits: list[np.ndarray]) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    total = np.zeros(shape)
    for f in fits:
        total += moffat(*f[:5], xx, yy)
    return total


def _merged(fits: list[np.ndarray], noise: float) -> list[np.ndarray]:
    """The fits that stand for a source: not two on one (closer than half the PSF's
    FWHM: the fainter goes), none fitted to noise (S/N under ``MIN_FIT_SNR``: a fit that
    spread over a residual would pull its neighbours' fits)."""
    kept: list[np.ndarray] = []
    near = 0.5 * _width(fits)
    for f in sorted(fits, key=lambda f: -f[0]):
        if _snr(f, noise) >= MIN_FIT_SNR and all(
                math.hypot(f[1] - k[1], f[2] - k[2]) > near for k in kept):
            kept.append(f)
    return kept


def _snr(fit: np.ndarray, noise: float) -> float:
    """Signal to noise of a fitted Moffat (amplitude times the root of the summed squared
    peak-normalised profile, pi alpha^2 / (2 beta - 1), over the pixel noise)."""
    alpha = fit[3] / (2.0 * math.sqrt(2.0 ** (1.0 / fit[4]) - 1.0))
    return float(fit[0] * math.sqrt(math.pi * alpha ** 2 / (2 * fit[4] - 1)) / noise)


def _candidates(image: np.ndarray, noise: float, limit: int) -> list[np.ndarray]:
    """Every source of the image as a Moffat fit: detection rounds on the residual."""
    fits: list[np.ndarray] = []
    for _ in range(ROUNDS):
        model = _model(image.shape, fits)
        background = float(np.median([f[5] for f in fits])) if fits else 0.0
        new = _peaks(image - model - background, model, noise,
                     [(f[1], f[2]) for f in fits], limit - len(fits))
        if not new:
            break
        starts = fits + [np.array([max(image[int(y), int(x)] - background, noise),
                                   x, y, 3.0, 2.5, 0.0]) for x, y in new]
        width = _width(fits) if fits else _first_width(image, new[0])
        fits = _fit_all(image, starts, width)
        merged = _merged(fits, noise)
        if len(merged) < len(fits):
            fits = _fit_all(image, merged, width)
    return fits


def _first_width(image: np.ndarray, peak: tuple[float, float]) -> float:
    """The FWHM of the brightest peak fitted alone: the first guess of the PSF's."""
    fit = fit_moffat(image, *peak, fit_radius(3.0))
    if fit is not None and fit_radius(fit[3]) > fit_radius(3.0):   # a wide PSF: a wider box
        fit = fit_moffat(image, fit[1], fit[2], fit_radius(fit[3]))
    return 3.0 if fit is None else float(fit[3])


def _width(fits: list[np.ndarray]) -> float:
    """The FWHM of the brightest fits (amplitude-weighted median)."""
    return weighted_median([(f[3], f[0] ** 2 + 1e-12) for f in fits])


def find_stars(image: np.ndarray, max_stars: int = 12, max_fwhm_pix: float | None = None
               ) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """The point sources of a (line-free continuum) image, as Moffat fits
    (amp, x, y, fwhm_pix, beta, background), brightest first; and where the other sources
    are (galaxies, or stars too faint to measure), for fits that must take them along.

    The stars' PSF is the amplitude-weighted median of the candidates that look like
    stars on their own: Moffat beta at least ``min_beta`` (a galaxy's exponential wings
    pull beta to the fit's lower bound, 1.2: so on the minicube's galaxy; stars give 2-4),
    FWHM at least ``min_fwhm_pix`` (narrower: noise or a cosmic) and no broader than
    ``seeing_factor`` times the DIMM seeing when known (``max_fwhm_pix``), S/N at least
    ``min_snr``. A candidate is then a point source when, on the image with its
    neighbours' fits subtracted, its S/N is at least ``min_snr`` and its FWHM is within
    ``relative`` of the PSF's fitted both free and with the PSF's beta held. A galaxy (the
    PSF convolved with a disc, 12 % or more wider on simulated nights) fails one or the
    other; a faint star's free beta trades with its width, which the held fit steadies.
    S/N 45: the faintest simulated stars have 55, the faint galaxies that looked like
    stars 30-36. A missing seeing keyword thus never makes a galaxy the PSF.
    """
    filled = np.nan_to_num(image, nan=float(np.nanmedian(image)))
    noise = image_noise(filled)
    fits = _candidates(filled, noise, 3 * max_stars)

    def plausible(f: np.ndarray) -> bool:
        return (f[3] >= POINT_SOURCE["min_fwhm_pix"] and _snr(f, noise) >= POINT_SOURCE["min_snr"]
                and (max_fwhm_pix is None or f[3] <= max_fwhm_pix))

    alike = [f for f in fits if plausible(f) and f[4] >= POINT_SOURCE["min_beta"]]
    if not alike:
        return [], [(float(f[1]), float(f[2])) for f in fits]
    beta = weighted_median([(f[4], f[0] ** 2) for f in alike])
    fwhm = _width(alike)
    model = _model(filled.shape, fits)
    low, high = POINT_SOURCE["relative"]
    stars, others = [], []
    for f in fits:
        alone = filled - (model - _model(filled.shape, [f]))
        free = fit_moffat(alone, f[1], f[2], fit_radius(fwhm))
        held = fit_moffat(alone, f[1], f[2], fit_radius(fwhm), beta=beta)
        if (free is not None and held is not None and plausible(held)
                and low <= held[3] / fwhm <= high and low <= free[3] / fwhm <= high):
            stars.append(held)
        else:
            others.append((float(f[1]), float(f[2])))
    stars.sort(key=lambda s: -s[0])
    return stars[:max_stars], others + [(float(s[1]), float(s[2])) for s in stars[max_stars:]]
