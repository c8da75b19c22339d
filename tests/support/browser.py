"""Debian's chromium driven by Playwright's sync API, for every browser test
(tests/logs, tests/browser). Playwright cannot download its own browser
here; `make system-deps` installs Debian's."""

import os

import pytest

from tests.support.services import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def chromium():
    """The browser, one per test module. Missing: skipped locally, a
    failure under CI (env CI set)."""
    require("chromium", os.access(CHROMIUM, os.X_OK), CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
