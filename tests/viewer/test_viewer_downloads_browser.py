"""Downloads, ancillary data and storage in a real headless Chromium (Debian's chromium,
driven by Playwright), over the real minicube and the real HST cutout of its field."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from viewer_browser import shot

from qcservice.ancillary.register import register_files
from qcservice.config import Settings
from qcservice.ingest.runner import ingest_paths
from qcservice.users import add_user
from qcservice.viewer import create_app
from qcservice.viewer.server import start_viewer

pytestmark = pytest.mark.slow
PASSWORD = "browser-dl-pw"


@pytest.fixture
def served(settings: Settings, engine: Engine, minicube: Path, hst_cutout: Path,
           tmp_path: Path):
    shutil.copy(minicube, tmp_path / "minicube.fits")
    ingest_paths(engine, [tmp_path / "minicube.fits"], workers=1, checksum=True)
    shutil.copy(hst_cutout, tmp_path / "a478hst-cutout.fits")
    register_files(engine, [tmp_path / "a478hst-cutout.fits"], "HST-A478")
    with engine.begin() as conn:
        add_user(conn, "reader", "reader", PASSWORD)
    running = start_viewer(None, port=0, app=create_app(settings, engine, {"TESTING": True}))
    yield running
    running.stop()


def test_downloads_ancillary_and_storage(served, page, engine: Engine, tmp_path: Path):
    with engine.connect() as conn:
        checksum, size = conn.execute(text("SELECT checksum, size_bytes FROM qc.files")).one()
    page.goto(served.url)
    page.fill("#username", "reader")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#summary")

    page.click("header nav >> text=DOWNLOADS")
    page.fill("#dl-start", "2014-12-07")
    page.fill("#dl-end", "2014-12-07")
    page.click("#dl-show")
    page.wait_for_selector("#download-list >> text=minicube.fits")
    assert page.inner_text("#dl-total").startswith("1 files, 53.13 MB")
    shot(page, "dl-1-choice")
    with page.expect_download() as got:
        page.click("#get-script")
    script = Path(got.value.path()).read_text()
    assert got.value.suggested_filename.endswith(".sh")
    assert f"fetch minicube.fits {served.url}files/" in script
    assert checksum.removeprefix("sha256:") in script and PASSWORD not in script
    with page.expect_download() as got:
        page.click("#get-archive")
    with tarfile.open(fileobj=io.BytesIO(Path(got.value.path()).read_bytes())) as tar:
        body = tar.extractfile("minicube.fits").read()
    assert "sha256:" + hashlib.sha256(body).hexdigest() == checksum

    page.click("#download-list >> text=minicube.fits")
    page.wait_for_selector("#ancillary-list")
    assert "a478hst-cutout.fits" in page.inner_text("#ancillary-list")
    assert "WFPC2" in page.inner_text("#ancillary-list")
    shot(page, "dl-2-cube-ancillary")
    with page.expect_download() as got:
        page.click("#ancillary-list >> text=a478hst-cutout.fits")
    assert got.value.suggested_filename == "a478hst-cutout.fits"

    page.click("header nav >> text=STORAGE")
    page.wait_for_selector("#storage-growth")
    assert page.get_attribute("#storage-total", "data-bytes") == str(size)
    assert "16.00 TB" in page.inner_text("#storage-growth")
    shot(page, "dl-3-storage")
    assert page.errors == []
