"""Read an ancillary file: what it is (image, cube, catalogue), its format and MIME type,
the instrument that made it, and its sky footprint.

FITS images and cubes give their footprint from the celestial WCS of the first HDU that
has one; catalogues (FITS tables, VOTable, CSV, ECSV, plain ASCII) from the RA/Dec extent
of their sources. A file that gives neither is refused with the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qcservice.ancillary.footprint import (
    Corners,
    FootprintError,
    catalogue_footprint,
    centre,
    wcs_footprint,
)
from qcservice.errors import MusedcError

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
TABLE_FORMATS = {".xml": "votable", ".vot": "votable", ".votable": "votable",
                 ".csv": "csv", ".ecsv": "ecsv", ".txt": "ascii", ".dat": "ascii",
                 ".tsv": "ascii", ".cat": "ascii"}
MIME = {"votable": "application/x-votable+xml", "csv": "text/csv", "ecsv": "text/plain",
        "ascii": "text/plain"}
RA_NAMES = ("ra", "ra_deg", "radeg", "raj2000", "_raj2000", "ra_icrs", "ra2000",
            "alpha_j2000", "alpha")
DEC_NAMES = ("dec", "dec_deg", "decdeg", "dej2000", "_dej2000", "decj2000", "de_icrs",
             "dec_icrs", "dec2000", "delta_j2000", "delta")


class AncillaryError(MusedcError, ValueError):
    """A file cannot be registered as ancillary data; the message names file and reason."""


@dataclass(frozen=True)
class AncillaryFacts:
    """What registration stores about one file (besides path, size, time, checksum)."""

    kind: str                 # image, cube, catalogue
    format: str               # fits, votable, csv, ecsv, ascii
    mime: str
    corners: Corners
    instrument: str | None = None
    facility: str | None = None
    band: str | None = None
    n_rows: int | None = None

    @property
    def centre(self) -> tuple[float, float]:
        return centre(self.corners)


def read_facts(path: Path) -> AncillaryFacts:
    """The facts of ``path``; raises :class:`AncillaryError` naming the file and problem."""
    name = path.name.lower()
    try:
        if name.endswith(FITS_SUFFIXES):
            return _fits_facts(path)
        fmt = TABLE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise AncillaryError(
                f"{path}: unknown kind of file (FITS image, cube or table; VOTable; CSV; "
                f"ECSV or ASCII catalogue: {', '.join(FITS_SUFFIXES + tuple(TABLE_FORMATS))})")
        return _table_facts(path, fmt)
    except FootprintError as exc:
        raise AncillaryError(f"{path}: no sky footprint: {exc}") from exc
    except AncillaryError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise AncillaryError(f"{path}: cannot be read: {exc}") from exc


def _text(header, *keys: str) -> str | None:
    for key in keys:
        value = header.get(key)
        # ACS names an empty filter wheel position CLEAR1L / CLEAR2S: not a band
        if isinstance(value, str) and value.strip() and not value.upper().startswith("CLEAR"):
            return value.strip()
    return None


def _fits_facts(path: Path) -> AncillaryFacts:
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdus:
            primary = hdus[0].header
            for hdu in hdus:
                header = hdu.header
                if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
                    return _catalogue_facts(path, "fits", "application/fits",
                                            _fits_table(hdu), primary)
                if header.get("NAXIS", 0) >= 2:
                    try:
                        corners = wcs_footprint(header)
                    except FootprintError:
                        continue
                    return AncillaryFacts(
                        kind=_image_kind(header), format="fits", mime="image/fits",
                        corners=corners, **_provenance(primary, header))
    raise AncillaryError(f"{path}: no image HDU with a celestial WCS and no table HDU")


def _image_kind(header) -> str:
    sizes = [int(header.get(f"NAXIS{i}", 1)) for i in range(1, int(header["NAXIS"]) + 1)]
    return "cube" if sum(1 for n in sizes if n > 1) >= 3 else "image"


def _provenance(primary, header) -> dict:
    def pick(*keys: str) -> str | None:
        return _text(header, *keys) or _text(primary, *keys)
    return {"instrument": pick("INSTRUME"), "facility": pick("TELESCOP", "OBSERVAT"),
            "band": pick("FILTER", "FILTNAM1", "FILTER1", "FILTER2", "BAND")}


def _fits_table(hdu):
    from astropy.table import Table

    return Table.read(hdu)


def _table_facts(path: Path, fmt: str) -> AncillaryFacts:
    from astropy.table import Table

    reader = {"votable": "votable", "csv": "ascii.csv", "ecsv": "ascii.ecsv",
              "ascii": "ascii"}[fmt]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = Table.read(path, format=reader)
    return _catalogue_facts(path, fmt, MIME[fmt], table, {})


def _column(table, names: tuple[str, ...], ucd: str, what: str, path: Path):
    for col in table.columns.values():
        if (col.meta or {}).get("ucd", "").lower().startswith(ucd):
            return col
    by_lower = {c.lower(): c for c in table.colnames}
    for candidate in names:
        if candidate in by_lower:
            return table[by_lower[candidate]]
    raise AncillaryError(f"{path}: no {what} column (one of {', '.join(names)}, or UCD "
                         f"{ucd}); columns are {', '.join(table.colnames) or 'none'}")


def _degrees(col, path: Path) -> np.ndarray:
    import astropy.units as u

    try:
        values = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    except (TypeError, ValueError) as exc:
        raise AncillaryError(f"{path}: column {col.name} is not numeric (degrees needed; "
                             f"sexagesimal strings are not read)") from exc
    if col.unit is None:
        return values
    try:
        return (values * col.unit).to_value(u.deg)
    except u.UnitConversionError as exc:
        raise AncillaryError(f"{path}: column {col.name} is in {col.unit}, "
                             f"not an angle") from exc


def _catalogue_facts(path: Path, fmt: str, mime: str, table, primary) -> AncillaryFacts:
    if len(table) == 0:
        raise AncillaryError(f"{path}: the catalogue has no rows")
    ra = _degrees(_column(table, RA_NAMES, "pos.eq.ra", "RA", path), path)
    dec = _degrees(_column(table, DEC_NAMES, "pos.eq.dec", "Dec", path), path)
    info = _provenance(primary, {}) if len(primary) else {}
    return AncillaryFacts(kind="catalogue", format=fmt, mime=mime,
                          corners=catalogue_footprint(ra, dec), n_rows=len(table), **info)
