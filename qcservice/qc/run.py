"""One ``musedc qc run``: discover, execute, record each file, close the run row."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from qcservice.db.jobruns import count_progress, job_run
from qcservice.db.schema import tables
from qcservice.qc import thresholds as thr
from qcservice.qc.jobs import QC_VERSION, discover, execute
from qcservice.qc.record import record_qc_failure, record_result


@dataclass
class QcReport:
    run_id: int = 0
    done: int = 0
    states: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.states.items())) or "-"
        return f"{self.done} checked ({states}), {len(self.failures)} failed"


def run_qc(engine: Engine, image_root: Path, *, night_from: dt.date | None = None,
           night_to: dt.date | None = None, workers: int = 1, scheduler: str | None = None,
           progress: bool = False) -> QcReport:
    """QC of every file in the night range that needs it; see :mod:`qcservice.qc.jobs`."""
    t = tables(engine)
    with engine.begin() as conn:
        thr.sync(conn, t)
        thresholds = thr.ThresholdSet(thr.load(conn))
    nights = {task.night for task in discover(engine, image_root, night_from, night_to)}
    report = QcReport()
    with night_locks(engine, nights):
        # again, under the locks: another run may have done some while we waited
        tasks = [task for task in discover(engine, image_root, night_from, night_to)
                 if task.night in nights]
        args = {"night_from": night_from, "night_to": night_to, "workers": workers,
                "scheduler": scheduler, "version": QC_VERSION, "tasks": len(tasks)}
        with job_run(engine, "qc", args) as run:
            report.run_id = run.run_id
            _execute(engine, tasks, report, thresholds, workers, scheduler, progress)
            run.done, run.failed = report.done, len(report.failures)
            run.had_work, run.message = bool(tasks), report.summary()
    return report


_LOCK_CLASS = 7007      # first key of the QC night locks (pg_advisory_lock(int, int))
_LOCK_BUCKETS = 1024    # nights share a lock modulo this: a run never holds more locks


@contextmanager
def night_locks(engine: Engine, nights: set[dt.date]) -> Iterator[None]:
    """Hold a lock per night for the block, so that two runs over the same night take
    turns instead of checking the same files twice (the later one finds them done).

    Session advisory locks on a connection of their own: a run that dies, or loses the
    database, releases them with its connection. Taken in one order: no deadlock.
    """
    buckets = sorted({n.toordinal() % _LOCK_BUCKETS for n in nights})
    with engine.connect() as conn:
        said = False
        for bucket in buckets:
            key = {"c": _LOCK_CLASS, "b": bucket}
            if not conn.execute(text("SELECT pg_try_advisory_lock(:c, :b)"), key).scalar():
                if not said:
                    print("musedc: waiting for another QC run over the same nights",
                          file=sys.stderr)
                    said = True
                conn.execute(text("SELECT pg_advisory_lock(:c, :b)"), key)
        conn.commit()   # session locks outlive the transaction; do not sit idle in one
        try:
            yield
        finally:
            try:   # a pooled connection stays open: its session's locks must be let go
                conn.execute(text("SELECT pg_advisory_unlock_all()"))
                conn.commit()
            except SQLAlchemyError:
                conn.invalidate()   # closed for good, and its locks with it


def _execute(engine: Engine, tasks: list, report: QcReport, thresholds: thr.ThresholdSet,
             workers: int, scheduler: str | None, progress: bool) -> None:
    t = tables(engine)
    with tqdm(total=len(tasks), unit="file", desc="qc", disable=not progress,
              file=sys.stderr, dynamic_ncols=True) as bar:
        for task, result in execute(tasks, workers, scheduler):
            with engine.begin() as conn:
                common = {"file_id": task.file_id, "task": task.name,
                          "file_updated_at": task.updated_at, "code_version": QC_VERSION,
                          "run_id": report.run_id}
                if isinstance(result, str):
                    record_qc_failure(conn, t, error=result, **common)
                    report.failures.append((task.path, result))
                else:
                    state = record_result(conn, t, result=result, thresholds=thresholds,
                                          night=task.night, ins_mode=task.ins_mode, **common)
                    report.done += 1
                    report.states[state] = report.states.get(state, 0) + 1
                count_progress(conn, report.run_id, report.done, len(report.failures))
            bar.update(1)
