"""Accessibility: WCAG 2.1 AA contrast of every state colour pair the stylesheet sets, the
state in text or symbol as well as colour, a viewport, plotly only where a page plots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from viewer_history import populate_history
from viewer_support import login

import qcservice.viewer

CSS = Path(qcservice.viewer.__file__).parent / "static" / "viewer.css"
BODY_TEXT = "#222"
# the classes that carry a QA or IFU state, and the state each stands for
STATE_CLASSES = ("valid", "invalid", "state-pass", "state-usable", "state-fail",
                 "state-check", "state-undefined", "cell.ok", "cell.flagged", "cell.bad",
                 "cell.unknown")


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def state_pairs() -> dict[str, tuple[str, str]]:
    """(text colour, background) of every rule of the stylesheet naming a state class."""
    pairs = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", CSS.read_text()):
        colour = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", body)
        background = re.search(r"background:\s*(#[0-9a-fA-F]{3,6})", body)
        for selector in selectors.split(","):
            selector = selector.strip()
            if background and any(selector.endswith("." + c) for c in STATE_CLASSES):
                pairs[selector] = (colour.group(1) if colour else BODY_TEXT,
                                   background.group(1))
    return pairs


def test_contrast_formula_matches_wcag_examples():
    assert contrast("#000", "#fff") == pytest.approx(21.0)
    assert contrast("#fff", "#2a9d47") == pytest.approx(3.49, abs=0.01)   # the old green


@given(a=st.from_regex(r"#[0-9a-f]{6}", fullmatch=True),
       b=st.from_regex(r"#[0-9a-f]{6}", fullmatch=True))
def test_contrast_is_symmetric_and_bounded(a, b):
    assert contrast(a, b) == pytest.approx(contrast(b, a))
    assert 1.0 <= contrast(a, b) <= 21.0 + 1e-9


def test_every_state_colour_pair_reaches_aa():
    pairs = state_pairs()
    found = {c for c in STATE_CLASSES if any(s.endswith("." + c) for s in pairs)}
    assert found == set(STATE_CLASSES), f"no colours found for {set(STATE_CLASSES) - found}"
    weak = {s: round(contrast(*p), 2) for s, p in pairs.items() if contrast(*p) < 4.5}
    assert not weak, f"below 4.5:1: {weak}"


@pytest.fixture(name="client")
def client_fixture(app, engine, catalogue):
    with engine.begin() as conn:
        ids = populate_history(conn, engine, nights=3)
    client = app.test_client()
    login(client, "alice")
    client.ids = ids
    return client


def test_state_is_in_text_as_well_as_colour(client, catalogue):
    pages = ["/", "/qa", "/heatmap?cat=bias_raw&start=2024-01-01",
             f"/file/{catalogue['bias0']}", f"/cube/{client.ids[0]['cube']}"]
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert '<meta name="viewport"' in html
        for cls, inner in re.findall(
                r'class="cell (ok|flagged|bad|unknown)[^"]*"[^>]*>(.*?)</(?:div|td)>',
                html, re.S):
            assert any(sym in inner for sym in "✓⚑✗?"), (url, cls, inner)
        for state, inner in re.findall(r'class="state state-(\w+)">(.*?)</span>', html):
            assert state in inner.lower(), (url, inner)
        for cls, inner in re.findall(r'<b class="(valid|invalid)"[^>]*>(.*?)</b>', html):
            assert inner[0] == ("✓" if cls == "valid" else "✗"), (url, inner)


def test_plotly_only_on_pages_that_plot(client, catalogue):
    plotting = [f"/file/{catalogue['bias0']}", "/trends", "/ifu/3",
                "/night/2024-03-09/calib/MASTER_BIAS", f"/cube/{client.ids[0]['cube']}"]
    plain = ["/", "/qa", "/heatmap", "/jobs", "/links", "/contact", "/storage"]
    for url in plotting:
        assert "/vendor/plotly.min.js" in client.get(url).get_data(as_text=True), url
    for url in plain:
        resp = client.get(url)
        assert resp.status_code == 200 and "plotly" not in resp.get_data(as_text=True), url
