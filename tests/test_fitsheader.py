"""The header reader against astropy, on the real MUSE cube and on crafted files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from musefits import write_raw

from qcservice.fits.header import FitsFormatError, parse_card, read_headers


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b and type(a) is type(b)


def test_real_cube_headers_equal_astropy(minicube: Path) -> None:
    ours = read_headers(minicube)
    with fits.open(minicube) as hdul:
        theirs = [h.header for h in hdul]
        offsets = [h.fileinfo()["datLoc"] for h in hdul]
    assert [h.extname for h in ours] == [None, "DATA", "STAT", "DQ"]
    assert len(ours[0].cards) == 1309
    assert [h.data_offset for h in ours] == offsets
    assert ours[1].data_size == 40 * 40 * 3681 * 4
    for mine, ref in zip(ours, theirs, strict=True):
        for key in ref:
            if key in ("COMMENT", "HISTORY", ""):
                continue
            assert _same(mine.get(key), ref[key]), key
    assert ours[0].comment("ESO QC EXPCOMB FWHM1 X").startswith("[arcsec]")


def test_values_of_every_type(tmp_path: Path) -> None:
    header = fits.Header()
    header["FLAG"] = True
    header["OFF"] = False
    header["COUNT"] = -42
    header["BIG"] = 12345678901234
    header["RATIO"] = 1.5e-7
    header["QUOTE"] = "it's"
    header["LONGSTR"] = "x" * 150 + " end"           # CONTINUE convention
    header["HIERARCH ESO TEL AMBI FWHM START"] = (0.92, "[arcsec] seeing")
    header["UNDEF"] = None
    path = tmp_path / "types.fits"
    fits.PrimaryHDU(np.zeros((3, 2), dtype=np.int16), header=header).writeto(path)
    (h,) = read_headers(path)
    assert h.get("FLAG") is True and h.get("OFF") is False
    assert h.get("COUNT") == -42 and h.get("BIG") == 12345678901234
    assert h.get("RATIO") == pytest.approx(1.5e-7)
    assert h.get("QUOTE") == "it's"
    assert h.get("LONGSTR") == "x" * 150 + " end"
    assert h.get("ESO TEL AMBI FWHM START") == 0.92
    assert h.comment("ESO TEL AMBI FWHM START") == "[arcsec] seeing"
    assert h.get("UNDEF") is None and "UNDEF" in h
    assert h.data_size == 12


def test_fortran_exponent_and_malformed_values() -> None:
    assert parse_card("EXPO    =             1.5D+02 / Fortran".ljust(80)).value == 150.0
    card = parse_card("BROKEN  = abc / not a value".ljust(80))
    assert card.value == "abc" and type(card.value).__name__ == "RawValue"


def test_raw_frame_extensions(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "raw.fits")
    headers = read_headers(path)
    assert [h.extname for h in headers[1:]] == [f"CHAN{i:02d}" for i in range(1, 25)]
    assert all(h.get("BZERO") == 32768 for h in headers[1:])
    assert all(h.data_size == 128 for h in headers[1:])


def test_truncated_data_is_named(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "raw.fits")
    data = path.read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) - 2880 * 3])
    with pytest.raises(FitsFormatError, match=r"truncated: HDU 2[34] \(CHAN2[34]\)"):
        read_headers(cut)


def test_not_fits_and_no_end(tmp_path: Path) -> None:
    text = tmp_path / "notes.fits"
    text.write_text("observing log\n")
    with pytest.raises(FitsFormatError, match="not a FITS file"):
        read_headers(text)
    endless = tmp_path / "endless.fits"
    endless.write_bytes(("SIMPLE  =                    T".ljust(80) * 36).encode())
    with pytest.raises(FitsFormatError, match="before its END card"):
        read_headers(endless)


def test_garbage_after_last_hdu(tmp_path: Path) -> None:
    path = write_raw(tmp_path / "raw.fits", n_chan=1)
    with path.open("ab") as fh:
        fh.write(b"JUNKJUNK" * 360)
    with pytest.raises(FitsFormatError, match="unexpected bytes after HDU 1"):
        read_headers(path)
