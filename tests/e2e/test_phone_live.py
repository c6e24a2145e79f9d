"""Issue 11's acceptance, end to end: the grid worker's phone app served inside a real `aibrain run` (the
site's `web:` section) on real footage, one file camera looping the street clip whose sidewalk holds a
parked car (the workbench test's site, tests/e2e/workbench_run.py, its zone first on the sky).

The worker on duty for G-01, added with `aibrain users add --role worker`, signs in on a 360x640 phone
(headless Chromium's mobile emulation) and waits on the inbox at /m/. The test's edit of the site file
moves the zone onto the car, so the page is open and listening when the run reports it:

- its card appears in the inbox without a reload within 2 s of its `created_at` (measured as the
  workbench test measures it: a MutationObserver in the page against the stored time, one wall clock);
- the worker opens it, accepts, and resolves with a note and a photo (a frame of the footage as a JPEG);
- the camera looks again (the site's `verification:` made short) and its verdict — reopened, since the
  looping footage still shows the car, or verified — reaches the open page without a reload, and the
  page's status is the database's;
- the administrator, on a desktop browser, sees the photo on the workbench's incident detail.

Screenshots: .test-artifacts/phone-live-inbox.png, phone-live-resolve.png, phone-live-verdict.png (360x640)
and web-live-photo.png."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import pytest
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.field_tables import IncidentPhoto
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent
from tests.conftest import unavailable
from tests.e2e.loop_site import VERIFICATION
from tests.e2e.replay_site import CAR_ZONE
from tests.e2e.workbench_run import (
    INCIDENT_S,
    LIVE_S,
    PAGE_S,
    PASSWORD_LINE,
    START_S,
    Run,
    add_user,
    incidents,
    shown_after,
    sign_in,
    site_config,
    watch,
    write,
)
from tests.helpers.browser import artifact, chromium_missing, headless_chromium

pytestmark = pytest.mark.e2e

WORKER, WORKER_PASSWORD = "zhangwei", "a grid worker's phone"  # w-001, on duty for G-01 round the clock
CARD = "#inbox article.card"
DETAIL = "#detail"
VERDICT_S = 45.0  # the look (VERIFICATION's look_s of frames from the resolve on), its verdict stored, the feed
VERDICTS = ("verified", "reopened")
# Notes when the open incident view first shows a verdict, and marks the document: a reload loses the mark.
WATCH_VERDICT = """
window.notReloaded = true;
window.verdictAt = null;
const detail = document.querySelector('#detail');
const look = () => {
  if (window.verdictAt === null && ['verified', 'reopened'].includes(detail.dataset.status)) {
    window.verdictAt = Date.now();
  }
};
new MutationObserver(look).observe(detail, {attributes: true, attributeFilter: ['data-status']});
look();
"""


@pytest.fixture
def browsers() -> Iterator[tuple[Any, Any]]:
    """The worker's phone (360x640, touch) and a desktop for the workbench."""
    reason = chromium_missing()
    if reason:
        unavailable("headless Chromium", RuntimeError(reason))
    with ExitStack() as stack:
        phone = stack.enter_context(headless_chromium(phone=True))
        desktop = stack.enter_context(headless_chromium())
        desktop.set_window_size(1600, 1000)
        yield phone, desktop


def phone_sign_in(phone: Any, base: str) -> None:
    """The worker's way in: the sign-in page sends them on to the app at /m/."""
    phone.get(f"{base}/login?next=/m/")
    WebDriverWait(phone, PAGE_S).until(lambda b: b.find_elements("id", "username"))
    phone.find_element("id", "username").send_keys(WORKER)
    phone.find_element("id", "password").send_keys(WORKER_PASSWORD)
    phone.find_element("id", "sign-in").click()
    WebDriverWait(phone, PAGE_S).until(lambda b: urlsplit(b.current_url).path == "/m/", "signed in, on /m/")
    WebDriverWait(phone, PAGE_S).until(lambda b: b.find_elements("id", "inbox"), "the inbox")


