"""Sky-subtraction residuals of a final cube, measured in spaxels verified to be sky.

Residuals of a poor sky subtraction sit at the sky emission lines and vary from spaxel
to spaxel (often with sign changes), so a mean sky spectrum can hide them. Here, for
each sky spaxel and each sky line, the line amplitude left in the data is estimated with
a matched filter (a Gaussian of the instrumental width, after subtracting the median of
side bands); the statistic is the RMS over spaxels of these amplitudes averaged over the
lines (``sky.residual``, flux units).

Its noise is measured from the data, not taken from STAT alone: a resampled (drizzled)
cube has noise correlated between neighbouring voxels that STAT does not record, so a
matched filter is noisier than STAT predicts (1.27x on a real ESO cube). The same filter
is run at off-line wavelengths (``NULL_SETS`` times as many as there are lines, at
least ``NULL_CLEARANCE_A`` from every known sky line), where only noise contributes:
the median over those wavelengths of the robust scatter of amplitude / STAT-predicted
error is ``sky.noise_scale`` (1 for uncorrelated noise). The
noise of the statistic (``sky.residual_noise``) is the STAT prediction times that scale,
and ``sky.residual_ratio`` is the statistic over it: ~1 for a clean cube whatever its
resampling, growing with the residual. ``sky.null_ratio`` is the check: the same
statistic, computed on disjoint sets of as many off-line wavelengths as lines were used,
over the same noise (median over the sets; ~1 when the noise model holds).

Which spaxels are sky (:func:`sky_mask`): the faintest ``SKY_FRACTION`` of the line-free
continuum image, outside every source (3 sigma above the background, grown by
``SOURCE_GROW_FWHM`` FWHM) and every PSF star. They are verified to be sky: after sky
subtraction a sky spaxel has no continuum, so the median continuum of the chosen spaxels
must be within ``SKY_LEVEL_SIGMA`` of zero, in units of their spaxel-to-spaxel scatter
(``sky.continuum_sigma``; ``sky.verified`` 1 or 0). A field filled by a galaxy (the
mpdaf minicube) fails: its residual is then measured on the galaxy's outskirts and says so.
Per line, ``sky.residual_spectrum`` is the RMS amplitude left at that line (sub-unit: its
wavelength): its sub-units are the lines used.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from qcservice import metricnames as mn
from qcservice.qc.result import Metric
from qcservice.robust import mad_sigma
from qcservice.vocabulary import OTHER_SKY_LINES_A

LINE_SIGMA_A = 1.1       # instrumental Gaussian sigma near 7000 A
SIDE_BAND_A = (5.0, 12.0)
SKY_FRACTION = 0.4       # the faintest 40 % of spaxels in the continuum image
SOURCE_SIGMA = 3.0       # a spaxel this far above the background belongs to a source
SOURCE_GROW_FWHM = 1.0   # ... and so do its neighbours within one FWHM
SKY_LEVEL_SIGMA = 2.0    # sky has no continuum left: |median| within this many sigma
NULL_STEP_A = 10.0       # off-line wavelengths are taken from this grid ...
NULL_CLEARANCE_A = 15.0  # ... this far from every sky line ...
NULL_SETS = 3            # ... as many as make this many sets of the lines' number,
                         # evenly over the spectrum: a third of the planes is read


def null_wavelengths(wave: np.ndarray, lines: tuple[float, ...]) -> tuple[float, ...]:
    """Off-line wavelengths of the cube for the noise calibration."""
    known = np.array(sorted({*lines, *OTHER_SKY_LINES_A}))
    grid = np.arange(wave[0] + SIDE_BAND_A[1] + 1, wave[-1] - SIDE_BAND_A[1] - 1, NULL_STEP_A)
    clear = grid[np.min(np.abs(grid[:, None] - known[None, :]), axis=1) >= NULL_CLEARANCE_A]
    wanted = NULL_SETS * len(lines)
    if clear.size > wanted:
        clear = clear[np.linspace(0, clear.size - 1, wanted).round().astype(int)]
    return tuple(float(w) for w in clear)


def sky_mask(continuum: np.ndarray, fwhm_pix: float,
             stars: list[tuple[float, float, float]] = ()) -> np.ndarray:
    """The sky spaxels: faint, away from sources and from ``stars`` ((x, y, fwhm_pix))."""
    finite = np.isfinite(continuum)
    if finite.sum() < 8:
        return finite
    values = continuum[finite]
    faint = np.sort(values)[: values.size // 2]
    bg, sigma = float(np.median(faint)), mad_sigma(faint)
    source = finite & (continuum > bg + SOURCE_SIGMA * sigma)
    grow = max(1, round(SOURCE_GROW_FWHM * fwhm_pix))
    yy, xx = np.ogrid[-grow:grow + 1, -grow:grow + 1]
    source = ndimage.binary_dilation(source, structure=xx ** 2 + yy ** 2 <= grow ** 2)
    gy, gx = np.ogrid[:continuum.shape[0], :continuum.shape[1]]
    for x, y, width in stars:   # the stars' wings too, however faint the star
        source |= (gx - x) ** 2 + (gy - y) ** 2 <= (2 * width) ** 2
    cut = np.percentile(values, 100 * SKY_FRACTION)
    return finite & ~source & (continuum <= cut)


def sky_check(continuum: np.ndarray, mask: np.ndarray) -> list[Metric]:
    """Is the chosen region sky? Its continuum level against its scatter (see module)."""
    values = continuum[mask]
    if values.size < 8:
        return [Metric(mn.SKY_VERIFIED, 0, "")]
    level = abs(float(np.median(values))) / (mad_sigma(values) or 1e-30)
    return [Metric(mn.SKY_CONTINUUM_SIGMA, level, "sigma"),
            Metric(mn.SKY_VERIFIED, int(level <= SKY_LEVEL_SIGMA), "")]


def _line_window(wave: np.ndarray, line: float) -> tuple[slice, np.ndarray, np.ndarray]:
    lo, hi = np.searchsorted(wave, [line - SIDE_BAND_A[1], line + SIDE_BAND_A[1]])
    window = slice(int(lo), int(hi))
    w = wave[window]
    profile = np.exp(-0.5 * ((w - line) / LINE_SIGMA_A) ** 2)
    side = np.abs(w - line) >= SIDE_BAND_A[0]
    return window, profile * (np.abs(w - line) < 3 * LINE_SIGMA_A), side


def line_amplitudes(data: np.ndarray, var: np.ndarray | None, wave: np.ndarray,
                    lines: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Per (line, spaxel) amplitude and its STAT-predicted noise; ``data`` is
    (planes, spaxels)."""
    amps, errs, used = [], [], []
    for line in lines:
        if not wave[0] + SIDE_BAND_A[1] < line < wave[-1] - SIDE_BAND_A[1]:
            continue
        window, g, side = _line_window(wave, line)
        block = data[window]
        if not np.isfinite(block).all(axis=0).any():
            continue
        continuum = np.nanmedian(block[side], axis=0)
        norm = float((g ** 2).sum())
        amps.append(np.nansum(g[:, None] * (block - continuum), axis=0) / norm)
        if var is not None:
            errs.append(np.sqrt(np.nansum(g[:, None] ** 2 * var[window], axis=0)) / norm)
        used.append(line)
    amp = np.array(amps)
    err = np.array(errs) if errs else np.full_like(amp, np.nan)
    return amp, err, used


