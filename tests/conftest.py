"""Shared fixtures: a real embedded PostgreSQL for the whole session, a fresh database
per test (cloned from a migrated template), and the real MUSE cube of the mpdaf wheel."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from support import free_port, fresh_database, open_tempdir

from qcservice.config import Settings, load_settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.engine import make_engine


@pytest.fixture(scope="session")
def pg_settings() -> Iterator[Settings]:
    """Settings of a session-wide embedded cluster, started for real and migrated."""
    home = open_tempdir("musedc-test-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    settings = load_settings(env, home=str(home), pg_port=free_port())
    engine = make_engine(settings)  # starts the cluster and applies the migrations
    engine.dispose()
    cluster = EmbeddedCluster(settings)
    yield settings
    cluster.stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def db_url(pg_settings: Settings) -> Iterator[str]:
    """URL of a fresh, migrated database of its own for one test."""
    with fresh_database(pg_settings) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings that point every command at this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    return load_settings(env, home=str(tmp_path / "home"), database_url=db_url, workers=2)


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running ``musedc`` against this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(tmp_path / "home"), MUSEDC_DATABASE_URL=db_url,
               MUSEDC_WORKERS="2")
    return env


@pytest.fixture(scope="session")
def minicube() -> Path:
    """The real MUSE DATACUBE_FINAL that the mpdaf wheel ships (Abell 478, 40x40x3681)."""
    import mpdaf

    path = Path(mpdaf.__file__).parent / "data" / "sdetect" / "minicube.fits"
    assert path.is_file(), f"mpdaf no longer ships {path}"
    return path


@pytest.fixture(scope="session")
def hst_cutout() -> Path:
    import mpdaf

    return Path(mpdaf.__file__).parent / "data" / "sdetect" / "a478hst-cutout.fits"
