"""Pixels of MUSE raw frames, read straight from the file: one CHAN extension at a time.

A raw CHAN is 4224 x 4240 uint16 stored as BITPIX 16 + BZERO 32768, which astropy cannot
memory-map scaled. Here the data unit is mapped as big-endian int16 at the offset the
header reader found, and turned into native uint16 by flipping the sign bit (value =
stored + 32768 is exactly stored XOR 0x8000 on 16 bits): one pass, no float copy.

The quadrant geometry comes from the ``ESO DET OUTn`` keywords as the pipeline reads
them: output n sits at corner (OUTn X, OUTn Y) of the 4096 x 4112 chip; its readout is
one quarter of the CHAN, prescan on the outer edge, overscan towards the centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qcservice.fits.header import Header

SATURATED = 65535


@dataclass(frozen=True)
class Quadrant:
    """One CCD output: its data and overscan windows in CHAN pixels (numpy order)."""

    number: int
    data: tuple[slice, slice]
    overscan: tuple[slice, slice]
    gain: float  # e-/ADU, as ESO DET OUTn GAIN


def _int(h: Header, key: str) -> int:
    value = h.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{h.extname}: {key} is missing or not an integer ({value!r})")
    return value


def quadrants(h: Header) -> list[Quadrant]:
    """The four outputs of a raw CHAN header."""
    ny, nx = _int(h, "NAXIS2"), _int(h, "NAXIS1")
    half_y, half_x = ny // 2, nx // 2
    out = []
    for n in (1, 2, 3, 4):
        p = f"ESO DET OUT{n} "
        qnx, qny = _int(h, p + "NX"), _int(h, p + "NY")
        prscx, prscy = _int(h, p + "PRSCX"), _int(h, p + "PRSCY")
        ovscx = _int(h, p + "OVSCX")
        left, bottom = _int(h, p + "X") == 1, _int(h, p + "Y") == 1
        x0 = prscx if left else half_x + ovscx
        y0 = prscy if bottom else half_y + _int(h, p + "OVSCY")
        ox0 = prscx + qnx if left else half_x
        rows = slice(y0, y0 + qny)
        gain = h.get(p + "GAIN")
        out.append(Quadrant(n, (rows, slice(x0, x0 + qnx)), (rows, slice(ox0, ox0 + ovscx)),
                            float(gain) if isinstance(gain, int | float) else 1.0))
    return out


SAMPLE_PIXELS = 250_000   # per quadrant: level and noise to 0.01 ADU, far below 0.1
_SATURATED_ON_DISK = 0xFF7F  # 65535 stored as BZERO-shifted big-endian int16, read natively


def map_chan(path: str, h: Header) -> np.ndarray:
    """The CHAN's data unit as stored (big-endian, BZERO-shifted), memory-mapped."""
    if h.get("BITPIX") != 16 or h.get("BZERO") != 32768:
        raise ValueError(f"{h.extname}: expected BITPIX 16 with BZERO 32768 (uint16), "
                         f"found BITPIX {h.get('BITPIX')} BZERO {h.get('BZERO')}")
    shape = (_int(h, "NAXIS2"), _int(h, "NAXIS1"))
    return np.memmap(path, dtype=np.uint16, mode="r", offset=h.data_offset, shape=shape)


def count_saturated(stored: np.ndarray) -> int:
    """Pixels at 65535 ADU, counted on the stored bytes: one pass, no conversion."""
    return int(np.count_nonzero(stored == np.uint16(_SATURATED_ON_DISK if
                                                      np.little_endian else 0x7FFF)))


def physical(stored: np.ndarray) -> np.ndarray:
    """Stored big-endian BZERO-shifted values -> native uint16 ADU (a new array)."""
    out = stored.byteswap() if np.little_endian else np.array(stored)
    np.bitwise_xor(out, np.uint16(0x8000), out=out)
    return out


def sample_rows(window: tuple[slice, slice], budget: int = SAMPLE_PIXELS) -> tuple:
    """The window with every k-th row, k chosen so about ``budget`` pixels remain."""
    rows, cols = window
    n = (rows.stop - rows.start) * (cols.stop - cols.start)
    step = max(1, n // budget)
    return slice(rows.start, rows.stop, step), cols


def read_chan(path: str, h: Header) -> np.ndarray:
    """The whole CHAN as native uint16 ADU values."""
    return physical(map_chan(path, h))


def clipped_stats(values: np.ndarray, nsigma: float = 5.0) -> tuple[float, float]:
    """(mean, standard deviation) after one clip at ``nsigma`` sigmas around the mean.

    Means, not medians: integer ADU values give a median quantised to 0.5 ADU, while the
    level is wanted to 0.1 ADU. One clip removes hot pixels and cosmics.
    """
    v = values.astype(np.float64, copy=False).ravel()
    mean, std = float(v.mean()), float(v.std())
    if std == 0:
        return mean, std
    kept = v[np.abs(v - mean) < nsigma * std]
    return float(kept.mean()), float(kept.std())
