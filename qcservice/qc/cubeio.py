"""Reading a final MUSE datacube (DATACUBE_FINAL) with bounded memory: its geometry from
the headers, and its DATA extension (extension 1, big-endian float32) in blocks of
wavelength planes, however large the cube: band means, and band medians with the sky-line
planes left out (robust to sky residuals). The QC task is ``qc.cubeqc``; the PSF fits
are ``qc.psf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qcservice.fits.header import Header, read_headers
from qcservice.vocabulary import SKY_LINES_A

BLOCK_BYTES = 64 << 20


@dataclass
class CubeGeometry:
    nx: int
    ny: int
    nz: int
    wave0: float        # A at plane 0
    dwave: float        # A per plane
    pixscale: float     # arcsec per spaxel
    data: Header
    stat: Header | None

    def wave(self) -> np.ndarray:
        return self.wave0 + self.dwave * np.arange(self.nz)

    def planes(self, lo: float, hi: float) -> tuple[int, int]:
        first = max(0, math.ceil((lo - self.wave0) / self.dwave))
        return first, min(self.nz, math.floor((hi - self.wave0) / self.dwave) + 1)


def _wcs(h: Header, key: str, default: float | None = 0.0) -> float:
    value = h.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"DATA {key} = {value!r} is not a number")
    return float(value)


def geometry(path: str) -> CubeGeometry:
    """Size, wavelength axis and spaxel scale of the cube's DATA extension (the error
    names what is missing or malformed; the caller names the file)."""
    headers = read_headers(path)
    by_name = {h.extname: h for h in headers if h.extname}
    data = by_name.get("DATA") or (headers[1] if len(headers) > 1 else None)
    if data is None or data.get("NAXIS") != 3 or data.get("BITPIX") != -32:
        raise ValueError("no 3D float32 DATA extension")
    crpix = _wcs(data, "CRPIX3", 1.0)
    step = _wcs(data, "CD3_3") or _wcs(data, "CDELT3")
    cd11, cd12 = _wcs(data, "CD1_1"), _wcs(data, "CD1_2")
    cd21, cd22 = _wcs(data, "CD2_1"), _wcs(data, "CD2_2")
    pixscale = math.sqrt(abs(cd11 * cd22 - cd12 * cd21)) * 3600.0
    if not step or not pixscale:
        raise ValueError("DATA has no usable wavelength step (CD3_3, CDELT3) or CD matrix")
    return CubeGeometry(data.get("NAXIS1"), data.get("NAXIS2"), data.get("NAXIS3"),
                        _wcs(data, "CRVAL3", None) - (crpix - 1.0) * step, step,
                        pixscale, data, by_name.get("STAT"))


class PlaneReader:
    """Planes of a 3D float32 extension read on demand: ``reader[z0:z1]`` is a
    (planes, ny, nx) big-endian array. Reads go into one reused buffer (no memory map,
    no fresh allocation per block), so the pages of a 3 GB cube neither accumulate in the
    resident memory nor cost a page fault each: the array is valid until the next read.
    """

    def __init__(self, path: str, geo: CubeGeometry, h: Header) -> None:
        self.path, self.geo, self.offset = path, geo, h.data_offset
        self.plane_bytes = 4 * geo.nx * geo.ny
        self._buffer = bytearray()

    def __getitem__(self, planes: slice) -> np.ndarray:
        z0, z1, _ = planes.indices(self.geo.nz)
        count = max(0, z1 - z0)
        size = count * self.plane_bytes
        if len(self._buffer) < size:
            self._buffer = bytearray(size)
        view = memoryview(self._buffer)[:size]
        with open(self.path, "rb") as fh:
            fh.seek(self.offset + z0 * self.plane_bytes)
            got = fh.readinto(view)
        if got != size:
            raise ValueError(f"{self.path}: cube data ends before plane {z1}")
        return np.frombuffer(view, dtype=">f4").reshape(count, self.geo.ny, self.geo.nx)


def plane_blocks(geo: CubeGeometry, first: int = 0, stop: int | None = None):
    stop = geo.nz if stop is None else stop
    step = max(1, BLOCK_BYTES // (4 * geo.nx * geo.ny))
    for z in range(first, stop, step):
        yield z, min(stop, z + step)


def band_mean(cube: PlaneReader, geo: CubeGeometry, lo: float, hi: float) -> np.ndarray:
    """Mean image of the planes between ``lo`` and ``hi`` A (NaN-aware, block by block)."""
    first, stop = geo.planes(lo, hi)
    total = np.zeros((geo.ny, geo.nx))
    count = np.zeros((geo.ny, geo.nx))
    for z0, z1 in plane_blocks(geo, first, stop):
        block = np.asarray(cube[z0:z1], dtype=np.float64)
        good = np.isfinite(block)
        total += np.where(good, block, 0.0).sum(axis=0)
        count += good.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def band_median(cube: PlaneReader, geo: CubeGeometry, lo: float, hi: float) -> np.ndarray:
    """Median image of a narrow band, sky-line planes left out: robust to sky residuals."""
    first, stop = geo.planes(lo, hi)
    wave = geo.wave0 + geo.dwave * np.arange(first, stop)
    clear = np.all(np.abs(wave[:, None] - np.array(SKY_LINES_A)[None, :]) > 4.0, axis=1)
    planes = cube[first:stop].astype(np.float32)[clear]
    if not planes.size:
        return np.full((geo.ny, geo.nx), np.nan)
    if np.isnan(planes).any():      # nanmedian is slow: only when there are NaNs
        with np.errstate(all="ignore"):
            return np.nanmedian(planes, axis=0)
    return np.median(planes, axis=0)
