"""Driving the workbench from tests: seeding incidents the way the pipeline makes them, adding
users, signing in over HTTP (TestClient) and serving it on a real port for a browser."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import func, select

from aibrain import assemble
from aibrain.web.app import create_app
from aibrain.web.server import WebRole, bind
from aibrain.web.workbench import Workbench
from common.clock import utc_now
from detector.violation import Violation
from routing.access.accounts import add_user
from routing.incidents.tables import Incident, OutboxMessage
from tests.e2e.broker import wait_until

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_person(bench: Workbench, username: str, role: str, scope: str, worker_id: str | None = None,
               display_name: str | None = None) -> str:
    with bench.sessions() as session, session.begin():
        add_user(session, username, PASSWORD, role, scope, bench.clock(), worker_id=worker_id,
                 display_name=display_name)
    return username


def dispatch_incident(bench: Workbench, camera_id: str = "cam-01", confirmed_at: datetime | None = None,
                      snapshot: Path | None = None, kind: str = "non_motor_parking") -> str:
    """An incident as `aibrain run` stores it: through the Dispatcher, its audit rows and alert included."""
    at = confirmed_at or utc_now()
    dispatcher = assemble.dispatcher(bench.site, bench.sessions, wake=None)
    camera = bench.site.camera(camera_id)
    violation = Violation(camera_id=camera_id, zone=camera.zones[0].name, kind=kind, object_kind="bicycle",
                          class_name="bicycle", track_id=7, bbox=(100.0, 300.0, 220.0, 420.0), confidence=0.81,
                          first_seen=at - timedelta(seconds=200), confirmed_at=at, frame_size=(640, 480),
                          snapshot=snapshot)
    return dispatcher.dispatch(violation).incident_id


SIGNED_IN_WITHIN_S = 30.0


def browser_sign_in(browser: Any, url: str, username: str) -> None:
    """Open `url` signed out, and sign in on the page it sends the browser to, typing and clicking; returns
    once the browser has left the sign-in page (a click does not wait for the page it submits to: a loaded
    machine otherwise has the next find look at the sign-in page still)."""
    browser.get(url)
    browser.find_element("id", "username").send_keys(username)
    browser.find_element("id", "password").send_keys(PASSWORD)
    button = browser.find_element("id", "sign-in")
    button.click()
    WebDriverWait(browser, SIGNED_IN_WITHIN_S).until(staleness_of(button))


def stored_incident(bench: Workbench, incident_id: str) -> Incident:
    with bench.sessions() as session:
        found = session.get(Incident, incident_id)
        assert found is not None, incident_id
        session.expunge(found)
        return found


def last_outbox_id(bench: Workbench) -> int:
    with bench.sessions() as session:
        return session.scalar(select(func.max(OutboxMessage.id))) or 0


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign `client` in through the form, as a browser does; returns the page's CSRF token."""
    form = client.get("/login")
    token = CSRF_INPUT.search(form.text)
    assert token, form.text
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token.group(1), "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return page_csrf(client)


def page_csrf(client: TestClient) -> str:
    """The signed-in user's CSRF token, as every page carries it."""
    page = client.get("/")
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match, page.text[:2000]
    return match.group(1)


@contextmanager
def http_client(bench: Workbench) -> Iterator[TestClient]:
    with TestClient(create_app(bench), base_url="http://127.0.0.1") as client:
        yield client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(bench: Workbench) -> Iterator[str]:
    """The workbench on a real port (Uvicorn on a thread, as inside `aibrain run`); yields its base URL."""
    port = free_port()
    stop = threading.Event()
    role = WebRole(bench, bind(bench.site.file, "127.0.0.1", port), stop)
    role.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(port), 20, f"the workbench on port {port}")
        yield url
    finally:
        stop.set()
        role.join(10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