def footage_photo(clip: Path, folder: Path) -> Path:
    """A frame of the footage as a JPEG, as a phone camera would give it."""
    capture = cv2.VideoCapture(str(clip))
    try:
        ok, frame = capture.read()
    finally:
        capture.release()
    assert ok, f"no frame in {clip}"
    path = folder / "after.jpg"
    assert cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def stored(database: str, incident_id: str) -> tuple[Incident, list[IncidentEvent], list[IncidentPhoto]]:
    """The incident as the database holds it now, its audit rows in order, and its photos."""
    engine = make_engine(database)
    try:
        with session_factory(engine)() as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None
            events = list(session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                          .order_by(IncidentEvent.id)))
            photos = list(session.scalars(select(IncidentPhoto).where(IncidentPhoto.incident_id == incident_id)))
            session.expunge_all()
            return incident, events, photos
    finally:
        engine.dispose()


def status_of(browser: Any, selector: str) -> str | None:
    found = browser.find_elements("css selector", selector)
    return found[0].get_attribute("data-status") if found else None


def wait_status(browser: Any, selector: str, statuses: tuple[str, ...], timeout_s: float, run: Run) -> str:
    """Until the element's data-status is one of `statuses`; returns it."""
    WebDriverWait(browser, timeout_s, poll_frequency=0.1).until(
        lambda b: status_of(b, selector) in statuses,
        f"{selector} data-status in {statuses} (now {status_of(browser, selector)!r}); {run.tail()}")
    status = status_of(browser, selector)
    assert status is not None
    return status


