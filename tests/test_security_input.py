"""Bad header input said, not silently repaired (issue #16, item 10): non-ASCII bytes in
a real MUSE cube's header are recorded as a warning on the file (and printed by the
ingest); a 20,000-card header is read whole, one beyond the stated limit is refused with
the limit in the message."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import text

from qcservice.fits.header import (
    BLOCK,
    CARD,
    MAX_HEADER_BLOCKS,
    FitsFormatError,
    read_headers,
)


def test_non_ascii_header_bytes_are_a_warning_on_the_file(minicube, cli_env, engine,
                                                          tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    clean = shutil.copy(minicube, data / "clean.fits")
    dirty = data / "dirty.fits"
    raw = bytearray(Path(minicube).read_bytes())
    card = raw.index(b"OBJECT  = '")
    raw[card + 12] = 0xE9            # a Latin-1 e-acute inside the OBJECT string
    dirty.write_bytes(bytes(raw))
    run = subprocess.run([sys.executable, "-m", "qcservice", "ingest", "--no-checksum",
                          str(data)], env=cli_env, capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert f"WARNING {dirty}: HDU 0: non-ASCII bytes in 1 card(s) (OBJECT)" in run.stderr
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT filename, warnings FROM qc.files")).all())
        obj = conn.execute(text("SELECT object FROM qc.products p JOIN qc.files f "
                                "USING (file_id) WHERE filename = 'dirty.fits'")).scalar_one()
    assert stored[Path(clean).name] == []
    assert stored["dirty.fits"] == ["HDU 0: non-ASCII bytes in 1 card(s) (OBJECT), read as "
                                    "U+FFFD"]
    assert "\ufffd" in obj


def test_a_20000_card_header_is_read_whole(tmp_path):
    header = fits.Header()
    for i in range(20_000):
        header.add_history(f"step {i}")
    path = tmp_path / "long.fits"
    fits.PrimaryHDU(header=header).writeto(path)
    (ours,) = read_headers(path)
    history = [c for c in ours.cards if c.keyword == "HISTORY"]
    assert len(history) == len(fits.getheader(path)["HISTORY"]) == 20_000
    assert history[-1].value.strip() == "step 19999" and ours.warnings == []


def test_a_header_beyond_the_limit_is_refused_with_the_limit(tmp_path):
    path = tmp_path / "endless.fits"
    first = b"SIMPLE  =                    T".ljust(CARD)
    filler = b"COMMENT no END in sight".ljust(CARD) * (BLOCK // CARD)
    with path.open("wb") as fh:
        fh.write(first + filler[CARD:])
        for _ in range(MAX_HEADER_BLOCKS):
            fh.write(filler)
    with pytest.raises(FitsFormatError, match=f"at most {MAX_HEADER_BLOCKS * BLOCK // CARD}"
                                              " cards"):
        read_headers(path)
