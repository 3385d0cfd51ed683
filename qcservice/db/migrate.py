"""Numbered SQL migrations of the qc schema (``sql/NNN_name.sql``), applied in order.

Each migration runs in its own transaction under an advisory lock, so two processes
migrating at once apply each file exactly once. ``qc.schema_migrations`` records the
version, file name, SHA-256 and time of every applied file; a file edited after it was
applied is reported, never silently re-run.

A squash (Django's squashed migrations) holds the final state of what several older
migrations built step by step, and names them in a header line ``-- replaces: 4 30 31``;
their files are deleted. A fresh database runs the squash; one that applied all the
versions it replaces records it without running it (their rows stay, as history); one
that applied only some of them must first be upgraded by the release before the squash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from qcservice.errors import MusedcError

_LOCK_KEY = 0x6D757365  # "muse": one advisory lock for all migrators
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_REPLACES = re.compile(r"^-- replaces:((?: \d+)+)$", re.MULTILINE)


class MigrationError(MusedcError, RuntimeError):
    """The migration files or the recorded history are inconsistent."""


@dataclass(frozen=True)
class Migration:
    version: int
    filename: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def replaces(self) -> frozenset[int]:
        """The versions this squash replaces (none for an ordinary migration)."""
        match = _REPLACES.match(self.sql)   # the first line
        return frozenset(int(v) for v in match.group(1).split()) if match else frozenset()

    def built_on(self, applied: Collection[int]) -> bool:
        """Whether a database that applied ``applied`` already has what this squash builds
        (all it replaces): the squash is then recorded there, not run."""
        return bool(self.replaces) and self.replaces <= set(applied)


def migrations_dir() -> Path:
    """Where the SQL files are: inside an installed wheel, or the checkout's ``sql/``."""
    packaged = resources.files("qcservice") / "_sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "sql"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or migrations_dir()
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path}: version {version} also in {found[version].filename}")
        found[version] = Migration(version, path.name, path.read_text())
    if not found:
        raise MigrationError(f"no migrations in {directory}")
    for m in found.values():
        if kept := sorted(m.replaces & found.keys()):
            raise MigrationError(f"{directory / m.filename} replaces {found[kept[0]].filename}, "
                                 f"which must be deleted")
    return [found[v] for v in sorted(found)]


def _applied(conn: Connection) -> dict[int, str]:
    exists = conn.execute(text("SELECT to_regclass('qc.schema_migrations')")).scalar()
    if exists is None:
        return {}
    rows = conn.execute(text("SELECT version, checksum FROM qc.schema_migrations"))
    return {int(v): c for v, c in rows}


def pending_migrations(engine: Engine, directory: Path | None = None) -> list[Migration]:
    """Migrations not yet applied; raises if an applied file has since been edited, or
    if the database applied only part of what a squash replaces."""
    with engine.connect() as conn:
        applied = _applied(conn)
    pending = []
    for m in load_migrations(directory):
        if m.version not in applied:
            _check_squash(m, applied)
            pending.append(m)
        elif applied[m.version] != m.checksum:
            raise MigrationError(f"{m.filename} was edited after it was applied; write a new "
                                 f"migration instead of changing an old one")
    return pending


def _check_squash(m: Migration, applied: dict[int, str]) -> None:
    """A squash may meet all or none of what it replaces, never part of it."""
    missing = sorted(m.replaces - applied.keys())
    if missing and len(missing) < len(m.replaces):
        raise MigrationError(
            f"{m.filename} replaces migrations {' '.join(map(str, sorted(m.replaces)))}, of "
            f"which this database lacks {' '.join(map(str, missing))}: upgrade it first with "
            f"the release before {m.filename} (it still has those migrations)")


def apply_migrations(engine: Engine, directory: Path | None = None) -> list[Migration]:
    """Apply what is pending, in order; returns what this call applied (or recorded: a
    squash of migrations the database has)."""
    done = []
    # pending_migrations raises on an edited file or a partial squash: then nothing runs
    for m in pending_migrations(engine, directory):
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            applied = _applied(conn)
            if m.version in applied:
                continue
            if not m.built_on(applied.keys()):
                with conn.connection.cursor() as cur:  # raw DBAPI: no %-parameter parsing
                    cur.execute(m.sql)
            conn.execute(
                text("INSERT INTO qc.schema_migrations (version, filename, checksum) "
                     "VALUES (:v, :f, :c)"),
                {"v": m.version, "f": m.filename, "c": m.checksum})
            done.append(m)
    return done


def applied_versions(engine: Engine) -> list[tuple[int, str, str]]:
    """(version, filename, applied_at) of every applied migration, oldest first."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('qc.schema_migrations')")).scalar() is None:
            return []
        rows = conn.execute(text("SELECT version, filename, applied_at::text "
                                 "FROM qc.schema_migrations ORDER BY version"))
        return [(int(v), f, a) for v, f, a in rows]
