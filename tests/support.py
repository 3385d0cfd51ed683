"""Helpers the tests share (not fixtures): free ports, folders the DB server can reach,
fresh databases cloned from the migrated template, mpdaf's data files, the markers."""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
from sqlalchemy import Engine

from qcservice.config import Settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.ingest.runner import ingest_paths

_counter = itertools.count()

# What a test needs, known from the fixtures it uses (directly or through others):
# conftest.py marks the tests, so a new test gets its marker without remembering it.
FIXTURE_MARKS = {
    "pg_settings": "db",
    "vo_service": "dachs",
    "browser_page": "browser",
    "as_nobody": "root",
    "esorex": "esorex",
}
IMPLIED_MARKS = {"dachs": "db"}   # every DaCHS of ours stores its tables in PostgreSQL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_tempdir(prefix: str) -> Path:
    """A temporary folder the PostgreSQL service user may traverse (when we are root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def mpdaf_data(name: str) -> Path:
    """A real data file of the mpdaf wheel (data/sdetect/NAME), found without importing
    mpdaf: its import pulls in matplotlib, scipy and specutils (4 s on an idle machine)."""
    spec = importlib.util.find_spec("mpdaf")
    assert spec and spec.submodule_search_locations, "mpdaf is not installed"
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "sdetect" / name
    assert path.is_file(), f"mpdaf no longer ships {path}"
    return path


def abell478_field(engine: Engine, minicube: Path, hst_cutout: Path, cubes: list[Path],
                   folder: Path, catalogue: str) -> Path:
    """The real minicube and ``cubes`` catalogued; copies of the real HST cutout and of
    mpdaf's redshift catalogue of Abell 478 (as ``catalogue``) in ``folder/anc``, returned."""
    shutil.copy(minicube, folder / "minicube.fits")
    ingest_paths(engine, [folder / "minicube.fits", *cubes], workers=1, checksum=False)
    anc = folder / "anc"
    anc.mkdir()
    shutil.copy(hst_cutout, anc / "a478hst-cutout.fits")
    shutil.copy(hst_cutout.parent / "cat.txt", anc / catalogue)
    return anc


def _admin(settings: Settings):
    cluster = EmbeddedCluster(settings)
    conn = psycopg2.connect(host=str(cluster.socket_dir), port=settings.pg_port,
                            user="musedc", password=cluster.password(), dbname="postgres")
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def fresh_database(settings: Settings, template: str = "musedc") -> Iterator[str]:
    """A new database cloned from the migrated template (or from PostgreSQL's empty
    ``template0``); dropped afterwards."""
    name = f"t{os.getpid()}_{next(_counter)}"
    admin = _admin(settings)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE {template}')
    try:
        yield EmbeddedCluster(settings).url(database=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
