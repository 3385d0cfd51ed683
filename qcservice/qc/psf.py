"""The PSF of a final datacube: 2D Moffat fits per band of the point sources found on the
line-free continuum image (``qc.starfind``), star positions and the drift.

The PSF FWHM at each band is the median over stars of a 2D Moffat fit, each star weighted
by its squared amplitude (a faint star's fit is noisy); the drift is each star's centroid
against its 7000 A reference (the prototype portal's "Y - Yr" RMS). The band images come
from ``qc.cubeio``; the QC task that runs all this is ``qc.cubeqc``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import least_squares

from qcservice import metricnames as mn
from qcservice.qc.result import Metric

BANDS_A = (5000.0, 6000.0, 7000.0, 8000.0, 9000.0)
BAND_HALF_WIDTH_A = 50.0
REFERENCE_A = 7000.0


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


def _on_star(star: np.ndarray, fit: np.ndarray | None) -> np.ndarray | None:
    """The fit, unless it left the star (more than a spaxel: the drift over the bands is a
    fraction of that): in a noisy band a faint star's fit can slide onto a neighbour."""
    if fit is None or math.hypot(fit[1] - star[1], fit[2] - star[2]) > 1.0:
        return None
    return fit


def psf_metrics(bands: dict[float, np.ndarray], stars: list[np.ndarray], pixscale: float,
                others: list[tuple[float, float]] = ()) -> tuple[list[Metric], dict]:
    """FWHM per band, star positions at 7000 A, centroid drift; and the data to plot.
    The positions are fitted with the ``others`` (sources that are no stars) beside, so
    their light does not pull a star; the widths without them (as PSF-shaped neighbours a
    galaxy's light would widen the PSF)."""
    per_band: dict[float, list[np.ndarray | None]] = {}
    metrics, plot = [], {"wave": [], "fwhm": [], "dx": [], "dy": []}
    # the one PSF's beta, as its FWHM: the bright stars decide
    beta = weighted_median([(s[4], s[0] ** 2) for s in stars]) if stars else None

    def stars_near(s: np.ndarray) -> list[tuple[float, float]]:
        return [(o[1], o[2]) for o in stars if o is not s]

    for wave, image in bands.items():
        fits_ = [_on_star(s, fit_moffat(image, s[1], s[2], fit_radius(s[3]), stars_near(s),
                                        beta=beta)) for s in stars]
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
        placed = [_on_star(s, fit_moffat(
            image, s[1], s[2], fit_radius(fwhm), stars_near(s) + list(others), beta=beta,
            fwhm=fwhm)) for s in stars]
        per_band[wave] = [None if p is None else np.array([*p[:3], fwhm if f is None else f[3],
                                                           *p[4:]])
                          for f, p in zip(fits_, placed, strict=True)]
    per_star = []   # (waves, dx, dy) of each star against its 7000 A position
    nstars = 0
    for k in range(len(stars)):
        bands_k = [(w, f[k]) for w, f in per_band.items() if f[k] is not None]
        if not bands_k:     # no band placed it: not counted
            continue
        nstars += 1
        nearest = min(bands_k, key=lambda b: abs(b[0] - REFERENCE_A))[1]
        r = _at_reference(nearest, bands_k)
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
    metrics.append(Metric(mn.PSF_NSTARS, nstars, ""))
    return metrics, plot
