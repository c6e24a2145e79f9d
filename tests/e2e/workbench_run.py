"""Driving a real `aibrain run` that serves the workbench (the site's `web:` section), and the browsers
that watch it: the site (two file cameras looping the street clip whose sidewalk holds a parked car, each
with its only zone on the sky), the run with waits that fail with the end of its log, users added with
`aibrain users add` while it goes on, signing in, and measuring when an incident reaches a page.

Shared by tests/e2e/test_workbench_live.py and tests/e2e/test_phone_live.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import Incident
from tests.e2e.broker import wait_until
from tests.e2e.replay_site import DWELL_S, SKY_ZONE
from tests.e2e.site import write_grids
from tests.helpers.live_run import LiveRun
from tests.helpers.rtsp import free_port

LIVE_S = 2.0  # from the commit to the screen, as the issues ask
START_S = 120.0  # the run loads its model before it prints the password
INCIDENT_S = 45.0  # a reload (looked for every 2 s), the car tracked, DWELL_S of dwell, the evidence written
PAGE_S = 15.0
COMMENT = "# 外滩街道 cameras — zones are drawn in the workbench; this comment must stay\n"
PASSWORD_LINE = re.compile(r"first sign-in: user 'admin', password '([^']+)'")
# Records, per incident, when its element first appeared in the page and when its first live event came.
WATCH = """
const selector = arguments[0];
window.seenAt = {};
window.heardAt = {};
const look = () => {
  for (const node of document.querySelectorAll(selector)) {
    if (!(node.dataset.incident in window.seenAt)) { window.seenAt[node.dataset.incident] = Date.now(); }
  }
};
look();
for (const id of Object.keys(window.seenAt)) { window.seenAt[id] = 0; }  // already there: not new
new MutationObserver(look).observe(document.body, {childList: true, subtree: true});
window.AIBrainLive.on('incident', (data) => {
  if (!(data.incident_id in window.heardAt)) { window.heardAt[data.incident_id] = Date.now(); }
});
"""


def camera(camera_id: str, name: str, clip: Path, location: list[float]) -> dict[str, Any]:
    return {"id": camera_id, "name": name, "url": str(clip), "loop": True, "detect_fps": 2, "decode": "sampled",
            "location": location,
            "zones": [{"name": "sky", "grid": "G-01", "tags": ["no_parking_motor"], "polygon": SKY_ZONE}]}


def site_config(folder: Path, clip: Path, model: Path) -> dict[str, Any]:
    """Two cameras on the street clip, each with its only zone on the sky: no incident until a zone moves."""
    write_grids(folder / "grids.geojson")
    return {
        "database": f"sqlite:///{folder / 'aibrain.db'}", "model": str(model), "grids": "grids.geojson",
        "evidence_dir": "var/evidence",
        "web": {"host": "127.0.0.1", "port": free_port()},
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [camera("cam-01", "汇丰购物广场东门", clip, [121.472, 31.232]),
                    camera("cam-02", "汇丰购物广场西门", clip, [121.4725, 31.2325])],
        "rules": [{"kind": "motor_parking", "zone_tags": ["no_parking_motor"], "dwell_s": DWELL_S}],
    }


def write(file: Path, config: dict[str, Any]) -> None:
    """The site file, under COMMENT (which the zone editor's save must keep)."""
    file.write_text(COMMENT + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


class Run(LiveRun):
    """`aibrain run`, with waits that fail with the end of its log."""

    def until(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        assert self._process is not None
        process = self._process
        try:
            wait_until(lambda: condition() or process.poll() is not None, timeout_s, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; {self.tail()}") from None
        assert condition(), f"the run exited waiting for {what}; {self.tail()}"

    def tail(self) -> str:
        return f"the run's log ends:\n{self.output[-4000:]}"


def incidents(database: str) -> list[Incident]:
    """Every incident in the database, oldest first."""
    engine = make_engine(database)
    try:
        with session_factory(engine)() as session:
            found = list(session.scalars(select(Incident).order_by(Incident.created_at)))
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def add_user(site_file: Path, username: str, password: str, *options: str) -> None:
    """A user added with `aibrain users add` while the run goes on; `options` as `--role worker`."""
    added = subprocess.run([sys.executable, "-m", "aibrain", "users", "add", username, *options, "--password-stdin",
                            "--config", str(site_file)], input=password + "\n", capture_output=True, text=True,
                           timeout=60)
    assert added.returncode == 0, added.stdout + added.stderr


def sign_in(browser: Any, url: str, username: str, password: str) -> None:
    """Open `url` signed out (the sign-in page), type the name and password, come back to `url`."""
    browser.get(url)
    WebDriverWait(browser, PAGE_S).until(lambda b: b.find_elements("id", "username"))
    browser.find_element("id", "username").send_keys(username)
    browser.find_element("id", "password").send_keys(password)
    browser.find_element("id", "sign-in").click()
    WebDriverWait(browser, PAGE_S).until(lambda b: b.current_url == url, f"signed in, back on {url}")


def watch(browser: Any, selector: str) -> None:
    """From now on, note when an incident's element matching `selector` appears, and its live event."""
    browser.execute_script(WATCH, f"{selector}[data-incident]")


def shown_after(browser: Any, incident: Incident, selector: str, run: Run) -> tuple[float, float]:
    """Seconds from the incident's created_at to its live event arriving and to its element on screen."""
    WebDriverWait(browser, PAGE_S, poll_frequency=0.1).until(
        lambda b: b.execute_script("return window.seenAt[arguments[0]] || null", incident.id),
        f"incident {incident.id} in {selector} without a reload; {run.tail()}")
    seen_ms, heard_ms = browser.execute_script("return [window.seenAt[arguments[0]], window.heardAt[arguments[0]]]",
                                               incident.id)
    assert browser.find_elements("css selector", f'{selector}[data-incident="{incident.id}"]')
    created_ms = incident.created_at.timestamp() * 1000
    return (heard_ms - created_ms) / 1000, (seen_ms - created_ms) / 1000
