"""The overview's figures and the live event stream over HTTP: today's counters against counts made by
hand over a seeded day (a street sees its grids only, a worker their own incidents), open incidents per
grid and as markers, the grids' GeoJSON cut to the scope, camera health, and /events handing an
incident step to the street that holds it and to no other."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aibrain import assemble
from aibrain.web.overview_figures import day_bounds
from aibrain.web.workbench import Workbench
from common.clock import utc_now
from configs.load import load_site
from routing.incidents import store
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident, IncidentAction
from streams.health import CameraState
from tests.web.web_site import WebSiteNames, write_web_site
from tests.web.workbench_client import add_person, dispatch_incident, http_client, sign_in

A = IncidentAction
EVENT_WAIT_S = 5.0


@pytest.fixture
def day(bench: Workbench) -> datetime:
    """The start of today in the site's time zone; the workbench's clock stands at the day's last second,
    so every deadline promised for today has passed and tomorrow's have not."""
    tz = bench.site.config.tz
    start, end = day_bounds(utc_now(), tz)
    if end - utc_now() < timedelta(seconds=30):  # dispatches stamp the real time: keep them in this day
        time.sleep((end - utc_now()).total_seconds() + 1)
        start, end = day_bounds(utc_now(), tz)
    bench.clock = lambda: end - timedelta(seconds=1)
    return start


def act(bench: Workbench, incident_id: str, *steps: tuple[IncidentAction, datetime]) -> None:
    """Move an incident through the closed loop as the worker's app and the verifier do."""
    loop = assemble.closed_loop(bench.site)
    with bench.sessions() as session, session.begin():
        incident = session.get(Incident, incident_id)
        assert incident is not None
        for action, at in steps:
            loop.act(session, incident, action, "w-test", at)


def seed_day(bench: Workbench, day: datetime) -> dict[str, str]:
    """Seven incidents around today (see each line), by their names in the tests."""
    end = day + timedelta(days=1) - timedelta(seconds=1)
    seeded = {
        # G-01 (w-001): confirmed a minute before midnight, worked through; verified today.
        "i1": dispatch_incident(bench, "cam-01", confirmed_at=day - timedelta(minutes=1)),
        # G-01: confirmed at midnight (today), accepted, not resolved: its resolve_by has passed.
        "i2": dispatch_incident(bench, "cam-01", confirmed_at=day),
        # G-02 (w-002): three days old, resolved then, reopened today: overdue.
        "i3": dispatch_incident(bench, "cam-02", confirmed_at=day - timedelta(days=3)),
        # G-03 (w-003): confirmed today, never accepted: overdue on accept.
        "i4": dispatch_incident(bench, "cam-03", confirmed_at=day + timedelta(hours=1)),
        # G-02: confirmed a minute before the clock: due later, not overdue.
        "i5": dispatch_incident(bench, "cam-02", confirmed_at=end - timedelta(minutes=1)),
        # G-01: resolved today, waiting for the camera's look: open, but no worker owes a step.
        "i6": dispatch_incident(bench, "cam-01", confirmed_at=day + timedelta(hours=2)),
        # G-03: from yesterday, closed as a false alarm today: counted nowhere.
        "i7": dispatch_incident(bench, "cam-03", confirmed_at=day - timedelta(hours=10)),
    }
    act(bench, seeded["i1"], (A.ACCEPT, day - timedelta(seconds=50)), (A.RESOLVE, day - timedelta(seconds=40)),
        (A.VERIFY, day + timedelta(seconds=10)))
    act(bench, seeded["i2"], (A.ACCEPT, day + timedelta(minutes=1)))
    act(bench, seeded["i3"], (A.ACCEPT, day - timedelta(days=3) + timedelta(minutes=1)),
        (A.RESOLVE, day - timedelta(days=3) + timedelta(minutes=2)), (A.REOPEN, day + timedelta(minutes=5)))
    act(bench, seeded["i6"], (A.RESOLVE, day + timedelta(hours=2, minutes=5)))
    act(bench, seeded["i7"], (A.FALSE_ALARM, day + timedelta(hours=3)))
    return seeded


# Worked by hand from seed_day: who sees which incidents, and what each counts today.
# detected: i2 i4 i5 i6 (i1 a minute early, i3 three days, i7 yesterday); dispatched: every one (the
# dispatcher stamps the real time, today); resolved: i6 (i1 and i3 resolved before today); verified: i1;
# reopened: i3; overdue: i2 (accepted, resolve_by passed), i3 (reopened, resolve_by passed), i4 (accept_by).
EXPECTED = {
    "district": {"detected": 4, "dispatched": 7, "resolved": 1, "verified": 1, "reopened": 1, "overdue": 3},
    # 外滩街道 holds G-01 and G-02: i1 i2 i3 i5 i6.
    "street:外滩街道": {"detected": 3, "dispatched": 5, "resolved": 1, "verified": 1, "reopened": 1, "overdue": 2},
    # 南京东路街道 holds G-03: i4 i7.
    "street:南京东路街道": {"detected": 1, "dispatched": 2, "resolved": 0, "verified": 0, "reopened": 0,
                       "overdue": 1},
    # w-001's incidents: i1 i2 i6.
    "worker": {"detected": 2, "dispatched": 3, "resolved": 1, "verified": 1, "reopened": 0, "overdue": 1},
}
PEOPLE = {"district": ("centre", "district", None), "street:外滩街道": ("waitan", "street:外滩街道", None),
          "street:南京东路街道": ("nanjing", "street:南京东路街道", None), "worker": ("zhangwei", "grid:G-01", "w-001")}


