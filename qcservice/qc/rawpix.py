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

from qcservice.ingest.fitsheader import Header

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


def read_chan(path: str, h: Header) -> np.ndarray:
    """The CHAN's pixels as native uint16 (physical ADU values)."""
    if h.get("BITPIX") != 16 or h.get("BZERO") != 32768:
        raise ValueError(f"{h.extname}: expected BITPIX 16 with BZERO 32768 (uint16), "
                         f"found BITPIX {h.get('BITPIX')} BZERO {h.get('BZERO')}")
    shape = (_int(h, "NAXIS2"), _int(h, "NAXIS1"))
    stored = np.fromfile(path, dtype=">u2", count=shape[0] * shape[1], offset=h.data_offset)
    if stored.size != shape[0] * shape[1]:
        raise ValueError(f"{h.extname}: data unit shorter than NAXIS1 x NAXIS2")
    native = stored.view(np.uint16) if stored.dtype.isnative else stored.byteswap().view(
        np.uint16)
    np.bitwise_xor(native, np.uint16(0x8000), out=native)
    return native.reshape(shape)


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
