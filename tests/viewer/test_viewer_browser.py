"""The viewer in a real headless Chromium (Debian's chromium, driven by Playwright):
log in, summary -> night -> frame and its grids, validate an IFU, see the audit entry."""

from __future__ import annotations

import pytest
from viewer_browser import shot
from viewer_support import PASSWORD

from qcservice.viewer.server import start_viewer


@pytest.fixture
def served(app):
    running = start_viewer(None, port=0, app=app)
    yield running
    running.stop()


def test_review_walkthrough(served, page, catalogue):
    page.goto(served.url)
    assert "/login" in page.url
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#summary")
    assert page.inner_text("#connected-as") == "alice"
    shot(page, "1-summary")

    page.click("a[href='/night/2024-03-09/bias_raw']")
    page.wait_for_selector("#file-list")
    assert "3 of 24 flagged" in page.inner_text("#file-list")
    page.click("text=MUSE.BIAS0.fits")
    page.wait_for_selector("#g-flags")
    assert page.locator("#g-flags .cell.flagged").count() == 3
    assert "BAD_RON" in page.get_attribute("#g-flags .cell[data-ifu='3']", "title")
    page.wait_for_selector("#ifu-plot .main-svg")      # the page's scripts ran: plotly
    page.check("#show-medians")                        # drew the IFU plot
    assert page.inner_text("#g-valid .cell[data-ifu='24'] .value") == "1.240"
    shot(page, "2-frame")

    page.click("#g-valid .cell[data-ifu='3']")          # a grid cell selects its IFU
    assert page.input_value("#ifu-select") == "3"
    page.select_option("#ifu-valid", "1")
    page.fill("#ifu-comment", "RON fine on inspection")
    page.click("#ifu-set")
    page.wait_for_selector("#audit")
    assert "RON fine on inspection" in page.inner_text("#audit")
    assert "alice" in page.inner_text("#audit")
    assert "2 of 24 invalid" in page.inner_text("#grid-summary")
    assert page.get_attribute("#g-valid .cell[data-ifu='3']", "class") == "cell ok"
    shot(page, "3-validated")

    page.goto(served.url + f"cube/{catalogue['cube']}?tab=psf")
    page.wait_for_selector("#curve-psf-fwhm .main-svg")
    shot(page, "4-cube-psf")
    page.goto(served.url + "night/2024-03-09/calib/MASTER_BIAS")
    page.wait_for_selector("#calib-plot .main-svg")
    shot(page, "5-master-bias")
    assert page.errors == []
