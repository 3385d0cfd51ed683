"""Copies of one exposure under other names (the same ARCFILE, or the same DATE-OBS,
instrument and DPR keys): one raw frame, the copies recorded as its duplicates, every
count of the night unchanged, QC done once, a rerun changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import Engine, create_engine, text
from support import fresh_database

from qcservice.config import Settings
from qcservice.ingest.runner import ingest_paths
from qcservice.nights import night_counts
from qcservice.qc.run import run_qc
from qcservice.simulate import simulate_night

COUNTS = {
    "raw": "SELECT dpr_type, count(*), sum(exptime) FROM qc.raw_frames GROUP BY 1 ORDER BY 1",
    "viewer": "SELECT night, cat, sum(n), sum(exptime) FROM qc.viewer_night_counts "
              "GROUP BY 1, 2 ORDER BY 1, 2",
    "qc": "SELECT task, status, count(*) FROM qc.qc_done GROUP BY 1, 2 ORDER BY 1, 2",
    "metrics": "SELECT count(*) FROM qc.metrics",
    "provenance": "SELECT count(*) FROM qc.provenance p JOIN qc.raw_frames r "
                  "ON r.file_id = p.input_file_id",
}


def _counts(engine: Engine) -> dict:
    with engine.begin() as conn:
        conn.execute(text("SELECT qc.viewer_refresh_counts()"))
        out = {k: [tuple(r) for r in conn.execute(text(q))] for k, q in COUNTS.items()}
    out["nights"] = [(n.night, n.raw, n.science_exptime) for n in night_counts(engine)]
    return out


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Path]]:
    """A tiny simulated night, and next to it four copies of one science exposure: the
    file itself, two copies under other names, one without its ARCFILE keyword."""
    root = tmp_path_factory.mktemp("dup")
    truth = simulate_night(root / "data", "2014-12-07", scale="tiny", seed=3)
    night = root / "night"       # its science exposures and two biases (QC'd) suffice
    night.mkdir()
    for raw in sorted((truth.directory / "raw").glob("MUSE.*.fits")):
        dpr = fits.getheader(raw)   # (not the night's deliberately broken bias)
        if dpr.get("HIERARCH ESO DPR CATG") == "SCIENCE" or (
                dpr.get("HIERARCH ESO DPR TYPE") == "BIAS" and "DATE-OBS" in dpr
                and len(list(night.iterdir())) < 6):
            shutil.copy(raw, night)
    science = sorted(p for p in night.iterdir()
                     if fits.getval(p, "HIERARCH ESO DPR CATG") == "SCIENCE")[0]
    copies = root / "copies"
    copies.mkdir()
    made = [shutil.copy(science, copies / "again.fits"),
            shutil.copy(science, copies / "MUSE_renamed_copy.fits"),
            shutil.copy(science, copies / "no_arcfile.fits")]
    with fits.open(made[-1], mode="update") as hdul:
        del hdul[0].header["ARCFILE"]
    return night, science, [Path(p) for p in made]


@pytest.mark.slow
def test_four_copies_are_one_exposure(pg_settings: Settings, engine: Engine, night,
                                      tmp_path: Path) -> None:
    directory, science, copies = night
    with fresh_database(pg_settings) as url:     # the same night without the copies
        alone = create_engine(url)
        ingest_paths(alone, [directory], workers=2, checksum=False)
        run_qc(alone, tmp_path / "alone", workers=2)
        expected = _counts(alone)
        alone.dispose()

    report = ingest_paths(engine, [directory, *copies], workers=2, checksum=False)
    assert sorted(Path(p).name for p, _, _ in report.duplicates) == sorted(
        p.name for p in copies)
    assert {o for _, o, _ in report.duplicates} == {str(science)}
    run_qc(engine, tmp_path / "images", workers=2)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT f.filename, o.path, d.reason FROM qc.duplicates d JOIN qc.files f "
            "USING (file_id) JOIN qc.files o ON o.file_id = d.original_file_id")).all()
        in_frames = conn.execute(text(
            "SELECT count(*) FROM qc.raw_frames JOIN qc.files USING (file_id) "
            "WHERE filename = ANY(:n)"), {"n": [p.name for p in copies]}).scalar()
    reasons = {name: reason for name, _, reason in rows}
    assert {o for _, o, _ in rows} == {str(science)} and in_frames == 0
    assert reasons["again.fits"] == f"same ARCFILE {science.name}"
    assert reasons["no_arcfile.fits"] == "same DATE-OBS, instrument and DPR keys"
    first = _counts(engine)
    assert first == expected          # night counts, exposure time, QC, metrics

    again = ingest_paths(engine, [directory, *copies], workers=1, checksum=False)
    assert (again.new, again.updated, again.duplicates) == (0, 0, [])
    run_qc(engine, tmp_path / "images", workers=1)
    assert _counts(engine) == first
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qc.duplicates")).scalar() == 3

    copies[0].touch()                 # a changed copy is checked again: still a duplicate
    third = ingest_paths(engine, [copies[0]], workers=1, checksum=False)
    assert third.updated == 1 and len(third.duplicates) == 1
    assert _counts(engine) == first


def test_cli_lists_duplicates(cli_env: dict, night) -> None:
    directory, science, copies = night
    result = subprocess.run([sys.executable, "-m", "qcservice", "ingest", "--no-checksum",
                             "--no-progress", str(directory), *map(str, copies)],
                            env=cli_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("DUPLICATE")]
    assert len(lines) == 3 and all(str(science) in line for line in lines)
    assert "0 failed, 3 duplicates" in result.stdout


def test_migration_moves_the_copies_an_older_catalogue_holds(engine: Engine, night) -> None:
    """Before migration 020 every copy was a raw frame: its function finds them."""
    directory, science, copies = night
    ingest_paths(engine, [directory, *copies], workers=1, checksum=False)
    expected = _counts(engine)
    columns = ("night, date_obs, mjd_obs, dpr_catg, dpr_type, dpr_tech, ins_mode, exptime, "
               "object, targ_name, prog_id, obs_id, pi_coi, observer, airmass, dimm_fwhm, "
               "ra, dec, drot_posang, n_ifu")
    with engine.begin() as conn:     # back to the old state: copies are raw frames
        conn.execute(text(
            f"INSERT INTO qc.raw_frames (file_id, {columns}) SELECT d.file_id, {columns} "
            "FROM qc.duplicates d JOIN qc.raw_frames r ON r.file_id = d.original_file_id"))
        conn.execute(text("DELETE FROM qc.duplicates"))
        conn.execute(text("UPDATE qc.raw_frames SET arcfile = NULL, instrume = NULL"))
        assert conn.execute(text("SELECT qc.mark_duplicate_exposures()")).scalar() == 3
    assert _counts(engine) == expected
    with engine.begin() as conn:
        assert conn.execute(text("SELECT qc.mark_duplicate_exposures()")).scalar() == 0
        reasons = conn.execute(text("SELECT reason FROM qc.duplicates ORDER BY 1")).scalars()
        assert list(reasons) == ["same ARCFILE " + science.name] * 2 + [
            "same DATE-OBS, instrument and DPR keys"]
