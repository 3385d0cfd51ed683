"""Register ancillary files in ``qc.ancillary``, list and remove them.

A file is known by its absolute path: registering it again updates its row in place
(same ``anc_id``) when the file, its collection or its rights changed, and does nothing
when they did not. A file that cannot be read is refused with the reason; the others go on.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from qcservice.ancillary.footprint import spoly_literal
from qcservice.ancillary.reader import AncillaryError, read_facts
from qcservice.fits.checksum import sha256_of

COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class Outcome:
    """What registering one path did: registered, updated, unchanged or failed."""

    path: str
    action: str
    anc_id: int | None = None
    message: str = ""

    def describe(self) -> str:
        if self.action == "failed":
            return f"FAILED {self.message}"
        return f"{self.action} {self.path} (ancillary {self.anc_id}){self.message}"


@dataclass(frozen=True)
class Rights:
    """Who may see the files before their release date (None: public)."""

    group: str | None = None
    release: dt.date | None = None


def check_collection(name: str) -> str:
    """``name`` when it is a valid collection name, else an AncillaryError."""
    if not COLLECTION.match(name or ""):
        raise AncillaryError(f"{name!r} is not a collection name (letters, digits, . _ + -)")
    return name


def _group_id(conn: Connection, rights: Rights) -> int | None:
    if rights.group is None:
        return None
    gid = conn.execute(text("SELECT group_id FROM qc.groups WHERE name = :g"),
                       {"g": rights.group}).scalar()
    if gid is None:
        raise AncillaryError(f"no group {rights.group!r} (musedc users groups lists them)")
    return gid


_UPSERT = """
INSERT INTO qc.ancillary (collection, path, filename, kind, format, mime, size_bytes, mtime,
    checksum, instrument, facility, band, n_rows, ra, dec, footprint, corners,
    owner_group_id, release_date)
VALUES (:collection, :path, :filename, :kind, :format, :mime, :size, :mtime, :checksum,
    :instrument, :facility, :band, :n_rows, :ra, :dec, CAST(:footprint AS spoly), :corners,
    :owner, :release)
ON CONFLICT (path) DO UPDATE SET collection = EXCLUDED.collection,
    filename = EXCLUDED.filename, kind = EXCLUDED.kind, format = EXCLUDED.format,
    mime = EXCLUDED.mime, size_bytes = EXCLUDED.size_bytes, mtime = EXCLUDED.mtime,
    checksum = EXCLUDED.checksum, instrument = EXCLUDED.instrument,
    facility = EXCLUDED.facility, band = EXCLUDED.band, n_rows = EXCLUDED.n_rows,
    ra = EXCLUDED.ra, dec = EXCLUDED.dec, footprint = EXCLUDED.footprint,
    corners = EXCLUDED.corners,
    owner_group_id = EXCLUDED.owner_group_id, release_date = EXCLUDED.release_date,
    updated_at = now()
RETURNING anc_id, (xmax = 0) AS inserted"""


def _register_one(conn: Connection, path: Path, collection: str, owner: int | None,
                  release: dt.date) -> Outcome:
    if not path.is_file():
        what = "is a folder: name the files" if path.is_dir() else "does not exist"
        raise AncillaryError(f"{path}: {what}")
    st = path.stat()
    # microseconds, as PostgreSQL keeps them, so that the comparison on a rerun is exact
    mtime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
        microseconds=st.st_mtime_ns // 1000)
    known = conn.execute(text(
        "SELECT anc_id, collection, size_bytes, mtime, owner_group_id, release_date "
        "FROM qc.ancillary WHERE path = :p"), {"p": str(path)}).first()
    if known is not None and (known.collection, known.size_bytes, known.mtime,
                              known.owner_group_id, known.release_date) == (
            collection, st.st_size, mtime, owner, release):
        return Outcome(str(path), "unchanged", known.anc_id)
    facts = read_facts(path)
    ra, dec = facts.centre
    found = conn.execute(text(_UPSERT), {
        "collection": collection, "path": str(path), "filename": path.name,
        "kind": facts.kind, "format": facts.format, "mime": facts.mime, "size": st.st_size,
        "mtime": mtime, "checksum": sha256_of(str(path)), "instrument": facts.instrument,
        "facility": facts.facility, "band": facts.band, "n_rows": facts.n_rows, "ra": ra,
        "dec": dec, "footprint": spoly_literal(facts.corners),
        "corners": [list(c) for c in facts.corners], "owner": owner,
        "release": release}).one()
    moved = ""
    if known is not None and known.collection != collection:
        moved = f", moved from collection {known.collection}"
    what = "registered" if found.inserted else "updated"
    return Outcome(str(path), what, found.anc_id,
                   f": {facts.kind} {facts.instrument or ''}{moved}".rstrip())


def register_files(engine: Engine, paths: Iterable[str | Path], collection: str,
                   rights: Rights = Rights()) -> list[Outcome]:
    """Register each of ``paths`` in ``collection``, each in its own transaction."""
    check_collection(collection)
    if (rights.group is None) != (rights.release is None):
        raise AncillaryError("an owner group and a release date go together")
    with engine.connect() as conn:
        owner = _group_id(conn, rights)
    release = rights.release or dt.date(1970, 1, 1)
    outcomes = []
    for raw in paths:
        path = Path(os.path.abspath(raw))
        try:
            with engine.begin() as conn:
                outcomes.append(_register_one(conn, path, collection, owner, release))
        except AncillaryError as exc:
            outcomes.append(Outcome(str(path), "failed", None, str(exc)))
    return outcomes


def list_ancillary(conn: Connection, collection: str | None = None) -> list[dict]:
    """Registered files (of one collection), by collection and file name."""
    return [dict(r._mapping) for r in conn.execute(text(
        "SELECT a.anc_id, a.collection, a.filename, a.path, a.kind, a.instrument, a.band, "
        "a.n_rows, a.size_bytes, a.ra, a.dec, a.release_date, g.name AS owner "
        "FROM qc.ancillary a LEFT JOIN qc.groups g ON g.group_id = a.owner_group_id "
        "WHERE CAST(:c AS text) IS NULL OR a.collection = :c "
        "ORDER BY a.collection, a.filename, a.anc_id"), {"c": collection})]


def remove_files(engine: Engine, paths: Iterable[str | Path]) -> list[str]:
    """Forget the registration of ``paths`` (the files stay); return those forgotten."""
    wanted = [os.path.abspath(p) for p in paths]
    with engine.begin() as conn:
        gone = conn.execute(text("DELETE FROM qc.ancillary WHERE path = ANY(:p) "
                                 "RETURNING path"), {"p": wanted}).scalars().all()
    return sorted(gone)
