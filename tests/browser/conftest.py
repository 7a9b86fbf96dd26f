"""Headless Chromium for the browser tests: Debian's package, driven by Playwright.

Playwright's own browser download is never used; CI installs `chromium` and
`fonts-noto-cjk` with apt (.ci/run). Without /usr/bin/chromium the tests are skipped,
except where NPS_REQUIRE_BROWSER=1 (as in .ci/run): there a missing browser is a failure.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Quiet and self-contained: no sandbox (CI runs as root), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium() -> Iterator[object]:
    """A headless Chromium browser, closed after the test."""
    if not CHROMIUM.exists():
        fonts = "fonts-noto-cjk fonts-noto-core"
        missing = f"{CHROMIUM} is missing: apt-get install -y chromium {fonts}"
        if os.environ.get("NPS_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
