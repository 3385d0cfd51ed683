"""Writing pipeline products: file names, extension headers, image and table files.

Names follow ``<PRO_CATG>[-NN][_k].fits``: ``-NN`` is the IFU (01..24) of a per-IFU
product; ``_k`` numbers products of the same category (and IFU) when a night has more
than one -- the k-th instrument mode for MASTER_FLAT and WAVECAL_TABLE, the k-th
science OB for DATACUBE_FINAL and IMAGE_FOV, the k-th source for SPECTRUM_1D.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from qcservice.simulate.cards import CardSpec
from qcservice.simulate.fitswrite import BLOCK, ImageSpec, write_images
from qcservice.simulate.masters import Master

PRODUCT_DIR = "products"


def product_name(pro_catg: str, ifu: int | None = None, k: int | None = None) -> str:
    """``MASTER_BIAS-01.fits``, ``MASTER_FLAT-05_2.fits``, ``DATACUBE_FINAL_1.fits``."""
    return f"{pro_catg}{f'-{ifu:02d}' if ifu else ''}{f'_{k}' if k else ''}.fits"


def _esoclass() -> list[CardSpec]:
    return [("HDUCLASS", "ESO", "class name (ESO format)"),
            ("HDUDOC", "DICD", "document with class description"),
            ("HDUVERS", "DICD version 6", "version number (according to spec v2.5.1)")]


def data_cards(bunit: str, qual: bool = True) -> list[CardSpec]:
    """Cards of a DATA extension (after any WCS cards)."""
    cards: list[CardSpec] = [("EXTNAME", "DATA", "This extension contains data values"),
                             *_esoclass(),
                             ("HDUCLAS1", "IMAGE", "Image data format"),
                             ("HDUCLAS2", "DATA", "this extension contains the data itself"),
                             ("ERRDATA", "STAT", "pointer to the variance extension")]
    if qual:
        cards.append(("QUALDATA", "DQ", "pointer to the bad pixel mask extension"))
    return [*cards, ("BUNIT", bunit, "data unit type")]


def stat_cards(bunit: str) -> list[CardSpec]:
    """Cards of a STAT (variance) extension."""
    return [("EXTNAME", "STAT", "This extension contains data variance"), *_esoclass(),
            ("HDUCLAS1", "IMAGE", "Image data format"),
            ("HDUCLAS2", "ERROR", "this extension contains variance"),
            ("HDUCLAS3", "MSE", "the extension contains variances (sigma**2)"),
            ("SCIDATA", "DATA", "pointer to the data extension"),
            ("QUALDATA", "DQ", "pointer to the bad pixel mask extension"),
            ("BUNIT", f"({bunit})**2", "data unit type")]


def dq_cards(bits: int = 32) -> list[CardSpec]:
    """Cards of a DQ (data quality) extension; non-zero values are bad."""
    return [("EXTNAME", "DQ", "This extension contains bad pixel status values"),
            *_esoclass(),
            ("HDUCLAS1", "IMAGE", "Image data format"),
            ("HDUCLAS2", "QUALITY", "this extension contains bad pixel mask"),
            ("HDUCLAS3", f"FLAG{bits}BIT", f"extension contains {bits}bit bad pixel flags"),
            ("QUALMASK", 2 ** bits - 1, "all non-zero values are bad"),
            ("SCIDATA", "DATA", "pointer to the data extension"),
            ("ERRDATA", "STAT", "pointer to the variance extension")]


def write_master(path: Path, primary: list[CardSpec], master: Master, bunit: str) -> None:
    """A master calibration: empty primary, then DATA, DQ, STAT as muse_bias writes them."""
    inherit: list[CardSpec] = [("INHERIT", True, "")]
    specs = [ImageSpec(primary),
             ImageSpec(inherit + data_cards(bunit), master.data.shape, ">f4"),
             ImageSpec(inherit + dq_cards(), master.dq.shape, ">i4"),
             ImageSpec(inherit + stat_cards(bunit), master.stat.shape, ">f4")]
    write_images(path, specs, [None, master.data, master.dq, master.stat])


def _write_with_table(path: Path, primary: list[CardSpec], hdu: fits.BinTableHDU) -> None:
    """Our own primary header (fast, see cards.py) followed by astropy's table HDU."""
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    raw = buffer.getvalue()
    if raw[BLOCK:BLOCK + 8] != b"XTENSION":  # astropy's bare primary is one block
        raise RuntimeError("unexpected primary header size from astropy")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ImageSpec(primary).header_bytes(primary=True) + raw[BLOCK:])


def write_table(path: Path, primary: list[CardSpec], table: Table, extname: str) -> None:
    """A product made of a primary header and one binary table."""
    _write_with_table(path, primary, fits.BinTableHDU(table, name=extname))


def write_spectrum(path: Path, primary: list[CardSpec], wave: np.ndarray, flux: np.ndarray,
                   err: np.ndarray, extra: list[CardSpec]) -> None:
    """An ESO science-data-product style 1D spectrum: one row of WAVE/FLUX/ERR arrays."""
    n = wave.size
    unit = "10**(-20)*erg/s/cm**2/Angstrom"
    columns = [fits.Column("WAVE", f"{n}D", unit="Angstrom", array=wave[None, :]),
               fits.Column("FLUX", f"{n}E", unit=unit, array=flux[None, :]),
               fits.Column("ERR", f"{n}E", unit=unit, array=err[None, :])]
    table = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    for key, value, *comment in extra:
        table.header[key if len(key) <= 8 else f"HIERARCH {key}"] = (value, *comment)
    _write_with_table(path, primary, table)
