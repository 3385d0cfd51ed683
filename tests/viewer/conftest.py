"""Fixtures of the viewer tests: a populated test database, the Flask app over it, and a
real headless Chromium (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from viewer_browser import browser_page as open_browser_page
from viewer_support import populate

from qcservice.config import Settings
from qcservice.viewer import create_app


@pytest.fixture
def catalogue(engine: Engine, tmp_path: Path) -> dict[str, int]:
    """Users, frames, products and QC results in this test's database."""
    with engine.begin() as conn:
        return populate(conn, tmp_path)


@pytest.fixture
def app(settings: Settings, engine: Engine, catalogue: dict[str, int]) -> Flask:
    """The viewer over the populated database."""
    return create_app(settings, engine, {"TESTING": True})


@pytest.fixture
def browser_page() -> Callable[..., AbstractContextManager]:
    """``with browser_page() as page:`` a page of a fresh headless browser (the fixture
    marks the test ``browser``)."""
    return open_browser_page


@pytest.fixture
def page(browser_page: Callable[..., AbstractContextManager]) -> Iterator:
    """A page of a fresh headless browser that accepts downloads."""
    with browser_page(accept_downloads=True) as page:
        yield page
