"""The 24 MUSE detectors: their injected properties and their raw pixel values.

Each IFU's CCD has, per quadrant, a bias level (ADU), a read noise (ADU; in electrons
it is ``ron_adu * gain``) and a gain in e-/ADU -- the unit the MUSE pipeline reads
``ESO DET OUTn GAIN`` in (muse_bias multiplies the measured ADU noise by it and reports
``QC BIAS MASTERn RON`` in electrons, "count"). It also has a dark current and a few
hot pixels. The base values depend on the seed only (the same instrument every night);
bias levels drift by about 1.5 ADU from night to night.

Pixels: a raw value is ``bias + signal/gain + noise`` in ADU, the noise Gaussian with
variance ``ron_adu**2 + signal/gain**2`` (read noise plus photon noise), rounded and
clipped to 0..65535 (65535 = saturated). Gaussian deviates come from a 65536-entry
table of normal quantiles indexed by 16 random bits, which is exact to 1/65536 in
probability (tails cut at 4.3 sigma) and several times faster than drawing normals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from qcservice.simulate.layout import QUADRANTS, CcdLayout
from qcservice.simulate.seeding import bitgen
from qcservice.vocabulary import N_IFU, N_SLICE

CHUNK_ROWS = 32  # rows generated at once: working arrays stay in the CPU caches
_CHIP_NAMES = ("psyche", "ceres", "pallas", "juno", "vesta", "astraea", "hebe", "iris",
               "flora", "metis", "hygiea", "parthenope", "victoria", "egeria", "irene",
               "eunomia", "thetis", "melpomene", "fortuna", "massalia", "lutetia",
               "kalliope", "thalia", "themis")


@dataclass(frozen=True)
class QuadrantTruth:
    """Injected properties of one CCD output."""

    bias_adu: float
    ron_adu: float
    gain: float  # e-/ADU

    @property
    def ron_e(self) -> float:
        return self.ron_adu * self.gain


@dataclass(frozen=True)
class IfuDetector:
    """Injected properties of one IFU's CCD."""

    ifu: int
    chip_id: str
    chip_index: int  # ESO DET CHIP INDEX: a physical slot, NOT the IFU number
    quadrants: tuple[QuadrantTruth, ...]
    dark_e_per_h: float
    slice_efficiency: tuple[float, ...]  # relative lamp-flat level of slices 1..48
    hot_pixels: tuple[tuple[int, int, float], ...]  # (row, col, e-/h) in trimmed image

    def quadrant(self, q: int) -> QuadrantTruth:
        return self.quadrants[q - 1]


