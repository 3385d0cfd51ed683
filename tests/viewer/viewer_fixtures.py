"""Fixtures of the viewer tests: a populated test database and the Flask app over it.

Test modules import them (``from viewer_fixtures import app_fixture, catalogue_fixture``):
a ``tests/viewer/conftest.py`` would shadow ``tests/conftest.py`` for ``import conftest``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from viewer_support import populate

from qcservice.config import Settings
from qcservice.viewer import create_app


@pytest.fixture(name="catalogue")
def catalogue_fixture(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """Users, frames, products and QC results in this test's database."""
    with engine.begin() as conn:
        return populate(conn, tmp_path)


@pytest.fixture(name="app")
def app_fixture(settings: Settings, engine: Engine, catalogue: dict[str, int]) -> Flask:
    """The viewer over the populated database."""
    return create_app(settings, engine, {"TESTING": True})
