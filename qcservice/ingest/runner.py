"""Ingest runs: walk paths, read headers in parallel, store, and account for every file.

Reading headers (and the checksum) happens in worker processes, one file at a time, and
never raises: a worker returns either a catalogue entry or the reason the file cannot be
taken. The parent writes to the database in batches, one savepoint per file, so a bad
file costs only itself. Files whose size and modification time match the catalogue are
skipped without being opened: a rerun over the same tree does no work and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from qcservice.db.engine import CONNECTION_LOST
from qcservice.db.jobruns import count_progress, job_run
from qcservice.db.schema import tables
from qcservice.fits.checksum import sha256_of
from qcservice.fits.header import FitsFormatError, read_headers
from qcservice.ingest.classify import Classified, Rejected, classify
from qcservice.ingest.store import FileFacts, record_ingest_failure, relink_provenance, store_file
from qcservice.lifetime import die_with_parent

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.fz")
BATCH = 50
POOL_MIN_FILES = 64  # below this, starting worker processes costs more than it saves
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass
class Candidate:
    path: str
    size: int | None = None
    mtime: dt.datetime | None = None
    error: str | None = None


@dataclass
class IngestReport:
    """What one run did, file by file counted."""

    run_id: int | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)  # path, of, why
    warnings: list[tuple[str, str]] = field(default_factory=list)   # taken all the same

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        dup = f", {len(self.duplicates)} duplicates" if self.duplicates else ""
        return (f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.failures)} failed{dup}")


def _mtime(st: os.stat_result) -> dt.datetime:
    # microseconds: what PostgreSQL keeps, so the comparison on rerun is exact
    return _EPOCH + dt.timedelta(microseconds=st.st_mtime_ns // 1000)


def _candidate(path: Path) -> Candidate:
    try:
        st = path.stat()
    except OSError as exc:
        return Candidate(str(path), error=f"cannot read: {exc.strerror or exc}")
    return Candidate(str(path), st.st_size, _mtime(st))


def collect(paths: Iterable[str | Path]) -> Iterator[Candidate]:
    """Files named, and FITS files (by suffix) below folders named, as absolute paths."""
    for raw in paths:
        path = Path(raw).absolute()
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(FITS_SUFFIXES):
                        yield _candidate(Path(folder) / name)
        elif path.exists():
            yield _candidate(path)
        else:
            yield Candidate(str(path), error="no such file or directory")


def read_one(args: tuple[str, bool, int]) -> tuple[str, Classified | str, str | None]:
    """Worker: (path, catalogue entry or the reason it was refused, checksum)."""
    path, want_checksum, proprietary_days = args
    try:
        headers = read_headers(path)
        item = classify(headers, os.path.basename(path), proprietary_days)
        return path, item, (sha256_of(path) if want_checksum else None)
    except (FitsFormatError, Rejected) as exc:
        return path, str(exc), None
    except OSError as exc:
        return path, f"cannot read: {exc.strerror or exc}", None
    except Exception as exc:  # one odd file must not stop the night
        return path, f"unexpected {type(exc).__name__}: {exc}", None


def _results(jobs: list[tuple[str, bool, int]], workers: int) -> Iterator[tuple]:
    if workers <= 1 or len(jobs) < POOL_MIN_FILES:
        yield from map(read_one, jobs)
        return
    # spawn: workers must not inherit the parent's database connections
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        yield from pool.map(read_one, jobs, chunksize=max(1, min(16, len(jobs) // workers // 4)))


def _known(engine: Engine, paths: list[str]) -> dict[str, tuple[int, dt.datetime]]:
    t = tables(engine)
    known: dict[str, tuple[int, dt.datetime]] = {}
    with engine.connect() as conn:
        for i in range(0, len(paths), 5000):
            rows = conn.execute(select(t.files.c.path, t.files.c.size_bytes, t.files.c.mtime)
                                .where(t.files.c.path.in_(paths[i:i + 5000])))
            known.update({p: (s, m) for p, s, m in rows})
    return known


def _project_id(engine: Engine, name: str) -> int:
    t = tables(engine)
    with engine.connect() as conn:
        pid = conn.execute(select(t.projects.c.project_id)
                           .where(t.projects.c.name == name)).scalar()
        if pid is None:
            names = conn.execute(select(t.projects.c.name)).scalars().all()
            raise ValueError(f"unknown project {name!r}; known: {', '.join(names)}")
    return pid


def ingest_paths(engine: Engine, paths: Iterable[str | Path], *, project: str = "GTO",
                 workers: int = 1, checksum: bool = True, proprietary_days: int = 365,
                 progress: bool = False) -> IngestReport:
    """Catalogue the FITS files under ``paths``; see the module docstring."""
    t = tables(engine)
    project_id = _project_id(engine, project)
    candidates = list(collect(paths))
    known = _known(engine, [c.path for c in candidates if c.error is None])
    report = IngestReport()
    todo, unreadable = [], []
    for c in candidates:
        if c.error is not None:
            unreadable.append(c)
        elif known.get(c.path) == (c.size, c.mtime):
            report.unchanged += 1
        else:
            todo.append(c)

    args = {"paths": [str(p) for p in paths], "project": project, "workers": workers,
            "checksum": checksum}
    with job_run(engine, "ingest", args) as run:
        report.run_id = run.run_id
        with engine.begin() as conn:
            for c in unreadable:
                record_ingest_failure(conn, t, c.path, c.error, None, None, report.run_id)
                report.failures.append((c.path, c.error))
        _ingest_todo(engine, todo, report, project_id, workers, checksum, proprietary_days,
                     progress)
        run.done, run.skipped = report.new + report.updated, report.unchanged
        run.failed, run.had_work = len(report.failures), bool(todo)
        run.message = report.summary()
    return report


def _ingest_todo(engine: Engine, todo: list[Candidate], report: IngestReport, project_id: int,
                 workers: int, checksum: bool, proprietary_days: int, progress: bool) -> None:
    t = tables(engine)
    facts = {c.path: c for c in todo}
    jobs = [(c.path, checksum, proprietary_days) for c in todo]
    groups: dict[str, int] = {}
    bar = tqdm(total=len(jobs), unit="file", desc="ingest", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    results = _results(jobs, workers)
    with bar:
        while True:
            batch = [r for _, r in zip(range(BATCH), results, strict=False)]
            if not batch:
                break
            with engine.begin() as conn:
                stored: list[tuple[int, str]] = []
                for path, item, digest in batch:
                    c = facts[path]
                    if isinstance(item, str):
                        record_ingest_failure(conn, t, path, item, c.size, c.mtime, report.run_id)
                        report.failures.append((path, item))
                        continue
                    try:
                        with conn.begin_nested():
                            done = store_file(
                                conn, t, FileFacts(path, c.size, c.mtime, digest), item,
                                project_id=project_id, run_id=report.run_id, groups=groups)
                    except SQLAlchemyError as exc:
                        if isinstance(exc, CONNECTION_LOST):
                            raise   # the database went away: not this file's fault
                        reason = f"the catalogue refused it: {getattr(exc, 'orig', exc)}"
                        groups.clear()  # a rolled-back savepoint may have held a new group
                        record_ingest_failure(conn, t, path, reason, c.size, c.mtime, report.run_id)
                        report.failures.append((path, reason))
                        continue
                    stored.append((done.file_id, os.path.basename(path)))
                    report.warnings += [(path, w) for w in item.warnings]
                    if done.duplicate_of:
                        report.duplicates.append((path, done.duplicate_of, done.reason))
                    if done.created:
                        report.new += 1
                    else:
                        report.updated += 1
                relink_provenance(conn, [i for i, _ in stored], [n for _, n in stored])
                count_progress(conn, report.run_id, report.new + report.updated,
                               len(report.failures))
            bar.update(len(batch))