def residual_statistic(amp: np.ndarray, err: np.ndarray) -> tuple[float, float]:
    """RMS over spaxels of the line-averaged amplitude, and what STAT predicts for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rms = float(np.sqrt(np.nanmean(np.nanmean(amp, axis=0) ** 2)))
        noise = float(np.sqrt(np.nanmean(np.nanmean(err ** 2, axis=0) / amp.shape[0])))
    return rms, noise


def noise_scale(amp: np.ndarray, err: np.ndarray) -> float:
    """Real noise of a line amplitude over STAT's prediction, from off-line amplitudes:
    the median over wavelengths of the robust scatter over spaxels of amp / err."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pulls = amp / err
    scatter = [mad_sigma(row) for row in pulls if np.isfinite(row).sum() >= 8]
    scatter = [s for s in scatter if np.isfinite(s) and s > 0]
    return float(np.median(scatter)) if scatter else float("nan")


def null_ratio(amp: np.ndarray, err: np.ndarray, nlines: int, scale: float) -> float:
    """The statistic at disjoint sets of ``nlines`` off-line wavelengths (spread over
    the spectrum), over its noise: the median over sets."""
    nsets = amp.shape[0] // nlines
    if nsets == 0:
        return float("nan")
    ratios = []
    for k in range(nsets):
        rows = np.arange(k, nsets * nlines, nsets)
        rms, noise = residual_statistic(amp[rows], err[rows])
        ratios.append(rms / (noise * scale))
    return float(np.nanmedian(ratios))


def sky_metrics(data: np.ndarray, var: np.ndarray | None, wave: np.ndarray,
                lines: tuple[float, ...]) -> list[Metric]:
    """Metrics from sky-spaxel spectra ``data`` (planes x spaxels) and their variance."""
    amp, err, used = line_amplitudes(data, var, wave, lines)
    if amp.size == 0:
        return [Metric(mn.SKY_NLINES, 0, "")]
    rms, noise = residual_statistic(amp, err)
    metrics = [Metric(mn.SKY_RESIDUAL, rms, "flux"), Metric(mn.SKY_NLINES, len(used), ""),
               Metric(mn.SKY_NSPAXELS, int(data.shape[1]), "")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        line_rms = np.sqrt(np.nanmean(amp ** 2, axis=1))
    metrics += [Metric(mn.SKY_RESIDUAL_SPECTRUM, float(v), "flux", subunit=f"{line:.2f}")
                for line, v in zip(used, line_rms, strict=True) if np.isfinite(v)]
    null_amp, null_err, _ = line_amplitudes(data, var, wave, null_wavelengths(wave, lines))
    scale = noise_scale(null_amp, null_err) if null_amp.size else float("nan")
    if np.isfinite(scale):
        metrics += [Metric(mn.SKY_NOISE_SCALE, scale, ""),
                    Metric(mn.SKY_NULL_RATIO, null_ratio(null_amp, null_err, len(used), scale),
                           "")]
        noise *= scale
    if np.isfinite(noise) and noise > 0:
        metrics += [Metric(mn.SKY_RESIDUAL_NOISE, noise, "flux"),
                    Metric(mn.SKY_RESIDUAL_RATIO, rms / noise, "")]
    return metrics
