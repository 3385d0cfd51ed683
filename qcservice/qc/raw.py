"""QC of raw calibration frames, all 24 IFUs of an exposure at once.

Per IFU and quadrant (sub-unit ``Q1``..``Q4``):
- every raw frame: level and noise of the data window, overscan level, saturated pixels;
- BIAS: read noise from the difference with another bias of the same night, as the
  pipeline measures it (std(a - b) / sqrt 2, so fixed-pattern structure cancels), in ADU
  and in electrons (x ESO DET OUTn GAIN, e-/ADU);
- DARK: dark current (data minus overscan, in e-/pixel/hour);
- FLAT: lamp flux (data minus overscan) and, per IFU, dead or faint slices: runs of dark
  columns in the flat's column profile wider than half a slice pitch (the 48 slices of an
  IFU are vertical stripes across the CCD; the gaps between them are narrow).
"""

from __future__ import annotations

import math

import numpy as np

from qcservice.ingest.fitsheader import Header, read_headers
from qcservice.qc.rawpix import (
    Quadrant,
    clipped_stats,
    count_saturated,
    map_chan,
    physical,
    quadrants,
    sample_rows,
)
from qcservice.qc.result import Metric, TaskResult

N_SLICE = 48


def _chans(path: str) -> dict[int, Header]:
    return {int(h.extname[4:]): h for h in read_headers(path)
            if (h.extname or "").startswith("CHAN") and h.extname[4:].isdigit()}


def _window(stored: np.ndarray, window: tuple[slice, slice]) -> np.ndarray:
    """Sampled rows of a window, as physical ADU values."""
    return physical(stored[sample_rows(window)])


def _trimmed(stored: np.ndarray, quads: list[Quadrant], rows: int = 64) -> np.ndarray:
    """``rows`` rows of each data window, joined (bottom: Q1 Q2, top: Q4 Q3)."""
    q = {}
    for x in quads:
        width = x.data[1].stop - x.data[1].start
        q[x.number] = physical(stored[sample_rows(x.data, budget=rows * width)])
    return np.block([[q[1], q[2]], [q[4], q[3]]])


def dead_slices(trimmed: np.ndarray, faint: float = 0.25) -> int:
    """Number of slices missing from a lamp flat's column profile (mean over rows)."""
    profile = trimmed.mean(axis=0)
    lit = profile[profile > np.percentile(profile, 50) * 0.5]
    if lit.size == 0:
        return N_SLICE
    dark = profile < faint * float(np.median(lit))
    pitch = trimmed.shape[1] / N_SLICE
    min_run = max(2, math.ceil(0.5 * pitch))
    runs, length = 0, 0
    for is_dark in np.append(dark, False):
        if is_dark:
            length += 1
            continue
        if length >= min_run:
            runs += max(1, round(length / pitch))
        length = 0
    return runs


def _frame_metrics(ifu: int, stored: np.ndarray, quads: list[Quadrant],
                   nsaturated: int) -> list[Metric]:
    out = [Metric("raw.nsaturated", nsaturated, "pix", ifu)]
    for q in quads:
        sub = f"Q{q.number}"
        level, noise = clipped_stats(_window(stored, q.data))
        over, _ = clipped_stats(_window(stored, q.overscan))
        out += [Metric("raw.level", level, "adu", ifu, sub),
                Metric("raw.noise", noise, "adu", ifu, sub),
                Metric("raw.overscan", over, "adu", ifu, sub)]
    return out


def raw_frame_qc(path: str, dpr_type: str, exptime: float | None,
                 partner: str | None = None) -> TaskResult:
    """Metrics of one raw frame (see the module docstring); ``partner`` for biases."""
    kind = dpr_type.upper()
    chans = _chans(path)
    partner_chans = _chans(partner) if partner else {}
    metrics: list[Metric] = []
    for ifu in sorted(chans):
        h = chans[ifu]
        quads = quadrants(h)
        stored = map_chan(path, h)
        nsaturated = count_saturated(stored)
        metrics += _frame_metrics(ifu, stored, quads, nsaturated)
        if kind == "BIAS":
            other = partner_chans.get(ifu)
            metrics += _bias(ifu, stored, quads,
                             map_chan(partner, other) if other is not None else None)
        elif kind == "DARK" and exptime:
            metrics += _dark(ifu, stored, quads, exptime)
        elif kind.startswith("FLAT"):
            metrics += _flat(ifu, stored, quads, nsaturated)
    return TaskResult(metrics=metrics)


def _bias(ifu: int, stored: np.ndarray, quads: list[Quadrant], other: np.ndarray | None
          ) -> list[Metric]:
    out = []
    for q in quads:
        sub = f"Q{q.number}"
        data = _window(stored, q.data)
        out.append(Metric("bias.level", clipped_stats(data)[0], "adu", ifu, sub))
        if other is not None:
            diff = data.astype(np.int32) - _window(other, q.data).astype(np.int32)
            ron = clipped_stats(diff)[1] / math.sqrt(2)
            out += [Metric("bias.ron", ron, "adu", ifu, sub),
                    Metric("bias.ron_e", ron * q.gain, "e-", ifu, sub)]
    return out


def _dark(ifu: int, stored: np.ndarray, quads: list[Quadrant], exptime: float
          ) -> list[Metric]:
    out = []
    for q in quads:
        signal = clipped_stats(_window(stored, q.data))[0] - \
            clipped_stats(_window(stored, q.overscan))[0]
        out.append(Metric("dark.current", signal * q.gain * 3600.0 / exptime, "e-/pix/h",
                          ifu, f"Q{q.number}"))
    return out


def _flat(ifu: int, stored: np.ndarray, quads: list[Quadrant], nsaturated: int
          ) -> list[Metric]:
    out = []
    for q in quads:
        flux = clipped_stats(_window(stored, q.data))[0] - \
            clipped_stats(_window(stored, q.overscan))[0]
        out.append(Metric("flat.flux", flux, "adu", ifu, f"Q{q.number}"))
    out.append(Metric("flat.nsaturated", nsaturated, "pix", ifu))
    out.append(Metric("flat.dead_slices", dead_slices(_trimmed(stored, quads)), "", ifu))
    return out
