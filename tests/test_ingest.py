"""Ingest against the real embedded PostgreSQL: the real MUSE cube, reruns, broken files."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from astropy.io import fits
from musefits import write_master, write_raw
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths

TABLES = ("files", "hdus", "raw_frames", "products", "provenance", "metrics", "groups",
          "ingest_failures")


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM qc.{t}")).scalar() for t in TABLES}


def snapshot(engine: Engine) -> list[tuple]:
    """Every catalogue row that ingest writes, minus timestamps and run ids."""
    with engine.connect() as conn:
        return [
            *conn.execute(text("SELECT file_id, path, size_bytes, checksum, kind, n_hdu, "
                               "release_date FROM qc.files ORDER BY file_id")),
            *conn.execute(text("SELECT file_id, name, subunit, ifu, value FROM qc.metrics "
                               "ORDER BY 1, 2, 3")),
            *conn.execute(text("SELECT file_id, hdu_index, extname, ifu FROM qc.hdus "
                               "ORDER BY 1, 2")),
        ]


def test_real_muse_cube(engine: Engine, minicube: Path, tmp_path: Path) -> None:
    shutil.copy(minicube, tmp_path / "minicube.fits")
    report = ingest_paths(engine, [tmp_path], workers=1)
    assert report.ok and report.new == 1
    with engine.connect() as conn:
        p = conn.execute(text(
            "SELECT p.*, f.kind, f.checksum, f.release_date, g.name AS owner "
            "FROM qc.products p JOIN qc.files f USING (file_id) "
            "JOIN qc.groups g ON g.group_id = f.owner_group_id")).mappings().one()
        assert (p["kind"], p["pro_catg"], p["ifu"]) == ("product", "DATACUBE_FINAL", None)
        assert p["ins_mode"] == "WFM-NOAO-N"
        assert p["night"] == dt.date(2014, 12, 7)          # 2014-12-08T02:48 UT minus 12 h
        assert p["prog_id"] == p["owner"] == "094.A-0859(A)"
        assert p["object"] == "Abell 478" and p["exptime"] == 900.0
        assert p["airmass"] == pytest.approx((1.269 + 1.247) / 2)
        assert p["dimm_fwhm"] == pytest.approx((1.13 + 0.92) / 2)
        assert p["ncombine"] == 3 and p["creator"] == "muse_exp_combine (muse/1.0)"
        assert p["release_date"] == dt.date(2015, 12, 7)
        assert p["checksum"].startswith("sha256:") and len(p["checksum"]) == 71
        fwhm = dict(conn.execute(text(
            "SELECT name || ' #' || subunit, value FROM qc.metrics "
            "WHERE name LIKE 'QC EXPCOMB FWHMi _' AND unit = 'arcsec' AND source = 'header'")
        ).all())
        assert len(fwhm) == 16
        assert fwhm["QC EXPCOMB FWHMi X #1"] == pytest.approx(0.954764)
        assert fwhm["QC EXPCOMB FWHMi Y #4"] == pytest.approx(2.077099)
        raw_inputs = conn.execute(text(
            "SELECT input_name FROM qc.provenance WHERE role = 'raw' AND recipe = "
            "'muse_scibasic'")).scalars().all()
        assert "MUSE.2014-12-08T02:48:56.798.fits.fz" in raw_inputs
        ra = conn.execute(text("SELECT degrees(long(pos)), degrees(lat(pos)) "
                               "FROM qc.products")).one()
        assert ra == pytest.approx((63.355417, 10.46556))
        n_cards = conn.execute(text("SELECT count(*) FROM qc.hdus h, "
                                    "jsonb_object_keys(h.header) WHERE hdu_index = 0")).scalar()
        assert n_cards > 1200


def test_rerun_adds_nothing_and_change_updates_in_place(engine: Engine, minicube: Path,
                                                         tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    write_raw(tmp_path / "a" / "raw1.fits")
    write_master(tmp_path / "a" / "MASTER_BIAS-07.fits", "MASTER_BIAS", 7,
                 {f"BIAS MASTER{q} RON": (2.5 + q / 10, "adu") for q in range(1, 5)})
    shutil.copy(minicube, tmp_path / "a" / "cube.fits")
    first = ingest_paths(engine, [tmp_path], workers=2)
    assert (first.new, first.updated, first.unchanged, first.ok) == (3, 0, 0, True)
    before, rows = counts(engine), snapshot(engine)
    second = ingest_paths(engine, [tmp_path], workers=2)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 3)
    assert counts(engine) == before and snapshot(engine) == rows

    master = tmp_path / "a" / "MASTER_BIAS-07.fits"
    with fits.open(master, mode="update") as hdul:
        hdul[0].header["HIERARCH ESO QC BIAS MASTER2 RON"] = 9.9
    third = ingest_paths(engine, [tmp_path], workers=1)
    assert (third.new, third.updated, third.unchanged) == (0, 1, 2)
    assert counts(engine) == before
    with engine.connect() as conn:
        value = conn.execute(text(
            "SELECT m.value FROM qc.metrics m JOIN qc.files f USING (file_id) "
            "WHERE f.filename = 'MASTER_BIAS-07.fits' AND m.name = 'QC BIAS MASTERi RON' "
            "AND m.subunit = '2' AND m.ifu = 7")).scalar_one()
        assert value == 9.9
        runs = conn.execute(text("SELECT status FROM qc.job_runs ORDER BY run_id")).scalars()
        assert list(runs) == ["finished", "nothing_to_do", "finished"]


def _broken_tree(root: Path, minicube: Path) -> dict[str, str]:
    """Good files next to broken ones; returns {broken file name: expected reason}."""
    root.mkdir()
    shutil.copy(minicube, root / "cube.fits")
    write_raw(root / "bias.fits", dpr=("CALIB", "BIAS", "IFU"))
    write_master(root / "MASTER_DARK-03.fits", "MASTER_DARK", 3,
                 {"DARK MASTER DC": (0.8, "e-/h")})
    data = (root / "bias.fits").read_bytes()
    (root / "truncated.fits").write_bytes(data[: len(data) // 2 + 1000])
    (root / "cut_between_hdus.fits").write_bytes(data[: 2880 * 21])   # primary + 10 CHANs
    (root / "notes.fits").write_text("not a FITS file at all")
    write_raw(root / "nodate.fits", drop=("DATE-OBS",))
    write_raw(root / "baddate.fits", **{"DATE-OBS": "last tuesday"})
    write_raw(root / "fors.fits", INSTRUME="FORS2")
    write_raw(root / "badtype.fits", **{"HIERARCH ESO TEL AIRM START": "high"})
    write_raw(root / "nochan.fits", n_chan=0)
    write_master(root / "MASTER_FLAT.fits", "MASTER_FLAT", 5, {},
                 **{"HIERARCH ESO DET CHIP NAME": None})
    (root / "README.txt").write_text("ignored: not a FITS name")
    return {"truncated.fits": "truncated: 71560 bytes", "cut_between_hdus.fits": "10 of the 24 IFU",
            "notes.fits": "not a FITS file",
            "nodate.fits": "DATE-OBS is missing", "baddate.fits": "not an ISO date",
            "fors.fits": "not a MUSE file: INSTRUME = 'FORS2'",
            "badtype.fits": "ESO TEL AIRM START: expected a number, found 'high'",
            "nochan.fits": "without any CHAN01..CHAN24", "MASTER_FLAT.fits": "does not say which"}


def test_broken_files_are_named_and_good_ones_stored(engine: Engine, minicube: Path,
                                                     tmp_path: Path) -> None:
    expected = _broken_tree(tmp_path / "night", minicube)
    report = ingest_paths(engine, [tmp_path / "night"], workers=2)
    assert (report.new, report.ok) == (3, False)
    reasons = {Path(p).name: r for p, r in report.failures}
    assert set(reasons) == set(expected)
    for name, fragment in expected.items():
        assert fragment in reasons[name], (name, reasons[name])
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT path, reason FROM qc.ingest_failures")).all())
        assert {Path(p).name for p in stored} == set(expected)
        assert conn.execute(text("SELECT ifu FROM qc.products WHERE pro_catg = "
                                 "'MASTER_DARK'")).scalar() == 3
    before = counts(engine)
    again = ingest_paths(engine, [tmp_path / "night"], workers=1)
    assert again.unchanged == 3 and len(again.failures) == len(expected)
    assert counts(engine) == before

    write_raw(tmp_path / "night" / "nodate.fits")       # repaired: taken, failure cleared
    fixed = ingest_paths(engine, [tmp_path / "night"], workers=1)
    assert fixed.new == 1 and len(fixed.failures) == len(expected) - 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qc.ingest_failures WHERE path LIKE "
                                 "'%nodate.fits'")).scalar() == 0


def test_provenance_links_both_ways(engine: Engine, tmp_path: Path) -> None:
    raw = write_raw(tmp_path / "MUSE.2024-03-10T10:00:00.000.fits", dpr=("CALIB", "BIAS", "IFU"))
    master = write_master(tmp_path / "MASTER_BIAS-01.fits", "MASTER_BIAS", 1, {})
    ingest_paths(engine, [master], workers=1)        # product first, its input later
    ingest_paths(engine, [raw], workers=1)
    with engine.connect() as conn:
        linked = conn.execute(text(
            "SELECT f.filename FROM qc.provenance p JOIN qc.files f "
            "ON f.file_id = p.input_file_id")).scalars().all()
        assert linked == [raw.name]


def test_cli_exit_status_and_messages(cli_env: dict, minicube: Path, tmp_path: Path) -> None:
    _broken_tree(tmp_path / "night", minicube)
    musedc = Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "musedc"
    if not musedc.exists():
        musedc = Path(shutil.which("musedc") or "musedc")
    proc = subprocess.run([str(musedc), "ingest", str(tmp_path / "night"), "--no-progress"],
                          env=cli_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "3 new, 0 updated, 0 unchanged, 9 failed" in proc.stdout
    assert f"FAILED {tmp_path / 'night' / 'fors.fits'}: not a MUSE file" in proc.stderr
    good = subprocess.run([str(musedc), "ingest", str(tmp_path / "night" / "cube.fits")],
                          env=cli_env, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and "1 unchanged, 0 failed" in good.stdout
