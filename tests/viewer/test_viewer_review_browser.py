"""A QC scientist's review in a real headless Chromium, over eight nights of history:
the queue to a failed cube and its reason, a bulk decision on a night's five biases, the
trend page with its limits and a click to the file, the heat map's bad IFU, 400 px."""

from __future__ import annotations

import datetime as dt

import pytest
from viewer_browser import shot
from viewer_history import BAD_SKY_NIGHT, FIRST, NOISY, populate_history
from viewer_support import PASSWORD

from qcservice.viewer.server import start_viewer


@pytest.fixture
def served(app, engine, catalogue):
    with engine.begin() as conn:
        populate_history(conn, engine)
    running = start_viewer(None, port=0, app=app)
    yield running
    running.stop()


def _login(page, url):
    page.goto(url)
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#summary")


def test_a_review_from_queue_to_trend(served, browser_page):
    bad_cube = f"DATACUBE_FINAL_{FIRST + dt.timedelta(days=BAD_SKY_NIGHT)}.fits"
    noisy_night = (FIRST + dt.timedelta(days=NOISY[1])).isoformat()
    with browser_page() as page:
        _login(page, served.url)
        page.click("text=Q.A.")
        page.wait_for_selector("#review")
        assert bad_cube in page.inner_text("#review")
        shot(page, "review-1-queue")

        page.click(f"text={bad_cube}")                     # the failed cube says why
        page.wait_for_selector("#evidence")
        why = page.inner_text("#evidence")
        assert "BAD_SKY_SUB" in why and "sky.residual_ratio" in why and "14.5" in why
        assert "error > 3" in why and "valid from 2014-01-01" in why
        assert "active" in page.get_attribute("#tab-sky", "class")
        shot(page, "review-2-failed-cube")

        page.goto(served.url + "qa")                        # five biases, one decision
        rows = page.locator(f"#review tr[data-night='{noisy_night}']")
        boxes = rows.locator("input[name='file_id']")
        assert boxes.count() == 5
        for i in range(5):
            boxes.nth(i).check()
        page.select_option("#bulk-state", "Usable")
        page.select_option("#bulk-ifus", "confirm")
        page.fill("#bulk-comment", "IFU 17 noisy that night; the rest is fine")
        page.click("#bulk-submit")
        page.wait_for_selector("#review")
        assert page.locator(f"#review tr[data-night='{noisy_night}']").count() == 0
        assert "IFU 17 noisy that night" in page.inner_text("#decisions")
        shot(page, "review-3-after-bulk")

        page.goto(served.url + "trends?metric=bias.ron_e&type=BIAS&split=subunit&ifu=17")
        page.wait_for_selector("#trend-plot .main-svg")
        page.wait_for_selector("#trend-plot[data-loaded]")
        labels = page.evaluate("document.getElementById('trend-plot').textContent")
        assert "BAD_RON warn high 4 (from 2014-01-01)" in labels
        assert "BAD_RON error high 5 (from 2014-01-01)" in labels
        assert "out of limits" in page.inner_text("#trend-summary")
        assert "bias.ron_e [e-]" in labels
        shot(page, "review-4-trend")
        bad = page.locator("#trend-plot .scatterlayer .trace").last.locator("path.point")
        box = bad.first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url("**/file/*")
        assert noisy_night in page.inner_text("h1")

        page.goto(served.url + f"heatmap?cat=bias_raw&start={FIRST}")
        page.wait_for_selector("#heatmap")
        row = page.locator(f"#heatmap tr:has(th:text-is('{noisy_night}'))")
        cell = row.locator("td").nth(NOISY[0] - 1)
        assert cell.get_attribute("class") == "cell bad" and "✗" in cell.inner_text()
        shot(page, "review-5-heatmap")
        assert page.errors == []


def test_summary_and_queue_fit_400_px(served, browser_page):
    with browser_page() as page:
        page.set_viewport_size({"width": 400, "height": 800})
        _login(page, served.url)
        for path in ("", "qa", "heatmap", "file/1"):
            page.goto(served.url + path)
            page.wait_for_load_state("load")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 400, (path, width)
        page.goto(served.url)
        shot(page, "review-6-summary-400px")
        assert page.evaluate("typeof window.Plotly") == "undefined"   # no plot, no plotly
