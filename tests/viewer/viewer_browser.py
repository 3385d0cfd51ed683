"""A real headless Chromium for the viewer's browser tests (Debian's chromium driven by
Playwright: ``playwright install`` cannot download browsers here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:   # Playwright is imported by the tests that drive a browser, not at collection
    from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def browser_page(accept_downloads: bool = False) -> Iterator[Page]:
    """A page of a fresh headless browser; ``page.errors`` collects its JavaScript errors."""
    from playwright.sync_api import sync_playwright

    args = ["--disable-background-networking", "--disable-gpu"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        context = browser.new_context(accept_downloads=accept_downloads,
                                      viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot under $MUSEDC_SCREENSHOTS (to look at)."""
    folder = Path(os.environ.get("MUSEDC_SCREENSHOTS", "/tmp/musedc-viewer-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
