"""The PSF of a final datacube: point sources found on the line-free continuum image
(:func:`find_stars`), 2D Moffat fits per band, star positions and the drift.

The PSF FWHM at each band is the median over stars of a 2D Moffat fit, each star weighted
by its squared amplitude (a faint star's fit is noisy); the drift is each star's centroid
against its 7000 A reference (the prototype portal's "Y - Yr" RMS). The band images come
from ``qc.cubeio``; the QC task that runs all this is ``qc.cubeqc``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.optimize import least_squares

from qcservice import metricnames as mn
from qcservice.qc.result import Metric

BANDS_A = (5000.0, 6000.0, 7000.0, 8000.0, 9000.0)
BAND_HALF_WIDTH_A = 50.0
REFERENCE_A = 7000.0
# What a point source is (documented in find_stars); seeing_factor bounds its FWHM
# against the DIMM seeing when the header gives one.
DETECT_SMOOTH_PIX, DETECT_SIGMA = 1.0, 6.0   # candidate peaks
POINT_SOURCE = {"min_beta": 1.5, "min_fwhm_pix": 1.0, "max_sharpness": 0.7,
                "relative": (0.8, 1.1), "seeing_factor": 2.5}


def moffat(amp: float, x0: float, y0: float, fwhm: float, beta: float,
           x: np.ndarray, y: np.ndarray) -> np.ndarray:
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    return amp * (1.0 + ((x - x0) ** 2 + (y - y0) ** 2) / alpha ** 2) ** (-beta)


def fit_moffat(image: np.ndarray, x0: float, y0: float, radius: int,
               others: list[tuple[float, float]] = (), shared: bool = True,
               beta: float | None = None, fwhm: float | None = None) -> np.ndarray | None:
    """(amp, x, y, fwhm_pix, beta, bg) of a Moffat fit around (x0, y0), or None.

    Neighbours in ``others`` closer than two box radii are fitted at the same time
    (their own amplitude and position), so their wings do not pull the fit of the source
    of interest. With ``shared`` they have its FWHM and beta (stars of one PSF); without,
    each its own (when telling stars from galaxies, a neighbour must not lend its width).
    ``beta``, when given, is held fixed: in a noisy narrow band a free beta trades with
    the FWHM, and a star's beta hardly changes with wavelength. ``fwhm``, when given, is
    held fixed too: a PSF fit, which only places the source and scales it.
    """
    ny, nx = image.shape
    xs, xe = max(0, int(x0) - radius), min(nx, int(x0) + radius + 1)
    ys, ye = max(0, int(y0) - radius), min(ny, int(y0) + radius + 1)
    cut = image[ys:ye, xs:xe]
    yy, xx = np.mgrid[ys:ye, xs:xe]
    good = np.isfinite(cut)
    if good.sum() < 12:
        return None
    near = [(ox, oy) for ox, oy in others if math.hypot(ox - x0, oy - y0) < 2 * radius]
    x, y, z = xx[good].astype(float), yy[good].astype(float), cut[good]
    bg0 = float(np.nanmedian(image))
    per = 3 if shared else 5   # parameters per neighbour

    def model(p: np.ndarray) -> np.ndarray:
        fwhm, beta, bg, amp, sx, sy = p[:6]
        total = bg + moffat(amp, sx, sy, fwhm, beta, x, y)
        for k in range(len(near)):
            q = p[6 + per * k: 6 + per * (k + 1)]
            total += moffat(q[0], q[1], q[2], *(q[3:] if not shared else (fwhm, beta)), x, y)
        return total

    peak = float(np.nanmax(cut)) - bg0
    start = [3.0, 2.5, bg0, peak, x0, y0]
    lower = [0.5, 1.2, -np.inf, 0.0, xs - 0.5, ys - 0.5]
    upper = [4.0 * radius, 10.0, np.inf, np.inf, xe - 0.5, ye - 0.5]
    for ox, oy in near:
        start += [peak, ox, oy] + ([] if shared else [3.0, 2.5])
        lower += [0.0, ox - 2.0, oy - 2.0] + ([] if shared else [0.5, 1.2])
        upper += [np.inf, ox + 2.0, oy + 2.0] + ([] if shared else [4.0 * radius, 10.0])
    if beta is not None:
        start[1], lower[1], upper[1] = beta, beta * (1 - 1e-9), beta * (1 + 1e-9)
    if fwhm is not None:
        start[0], lower[0], upper[0] = fwhm, fwhm * (1 - 1e-9), fwhm * (1 + 1e-9)
    fit = least_squares(lambda p: model(p) - z, np.clip(start, lower, upper),
                        bounds=(lower, upper), x_scale="jac")
    if not fit.success:
        return None
    fwhm, beta, bg, amp, sx, sy = fit.x[:6]
    return np.array([amp, sx, sy, fwhm, beta, bg])


def fit_radius(fwhm_pix: float) -> int:
    """Half-size of the fitting box: 1.5 FWHM (core and inner wings), at least 6."""
    return max(6, math.ceil(1.5 * fwhm_pix))


def find_stars(image: np.ndarray, max_stars: int = 12,
               max_fwhm_pix: float | None = None) -> list[np.ndarray]:
    """The point sources of a (line-free continuum) image, as Moffat fits.

    Peaks ``DETECT_SIGMA`` above the background are fitted one by one (neighbours with
    widths of their own). A point source (:data:`POINT_SOURCE`) has the profile of a star:
    a Moffat beta of at least ``min_beta`` (a galaxy's exponential or de Vaucouleurs wings
    pull beta to the fit's lower bound, 1.2: so on the minicube's galaxy; stars give
    2-4); a FWHM of at least ``min_fwhm_pix`` (narrower is a noise spike or a cosmic);
    no broader than ``seeing_factor`` times the seeing when it is known
    (``max_fwhm_pix``); and a FWHM within ``relative`` of the candidates' median
    (weighted by squared amplitude), since stars share one PSF, a galaxy is that PSF
    convolved with more, and a much narrower fit is noise or a failed fit. A peak sharper
    than ``max_sharpness`` is not even fitted. A missing seeing keyword thus never makes
    a galaxy the PSF: its profile rejects it.
    """
    # peaks of the image smoothed over a spaxel or two: a faint star in bad seeing is
    # found where single spaxels would drown in the wings of its neighbours
    clean = ndimage.gaussian_filter(np.nan_to_num(image, nan=float(np.nanmedian(image))),
                                    DETECT_SMOOTH_PIX)
    faint = np.sort(clean.ravel())[: max(8, clean.size // 2)]   # mostly sky
    bg = float(np.median(faint))
    noise = 1.4826 * float(np.median(np.abs(faint - bg))) or float(clean.std()) or 1.0
    peaks = (clean == ndimage.maximum_filter(clean, size=5)) & \
        (clean > bg + DETECT_SIGMA * noise)
    # DAOFIND's sharpness on the unsmoothed image: a spike (hot spaxel, cosmic residual)
    # stands alone, a source of a FWHM >= 1 spaxel shares its peak with its neighbours
    raw = np.nan_to_num(image, nan=bg)
    around = (ndimage.uniform_filter(raw, size=3) * 9 - raw) / 8
    with np.errstate(invalid="ignore", divide="ignore"):
        sharp = (raw - around) / (raw - bg)
    peaks &= ~(sharp > POINT_SOURCE["max_sharpness"])
    ys, xs = np.nonzero(peaks)
    order = np.argsort(clean[ys, xs])[::-1][: 3 * max_stars]
    found = [(float(xs[i]), float(ys[i])) for i in order]
    fits_ = []
    for x, y in found:
        others = [p for p in found if p != (x, y)]
        first = fit_moffat(image, x, y, 6, others, shared=False)
        if first is not None and fit_radius(first[3]) > 6:   # a wide PSF needs a wider box
            first = fit_moffat(image, first[1], first[2], fit_radius(first[3]), others,
                               shared=False)
        if first is not None:
            fits_.append(first)
    fits_ = [f for f in fits_ if f[4] >= POINT_SOURCE["min_beta"]
             and f[3] >= POINT_SOURCE["min_fwhm_pix"]]
    if max_fwhm_pix is not None:
        fits_ = [f for f in fits_ if f[3] <= max_fwhm_pix]
    if not fits_:
        return []
    low, high = POINT_SOURCE["relative"]
    psf = weighted_median([(f[3], f[0] ** 2) for f in fits_])   # the bright ones decide
    return [f for f in fits_ if low * psf <= f[3] <= high * psf][:max_stars]


def weighted_median(pairs: list[tuple[float, float]]) -> float:
    """The value at half the total weight of (value, weight) pairs."""
    values, weights = np.array(sorted(pairs)).T
    cumulative = np.cumsum(weights)
    return float(values[np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _at_reference(ref: np.ndarray, fits_: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """A star's fit at the reference wavelength, placed on the straight line through its
    positions in all bands: one narrow band of a faint star is noisy (in 1.4" seeing its
    centroid scatters by half a spaxel), five bands are not, and the drift is smooth."""
    if len(fits_) < 3:
        return ref
    waves = np.array([w for w, _ in fits_])
    weight = np.array([max(f[0], 0.0) for _, f in fits_]) + 1e-12   # 1/sigma ~ signal
    xy = [np.polyval(np.polyfit(waves, [f[i] for _, f in fits_], 1, w=weight), REFERENCE_A)
          for i in (1, 2)]
    return np.array([ref[0], *xy, *ref[3:]])


def psf_metrics(bands: dict[float, np.ndarray], stars: list[np.ndarray],
                pixscale: float) -> tuple[list[Metric], dict]:
    """FWHM per band, star positions at 7000 A, centroid drift; and the data to plot."""
    per_band: dict[float, list[np.ndarray | None]] = {}
    metrics, plot = [], {"wave": [], "fwhm": [], "dx": [], "dy": []}
    # the one PSF's beta, as its FWHM: the bright stars decide
    beta = weighted_median([(s[4], s[0] ** 2) for s in stars]) if stars else None
    for wave, image in bands.items():
        fits_ = [fit_moffat(image, s[1], s[2], fit_radius(s[3]),
                            [(o[1], o[2]) for o in stars if o is not s], beta=beta)
                 for s in stars]
        widths = [(f[3], f[0] ** 2) for f in fits_ if f is not None]
        if not widths:
            per_band[wave] = fits_
            continue
        fwhm = weighted_median(widths)
        metrics.append(Metric(mn.PSF_FWHM, fwhm * pixscale, "arcsec", subunit=f"{wave:.0f}"))
        plot["wave"].append(wave)
        plot["fwhm"].append(fwhm * pixscale)
        # positions from PSF fits (the band's FWHM held): a faint star's own free width
        # trades with its position and the background in a noisy narrow band
        placed = [None if f is None else fit_moffat(
            image, f[1], f[2], fit_radius(fwhm), [(o[1], o[2]) for o in stars if o is not s],
            beta=beta, fwhm=fwhm) for s, f in zip(stars, fits_, strict=True)]
        per_band[wave] = [None if f is None or p is None else np.array([*p[:3], f[3], *p[4:]])
                          for f, p in zip(fits_, placed, strict=True)]
    ref = per_band.get(REFERENCE_A, [])
    per_star = []   # (waves, dx, dy) of each star against its 7000 A position
    for k, r in enumerate(ref):
        if r is None:
            continue
        r = _at_reference(r, [(w, f[k]) for w, f in per_band.items() if f[k] is not None])
        metrics += [Metric(mn.PSF_STAR_X, float(r[1]), "pix", subunit=f"S{k + 1}"),
                    Metric(mn.PSF_STAR_Y, float(r[2]), "pix", subunit=f"S{k + 1}"),
                    Metric(mn.PSF_STAR_FWHM, float(r[3] * pixscale), "arcsec",
                           subunit=f"S{k + 1}")]
        pts = [(w, f[k][1] - r[1], f[k][2] - r[2]) for w, f in per_band.items()
               if f[k] is not None]
        if len(pts) >= 2:
            per_star.append(tuple(np.array(v) for v in zip(*pts, strict=True)))
            metrics.append(Metric(mn.PSF_STAR_RMS, float(np.sqrt(np.mean(
                per_star[-1][1] ** 2 + per_star[-1][2] ** 2))), "pix", subunit=f"S{k + 1}"))
    if per_star:
        # medians over stars: one faint or blended star must not make the field look bad
        rms = [float(np.sqrt(np.mean(dx ** 2 + dy ** 2))) for _, dx, dy in per_star]
        metrics += [
            Metric(mn.PSF_DRIFT_RMS, float(np.median(rms)), "pix"),
            Metric(mn.PSF_DRIFT_X, float(np.median([np.polyfit(w, dx, 1)[0] * 1000
                                                   for w, dx, _ in per_star])), "pix/1000A"),
            Metric(mn.PSF_DRIFT_Y, float(np.median([np.polyfit(w, dy, 1)[0] * 1000
                                                   for w, _, dy in per_star])), "pix/1000A")]
        for wave in per_band:       # the median offset over stars, per wavelength
            dxs = [dx[w == wave][0] for w, dx, _ in per_star if (w == wave).any()]
            dys = [dy[w == wave][0] for w, _, dy in per_star if (w == wave).any()]
            if dxs:
                metrics += [Metric(mn.PSF_DRIFT_DX, float(np.median(dxs)), "pix",
                                   subunit=f"{wave:.0f}"),
                            Metric(mn.PSF_DRIFT_DY, float(np.median(dys)), "pix",
                                   subunit=f"{wave:.0f}")]
        plot.update(dwave=np.concatenate([p[0] for p in per_star]).tolist(),
                    dx=np.concatenate([p[1] for p in per_star]).tolist(),
                    dy=np.concatenate([p[2] for p in per_star]).tolist())
    metrics.append(Metric(mn.PSF_NSTARS, len([r for r in ref if r is not None]), ""))
    return metrics, plot
