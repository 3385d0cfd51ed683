"""``musedc simulate`` through the real command group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qcservice.cli import main


def test_help_documents_every_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "simulate", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--nights", "--scale", "--mode", "--seed", "--start-night", "--no-faults",
                   "WFM-AO-E", "NFM-AO-N", "tiny", "small", "full"):
        assert option in result.output


@pytest.mark.slow
def test_simulate_writes_nights(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--home", str(tmp_path / "home"), "simulate", str(out), "--nights", "2",
            "--scale", "tiny", "--mode", "WFM-AO-N", "--mode", "NFM-AO-N", "--seed", "4",
            "--start-night", "2016-02-28", "--no-faults"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line[:10] for line in lines] == ["2016-02-28", "2016-02-29"]
    for night in ("2016-02-28", "2016-02-29"):
        truth = json.loads((out / night / "truth.json").read_text())
        assert truth["faults"] == [] and truth["modes"] == ["WFM-AO-N", "NFM-AO-N"]
        assert not any(r["broken"] for r in truth["files"].values())
        modes = {r["ins_mode"] for r in truth["files"].values()}
        assert modes == {"WFM-AO-N", "NFM-AO-N"}
        assert (out / night / "products" / "MASTER_FLAT-07_2.fits").is_file()
        nfm = [c for c in truth["cubes"] if c["ins_mode"] == "NFM-AO-N"]
        assert nfm and all(c["pixscale_arcsec"] == 0.025 for c in nfm)
        assert all(c["nad_notch_a"] == [5755.0, 6008.0] for c in truth["cubes"])
    # A rerun replaces the earlier simulation: nothing stale survives.
    stale = out / "2016-02-28" / "products" / "STALE.fits"
    stale.write_bytes(b"")
    before = (out / "2016-02-28" / "truth.json").read_bytes()
    again = CliRunner().invoke(main, [*args[:5], "1", *args[6:]])
    assert again.exit_code == 0, again.output
    assert not stale.exists()
    assert (out / "2016-02-28" / "truth.json").read_bytes() == before


def test_refuses_a_folder_that_is_not_a_simulation(tmp_path: Path) -> None:
    notes = tmp_path / "2014-12-07" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("mine")
    result = CliRunner().invoke(main, ["simulate", str(tmp_path)])
    assert result.exit_code == 1 and "refusing" in result.output
    assert notes.read_text() == "mine"


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_mode = runner.invoke(main, ["simulate", str(tmp_path), "--mode", "WFM"])
    assert bad_mode.exit_code == 2 and "WFM" in bad_mode.output
    bad_date = runner.invoke(main, ["simulate", str(tmp_path), "--start-night", "2014-13-01"])
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output
    assert not any(tmp_path.iterdir())


def test_a_killed_simulation_is_redone_by_the_next(tmp_path: Path) -> None:
    """SIGKILL in the middle of a night leaves a partial folder; the rerun takes it as the
    unfinished simulation it is (not as someone else's folder) and writes the whole night."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    env = {**os.environ, "MUSEDC_HOME": str(tmp_path / "home")}
    argv = [sys.executable, "-m", "qcservice", "simulate", str(out), "--nights", "1",
            "--scale", "tiny", "--seed", "5", "--start-night", "2016-03-01"]
    night = out / "2016-03-01"
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(night.glob("*/*.fits")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(night.glob("*/*.fits")) and not (night / "truth.json").exists()
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    truth = json.loads((night / "truth.json").read_text())
    written = {p.relative_to(night).as_posix() for p in night.glob("*/*.fits")}
    assert written == set(truth["files"])
    assert not (night / ".simulating").exists()
