"""Batch QC runs: find what is new or changed, compute on a pool or a Dask cluster, record.

A file needs QC when it has no ``qc.qc_done`` row, when it changed since (its
``updated_at`` is newer), when the QC code version changed, or when its last QC failed.
Tasks are pure functions of files (:func:`run_task`), so they run the same in a local
process pool, inline, or on Dask workers; the parent writes each result in its own
transaction as it arrives. A task that fails is recorded with its error and the rest go
on. A run killed in the middle leaves every finished file recorded and nothing half
written, so the next run simply does what is left.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from qcservice.lifetime import die_with_parent
from qcservice.qc.registry import TASKS, categories
from qcservice.qc.result import TaskResult

QC_VERSION = "qc-4"   # bump when an algorithm changes: every file is then done again


@dataclass(frozen=True)
class Task:
    """One file to check, with everything a worker needs (no database access)."""

    file_id: int
    name: str               # the registry entry's name, qc.qc_done.task (raw, cube, ...)
    path: str
    night: dt.date
    ins_mode: str | None
    updated_at: dt.datetime
    category: str           # DPR TYPE of raw frames, PRO CATG of products
    ifu: int | None = None
    exptime: float | None = None
    partner: str | None = None   # another raw bias of the night, for the read noise
    image_dir: str | None = None
    seeing: float | None = None  # DIMM seeing (arcsec): no star is much broader


_DISCOVER = text("""
    WITH candidates AS (
        SELECT f.file_id, f.path, f.updated_at, 'raw' AS kind, r.dpr_type AS category,
               r.night, r.ins_mode, NULL::smallint AS ifu, r.exptime, r.date_obs,
               r.dimm_fwhm
        FROM qc.files f JOIN qc.raw_frames r USING (file_id)
        WHERE r.dpr_type = ANY(:raw_types)
        UNION ALL
        SELECT f.file_id, f.path, f.updated_at, 'product', p.pro_catg, p.night, p.ins_mode,
               p.ifu, p.exptime, p.date_obs, p.dimm_fwhm
        FROM qc.files f JOIN qc.products p USING (file_id)
        WHERE p.pro_catg = ANY(:product_types)
    ), biases AS (
        SELECT file_id, COALESCE(lead(path) OVER w, lag(path) OVER w) AS partner
        FROM candidates WHERE kind = 'raw' AND category = 'BIAS'
        WINDOW w AS (PARTITION BY night ORDER BY date_obs, file_id)
    )
    SELECT c.*, b.partner FROM candidates c
    LEFT JOIN biases b USING (file_id)
    LEFT JOIN qc.qc_done d USING (file_id)
    WHERE (CAST(:night_from AS date) IS NULL OR c.night >= :night_from)
      AND (CAST(:night_to AS date) IS NULL OR c.night <= :night_to)
      AND (d.file_id IS NULL OR d.status = 'failed' OR d.code_version <> :version
           OR d.file_updated_at < c.updated_at)
    ORDER BY c.night, c.kind DESC, c.category, c.file_id""")


def discover(engine: Engine, image_root: Path, night_from: dt.date | None = None,
             night_to: dt.date | None = None) -> list[Task]:
    """The files that need QC in the night range (None: open-ended)."""
    with engine.connect() as conn:
        rows = conn.execute(_DISCOVER, {
            "raw_types": categories("raw"), "product_types": categories("product"),
            "night_from": night_from, "night_to": night_to, "version": QC_VERSION}).all()
    tasks = []
    for r in rows:
        entry = TASKS[r.category]
        image_dir = str(image_root / r.night.isoformat() / str(r.file_id)) \
            if "image_dir" in entry.inputs else None
        tasks.append(Task(r.file_id, entry.name, r.path, r.night, r.ins_mode, r.updated_at,
                          r.category, r.ifu, r.exptime, r.partner, image_dir, r.dimm_fwhm))
    return tasks


def run_task(task: Task) -> tuple[Task, TaskResult | str]:
    """Compute one task: its result, or the error text. Never raises."""
    try:
        if not os.path.exists(task.path):
            return task, f"file is gone: {task.path}"
        return task, TASKS[task.category].run(task)
    except Exception as exc:  # one bad file must not stop the night
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return task, f"{task.path}: {detail}"


def execute(tasks: list[Task], workers: int = 1, scheduler: str | None = None
            ) -> Iterator[tuple[Task, TaskResult | str]]:
    """Results as they complete: inline, on a local process pool, or on Dask."""
    if scheduler:
        yield from _execute_dask(tasks, scheduler)
    elif workers <= 1 or len(tasks) < 2:
        yield from map(run_task, tasks)
    else:
        yield from _execute_pool(tasks, workers)


def _execute_pool(tasks: list[Task], workers: int, attempts: int = 2) -> Iterator[tuple]:
    """On local processes. A worker that dies (killed, out of memory) breaks the pool:
    what it left unfinished goes to a fresh pool, and after ``attempts`` pools is
    reported failed (a file that kills its worker each time must not loop forever)."""
    for _ in range(attempts):
        lost: list[Task] = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=die_with_parent,
                                 initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(run_task, t): t for t in tasks}
            try:
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        lost.append(futures[future])
                        continue
                    yield result
            finally:   # when the caller stops early, do not compute the rest first
                for future in futures:
                    future.cancel()
        if not lost:
            return
        tasks = sorted(lost, key=lambda t: t.file_id)
    for task in tasks:
        yield task, f"{task.path}: its worker process died (killed, or out of memory)"


def _execute_dask(tasks: list[Task], scheduler: str) -> Iterator[tuple]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(scheduler, timeout="30s") as client:
        futures = client.map(run_task, tasks, pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for future in dask_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # e.g. KilledWorker: its workers died on it, repeatedly
                task = by_key[future.key]
                yield task, f"{task.path}: on the Dask cluster: {type(exc).__name__}: {exc}"
