"""Master calibrations computed from the simulated raw pixels, with their QC1 values.

The masters are made the way the MUSE recipes describe them (muse_bias, muse_dark,
muse_flat of pipeline 2.8.7), simplified: each raw CHAN is trimmed and corrected by the
mean level of its quadrant's vertical overscan; biases stay in ADU; darks and flats are
converted to electrons ("count") with the gain; the inputs are averaged. QC keywords
are those of the official dictionary (ESO-DFS-DIC.MUSE_QC) and are computed from the
arrays actually written, so they agree with the pixels of the files.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from qcservice.simulate.cards import CardSpec
from qcservice.simulate.detector import IfuDetector, adu
from qcservice.simulate.layout import QUADRANTS, CcdLayout, slice_columns, slice_qc_rows
from qcservice.vocabulary import N_SLICE

HOT_FLAG = 256
SATURATED_FLAG = 4096


@dataclass
class Master:
    """A master calibration of one IFU: DATA, STAT (variance), DQ and its QC cards."""

    data: np.ndarray
    stat: np.ndarray
    dq: np.ndarray
    qc: list[CardSpec] = field(default_factory=list)
    summary: dict = field(default_factory=dict)  # values echoed into truth.json


def trim(layout: CcdLayout, chan: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Trimmed ADU image minus each quadrant's mean overscan level, and those levels."""
    values = adu(chan)
    out = np.empty(layout.trimmed_shape, np.float32)
    levels = []
    for q in QUADRANTS:
        level = float(values[layout.overscan_window(q)].mean())
        out[layout.trimmed_window(q)] = values[layout.data_window(q)] - np.float32(level)
        levels.append(level)
    return out, levels


def _n_saturated(chan: np.ndarray) -> int:
    return int(np.count_nonzero(chan == np.int16(32767)))


def _stats(prefix: str, image: np.ndarray, unit: str = "") -> list[CardSpec]:
    note = f"[{unit}] " if unit else ""
    return [(f"{prefix} MEDIAN", float(np.median(image)), f"{note}Median value"),
            (f"{prefix} MEAN", float(image.mean()), f"{note}Mean value"),
            (f"{prefix} STDEV", float(image.std()), f"{note}Standard deviation"),
            (f"{prefix} MIN", float(image.min()), f"{note}Minimum value"),
            (f"{prefix} MAX", float(image.max()), f"{note}Maximum value")]


def _tiles(image: np.ndarray, n: int = 4) -> list[np.ndarray]:
    rows = np.array_split(np.arange(image.shape[0]), n)
    cols = np.array_split(np.arange(image.shape[1]), n)
    return [image[r[0]:r[-1] + 1, c[0]:c[-1] + 1] for r in rows for c in cols]


def _ron_e(layout: CcdLayout, trimmed: list[np.ndarray], q: int, gain: float
           ) -> tuple[float, float]:
    """RON (e-) from differences of adjacent biases in tiles of quadrant ``q``."""
    window = layout.trimmed_window(q)
    estimates = []
    for a, b in itertools.pairwise(trimmed):
        diff = (a[window] - b[window]).astype(np.float64)
        estimates += [float(t.std()) / np.sqrt(2.0) * gain for t in _tiles(diff)]
    return float(np.mean(estimates)), float(np.std(estimates))


def _slope(values: np.ndarray) -> float:
    return float(np.polyfit(np.arange(values.size), values, 1)[0])


def master_bias(layout: CcdLayout, det: IfuDetector, chans: list[np.ndarray]) -> Master:
    """MASTER_BIAS (ADU) from raw bias CHANs, with the ``QC BIAS`` keywords."""
    trimmed, levels = zip(*(trim(layout, c) for c in chans), strict=True)
    data = np.mean(trimmed, axis=0, dtype=np.float64).astype(np.float32)
    stat = np.empty_like(data)
    qc: list[CardSpec] = [(f"ESO QC BIAS INPUT{i} NSATURATED", _n_saturated(c),
                           f"Number of saturated pixels in raw bias {i}")
                          for i, c in enumerate(chans, start=1)]
    ron = {}
    for q in QUADRANTS:
        window = layout.trimmed_window(q)
        gain = det.quadrant(q).gain
        ron_e, ron_err = _ron_e(layout, list(trimmed), q, gain)
        ron[q] = ron_e
        stat[window] = (ron_e / gain) ** 2 / len(chans)
        part = data[window]
        medians = [float(np.median(adu(c)[layout.data_window(q)])) for c in chans]
        qc += [(f"ESO QC BIAS MASTER{q} RON", ron_e, "[count] Read-out noise in quadrant"),
               (f"ESO QC BIAS MASTER{q} RONERR", ron_err, "[count] Read-out noise error"),
               *_stats(f"ESO QC BIAS MASTER{q}", part),
               (f"ESO QC BIAS MASTER{q} SLOPE X", _slope(part.mean(axis=0)),
                "[adu/pix] Average horizontal slope"),
               (f"ESO QC BIAS MASTER{q} SLOPE Y", _slope(part.mean(axis=1)),
                "[adu/pix] Average vertical slope"),
               (f"ESO QC BIAS LEVEL{q} MEAN", float(np.mean(medians)), "[adu] Average"),
               (f"ESO QC BIAS LEVEL{q} STDEV", float(np.std(medians)), "[adu] Stdev"),
               (f"ESO QC BIAS LEVEL{q} MEDIAN", float(np.median(medians)), "[adu] Median")]
    qc += [("ESO QC BIAS MASTER NBADPIX", 0, "Bad pixels found in the master bias"),
           ("ESO QC BIAS MASTER NSATURATED", 0, "Number of saturated pixels in output")]
    qc += [(f"ESO DRS MUSE OVSC{q} MEAN", round(levels[0][q - 1], 3)) for q in QUADRANTS]
    return Master(data, stat, np.zeros(data.shape, np.int32), qc,
                  {"ron_e": {str(q): round(v, 4) for q, v in ron.items()}})