def overview_as(bench: Workbench, who: str) -> dict[str, Any]:
    username, scope, worker_id = PEOPLE[who]
    add_person(bench, username, "worker" if worker_id else "centre", scope, worker_id=worker_id)
    with http_client(bench) as client:
        sign_in(client, username)
        response = client.get("/api/overview")
    assert response.status_code == 200, response.text
    figures: dict[str, Any] = response.json()
    return figures


@pytest.mark.parametrize("who", list(EXPECTED))
def test_todays_counters_are_counted_within_the_scope(bench: Workbench, day: datetime, who: str) -> None:
    seed_day(bench, day)
    figures = overview_as(bench, who)
    assert figures["counters"] == EXPECTED[who]
    assert figures["day"] == day.astimezone(bench.site.config.tz).date().isoformat()


def test_open_incidents_per_grid_and_their_markers(bench: Workbench, day: datetime) -> None:
    seeded = seed_day(bench, day)
    names = {value: key for key, value in seeded.items()}
    figures = overview_as(bench, "district")
    # Not closed: i2 i6 in G-01, i3 i5 in G-02, i4 in G-03 (i1 verified, i7 a false alarm).
    assert figures["grids"] == [{"id": "G-01", "name": "第一网格", "open": 2},
                                {"id": "G-02", "name": "第二网格", "open": 2},
                                {"id": "G-03", "name": "第三网格", "open": 1}]
    assert (figures["open_total"], figures["open_elsewhere"], figures["markers_left_out"]) == (5, 0, 0)
    markers = {names[marker["id"]]: marker for marker in figures["markers"]}
    assert sorted(markers) == ["i2", "i3", "i4", "i5", "i6"]
    assert {name for name, marker in markers.items() if marker["overdue"]} == {"i2", "i3", "i4"}
    camera = bench.site.camera("cam-02")
    assert camera.location is not None
    assert (markers["i3"]["lon"], markers["i3"]["lat"]) == tuple(camera.location)  # at its camera
    assert markers["i3"]["status"] == "reopened" and markers["i3"]["camera_name"] == camera.name
    assert markers["i3"]["grid"] == "第二网格 (G-02)" and markers["i3"]["kind_label"]
    # The newest first, as the map caps them.
    assert [names[marker["id"]] for marker in figures["markers"]] == ["i5", "i6", "i4", "i2", "i3"]


def test_a_street_sees_only_its_grids_on_the_map(bench: Workbench, day: datetime) -> None:
    seeded = seed_day(bench, day)
    figures = overview_as(bench, "street:南京东路街道")
    assert figures["grids"] == [{"id": "G-03", "name": "第三网格", "open": 1}]
    assert [marker["id"] for marker in figures["markers"]] == [seeded["i4"]]
    assert {step["incident_id"] for step in figures["recent"]} == {seeded["i4"], seeded["i7"]}
    assert all(step["action"] != "detect" for step in figures["recent"])


def test_the_grids_geojson_holds_the_scope_only(bench: Workbench) -> None:
    add_person(bench, "waitan", "centre", "street:外滩街道")
    add_person(bench, "zhangwei", "worker", "grid:G-01", worker_id="w-001")
    add_person(bench, "centre", "centre", "district")
    seen = {}
    for username in ("waitan", "zhangwei", "centre"):
        with http_client(bench) as client:
            sign_in(client, username)
            response = client.get("/api/grids.geojson")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/geo+json")
        collection = response.json()
        assert collection["type"] == "FeatureCollection"
        seen[username] = [feature["properties"] for feature in collection["features"]]
        assert all(feature["geometry"]["type"] == "Polygon" for feature in collection["features"])
    assert seen["waitan"] == [{"id": "G-01", "name": "第一网格", "street": "外滩街道", "community": "汇丰社区"},
                              {"id": "G-02", "name": "第二网格", "street": "外滩街道", "community": "金陵社区"}]
    assert [grid["id"] for grid in seen["zhangwei"]] == ["G-01"]
    assert [grid["id"] for grid in seen["centre"]] == ["G-01", "G-02", "G-03"]


