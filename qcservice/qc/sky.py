"""Sky-subtraction residuals of a final cube, measured in its sky spaxels.

Residuals of a poor sky subtraction sit at the sky emission lines and vary from spaxel
to spaxel (often with sign changes), so a mean sky spectrum can hide them. Here, for
each sky spaxel and each sky line, the line amplitude left in the data is estimated with
a matched filter (a Gaussian of the instrumental width, after subtracting the median of
side bands); the metric is the RMS of these amplitudes over spaxels, in flux units, next
to the RMS that noise alone would give (from STAT), and their ratio (1 for a perfect
subtraction, growing with the residual); per line, ``sky.residual_spectrum`` is the RMS
amplitude left at that line (sub-unit: its wavelength), for the residual plot.
"""

from __future__ import annotations

import warnings

import numpy as np

from qcservice.qc.result import Metric

LINE_SIGMA_A = 1.1       # instrumental Gaussian sigma near 7000 A
SIDE_BAND_A = (5.0, 12.0)
SKY_FRACTION = 0.4       # the faintest 40 % of spaxels in white light


def sky_mask(white: np.ndarray) -> np.ndarray:
    finite = np.isfinite(white)
    if not finite.any():
        return finite
    cut = np.percentile(white[finite], 100 * SKY_FRACTION)
    return finite & (white <= cut)


def _line_window(wave: np.ndarray, line: float) -> tuple[slice, np.ndarray, np.ndarray]:
    lo, hi = np.searchsorted(wave, [line - SIDE_BAND_A[1], line + SIDE_BAND_A[1]])
    window = slice(int(lo), int(hi))
    w = wave[window]
    profile = np.exp(-0.5 * ((w - line) / LINE_SIGMA_A) ** 2)
    side = np.abs(w - line) >= SIDE_BAND_A[0]
    return window, profile * (np.abs(w - line) < 3 * LINE_SIGMA_A), side


def line_amplitudes(data: np.ndarray, var: np.ndarray | None, wave: np.ndarray,
                    lines: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Per (line, spaxel) amplitude and its noise; ``data`` is (planes, spaxels)."""
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


def sky_metrics(data: np.ndarray, var: np.ndarray | None, wave: np.ndarray,
                lines: tuple[float, ...]) -> tuple[list[Metric], dict]:
    """Metrics from sky-spaxel spectra ``data`` (planes x spaxels) and their variance."""
    amp, err, used = line_amplitudes(data, var, wave, lines)
    if amp.size == 0:
        return [Metric("sky.nlines", 0, "")], {}
    per_spaxel = np.nanmean(amp, axis=0)          # lines averaged: noise goes down
    rms = float(np.sqrt(np.nanmean(per_spaxel ** 2)))
    noise = float(np.sqrt(np.nanmean(np.nanmean(err ** 2, axis=0) / len(used))))
    metrics = [Metric("sky.residual", rms, "flux"), Metric("sky.nlines", len(used), ""),
               Metric("sky.nspaxels", int(data.shape[1]), "")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        line_rms = np.sqrt(np.nanmean(amp ** 2, axis=1))
    metrics += [Metric("sky.residual_spectrum", float(v), "flux", subunit=f"{line:.2f}")
                for line, v in zip(used, line_rms, strict=True) if np.isfinite(v)]
    if np.isfinite(noise) and noise > 0:
        metrics += [Metric("sky.residual_noise", noise, "flux"),
                    Metric("sky.residual_ratio", rms / noise, "")]
    with warnings.catch_warnings():   # planes away from the sky lines were not read
        warnings.simplefilter("ignore", RuntimeWarning)
        plot = {"lines": used, "line_rms": line_rms.tolist(),
                "mean_spectrum": np.nanmean(data, axis=1).tolist()}
    return metrics, plot
