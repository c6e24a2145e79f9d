"""Headless Chromium for tests that look at a page as a user would: Debian's `chromium` and
`chromium-driver` (scripts/lib/setup.sh installs them), driven by Selenium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aibrain.assets import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = PROJECT_ROOT / ".test-artifacts"
# Headless as root in a container, and nothing fetched behind the test's back.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1600")


def chromium_missing() -> str | None:
    """Why headless Chromium cannot run here, or None."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        return f"{', '.join(missing)} not installed (Debian packages chromium, chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return None


# A grid worker's phone: a 360x640 screen (CSS pixels) of an Android phone, touch events on.
PHONE_METRICS = {"width": 360, "height": 640, "pixelRatio": 2.0, "touch": True, "mobile": True}
PHONE_USER_AGENT = ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/120.0.0.0 Mobile Safari/537.36")


@contextmanager
def headless_chromium(phone: bool = False) -> Iterator:  # selenium.webdriver.Chrome
    """A fresh profile each time; with `phone`, Chrome's mobile emulation of a 360x640 phone."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="aibrain-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        if phone:
            options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE_METRICS,
                                                                "userAgent": PHONE_USER_AGENT})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # no driver download
        try:
            yield driver
        finally:
            driver.quit()


def artifact(name: str) -> Path:
    """A path under .test-artifacts/ (git ignores it) for a file a person looks at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
