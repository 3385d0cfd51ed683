"""Workers die with their run (issue #16, item 5): after a real SIGKILL of ``musedc qc
run -j 2`` no pool worker nor multiprocessing's resource tracker runs on or commits
anything more, and the killed run's row counts exactly the files it did commit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from test_faults_qc import QC, wait_for_done

from qcservice.db.jobruns import JobRun, finish_run, start_run
from qcservice.ingest.runner import ingest_paths


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_sigkilled_qc_run_leaves_no_worker(tiny: Path, engine, cli_env) -> None:
    ingest_paths(engine, [tiny], workers=1, checksum=False)
    proc = subprocess.Popen([*QC, "-j", "2"], env=cli_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_done(engine, proc, 4)
        workers = descendants(proc.pid)
        assert len(workers) >= 2, "no pool workers to watch"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if alive(p)], "workers outlived the killed run"
    finally:
        for pid in descendants(proc.pid) | {proc.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    with engine.connect() as conn:
        done_then = conn.execute(text("SELECT count(*) FROM qc.qc_done")).scalar_one()
    time.sleep(3)
    with engine.connect() as conn:
        run = conn.execute(text("SELECT run_id, status, n_done, n_failed FROM qc.job_runs "
                                "WHERE kind = 'qc'")).one()
        by_run = conn.execute(text("SELECT count(*) FROM qc.qc_done WHERE run_id = :r"),
                              {"r": run.run_id}).scalar_one()
        done_now = conn.execute(text("SELECT count(*) FROM qc.qc_done")).scalar_one()
    assert done_now == done_then, "files were committed after the run was killed"
    assert run.status == "running" and by_run >= 4
    assert run.n_done + run.n_failed == by_run
    nxt = start_run(engine, "qc", {})   # the next run closes the dead one, keeping its counts
    finish_run(engine, JobRun(nxt, had_work=False))
    with engine.connect() as conn:
        closed = conn.execute(text("SELECT status, n_done + n_failed FROM qc.job_runs "
                                   "WHERE run_id = :r"), {"r": run.run_id}).one()
    assert tuple(closed) == ("failed", by_run)