def instrument(seed: int, night_key: int, layout: CcdLayout) -> list[IfuDetector]:
    """The 24 detectors as they are on the night ``night_key`` (a day ordinal)."""
    base = np.random.Generator(bitgen(seed, "detector"))
    drift = np.random.Generator(bitgen(seed, "detector", night_key))
    slots = base.permutation(N_IFU) + 1
    rows, cols = layout.trimmed_shape
    n_hot = max(2, rows * cols // 200_000)  # ~80 per full-size CCD
    detectors = []
    for ifu in range(1, N_IFU + 1):
        quads = []
        for _ in QUADRANTS:
            gain = float(base.uniform(1.05, 1.20))
            ron_e = float(base.uniform(2.4, 3.2))
            bias = float(base.normal(1000.0, 40.0)) + float(drift.normal(0.0, 1.5))
            quads.append(QuadrantTruth(round(bias, 3), round(ron_e / gain, 4), round(gain, 4)))
        hot = tuple(zip(base.integers(rows, size=n_hot).tolist(),
                        base.integers(cols, size=n_hot).tolist(),
                        np.round(base.uniform(200.0, 3000.0, n_hot), 1).tolist(), strict=True))
        detectors.append(IfuDetector(
            ifu, _CHIP_NAMES[ifu - 1], int(slots[ifu - 1]), tuple(quads),
            round(float(base.uniform(0.6, 1.6)), 4),
            tuple(round(float(v), 4) for v in base.normal(1.0, 0.04, N_SLICE)), hot))
    return detectors


@lru_cache(maxsize=1)
def normal_table() -> np.ndarray:
    """Quantiles of N(0, 1) at (i + 0.5) / 65536, float32."""
    dist = NormalDist()
    return np.array([dist.inv_cdf((i + 0.5) / 65536) for i in range(65536)], np.float32)


def random_indices(gen: np.random.BitGenerator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform 16-bit table indices, four per 64-bit draw."""
    n = int(np.prod(shape))
    raw = gen.random_raw(-(-n // 4))
    return raw.view(np.uint16)[:n].reshape(shape)


def normal_deviates(gen: np.random.BitGenerator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 deviates via :func:`normal_table`."""
    return np.take(normal_table(), random_indices(gen, shape), mode="clip")


def _bias_lut(qt: QuadrantTruth, ron_factor: float) -> np.ndarray:
    """Disk values (big-endian int16) of ``bias + ron * normal quantile``, rounded."""
    values = qt.bias_adu + qt.ron_adu * ron_factor * normal_table()
    return (np.clip(np.rint(values), 0, 65535) - 32768).astype(">i2")


def _to_disk(values: np.ndarray, out: np.ndarray) -> None:
    """Float ADU already offset by +0.5 -> ``out`` (big-endian int16 with BZERO 32768).

    Truncating the clipped non-negative value is rounding; the uint16 bit pattern
    with its top bit flipped is the two's-complement pattern of ``value - 32768``.
    """
    np.clip(values, 0.0, 65535.0, out=values)
    disk = values.astype(">u2")
    disk.view(np.uint16)[...] ^= np.uint16(0x0080)  # top bit of a big-endian value
    out[...] = disk.view(">i2")


def _row_chunks(rows: slice) -> list[slice]:
    """``rows`` cut into chunks small enough for the CPU caches (no big temporaries)."""
    return [slice(r, min(r + CHUNK_ROWS, rows.stop)) for r in range(rows.start, rows.stop,
                                                                     CHUNK_ROWS)]


def _fill_lut(out: np.ndarray, rows: slice, cols: slice, lut: np.ndarray,
              gen: np.random.BitGenerator) -> None:
    """``out[rows, cols]`` = ``lut`` at random indices, chunk by chunk."""
    width = cols.stop - cols.start
    if width <= 0:
        return
    for chunk in _row_chunks(rows):
        shape = (chunk.stop - chunk.start, width)
        out[chunk, cols] = np.take(lut, random_indices(gen, shape), mode="clip")


def bias_chan(layout: CcdLayout, det: IfuDetector, gen: np.random.BitGenerator,
              ron_factor: float = 1.0) -> np.ndarray:
    """A raw bias CHAN as stored on disk (big-endian int16, BZERO 32768)."""
    out = np.empty((layout.chan_ny, layout.chan_nx), ">i2")
    for q in QUADRANTS:
        rows, cols = layout.readout_block(q)
        _fill_lut(out, rows, cols, _bias_lut(det.quadrant(q), ron_factor), gen)
    return out


def _scan_strips(layout: CcdLayout, q: int) -> list[tuple[slice, slice]]:
    """The parts of quadrant ``q``'s readout block outside its data window."""
    rows, cols = layout.readout_block(q)
    drows, dcols = layout.data_window(q)
    return [(rows, slice(cols.start, dcols.start)), (rows, slice(dcols.stop, cols.stop)),
            (slice(rows.start, drows.start), dcols), (slice(drows.stop, rows.stop), dcols)]


def _fill_exposed(out: np.ndarray, signal_e: np.ndarray, qt: QuadrantTruth,
                  gen: np.random.BitGenerator) -> None:
    """Data pixels: bias + signal/gain + noise of variance ron**2 + signal/gain**2."""
    signal_adu = signal_e * np.float32(1.0 / qt.gain)
    sigma = signal_adu * np.float32(1.0 / qt.gain)
    sigma += np.float32(qt.ron_adu ** 2)
    np.sqrt(sigma, out=sigma)
    values = normal_deviates(gen, signal_adu.shape)
    values *= sigma
    values += signal_adu
    values += np.float32(qt.bias_adu + 0.5)
    _to_disk(values, out)


def exposed_chan(layout: CcdLayout, det: IfuDetector, signal_e: np.ndarray,
                 gen: np.random.BitGenerator) -> np.ndarray:
    """A raw CHAN with ``signal_e`` (trimmed image, electrons, >= 0) on its data pixels."""
    out = np.empty((layout.chan_ny, layout.chan_nx), ">i2")
    for q in QUADRANTS:
        qt = det.quadrant(q)
        lut = _bias_lut(qt, 1.0)
        for rows, cols in _scan_strips(layout, q):
            _fill_lut(out, rows, cols, lut, gen)
        drows, dcols = layout.data_window(q)
        trows, tcols = layout.trimmed_window(q)
        offset = trows.start - drows.start
        for chunk in _row_chunks(drows):
            part = signal_e[chunk.start + offset:chunk.stop + offset, tcols]
            _fill_exposed(out[chunk, dcols], part, qt, gen)
    return out


def adu(chan: np.ndarray) -> np.ndarray:
    """Disk int16 (BZERO 32768) -> ADU as float32."""
    return chan.astype(np.float32) + np.float32(32768)
