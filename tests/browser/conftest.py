"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by Selenium.

``scripts/setup.sh`` installs both when it runs as root; without /usr/bin/chromium the browser
tests skip with that reason. Screenshots go to ``$REASON_SCREENSHOTS`` when it is set, else to
the test's temporary directory (the docs' pictures come from ``scripts/screenshots.sh``, on the
default model).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Chromium in a container, as root, with no display and no network beyond localhost: the
# flags the Open WebUI check uses too.
from benchmarks.openwebui_browser import CHROMEDRIVER, CHROMIUM, FLAGS


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (own profile, so own local storage) for one test."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip(
            f"{CHROMIUM} or {CHROMEDRIVER} missing: install Debian's chromium and "
            "chromium-driver (scripts/setup.sh does as root)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
        # A script error on the page fails the test; failed requests (a 401 the test asked
        # for) are logged by Chromium as well and are not script errors.
        errors = [
            e["message"]
            for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
        ]
        assert not errors, errors
    finally:
        driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``$REASON_SCREENSHOTS`` or a temp dir."""
    target = Path(os.environ.get("REASON_SCREENSHOTS") or tmp_path / "shots")
    target.mkdir(parents=True, exist_ok=True)
    return target
