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
from dataclasses import dataclass

import numpy as np

from qcservice import metricnames as mn
from qcservice.fits.header import Header, read_headers
from qcservice.fits.rawpix import (
    Quadrant,
    clipped_stats,
    count_saturated,
    map_chan,
    physical,
    quadrants,
    sample_rows,
)
from qcservice.qc import preview
from qcservice.qc.result import Metric, TaskResult
from qcservice.vocabulary import N_SLICE


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


@dataclass(frozen=True)
class QuadrantStats:
    """What every raw frame's quadrant gets measured once (data rows sampled)."""

    quadrant: Quadrant
    data: np.ndarray       # the sampled rows of the data window, ADU
    level: float
    noise: float
    overscan: float

    @property
    def sub(self) -> str:
        return f"Q{self.quadrant.number}"


def _measure(stored: np.ndarray, quads: list[Quadrant]) -> list[QuadrantStats]:
    out = []
    for q in quads:
        data = _window(stored, q.data)
        level, noise = clipped_stats(data)
        out.append(QuadrantStats(q, data, level, noise,
                                 clipped_stats(_window(stored, q.overscan))[0]))
    return out


def raw_frame_qc(path: str, dpr_type: str, exptime: float | None,
                 partner: str | None = None, image_dir: str | None = None) -> TaskResult:
    """Metrics of one raw frame (see the module docstring); ``partner`` for biases; a
    preview of the 24 IFUs under ``image_dir`` when given."""
    kind = dpr_type.upper()
    chans = _chans(path)
    partner_chans = _partner_chans(partner) if partner else {}
    metrics: list[Metric] = []
    thumbs = {}
    for ifu in sorted(chans):
        h = chans[ifu]
        quads = quadrants(h)
        stored = map_chan(path, h)
        thumbs[ifu] = preview.thumbnail(stored, physical)
        nsaturated = count_saturated(stored)
        stats = _measure(stored, quads)
        metrics.append(Metric(mn.RAW_NSATURATED, nsaturated, "pix", ifu))
        for st in stats:
            metrics += [Metric(mn.RAW_LEVEL, st.level, "adu", ifu, st.sub),
                        Metric(mn.RAW_NOISE, st.noise, "adu", ifu, st.sub),
                        Metric(mn.RAW_OVERSCAN, st.overscan, "adu", ifu, st.sub)]
        if kind == "BIAS":
            metrics += _bias(ifu, stats, _partner_chan(partner, partner_chans.get(ifu), h))
        elif kind == "DARK" and exptime:
            metrics += [Metric(mn.DARK_CURRENT, (st.level - st.overscan) * st.quadrant.gain
                               * 3600.0 / exptime, "e-/pix/h", ifu, st.sub) for st in stats]
        elif kind.startswith("FLAT"):
            metrics += [Metric(mn.FLAT_FLUX, st.level - st.overscan, "adu", ifu, st.sub)
                        for st in stats]
            metrics += [Metric(mn.FLAT_NSATURATED, nsaturated, "pix", ifu),
                        Metric(mn.FLAT_DEAD_SLICES, dead_slices(_trimmed(stored, quads)), "",
                               ifu)]
    images = preview.save_png(preview.mosaic(thumbs), image_dir, "preview.png",
                              "the 24 IFUs") if thumbs else []
    return TaskResult(metrics=metrics, images=images)


def _partner_chans(partner: str) -> dict[int, Header]:
    """The CHAN headers of the partner bias, none when it cannot be read (changed on disk
    since ingest): a broken neighbour costs a good frame its read noise, not its QC."""
    try:
        return _chans(partner)
    except (ValueError, OSError):
        return {}


def _partner_chan(partner: str | None, other: Header | None, own: Header
                  ) -> np.ndarray | None:
    """The partner's CHAN when it is readable and shaped like this frame's, else None."""
    if partner is None or other is None or (other.get("NAXIS1"), other.get("NAXIS2")) != (
            own.get("NAXIS1"), own.get("NAXIS2")):
        return None
    try:
        return map_chan(partner, other)
    except (ValueError, OSError):
        return None


def _bias(ifu: int, stats: list[QuadrantStats], other: np.ndarray | None) -> list[Metric]:
    """Level, and read noise from the difference with the partner bias."""
    out = []
    for st in stats:
        out.append(Metric(mn.BIAS_LEVEL, st.level, "adu", ifu, st.sub))
        if other is not None:
            diff = st.data.astype(np.int32) - _window(other, st.quadrant.data).astype(np.int32)
            ron = clipped_stats(diff)[1] / math.sqrt(2)
            out += [Metric(mn.BIAS_RON, ron, "adu", ifu, st.sub),
                    Metric(mn.BIAS_RON_E, ron * st.quadrant.gain, "e-", ifu, st.sub)]
    return out
