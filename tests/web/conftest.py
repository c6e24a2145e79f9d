"""Fixtures of the workbench's tests: a migrated database (SQLite and PostgreSQL, as `db_url`
gives), the site of tests/web/web_site.py on it, and its Workbench."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aibrain.web.workbench import Workbench
from configs.load import Site, load_site
from routing.incidents.migrate import upgrade_to_head
from tests.conftest import unavailable
from tests.helpers.browser import chromium_missing, headless_chromium
from tests.web.web_site import write_web_site


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium at a command centre's wall-screen size."""
    reason = chromium_missing()
    if reason:
        unavailable("headless Chromium", RuntimeError(reason))
    with headless_chromium() as driver:
        driver.set_window_size(1600, 1000)
        yield driver


@pytest.fixture
def web_site(tmp_path: Path, db_url: str, pialin_street: Path) -> Site:
    upgrade_to_head(db_url)
    return load_site(write_web_site(tmp_path, db_url, pialin_street))


@pytest.fixture
def bench(web_site: Site) -> Workbench:
    bench = Workbench.build(web_site)
    bench.feed.every_s = 0.1  # tests wait for live events; keep them quick
    return bench
