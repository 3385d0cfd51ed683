"""Faults during QC runs: the database stopped in the middle, a worker process killed, two
runs at once on the same night (and two starting at the same instant). Each must end with
exactly the rows one undisturbed run writes (``reference``): nothing lost, nothing
processed twice, no duplicate row."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from support import free_port, fresh_database, open_tempdir
from test_qc_runs import results

from qcservice.config import Settings, load_settings
from qcservice.db import make_engine
from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.schema import tables
from qcservice.ingest.runner import ingest_paths
from qcservice.qc import thresholds
from qcservice.qc.jobs import discover
from qcservice.qc.run import run_qc

QC = [sys.executable, "-m", "qcservice", "qc", "run", "--no-progress"]


@pytest.fixture(scope="module")
def reference(pg_settings: Settings, tiny: Path,
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """The rows of one undisturbed QC run over the tiny night."""
    with fresh_database(pg_settings) as url:
        eng = create_engine(url)
        ingest_paths(eng, [tiny], workers=1, checksum=False)
        assert run_qc(eng, tmp_path_factory.mktemp("ref-images"), workers=2).ok
        out = results(eng)
        eng.dispose()
    return out


def wait_for_done(engine: Engine, proc: subprocess.Popen, n: int, timeout: float = 180) -> int:
    """Wait until ``n`` files are recorded by the running ``proc``; returns how many."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with engine.connect() as conn:
            done = conn.execute(text("SELECT count(*) FROM qc.qc_done")).scalar_one()
        if done >= n:
            return done
        time.sleep(0.05)
    raise AssertionError(f"the QC run did not record {n} files (exit {proc.poll()})")


def qc_runs(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(text("SELECT status, n_done, message FROM qc.job_runs "
                                 "WHERE kind = 'qc' ORDER BY run_id")).all()


@pytest.mark.slow
def test_database_stopped_during_a_run(tiny: Path, reference: dict) -> None:
    # a cluster of its own: stopping the session's would pull it from under other tests
    home = open_tempdir("musedc-fault-db-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(home), MUSEDC_PG_PORT=str(free_port()))
    settings = load_settings(env)
    cluster = EmbeddedCluster(settings)
    engine = make_engine(settings)
    try:
        ingest_paths(engine, [tiny], workers=1, checksum=False)
        proc = subprocess.Popen([*QC, "-j", "2"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        partial = wait_for_done(engine, proc, 20)
        cluster.stop()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, out + err
        assert "Traceback" not in err, err
        assert "database" in err and "musedc qc run" in err, err   # what to do next
        rerun = subprocess.run([*QC, "-j", "2"], env=env, capture_output=True, text=True,
                               timeout=300)
        assert rerun.returncode == 0, rerun.stderr
        runs = qc_runs(engine)
        assert [r.status for r in runs] == ["failed", "finished"]
        assert "interrupted" in runs[0].message
        assert runs[1].n_done <= len(reference["done"]) - partial     # the rest, not all
        assert results(engine) == reference
    finally:
        engine.dispose()
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def _pool_workers(pid: int) -> list[int]:
    """The multiprocessing workers among the children of process ``pid``."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in children
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.mark.slow
def test_killed_worker_costs_no_file(cli_env: dict, engine: Engine, tiny: Path,
                                     reference: dict) -> None:
    ingest_paths(engine, [tiny], workers=1, checksum=False)
    proc = subprocess.Popen([*QC, "-j", "2"], env=cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_done(engine, proc, 10)
    workers = _pool_workers(proc.pid)
    assert workers, "the run must have its worker processes"
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, out + err
    assert results(engine) == reference
    assert [r.status for r in qc_runs(engine)] == ["finished"]


@pytest.mark.slow
def test_two_runs_at_once_share_the_night(cli_env: dict, engine: Engine,
                                          tiny: Path, reference: dict) -> None:
    ingest_paths(engine, [tiny], workers=1, checksum=False)
    todo = len(discover(engine, Path("/unused")))
    cmd = [*QC, "--night", "2016-02-02", "-j", "1"]
    procs = [subprocess.Popen(cmd, env=cli_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
    runs = qc_runs(engine)
    assert sum(r.n_done for r in runs) == todo, runs     # no file checked twice
    assert results(engine) == reference                  # and no duplicate row
    images = Path(cli_env["MUSEDC_HOME"]) / "qc-images"
    pngs = sorted(images.rglob("*.png"))
    assert len(pngs) == len(reference["images"])
    for png in pngs:   # not two writers' bytes interleaved
        assert png.read_bytes().startswith(b"\x89PNG") and png.read_bytes().endswith(
            b"IEND\xaeB`\x82"), png


def test_two_runs_starting_together_both_load_the_thresholds(engine: Engine) -> None:
    t = tables(engine)
    together = threading.Barrier(2)
    errors: list[Exception] = []

    def start_of_a_run() -> None:
        try:
            with engine.begin() as conn:
                together.wait(timeout=30)
                thresholds.sync(conn, t)     # what run_qc does first
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start_of_a_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM qc.thresholds")).scalar_one()
    assert n == sum(len(thresholds.read_file(f)) for f in thresholds.default_files())
