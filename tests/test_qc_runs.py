"""QC runs: incremental, idempotent, manual decisions win, failures recorded, the same on
a Dask cluster, and a run killed in the middle finished by the next one."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths
from qcservice.qc.jobs import discover
from qcservice.qc.run import run_qc
from qcservice.qc.thresholds import Threshold, ThresholdError, ThresholdSet, read_file

RESULT_QUERIES = {
    "metrics": "SELECT file_id, name, COALESCE(ifu, 0), COALESCE(subunit, ''), value "
               "FROM qc.metrics WHERE source = 'computed' ORDER BY 1, 2, 3, 4",
    "ifu_status": "SELECT file_id, ifu, flags, is_valid, decided_by FROM qc.ifu_status "
                  "ORDER BY 1, 2",
    "qa": "SELECT file_id, auto_state, state, flags FROM qc.qa ORDER BY 1",
    "done": "SELECT file_id, task, status FROM qc.qc_done ORDER BY 1",
    "images": "SELECT file_id, kind FROM qc.qc_images ORDER BY 1, 2",
    "audit": "SELECT file_id, COALESCE(ifu, 0), action, new_value::text FROM qc.audit_log "
             "ORDER BY 1, 2, 3",
}


def results(engine: Engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {k: [tuple(r) for r in conn.execute(text(q))] for k, q in RESULT_QUERIES.items()}


@pytest.fixture
def ingested(engine: Engine, tiny: Path) -> Engine:
    ingest_paths(engine, [tiny], workers=2, checksum=False)
    return engine


@pytest.mark.slow
def test_rerun_is_incremental_and_idempotent(ingested: Engine, tmp_path: Path,
                                             tiny: Path) -> None:
    first = run_qc(ingested, tmp_path, workers=2)
    assert first.ok and first.done > 100
    before = results(ingested)
    second = run_qc(ingested, tmp_path, workers=2)
    assert second.done == 0 and results(ingested) == before
    with ingested.connect() as conn:
        runs = conn.execute(text("SELECT status FROM qc.job_runs WHERE kind = 'qc' "
                                 "ORDER BY run_id")).scalars().all()
    assert runs == ["finished", "nothing_to_do"]
    # a changed file (re-ingested) is checked again, and only it
    master = next(tiny.glob("products/MASTER_DARK-05.fits"))
    os.utime(master, (time.time(), time.time() + 10))
    assert ingest_paths(ingested, [tiny], workers=1, checksum=False).updated == 1
    third = run_qc(ingested, tmp_path, workers=1)
    assert third.done == 1 and results(ingested) == before


@pytest.mark.slow
def test_night_selection(ingested: Engine, tmp_path: Path) -> None:
    assert run_qc(ingested, tmp_path, night_from=dt.date(2016, 2, 3)).done == 0
    assert run_qc(ingested, tmp_path, night_from=dt.date(2016, 2, 2),
                  night_to=dt.date(2016, 2, 2)).done > 100


@pytest.mark.slow
def test_manual_decision_outranks_automatic(ingested: Engine, tmp_path: Path,
                                            tiny: Path) -> None:
    run_qc(ingested, tmp_path, workers=2)
    with ingested.begin() as conn:
        cube = conn.execute(text("SELECT file_id FROM qc.qa JOIN qc.files USING (file_id) "
                                 "WHERE 'BAD_SKY_SUB' = ANY(flags)")).scalar_one()
        conn.execute(text("UPDATE qc.qa SET state = 'Usable', decided_by = 'alice' "
                          "WHERE file_id = :f"), {"f": cube})
        bias = conn.execute(text("SELECT file_id, ifu FROM qc.ifu_status "
                                 "WHERE 'BAD_RON' = ANY(flags) LIMIT 1")).one()
        conn.execute(text("UPDATE qc.ifu_status SET is_valid = true, decided_by = 'alice' "
                          "WHERE file_id = :f AND ifu = :i"), {"f": bias[0], "i": bias[1]})
        conn.execute(text("DELETE FROM qc.qc_done"))      # force a full rerun
    run_qc(ingested, tmp_path, workers=2)
    with ingested.connect() as conn:
        qa = conn.execute(text("SELECT auto_state, state, decided_by FROM qc.qa "
                               "WHERE file_id = :f"), {"f": cube}).one()
        ifu = conn.execute(text("SELECT is_valid, flags, decided_by FROM qc.ifu_status "
                                "WHERE file_id = :f AND ifu = :i"),
                           {"f": bias[0], "i": bias[1]}).one()
    assert tuple(qa) == ("Fail", "Usable", "alice")
    assert ifu.is_valid is True and "BAD_RON" in ifu.flags and ifu.decided_by == "alice"


@pytest.mark.slow
def test_failing_product_is_recorded_and_the_rest_go_on(ingested: Engine, tmp_path: Path,
                                                        tiny: Path) -> None:
    with ingested.connect() as conn:
        path = conn.execute(text("SELECT path FROM qc.files WHERE filename = "
                                 "'DATACUBE_FINAL_1.fits'")).scalar_one()
    broken = Path(path)
    shutil.copy(broken, tmp_path / "keep.fits")
    try:
        broken.write_bytes(broken.read_bytes()[:2880 * 10])   # the cube lost its pixels
        report = run_qc(ingested, tmp_path / "img", workers=2)
    finally:
        shutil.copy(tmp_path / "keep.fits", broken)
    assert [Path(p).name for p, _ in report.failures] == ["DATACUBE_FINAL_1.fits"]
    assert report.done > 100
    with ingested.connect() as conn:
        done = conn.execute(text("SELECT status, error FROM qc.qc_done JOIN qc.files "
                                 "USING (file_id) WHERE filename = 'DATACUBE_FINAL_1.fits'")
                            ).one()
        run = conn.execute(text("SELECT status, n_failed FROM qc.job_runs WHERE kind = 'qc'")
                           ).one()
    assert done.status == "failed" and "DATACUBE_FINAL_1.fits" in done.error
    assert tuple(run) == ("failed", 1)
    retry = run_qc(ingested, tmp_path / "img", workers=1)    # the file is back: retried
    assert retry.done == 1 and retry.ok


@pytest.mark.slow
def test_dask_cluster_gives_identical_results(engine: Engine, tiny: Path, tmp_path: Path,
                                              db_url: str) -> None:
    from distributed import LocalCluster

    ingest_paths(engine, [tiny], workers=1, checksum=False)
    local = run_qc(engine, tmp_path / "local", workers=2)
    expected = results(engine)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE qc.qc_done, qc.ifu_status, qc.qa, qc.qc_images"))
        conn.execute(text("DELETE FROM qc.metrics WHERE source = 'computed'"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        remote = run_qc(engine, tmp_path / "local", scheduler=cluster.scheduler_address)
    assert remote.done == local.done and remote.states == local.states
    got = results(engine)
    for key in ("metrics", "ifu_status", "qa", "done", "images"):
        assert got[key] == expected[key], key


@pytest.mark.slow
def test_killed_run_is_finished_by_the_next(cli_env: dict, tiny: Path, engine: Engine,
                                            tmp_path: Path, pg_settings) -> None:
    from sqlalchemy import create_engine
    from support import fresh_database

    ingest_paths(engine, [tiny], workers=1, checksum=False)
    cmd = [sys.executable, "-m", "qcservice", "qc", "run", "-j", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM qc.qc_done")).scalar()
        if n >= 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with engine.connect() as conn:
        partial = conn.execute(text("SELECT count(*) FROM qc.qc_done")).scalar()
    total = len(discover(engine, tmp_path)) + partial
    assert 20 <= partial < total, "the kill must land in the middle of the run"
    rerun = subprocess.run(cmd, env=cli_env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT status, message FROM qc.job_runs WHERE kind = 'qc' "
                                 "ORDER BY run_id")).all()
    assert runs[0].status == "failed" and "interrupted" in runs[0].message
    assert runs[1].status == "finished"
    with fresh_database(pg_settings) as clean_url:
        clean = create_engine(clean_url)
        ingest_paths(clean, [tiny], workers=1, checksum=False)
        run_qc(clean, Path(cli_env["MUSEDC_HOME"]) / "qc-images", workers=2)
        expected, got = results(clean), results(engine)
        clean.dispose()
    for key in RESULT_QUERIES:
        assert got[key] == expected[key], key


def test_thresholds_are_dated_and_specific(tmp_path: Path) -> None:
    old = Threshold("psf.fwhm", "WIDE_PSF", dt.date(2014, 1, 1), warn_high=1.2)
    mode = Threshold("psf.fwhm", "WIDE_PSF", dt.date(2014, 1, 1), ins_mode="NFM-AO-N",
                     warn_high=0.2)
    new = Threshold("psf.fwhm", "WIDE_PSF", dt.date(2020, 6, 1), warn_high=1.0)
    rules = ThresholdSet([old, mode, new])
    pick = rules.applicable
    assert pick("psf.fwhm", dt.date(2019, 1, 1), "WFM-NOAO-N", None, "7000") == [old]
    assert pick("psf.fwhm", dt.date(2019, 1, 1), "NFM-AO-N", None, "7000") == [mode]
    assert pick("psf.fwhm", dt.date(2020, 6, 1), "WFM-NOAO-N", None, "7000") == [new]
    assert pick("psf.fwhm", dt.date(2013, 1, 1), "WFM-NOAO-N", None, "7000") == []
    assert new.verdict(1.1) == "warning" and old.verdict(1.1) is None
    bad = tmp_path / "2024-01-01.toml"
    bad.write_text('valid_from = "2024-01-01"\ncalibrated_on = "sim"\n'
                   '[[threshold]]\nmetric = "x"\nflg = "Y"\n')
    with pytest.raises(ThresholdError, match="threshold 1 needs metric and flag"):
        read_file(bad)
    bad.write_text('valid_from = "2024-01-01"\n[[threshold]]\nmetric = "x"\nflag = "Y"\n')
    with pytest.raises(ThresholdError, match="needs calibrated_on"):
        read_file(bad)
