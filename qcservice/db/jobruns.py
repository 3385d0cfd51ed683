"""Job runs in the database: one ``qc.job_runs`` row per ingest, QC or publish run.

Users asked status from the database, not from log files: a run is 'running' while it
works, then 'finished', 'nothing_to_do' or 'failed' (with its counts and a message). A
run whose process died (killed, machine rebooted) is closed as failed by the next run of
the same kind on the same host.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError


@dataclass
class JobRun:
    """Counters the caller fills in while the run works."""

    run_id: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    had_work: bool = True
    message: str = ""

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        return "finished" if self.had_work else "nothing_to_do"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_run(engine: Engine, kind: str, args: dict) -> int:
    """Insert a 'running' row (host and pid in its args); close dead runs of this kind."""
    host = socket.gethostname()
    with engine.begin() as conn:
        for run_id, pid in conn.execute(text(
                "SELECT run_id, (args->>'pid')::int FROM qc.job_runs WHERE kind = :k "
                "AND status = 'running' AND host = :h"), {"k": kind, "h": host}):
            if pid and pid != os.getpid() and not _alive(pid):
                conn.execute(text("UPDATE qc.job_runs SET status = 'failed', finished_at = "
                                  "now(), message = 'interrupted: its process is gone' "
                                  "WHERE run_id = :r"), {"r": run_id})
        return conn.execute(text(
            "INSERT INTO qc.job_runs (kind, host, args) VALUES (:k, :h, CAST(:a AS jsonb)) "
            "RETURNING run_id"),
            {"k": kind, "h": host, "a": json.dumps({**args, "pid": os.getpid()}, default=str)}
        ).scalar_one()


def count_progress(conn: Connection, run_id: int, done: int, failed: int) -> None:
    """The run's counts so far, written in the transaction that committed those files:
    a run killed later (SIGKILL, lost machine) still says what it did commit."""
    conn.execute(text("UPDATE qc.job_runs SET n_done = :d, n_failed = :f WHERE run_id = :r"),
                 {"d": done, "f": failed, "r": run_id})


def finish_run(engine: Engine, run: JobRun, status: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "UPDATE qc.job_runs SET status = :s, finished_at = now(), n_done = :d, "
            "n_skipped = :k, n_failed = :f, message = :m WHERE run_id = :r"),
            {"s": status or run.status, "d": run.done, "k": run.skipped, "f": run.failed,
             "m": run.message, "r": run.run_id})


@contextmanager
def job_run(engine: Engine, kind: str, args: dict) -> Iterator[JobRun]:
    """A run row for the duration of the block, closed as failed if the block raises."""
    run = JobRun(start_run(engine, kind, args))
    try:
        yield run
    except BaseException as exc:
        run.message = f"interrupted: {type(exc).__name__}: {exc}"
        # the database itself may be gone (often the very cause): report the first error;
        # the next run of this kind then closes the row, as for a killed process
        with contextlib.suppress(OperationalError):
            finish_run(engine, run, "failed")
        raise
    finish_run(engine, run)