def electrons(layout: CcdLayout, det: IfuDetector, chan: np.ndarray) -> np.ndarray:
    """Trimmed, overscan-corrected image converted to electrons with each quadrant's gain."""
    image, _ = trim(layout, chan)
    for q in QUADRANTS:
        image[layout.trimmed_window(q)] *= np.float32(det.quadrant(q).gain)
    return image


def _read_variance_e(layout: CcdLayout, det: IfuDetector) -> np.ndarray:
    var = np.empty(layout.trimmed_shape, np.float32)
    for q in QUADRANTS:
        var[layout.trimmed_window(q)] = det.quadrant(q).ron_e ** 2
    return var


def master_dark(layout: CcdLayout, det: IfuDetector, chans: list[np.ndarray],
                exptime_s: float) -> Master:
    """MASTER_DARK (count per pixel per hour), hot pixels flagged, ``QC DARK`` keywords."""
    per_hour = 3600.0 / exptime_s
    images = [electrons(layout, det, c) * np.float32(per_hour) for c in chans]
    data = np.mean(images, axis=0, dtype=np.float64).astype(np.float32)
    read_var = _read_variance_e(layout, det)
    stat = ((read_var + np.maximum(data, 0) / per_hour) * per_hour ** 2
            / len(chans)).astype(np.float32)
    median = float(np.median(data))
    sigma = float(np.sqrt(np.median(stat)))
    dq = np.where(data > median + 8 * sigma, HOT_FLAG, 0).astype(np.int32)
    good = data[dq == 0]
    tile_medians = [float(np.median(t[t < median + 8 * sigma])) for t in _tiles(data)]
    qc: list[CardSpec] = [(f"ESO QC DARK INPUT{i} NSATURATED", _n_saturated(c),
                           f"Number of saturated pixels in raw dark {i}")
                          for i, c in enumerate(chans, start=1)]
    qc += [("ESO QC DARK MASTER NBADPIX", int(np.count_nonzero(dq)), "Number of bad pixels"),
           *_stats("ESO QC DARK MASTER", data),
           ("ESO QC DARK MASTER DC", float(np.median(good)), "[count/pix/h] Dark current"),
           ("ESO QC DARK MASTER DCERR", float(np.std(tile_medians)),
            "[count/pix/h] Dark current error"),
           ("ESO QC DARK MASTER NSATURATED", 0, "Number of saturated pixels in output")]
    return Master(data, stat, dq, qc, {"dc_e_per_pix_per_h": round(float(np.median(good)), 4),
                                       "n_hot": int(np.count_nonzero(dq))})


def master_flat(layout: CcdLayout, det: IfuDetector, chans: list[np.ndarray]) -> Master:
    """MASTER_FLAT normalised to its mean, with ``QC FLAT`` values before normalisation."""
    images = [electrons(layout, det, c) for c in chans]
    qc: list[CardSpec] = []
    saturated = np.zeros(layout.trimmed_shape, bool)
    for i, (chan, image) in enumerate(zip(chans, images, strict=True), start=1):
        qc += _stats(f"ESO QC FLAT INPUT{i}", image)
        qc.append((f"ESO QC FLAT INPUT{i} NSATURATED", _n_saturated(chan),
                   f"Number of saturated pixels in raw flat {i}"))
        disk = np.empty(layout.trimmed_shape, bool)
        for q in QUADRANTS:
            disk[layout.trimmed_window(q)] = chan[layout.data_window(q)] == np.int16(32767)
        saturated |= disk
    combined = np.mean(images, axis=0, dtype=np.float64).astype(np.float32)
    mean = float(combined.mean())
    qc += [*_stats("ESO QC FLAT MASTER", combined),
           ("ESO QC FLAT MASTER INTFLUX", float(combined.sum(dtype=np.float64)),
            "Flux integrated over the master flat"),
           ("ESO QC FLAT MASTER NSATURATED", int(np.count_nonzero(saturated)),
            "Number of saturated pixels in output data")]
    rows = slice_qc_rows(layout)
    slice_means = []
    for j in range(1, N_SLICE + 1):
        part = combined[rows, slice_columns(layout, j)]
        slice_means.append(float(part.mean()))
        qc += [(f"ESO QC FLAT MASTER SLICE{j} MEAN", slice_means[-1],
                "Mean around the vertical center of slice"),
               (f"ESO QC FLAT MASTER SLICE{j} STDEV", float(part.std()),
                "Stdev around the vertical center of slice")]
    variance = (_read_variance_e(layout, det) + np.maximum(combined, 0)) / len(chans)
    data = combined / np.float32(mean)
    stat = (variance / mean ** 2).astype(np.float32)
    dq = np.where(saturated, SATURATED_FLAG, 0).astype(np.int32)
    return Master(data, stat, dq, qc,
                  {"mean_e": round(mean, 3), "slice_mean_e": [round(v, 3) for v in slice_means],
                   "n_saturated": int(np.count_nonzero(saturated))})
