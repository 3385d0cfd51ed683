"""Bad input through ingest and QC: broken FITS files next to good ones. Each broken file
gets a clear recorded error naming it and its problem; the good files end exactly as
they would alone; reruns change nothing. (tests/test_ingest.py has the first broken
kinds: truncated, cut between HDUs, not FITS, missing DATE-OBS, FORS2, no CHANs...)"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import Engine, create_engine, text
from support import fresh_database

from qcservice.config import Settings
from qcservice.fits.header import MAX_HEADER_BLOCKS, parse_card, read_headers
from qcservice.ingest.runner import ingest_paths
from qcservice.qc.run import run_qc
from qcservice.simulate import simulate_night

OTHER_NIGHT = "2016-03-05T23:00:00.000"   # broken raw frames: away from the good biases


def set_cards(path: Path, hdu: int, cards: dict[str, str]) -> Path:
    """Overwrite cards of one HDU in place (same length: the layout does not move)."""
    headers = read_headers(path)
    start = 0 if hdu == 0 else headers[hdu - 1].data_offset + \
        -(-headers[hdu - 1].data_size // 2880) * 2880
    todo = dict(cards)
    with path.open("r+b") as fh:
        fh.seek(start)
        region = fh.read(headers[hdu].data_offset - start)
        for i in range(0, len(region), 80):
            key = parse_card(region[i:i + 80].decode("latin-1")).keyword
            if key in todo:
                value = todo.pop(key)
                image = f"HIERARCH {key} = {value}" if " " in key else f"{key:<8}= {value:>20}"
                fh.seek(start + i)
                fh.write(image.ljust(80).encode("latin-1"))
    assert not todo, f"no such cards: {todo}"
    return path


def copy(src: Path, dest: Path, hdu: int = 0, cards: dict[str, str] | None = None) -> Path:
    shutil.copy(src, dest)
    return set_cards(dest, hdu, cards or {})


def with_header_cards(src: Path, dest: Path, extra: list[str]) -> Path:
    """``src`` with ``extra`` card images appended to its primary header."""
    data = src.read_bytes()
    end = read_headers(src)[0].data_offset
    head = data[:end].decode("ascii").rstrip(" ")
    assert head.endswith("END")
    cards = head[:-3] + "".join(c.ljust(80) for c in extra) + "END"
    cards = cards.ljust(-(-len(cards) // 2880) * 2880)
    dest.write_bytes(cards.encode("latin-1") + data[end:])
    return dest


def edited(src: Path, dest: Path, change) -> Path:
    with fits.open(src) as hdul:
        change(hdul)
        hdul.writeto(dest)
    return dest


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_night(tmp_path_factory.mktemp("bad"), "2016-02-02", scale="tiny",
                          seed=4).directory


def good_files(night: Path, dest: Path) -> dict[str, Path]:
    """Two biases, a lamp flat, two masters and a cube of the simulated night."""
    dest.mkdir()
    raws: dict[str, list[Path]] = {}
    for path in sorted((night / "raw").glob("*.fits")):
        h = read_headers(path)[0]
        if "DATE-OBS" in h:            # the night's deliberately broken frame has none
            raws.setdefault(h.get("ESO DPR TYPE"), []).append(path)
    chosen = {"bias_a": raws["BIAS"][0], "bias_b": raws["BIAS"][1],
              "flat": raws["FLAT,LAMP"][0]}
    for name in ("MASTER_BIAS-01", "MASTER_FLAT-02", "DATACUBE_FINAL_1"):
        chosen[name] = night / "products" / f"{name}.fits"
    return {k: Path(shutil.copy(v, dest / v.name)) for k, v in chosen.items()}


def bad_at_ingest(good: dict[str, Path], dest: Path) -> dict[str, str]:
    """Files ingest must refuse: {name: fragment of the reason}."""
    bias = good["bias_a"]
    copy(bias, dest / "bitpix_12.fits", 7, {"BITPIX": "12"})
    copy(bias, dest / "bitpix_float.fits", 7, {"BITPIX": "16.0"})
    copy(bias, dest / "bitpix_text.fits", 7, {"BITPIX": "'sixteen'"})
    copy(bias, dest / "naxis_float.fits", 3, {"NAXIS1": "192.0"})
    copy(bias, dest / "exptime_text.fits", 0, {"EXPTIME": "'long'"})
    copy(bias, dest / "dateobs_number.fits", 0, {"DATE-OBS": "2024"})
    copy(bias, dest / "instrume_number.fits", 0, {"INSTRUME": "7"})
    copy(bias, dest / "category_bool.fits", 0, {"ESO DPR CATG": "T"})
    runaway = b"SIMPLE  =                    T".ljust(80) + \
        b"COMMENT no END card".ljust(80) * (MAX_HEADER_BLOCKS * 36)
    (dest / "header_without_end.fits").write_bytes(runaway)
    return {"bitpix_12.fits": "HDU 7: BITPIX = 12 is not a FITS value",
            "bitpix_float.fits": "HDU 7: BITPIX = 16.0 is not a FITS value",
            "bitpix_text.fits": "HDU 7: BITPIX = 'sixteen' is not a FITS value",
            "naxis_float.fits": "HDU 3: NAXIS1 = 192.0 is not a non-negative integer",
            "exptime_text.fits": "EXPTIME: expected a number, found 'long'",
            "dateobs_number.fits": "DATE-OBS: expected an ISO date string, found 2024",
            "instrume_number.fits": "not a MUSE file: INSTRUME = 7",
            "category_bool.fits": "ESO DPR CATG: expected a string, found True",
            "header_without_end.fits": "HDU 0 has no END card in its first 28800000 bytes"}


def bad_at_qc(good: dict[str, Path], dest: Path) -> dict[str, str]:
    """Files ingest takes (their headers are fine) whose QC must fail, clearly."""
    bias = good["bias_a"]
    copy(bias, dest / "chan_bitpix8.fits", 5, {"BITPIX": "8", "NAXIS1": "384"})
    set_cards(dest / "chan_bitpix8.fits", 0, {"DATE-OBS": f"'{OTHER_NIGHT}'"})
    copy(bias, dest / "quadrant_text.fits", 3, {"ESO DET OUT2 NX": "'wide'"})
    set_cards(dest / "quadrant_text.fits", 0, {"DATE-OBS": f"'{OTHER_NIGHT[:-3]}999'"})

    def nan(h):
        h["DATA"].data[:] = np.nan
    edited(good["MASTER_BIAS-01"], dest / "MASTER_BIAS-03.fits", nan)
    edited(good["MASTER_FLAT-02"], dest / "MASTER_FLAT-04.fits",
           lambda h: h.pop(h.index_of("DATA")))
    cube = good["DATACUBE_FINAL_1"]
    edited(cube, dest / "cube_nan.fits", nan)
    edited(cube, dest / "cube_no_data.fits", lambda h: [h.pop(1) for _ in range(3)])

    def bad_wcs(h):
        h["DATA"].header["CRVAL3"] = "blue"
    edited(cube, dest / "cube_text_wcs.fits", bad_wcs)
    return {"chan_bitpix8.fits": "CHAN05: expected BITPIX 16 with BZERO 32768",
            "quadrant_text.fits": "CHAN03: ESO DET OUT2 NX is missing or not an integer",
            "MASTER_BIAS-03.fits": "DATA has no finite pixel",
            "MASTER_FLAT-04.fits": "no DATA extension",
            "cube_nan.fits": "DATA has no finite pixel",
            "cube_no_data.fits": "no 3D float32 DATA extension",
            "cube_text_wcs.fits": "DATA CRVAL3 = 'blue' is not a number"}


def by_name(engine: Engine) -> dict[str, list[tuple]]:
    """QC outcome per file name (file ids differ between databases)."""
    queries = {
        "metrics": "SELECT f.filename, m.name, m.ifu, m.subunit, m.value, m.source "
                   "FROM qc.metrics m JOIN qc.files f USING (file_id) ORDER BY 1, 2, 3, 4, 6",
        "ifu_status": "SELECT f.filename, s.ifu, s.flags, s.is_valid FROM qc.ifu_status s "
                      "JOIN qc.files f USING (file_id) ORDER BY 1, 2",
        "qa": "SELECT f.filename, q.auto_state, q.flags FROM qc.qa q JOIN qc.files f "
              "USING (file_id) ORDER BY 1",
        "done": "SELECT f.filename, d.status, d.error FROM qc.qc_done d JOIN qc.files f "
                "USING (file_id) ORDER BY 1",
        "images": "SELECT f.filename, i.kind FROM qc.qc_images i JOIN qc.files f "
                  "USING (file_id) ORDER BY 1, 2",
        "files": "SELECT filename, size_bytes, kind FROM qc.files ORDER BY 1",
        "failures": "SELECT path, reason FROM qc.ingest_failures ORDER BY 1",
    }
    with engine.connect() as conn:
        return {k: [tuple(r) for r in conn.execute(text(q))] for k, q in queries.items()}


@pytest.mark.slow
def test_broken_files_get_clear_errors_and_disturb_nothing(
        engine: Engine, pg_settings: Settings, night: Path, tmp_path: Path) -> None:
    good = good_files(night, tmp_path / "data")
    bad = tmp_path / "data" / "bad"
    bad.mkdir()
    refused, failing = bad_at_ingest(good, bad), bad_at_qc(good, bad)
    images = tmp_path / "images"

    report = ingest_paths(engine, [tmp_path / "data"], workers=2, checksum=False)
    reasons = {Path(p).name: r for p, r in report.failures}
    assert set(reasons) == set(refused)
    for name, fragment in refused.items():
        assert fragment in reasons[name], (name, reasons[name])
    assert report.new == len(good) + len(failing)

    qc = run_qc(engine, images, workers=2)
    errors = {Path(p).name: e for p, e in qc.failures}
    assert set(errors) == set(failing)
    for name, fragment in failing.items():
        assert errors[name].startswith(str(bad / name)) and fragment in errors[name], errors[name]
    assert qc.done == len(good)
    first = by_name(engine)

    again = ingest_paths(engine, [tmp_path / "data"], workers=1, checksum=False)
    assert (again.new, again.updated, len(again.failures)) == (0, 0, len(refused))
    rerun = run_qc(engine, images, workers=1)         # the failed ones are tried again
    assert (rerun.done, len(rerun.failures)) == (0, len(failing))
    assert by_name(engine) == first

    with fresh_database(pg_settings) as url:          # the good files alone
        alone = create_engine(url)
        ingest_paths(alone, list(good.values()), workers=1, checksum=False)
        assert run_qc(alone, tmp_path / "images-alone", workers=1).ok
        expected = by_name(alone)
        alone.dispose()
    names = {p.name for p in good.values()}
    for key in ("metrics", "ifu_status", "qa", "done", "images", "files"):
        assert [r for r in first[key] if r[0] in names] == expected[key], key


def test_large_header_and_foreign_bytes_are_taken(engine: Engine, night: Path,
                                                  tmp_path: Path) -> None:
    """Legal oddities: 20,000 header cards; bytes outside ASCII in a text value (stored
    with U+FFFD, as astropy reads them with a replacement); a NUL."""
    good = good_files(night, tmp_path / "good")
    many = [f"HIERARCH ESO PRO TEST KEY{i} = {i}" for i in range(20_000)]
    with_header_cards(good["bias_a"], tmp_path / "many_cards.fits", many)
    foreign = copy(good["bias_b"], tmp_path / "foreign.fits")
    data = foreign.read_bytes()
    at = data.index(b"OBJECT  = '")
    foreign.write_bytes(data[:at + 11] + b"Caf\xe9 \xff\x00" + data[at + 18:])

    report = ingest_paths(engine, [tmp_path / "many_cards.fits", foreign], workers=1)
    assert report.ok and report.new == 2
    with engine.connect() as conn:
        n_keys = conn.execute(text(
            "SELECT count(*) FROM qc.hdus h JOIN qc.files f USING (file_id), "
            "jsonb_object_keys(h.header) WHERE f.filename = 'many_cards.fits' "
            "AND h.hdu_index = 0")).scalar_one()
        obj = conn.execute(text("SELECT r.object FROM qc.raw_frames r JOIN qc.files f "
                                "USING (file_id) WHERE f.filename = 'foreign.fits'")).scalar()
    assert n_keys > 20_000
    assert obj.startswith("Caf\ufffd \ufffd")
    qc = run_qc(engine, tmp_path / "images", workers=1)
    assert qc.ok and qc.done == 2


def test_broken_partner_costs_a_bias_only_its_read_noise(engine: Engine, night: Path,
                                                         tmp_path: Path) -> None:
    good = good_files(night, tmp_path / "data")
    for name, path in good.items():
        if name != "bias_a":
            path.unlink()
    broken = copy(good["bias_a"], tmp_path / "data" / "broken.fits", 5,
                  {"BITPIX": "8", "NAXIS1": "384"})
    shutil.move(broken, tmp_path / "data" / "zz_broken.fits")   # later in the night
    set_cards(tmp_path / "data" / "zz_broken.fits", 0,
              {"DATE-OBS": "'2016-02-03T10:59:59.000'"})
    ingest_paths(engine, [tmp_path / "data"], workers=1, checksum=False)
    qc = run_qc(engine, tmp_path / "images", workers=1)
    assert [Path(p).name for p, _ in qc.failures] == ["zz_broken.fits"] and qc.done == 1
    with engine.connect() as conn:
        ron = conn.execute(text("SELECT DISTINCT m.ifu FROM qc.metrics m JOIN qc.files f "
                                "USING (file_id) WHERE m.name = 'bias.ron' AND f.filename "
                                "= :f ORDER BY 1"), {"f": good["bias_a"].name}).scalars().all()
    assert ron == [i for i in range(1, 25) if i != 5]