def problems(browser: Any) -> list[str]:
    """Script errors and what the CSP refused, as the browser logged them."""
    return [entry["message"] for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def test_a_parked_car_reaches_the_workers_phone_is_resolved_with_a_photo_and_the_verdict_comes_back_live(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path, browsers: tuple[Any, Any],
        record_property: Any) -> None:
    phone, desktop = browsers
    config = site_config(tmp_path, pialin_street, yolo_onnx)
    config["cameras"] = config["cameras"][:1]  # cam-01 alone: its zone on the sky until the test moves it
    config["verification"] = dict(VERIFICATION)  # a look of 3 s of frames instead of a minute
    site_file = tmp_path / "site.yaml"
    write(site_file, config)
    base = f"http://127.0.0.1:{config['web']['port']}"
    photo = footage_photo(pialin_street, tmp_path)
    with Run(site_file) as run:
        run.until(lambda: PASSWORD_LINE.search(run.output) is not None, START_S, "the first sign-in line")
        match = PASSWORD_LINE.search(run.output)
        assert match is not None
        admin_password = match.group(1)
        run.until(lambda: "running 1 camera(s)" in run.output, START_S, "the run to start its camera")

        # The worker on duty for G-01 (the car's zone's grid) signs in on the phone and waits on the inbox.
        add_user(site_file, WORKER, WORKER_PASSWORD, "--role", "worker", "--scope", "grid:G-01", "--worker", "w-001",
                 "--name", "张伟")
        phone_sign_in(phone, base)
        WebDriverWait(phone, PAGE_S).until(lambda b: b.find_element("id", "inbox-empty").is_displayed(),
                                           "the inbox read, empty")
        watch(phone, CARD)
        assert incidents(config["database"]) == [], "a zone on the sky makes no incident"

        # cam-01's zone moved onto the parked car: the run reloads and, after the dwell, reports it.
        config["cameras"][0]["zones"] = [{"name": "kerb-east", "grid": "G-01", "tags": ["no_parking_motor"],
                                          "polygon": CAR_ZONE}]
        write(site_file, config)
        run.until(lambda: len(incidents(config["database"])) == 1, INCIDENT_S, "the parked car as an incident")
        incident = incidents(config["database"])[0]
        assert (incident.camera_id, incident.zone, incident.worker_id) == ("cam-01", "kerb-east", "w-001")
        heard_s, on_phone_s = shown_after(phone, incident, CARD, run)
        record_property("phone_event_s", round(heard_s, 3))
        record_property("phone_screen_s", round(on_phone_s, 3))
        print(f"created_at → phone inbox: {on_phone_s:.3f} s (event {heard_s:.3f} s)")
        assert 0 < on_phone_s < LIVE_S, on_phone_s
        card = f'{CARD}[data-incident="{incident.id}"]'
        WebDriverWait(phone, PAGE_S).until(lambda b: b.find_element("id", "open-count").text.strip() == "1",
                                           "the open-count badge at 1")
        WebDriverWait(phone, PAGE_S).until(lambda b: b.execute_script(
            "const i = document.querySelector(arguments[0]); return !!i && i.complete && i.naturalWidth > 0",
            f"{card} img.evidence"), "the card's evidence picture")
        assert "汇丰购物广场东门" in phone.find_element("css selector", card).text
        assert phone.save_screenshot(str(artifact("phone-live-inbox.png")))

        # Opened, accepted, resolved with a note and the photo — all in the one page, never reloaded.
        phone.find_element("css selector", card).click()
        detail = f'{DETAIL}[data-incident="{incident.id}"]'
        WebDriverWait(phone, PAGE_S).until(lambda b: b.find_elements("css selector", detail), "the incident view")
        phone.execute_script(WATCH_VERDICT)
        phone.find_element("id", "accept").click()
        wait_status(phone, detail, ("accepted",), PAGE_S, run)
        phone.find_element("id", "resolve-note").send_keys("车辆已劝离，拍照留证 (driver asked to move)")
        phone.find_element("id", "resolve-photos").send_keys(str(photo))
        # The whole resolve form in view, below the sticky header and the back bar.
        phone.execute_script("arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -110)",
                             phone.find_element("id", "resolve-form"))
        assert phone.save_screenshot(str(artifact("phone-live-resolve.png")))
        phone.find_element("id", "resolve-submit").click()
        wait_status(phone, detail, ("resolved", "verification_pending", *VERDICTS), PAGE_S, run)
        WebDriverWait(phone, PAGE_S).until(lambda b: b.find_elements("css selector", f"{DETAIL} .photo"),
                                           "the photo sent, in the incident view")

        # The camera's verdict arrives live: the page's status is the database's.
        shown = wait_status(phone, detail, VERDICTS, VERDICT_S, run)
        assert phone.execute_script("return window.notReloaded === true"), "the page was reloaded"
        now, events, photos = stored(config["database"], incident.id)
        assert now.status.value == shown, (now.status, shown)
        verdict = next(event for event in events if event.action in (IncidentAction.VERIFY, IncidentAction.REOPEN))
        verdict_on_phone_s = phone.execute_script("return window.verdictAt") / 1000 - verdict.at.timestamp()
        record_property("verdict", shown)
        record_property("phone_verdict_screen_s", round(verdict_on_phone_s, 3))
        print(f"verdict {shown} ({verdict.note}): its commit → phone {verdict_on_phone_s:.3f} s")
        assert 0 < verdict_on_phone_s < LIVE_S, verdict_on_phone_s
        actions = [event.action for event in events]
        assert actions.count(IncidentAction.ACCEPT) == 1 and actions.count(IncidentAction.RESOLVE) == 1, actions
        resolve = next(event for event in events if event.action is IncidentAction.RESOLVE)
        assert resolve.actor == f"user:{WORKER}" and "车辆已劝离" in (resolve.note or ""), (resolve.actor, resolve.note)
        assert [(p.sent_by, p.worker_id) for p in photos] == [(WORKER, "w-001")], photos
        assert phone.save_screenshot(str(artifact("phone-live-verdict.png")))
        phone.find_element("id", "back").click()
        assert wait_status(phone, card, (shown,), PAGE_S, run) == shown  # the inbox's card followed too
        assert phone.execute_script("return window.notReloaded === true"), "the page was reloaded"

        # The workbench's detail shows the worker's photo.
        sign_in(desktop, f"{base}/incidents/{incident.id}", "admin", admin_password)
        WebDriverWait(desktop, PAGE_S).until(lambda b: b.execute_script(
            "const i = document.querySelector('img.photo'); return !!i && i.complete && i.naturalWidth > 0"),
            "the worker's photo on the incident detail")
        desktop.execute_script("document.querySelector('img.photo').scrollIntoView({block: 'center'})")
        assert desktop.save_screenshot(str(artifact("web-live-photo.png")))

        for browser in (phone, desktop):
            assert not problems(browser)  # no script error, nothing refused by the CSP
            browser.get("about:blank")  # closes the live stream before the run stops
    assert run.returncode == 0, run.output[-4000:]