def test_camera_health_is_each_cameras_latest_state(bench: Workbench) -> None:
    now = bench.clock()
    with bench.sessions() as session, session.begin():
        store.add_camera_event(session, "cam-01", CameraState.OFFLINE, now - timedelta(hours=2), "refused")
        store.add_camera_event(session, "cam-01", CameraState.ONLINE, now - timedelta(hours=1), "")
        store.add_camera_event(session, "cam-02", CameraState.ONLINE, now - timedelta(hours=3), "")
        store.add_camera_event(session, "cam-02", CameraState.OFFLINE, now - timedelta(minutes=30),
                               "no picture for 15 s")
    figures = overview_as(bench, "street:外滩街道")
    health = figures["cameras"]
    assert (health["online"], health["offline"], health["unknown"]) == (1, 1, 1)
    offline, never = health["problems"]
    assert (offline["id"], offline["state"], offline["reason"]) == ("cam-02", "offline", "no picture for 15 s")
    assert datetime.fromisoformat(offline["since"]) == now - timedelta(minutes=30)
    assert (never["id"], never["state"], never["since"]) == ("cam-03", "unknown", None)


def test_the_page_carries_its_figures_and_loads_its_scripts_from_this_server(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        sign_in(client, "centre")
        page = client.get("/").text
    assert 'id="counter-detected"' in page and 'id="overview-map"' in page
    for script in ("/static/vendor/echarts/echarts.min.js", "/static/live.js", "/static/overview.js"):
        assert f'<script src="{script}"></script>' in page
    block = page.split('<script type="application/json" id="overview-data">')[1].split("</script>")[0]
    assert json.loads(block)["overview"]["open_total"] == 1


# ---- the live event stream ----

@contextmanager
def event_stream(client: TestClient) -> Iterator[queue.Queue[str]]:
    """/events read line by line on a thread, so the test waits for a line with a timeout."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        try:
            for line in response.iter_lines():
                lines.put(line)
        except Exception:  # noqa: BLE001 - the test closed the stream under the reader
            pass

    with client.stream("GET", "/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        threading.Thread(target=read, name="sse-reader", daemon=True).start()
        yield lines


def next_event(lines: queue.Queue[str], topic: str) -> dict[str, Any]:
    """The next `topic` event on the stream (fields as sent, data parsed); fails after EVENT_WAIT_S."""
    deadline = time.monotonic() + EVENT_WAIT_S
    fields: dict[str, Any] = {}
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {topic} event within {EVENT_WAIT_S} s") from None
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        if fields.get("event") == topic:
            fields["data"] = json.loads(fields["data"])
            return fields
        fields = {}


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + EVENT_WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_stream_sends_a_street_its_incidents_and_not_another_streets(bench: Workbench) -> None:
    add_person(bench, "waitan", "centre", "street:外滩街道")
    with http_client(bench) as client:
        sign_in(client, "waitan")
        wait_for(lambda: bench.feed.polls > 0, "the live feed's first poll")
        with event_stream(client) as lines:
            first = lines.get(timeout=EVENT_WAIT_S)
            assert first.startswith(": live") or first.startswith("retry:"), first
            wait_for(lambda: bench.feed.listeners == 1, "the stream to subscribe")
            elsewhere = dispatch_incident(bench, "cam-03")  # G-03, 南京东路街道
            ours = dispatch_incident(bench, "cam-01")  # G-01, 外滩街道
            committed = time.monotonic()
            event = next_event(lines, "incident")
            assert time.monotonic() - committed < 2.0
            # Steps are published in commit order: had the other street's passed, it would come first.
            assert event["data"]["incident_id"] == ours, event
            assert event["data"]["action"] == "detect" and event["id"].startswith("incident-")
            assert next_event(lines, "incident")["data"]["action"] == "dispatch"
            with bench.sessions() as session, session.begin():
                store.add_camera_event(session, "cam-03", CameraState.OFFLINE, bench.clock(), "no picture")
            camera = next_event(lines, "camera")  # cameras go to everyone, whatever the street
            assert camera["data"]["camera_id"] == "cam-03" and camera["data"]["state"] == "offline"
        assert elsewhere != ours
        wait_for(lambda: bench.feed.listeners == 0, "the stream to unsubscribe when the browser leaves")


def test_the_stream_sets_the_reconnect_delay(bench: Workbench) -> None:
    add_person(bench, "centre", "centre", "district")
    with http_client(bench) as client:
        sign_in(client, "centre")
        with event_stream(client) as lines:
            opening = [lines.get(timeout=EVENT_WAIT_S) for _ in range(3)]
    assert opening[0] == ": live" and opening[1].startswith("retry: ") and int(opening[1][7:]) > 0
    assert opening[2] == ""


def test_hostile_names_reach_the_page_only_escaped(tmp_path: Path, db_url: str, pialin_street: Path) -> None:
    hostile = "<script>alert(1)</script>"
    names = WebSiteNames(camera_names=(hostile, "金陵东路口", "贵州路菜场"),
                         grid_names=(f"{hostile}网格", "第二网格", "第三网格"))
    upgrade_to_head(db_url)
    bench = Workbench.build(load_site(write_web_site(tmp_path, db_url, pialin_street, names)))
    add_person(bench, "centre", "centre", "district")
    dispatch_incident(bench, "cam-01")
    with http_client(bench) as client:
        sign_in(client, "centre")
        page = client.get("/").text
        assert hostile not in page and "\\u003cscript\\u003e" in page  # inside the JSON block, escaped
        assert client.get("/api/overview").json()["markers"][0]["camera_name"] == hostile  # data, for textContent
