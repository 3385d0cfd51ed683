"""Shared fixtures: a real embedded PostgreSQL for the whole session, a fresh database
per test (cloned from a migrated template), the real MUSE cube of the mpdaf wheel, a
second Unix account and the official pipeline; and the markers of what a test needs,
set from the fixtures it uses (./run quick selects by them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from support import (
    FIXTURE_MARKS,
    IMPLIED_MARKS,
    free_port,
    fresh_database,
    mpdaf_data,
    open_tempdir,
)

from qcservice.config import Settings, load_settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.engine import make_engine
from qcservice.simulate import simulate_night


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the fixtures it uses (so a new test gets its markers)."""
    for item in items:
        for fixture, mark in FIXTURE_MARKS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(mark)
        for mark, implied in IMPLIED_MARKS.items():
            if item.get_closest_marker(mark) and not item.get_closest_marker(implied):
                item.add_marker(implied)


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


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simulated night (its folder), made once per test module that uses it."""
    return simulate_night(tmp_path_factory.mktemp("night"), "2016-02-02", scale="tiny",
                          seed=4).directory


@pytest.fixture(scope="session")
def minicube() -> Path:
    """The real MUSE DATACUBE_FINAL that the mpdaf wheel ships (Abell 478, 40x40x3681)."""
    return mpdaf_data("minicube.fits")


@pytest.fixture(scope="session")
def hst_cutout() -> Path:
    """The HST image of Abell 478 that the mpdaf wheel ships beside the minicube."""
    return mpdaf_data("a478hst-cutout.fits")


@pytest.fixture(scope="session")
def as_nobody() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run a command as the unprivileged account nobody (switching user needs root)."""
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), user="nobody", group="nogroup", extra_groups=[],
                              capture_output=True, text=True, cwd="/", check=False)
    return run


@pytest.fixture(scope="session")
def esorex() -> str:
    """The official pipeline's command (Debian esorex + cpl-plugin-muse)."""
    path = shutil.which("esorex")
    assert path, "esorex is not installed (Debian packages esorex, cpl-plugin-muse)"
    return path
