"""Fast, deterministic FITS image writing: headers from astropy, pixels as raw bytes.

astropy cannot write a 860 MB raw exposure quickly (it scales uint16 through BZERO in
memory). Here a file is planned first -- every HDU's header and data size is known, so
every byte offset is too -- then headers and data blocks are written straight to their
offsets with ``os.pwrite``. Blocks of different HDUs (or of the 24 CHANs) can thus be
produced in any order, by several threads, and the result is still byte-identical.
The data padding to 2880 bytes is zeros (the file is pre-sized with ``truncate``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qcservice.simulate.cards import BLOCK, CardSpec, header_block, render

_BITPIX = {np.dtype(">i2"): 16, np.dtype(">i4"): 32, np.dtype(">f4"): -32,
           np.dtype(">f8"): -64, np.dtype("u1"): 8}


def _padded(nbytes: int) -> int:
    return -(-nbytes // BLOCK) * BLOCK


@dataclass(frozen=True, eq=False)
class ImageSpec:
    """One HDU to write: its header cards (no structural keywords), shape and dtype.

    ``shape`` is numpy order (NAXIS3, NAXIS2, NAXIS1); ``()`` means no data. ``dtype``
    is big-endian (``>i2`` is written with BZERO = 32768, i.e. as uint16 on disk).
    A spec may be reused for many files (the 24 CHAN headers of a night's raw frames):
    its header bytes are rendered once.
    """

    cards: Sequence[CardSpec]
    shape: tuple[int, ...] = ()
    dtype: str = ">f4"
    _rendered: dict = field(default_factory=dict, repr=False)

    def header_bytes(self, primary: bool) -> bytes:
        """The full header block: SIMPLE/XTENSION, BITPIX, NAXISn, then the cards."""
        if primary not in self._rendered:
            self._rendered[primary] = header_block(render(structural_cards(self, primary))
                                                   + render(self.cards))
        return self._rendered[primary]


def structural_cards(spec: ImageSpec, primary: bool) -> list[CardSpec]:
    """The mandatory cards that describe ``spec``'s data unit."""
    dtype = np.dtype(spec.dtype)
    cards: list[CardSpec] = [("SIMPLE", True, "file does conform to FITS standard")
                             if primary else ("XTENSION", "IMAGE", "IMAGE extension"),
                             ("BITPIX", _BITPIX[dtype] if spec.shape else 8,
                              "number of bits per data pixel"),
                             ("NAXIS", len(spec.shape), "number of data axes")]
    cards += [(f"NAXIS{i}", n, f"length of data axis {i}")
              for i, n in enumerate(reversed(spec.shape), start=1)]
    if primary:
        cards.append(("EXTEND", True, "FITS dataset may contain extensions"))
    else:
        cards += [("PCOUNT", 0, "required keyword; must = 0"),
                  ("GCOUNT", 1, "required keyword; must = 1")]
    if dtype == np.dtype(">i2") and spec.shape:
        cards += [("BZERO", 32768, "data are unsigned 16-bit integers"), ("BSCALE", 1)]
    return cards


class PlannedFits:
    """A FITS file whose layout is fixed up front; write data blocks at any time."""

    def __init__(self, path: Path, specs: Sequence[ImageSpec]) -> None:
        self.path = Path(path)
        self.specs = list(specs)
        self._headers: list[bytes] = []
        self._data_offsets: list[int] = []
        offset = 0
        for i, spec in enumerate(self.specs):
            raw = spec.header_bytes(primary=i == 0)
            self._headers.append(raw)
            offset += len(raw)
            self._data_offsets.append(offset)
            offset += _padded(self._nbytes(i))
        self.size = offset
        self._fd: int | None = None

    def _nbytes(self, index: int) -> int:
        spec = self.specs[index]
        return int(np.prod(spec.shape)) * np.dtype(spec.dtype).itemsize if spec.shape else 0

    def __enter__(self) -> PlannedFits:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.ftruncate(self._fd, self.size)
        header_start = 0
        for i, raw in enumerate(self._headers):
            os.pwrite(self._fd, raw, header_start)
            header_start = self._data_offsets[i] + _padded(self._nbytes(i))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def write(self, index: int, block: np.ndarray, first: int = 0) -> None:
        """Write ``block`` into HDU ``index``, starting at flat element ``first``.

        ``block`` must already have the HDU's big-endian dtype and be C-contiguous;
        its elements continue the HDU's data in FITS order from ``first`` on.
        """
        spec = self.specs[index]
        if block.dtype != np.dtype(spec.dtype):
            raise TypeError(f"HDU {index}: block is {block.dtype}, expected {spec.dtype}")
        if first + block.size > int(np.prod(spec.shape)):
            raise ValueError(f"HDU {index}: block overruns the data unit")
        data = np.ascontiguousarray(block)
        offset = self._data_offsets[index] + first * data.dtype.itemsize
        view = memoryview(data).cast("B")
        assert self._fd is not None, "write() outside 'with'"
        while view:  # pwrite may write less than asked for very large blocks
            done = os.pwrite(self._fd, view, offset)
            view = view[done:]
            offset += done


def write_images(path: Path, specs: Sequence[ImageSpec],
                 arrays: Sequence[np.ndarray | None]) -> None:
    """Write a whole image file at once (for products that fit in memory)."""
    with PlannedFits(path, specs) as out:
        for i, array in enumerate(arrays):
            if array is not None:
                out.write(i, np.ascontiguousarray(array, dtype=specs[i].dtype))


def to_uint16_disk(values: np.ndarray) -> np.ndarray:
    """ADU values (float) -> big-endian int16 as stored with BZERO 32768, clipped."""
    clipped = np.clip(np.rint(values), 0, 65535)
    return (clipped - 32768).astype(">i2")
