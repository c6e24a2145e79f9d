"""Load on the workbench: PostgreSQL holding N incidents (100,000 by default) with their audit trails,
`aibrain web` in its own process, C browsers listening to the live event stream (200) and R requests a
second on the incident list (plain pages and filtered) and detail pages (50) for D seconds (60), while
an incident arrives every 0.5 s through the Dispatcher, stored as `aibrain run` stores it. Prints
p50/p99 latency per page, the live events each listener missed (and any outside its scope), how late
the events arrived, and the CPU each side used.

    .venv/bin/python scripts/bench_web.py [--incidents 100000 --clients 200 --rate 50 --duration 60]

Goal: p99 < 300 ms, 0 events missed; the exit code is 0 when it is met, 2 when the run went through but
missed it, 1 when the run itself failed. Half the listeners and browsers are a street's centre (their
lists and events cut to that street's grids), half the district's; each user signs in once and their
listeners share the cookie, as a browser's tabs do. The listeners run in a process of
their own, the requests and the dispatcher in this one; on a small machine both share its cores with
the server and PostgreSQL, which inflates the latencies: the CPU figures at the end say by how much.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import multiprocessing
import queue
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psutil
import psycopg
import yaml
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aibrain import assemble  # noqa: E402
from configs.load import load_site  # noqa: E402
from detector.violation import Violation  # noqa: E402
from routing.access.accounts import add_user  # noqa: E402
from routing.incidents.lifecycle import next_status  # noqa: E402
from routing.incidents.migrate import upgrade_to_head  # noqa: E402
from routing.incidents.tables import IncidentAction as Action  # noqa: E402
from routing.incidents.tables import IncidentStatus as Status  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password 1"
STREETS, GRIDS_PER_STREET = 4, 10  # a camera and a worker per grid
GRIDS = STREETS * GRIDS_PER_STREET
KIND, KIND_LABEL = "non_motor_parking", "非机动车乱停放"
DISTRICT_USERS = [f"district{index}" for index in range(STREETS)]
STREET_USERS = [f"street{index}" for index in range(STREETS)]
KEEP_ALIVE_S = 3.0  # under Uvicorn's timeout_keep_alive (5 s)
EVENT_WAIT_S = 3.0  # after the last commit: the promise is 2 s to the screen, the feed polls every 0.5 s

# The steps after detect and dispatch that leave an incident in each status, and how often it is found
# there among recent incidents (the last two days) and older ones.
HISTORIES: dict[Status, tuple[Action, ...]] = {
    Status.DISPATCHED: (), Status.ACCEPTED: (Action.ACCEPT,), Status.RESOLVED: (Action.ACCEPT, Action.RESOLVE),
    Status.VERIFIED: (Action.ACCEPT, Action.RESOLVE, Action.VERIFY),
    Status.REOPENED: (Action.ACCEPT, Action.RESOLVE, Action.REOPEN),
    Status.FALSE_ALARM: (Action.FALSE_ALARM,),
}
RECENT_WEIGHTS = {Status.DISPATCHED: 30, Status.ACCEPTED: 25, Status.RESOLVED: 15, Status.VERIFIED: 20,
                  Status.REOPENED: 5, Status.FALSE_ALARM: 5}
OLDER_WEIGHTS = {Status.DISPATCHED: 2, Status.ACCEPTED: 2, Status.RESOLVED: 1, Status.VERIFIED: 82,
                 Status.REOPENED: 3, Status.FALSE_ALARM: 10}
INCIDENT_COLUMNS = ("id", "kind", "kind_label", "status", "camera_id", "camera_name", "zone", "grid_id", "worker_id",
                    "object_kind", "class_name", "track_id", "confidence", "bbox", "frame_size", "first_seen",
                    "confirmed_at", "snapshot", "created_at", "accept_due", "resolve_due", "accept_by", "resolve_by",
                    "escalation_level", "resolved_at", "verification_attempts", "next_check_at")
EVENT_COLUMNS = ("incident_id", "action", "from_status", "to_status", "actor", "at", "note")


def grid_id(index: int) -> str:
    return f"G-{index:02d}"


def street_of(index: int) -> int:
    return index // GRIDS_PER_STREET


def street_grids(street: int) -> frozenset[str]:
    return frozenset(grid_id(index) for index in range(GRIDS) if street_of(index) == street)


def write_site(folder: Path, database: str) -> Path:
    features, workers, cameras = [], [], []
    for index in range(GRIDS):
        lon, lat = 121.40 + (index % 10) * 0.01, 31.20 + street_of(index) * 0.01
        grid = grid_id(index)
        features.append({"type": "Feature", "properties": {
            "id": grid, "name": f"第{index}网格", "street": f"街道{street_of(index)}",
            "community": f"社区{index // 5}"},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01],
                                                             [lon, lat + 0.01], [lon, lat]]]}})
        workers.append({"id": f"w-{index:03d}", "name": f"网格员{index}", "grids": [grid],
                        "shifts": ["Mon-Sun 00:00-24:00"]})
        cameras.append({"id": f"cam-{index:03d}", "name": f"路口{index}", "url": f"rtsp://192.0.2.1/{index}",
                        "location": [lon + 0.005, lat + 0.005],
                        "zones": [{"name": "sidewalk", "grid": grid, "tags": ["no_parking_non_motor"],
                                   "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]})
    (folder / "grids.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                                     ensure_ascii=False), encoding="utf-8")
    site = {"database": database, "district": "黄浦区", "grids": "grids.geojson", "evidence_dir": "evidence",
            "workers": workers, "cameras": cameras,
            "rules": [{"kind": KIND, "zone_tags": ["no_parking_non_motor"]}]}
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


# --- the history: COPY, as fast as PostgreSQL takes rows ------------------------------------------------------

def history(rng: random.Random, confirmed: datetime, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One incident confirmed at `confirmed` and its audit rows, each step as the closed loop writes it."""
    grid = rng.randrange(GRIDS)
    weights = RECENT_WEIGHTS if now - confirmed < timedelta(days=2) else OLDER_WEIGHTS
    status = rng.choices(list(weights), list(weights.values()))[0]
    incident_id, worker, created = str(uuid4()), f"w-{grid:03d}", confirmed + timedelta(seconds=1)
    accept_due, resolve_due = confirmed + timedelta(minutes=15), confirmed + timedelta(hours=2)
    steps = [(Action.DETECT, "detector", confirmed, None), (Action.DISPATCH, "router", created, f"to {worker}")]
    at, resolved_at = created, None
    for action in HISTORIES[status]:
        at += timedelta(minutes=rng.uniform(1, 40))
        actor = {Action.ACCEPT: worker, Action.RESOLVE: worker, Action.FALSE_ALARM: "user:district0"}.get(
            action, "verifier")
        note = {Action.FALSE_ALARM: "误报：车辆停在划线车位内", Action.REOPEN: "核查未通过：车辆仍在"}.get(action)
        steps.append((action, actor, at, note))
        resolved_at = at if action is Action.RESOLVE else resolved_at
    incident = dict(
        id=incident_id, kind=KIND, kind_label=KIND_LABEL, status=status.value, camera_id=f"cam-{grid:03d}",
        camera_name=f"路口{grid}", zone="sidewalk", grid_id=grid_id(grid), worker_id=worker, object_kind="bicycle",
        class_name="bicycle", track_id=rng.randrange(1, 10**6), confidence=round(rng.uniform(0.5, 0.95), 3),
        bbox=json.dumps([100.0, 200.0, 180.0, 320.0]), frame_size=json.dumps([1920, 1080]),
        first_seen=confirmed - timedelta(minutes=3), confirmed_at=confirmed, snapshot=None, created_at=created,
        accept_due=accept_due, resolve_due=resolve_due, accept_by=accept_due, resolve_by=resolve_due,
        escalation_level=0, resolved_at=resolved_at if status is not Status.REOPENED else None,
        verification_attempts=int(status in (Status.VERIFIED, Status.REOPENED)), next_check_at=None)
    events, current = [], None
    for action, actor, step_at, note in steps:
        to = next_status(current, action)
        events.append(dict(incident_id=incident_id, action=action.value, from_status=current and current.value,
                           to_status=to.value, actor=actor, at=step_at, note=note))
        current = to
    assert current is status
    return incident, events


def seed(conninfo: str, count: int) -> dict[str, list[str]]:
    """`count` incidents of the last 90 days with their audit rows, in one transaction, oldest first as they
    arrived (so the table's order follows time, as a real one's does); their ids by grid."""
    rng, now = random.Random(20261201), datetime.now(UTC)
    ages_s = sorted((rng.uniform(0, 90 * 86400) for _ in range(count)), reverse=True)
    by_grid: dict[str, list[str]] = {grid_id(index): [] for index in range(GRIDS)}
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        for start in range(0, count, 10_000):
            incidents, events = [], []
            for age_s in ages_s[start:start + 10_000]:
                incident, steps = history(rng, now - timedelta(seconds=age_s), now)
                incidents.append(incident)
                events += steps
                by_grid[incident["grid_id"]].append(incident["id"])
            copy_rows(cursor, "incidents", INCIDENT_COLUMNS, incidents)
            copy_rows(cursor, "incident_events", EVENT_COLUMNS, events)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE incidents, incident_events")  # what autovacuum does after a while
    return by_grid


def copy_rows(cursor: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def add_people(database: str) -> None:
    """The district's centre users and one centre user per street, all with PASSWORD."""
    with assemble.sessions(database)() as session, session.begin():
        at = datetime.now(UTC)
        for username in DISTRICT_USERS:
            add_user(session, username, PASSWORD, "centre", "district", at)
        for street, username in enumerate(STREET_USERS):
            add_user(session, username, PASSWORD, "centre", f"street:街道{street}", at)


def scope_of(username: str) -> frozenset[str] | None:
    """The grids whose incidents `username` sees; None for the whole district."""
    return street_grids(STREET_USERS.index(username)) if username in STREET_USERS else None


# --- the server ------------------------------------------------------------------------------------------------

class Server:
    """`aibrain web` as a user starts it; its output drained on a thread so a full pipe never stalls it."""

    def __init__(self, site_file: Path, port: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "aibrain", "web", "--config", str(site_file),
                                         "--port", str(port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: deque[str] = deque(maxlen=200)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_started(self, timeout_s: float = 120) -> None:
        """Until it prints `workbench: http://...`, its first line once the port is bound."""
        end = time.monotonic() + timeout_s
        while (line := self._lines.get(timeout=max(0.1, end - time.monotonic()))) is not None:
            if line.startswith("workbench:"):
                return
        raise RuntimeError("aibrain web ended before serving:\n" + "".join(self.output))

    def cpu_s(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def sign_in(base: str, username: str) -> httpx.Cookies:
    """The session cookie of `username`, signed in as a browser does: the form's CSRF field and cookie,
    then the password."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        form = (await client.get("/login")).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        if token is None:
            raise RuntimeError(f"no csrf_token on the sign-in form: {form[:300]}")
        response = await client.post("/login", data={"username": username, "password": PASSWORD,
                                                     "csrf_token": token.group(1)})
        if response.status_code != 303:
            raise RuntimeError(f"sign-in of {username} answered {response.status_code}: {response.text[:300]}")
        return client.cookies


# --- the live listeners, a process of their own ----------------------------------------------------------------

@dataclass
class Listener:
    """What one browser tab's EventSource got: incidents dispatched, and how long after their commit."""

    username: str
    scope: frozenset[str] | None
    seen: set[str] = field(default_factory=set)
    delays_s: list[float] = field(default_factory=list)
    outside_scope: int = 0
    ended_early: bool = False  # the server closed the stream (too far behind, or stopping)
    error: str | None = None


@dataclass
class ListenerReport:
    listeners: list[Listener]
    cpu_s: float  # the listener process's CPU over the measured window


async def listen(base: str, listener: Listener, cookies: httpx.Cookies, ready: asyncio.Event) -> None:
    try:
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=httpx.Timeout(60, read=None)) as client:
            async with client.stream("GET", "/events") as stream:
                if stream.status_code != 200:
                    raise RuntimeError(f"/events answered {stream.status_code}")
                await read_events(stream, listener, ready)
            listener.ended_early = True
    except Exception as exc:  # noqa: BLE001 - counted and shown, the other listeners go on
        listener.error = f"{type(exc).__name__}: {exc}"
    finally:
        ready.set()


async def read_events(stream: httpx.Response, listener: Listener, ready: asyncio.Event) -> None:
    """Server-sent events as EventSource parses them: `event:` and `data:` lines up to a blank line."""
    name, data = "message", []
    async for line in stream.aiter_lines():
        if line.startswith("retry:"):  # the stream's first message, sent once it is subscribed
            ready.set()
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            if name == "incident":
                step = json.loads("\n".join(data))
                if listener.scope is not None and step["grid_id"] not in listener.scope:
                    listener.outside_scope += 1
                if step["action"] == Action.DISPATCH:
                    listener.seen.add(step["incident_id"])
                    listener.delays_s.append(time.time() - datetime.fromisoformat(step["at"]).timestamp())
            name, data = "message", []


async def listen_all(base: str, usernames: list[str], ready: ProcessEvent, stop: ProcessEvent) -> ListenerReport:
    # One sign-in per user, its cookie shared by their listeners like a browser's tabs: 200 Argon2
    # verifications would only make the wait before the load longer.
    cookies = {username: await sign_in(base, username) for username in dict.fromkeys(usernames)}
    listeners = [Listener(username, scope_of(username)) for username in usernames]
    readies = [asyncio.Event() for _ in listeners]
    tasks = [asyncio.create_task(listen(base, listener, cookies[listener.username], each))
             for listener, each in zip(listeners, readies, strict=True)]
    for each in readies:
        await each.wait()
    await asyncio.sleep(1)  # the last stream's subscription lands just after its first message
    ready.set()
    started = time.process_time()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    cpu_s = time.process_time() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return ListenerReport(listeners, cpu_s)


def listener_process(base: str, usernames: list[str], ready: ProcessEvent, stop: ProcessEvent,
                     results: multiprocessing.Queue[ListenerReport]) -> None:
    results.put(asyncio.run(listen_all(base, usernames, ready, stop)))


# --- the page requests and the incidents arriving, in this process ---------------------------------------------

@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"list": [], "filtered": [], "detail": []})
    late_starts_s: list[float] = field(default_factory=list)  # how far behind schedule each request left
    errors: dict[str, int] = field(default_factory=dict)  # "<page> <status or exception>" -> count
    dispatched: list[tuple[str, str | None]] = field(default_factory=list)  # (incident id, grid id)


def page_requests(rng: random.Random, by_grid: dict[str, list[str]], scope: frozenset[str] | None) -> Iterator[
        tuple[str, str]]:
    """(page kind, path) for one browser, forever: a quarter plain list pages (1 to 20), a quarter filtered
    lists (status, grid, worker, time; pages 1 to 3), half details of incidents in its scope."""
    grids = sorted(scope) if scope is not None else sorted(by_grid)
    since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT00:00")  # a week back, in site time
    while True:
        draw, grid = rng.random(), rng.choice(grids)
        if draw < 0.25:
            yield "list", f"/incidents?page={rng.randint(1, 20)}"
        elif draw < 0.5:
            chosen = rng.choice(["status=dispatched&status=accepted", f"grid={grid}", f"worker=w-0{grid[2:]}",
                                 f"since={since}&kind={KIND}", "status=false_alarm&sort=grid&dir=asc"])
            yield "filtered", f"/incidents?{chosen}&page={rng.randint(1, 3)}"
        else:
            yield "detail", f"/incidents/{rng.choice(by_grid[grid])}"


async def browse(browsers: list[tuple[httpx.AsyncClient, Iterator[tuple[str, str]]]], rate: float, until: float,
                 tally: Tally) -> None:
    """`rate` requests a second from the browsers in turn, on schedule whatever the answers take (an open
    loop, as many people's browsers are); each latency from the moment its request left."""

    async def one(client: httpx.AsyncClient, kind: str, path: str, due: float) -> None:
        started = time.monotonic()
        tally.late_starts_s.append(started - due)
        try:
            response = await client.get(path)
            failure = None if response.status_code == 200 else str(response.status_code)
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
        tally.latencies[kind].append(time.monotonic() - started)
        if failure is not None:
            key = f"{kind} {failure}"
            tally.errors[key] = tally.errors.get(key, 0) + 1

    turns = itertools.cycle(browsers)
    tasks, due = [], time.monotonic()
    while due < until:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        client, requests = next(turns)
        kind, path = next(requests)
        tasks.append(asyncio.create_task(one(client, kind, path, due)))
        due += 1 / rate
    await asyncio.gather(*tasks)


def dispatch_steadily(site_file: Path, until: float, tally: Tally) -> None:
    """A new incident every 0.5 s on a random camera, stored the way `aibrain run` stores it."""
    site = load_site(site_file)
    dispatcher = assemble.dispatcher(site, assemble.sessions(site.database_url()), wake=None)
    rng = random.Random(11)
    for track in itertools.count(1):
        if time.monotonic() >= until:
            return
        camera, now = rng.randrange(GRIDS), datetime.now(UTC)
        violation = Violation(camera_id=f"cam-{camera:03d}", zone="sidewalk", kind=KIND, object_kind="bicycle",
                              class_name="bicycle", track_id=track, bbox=(100, 200, 180, 320), confidence=0.8,
                              first_seen=now - timedelta(minutes=3), confirmed_at=now, frame_size=(1920, 1080))
        result = dispatcher.dispatch(violation)
        tally.dispatched.append((result.incident_id, result.grid_id))
        time.sleep(0.5)


# --- the run and its report ------------------------------------------------------------------------------------

@dataclass
class Cpu:
    """CPU seconds over the measured window, per side, and the machine's busy share."""

    server_s: float
    requests_s: float  # this process: page requests and the dispatcher
    listeners_s: float
    machine_busy_pct: float
    cores: int


async def measure(base: str, site_file: Path, by_grid: dict[str, list[str]], server: Server,
                  duration: float, rate: float) -> tuple[Tally, Cpu]:
    """The measured window: page requests by a district and a street centre user (signed in before it)
    and incidents arriving, then EVENT_WAIT_S for the last ones' events; the CPU each side used in it."""
    rng = random.Random(7)
    district_cookies, street_cookies = await sign_in(base, DISTRICT_USERS[0]), await sign_in(base, STREET_USERS[0])
    # Idle connections closed before Uvicorn's 5 s keep-alive ends them: a request on a connection the
    # server is closing fails where a browser would quietly retry it.
    limits = httpx.Limits(keepalive_expiry=KEEP_ALIVE_S)
    async with httpx.AsyncClient(base_url=base, cookies=district_cookies, timeout=10, limits=limits) as district, \
            httpx.AsyncClient(base_url=base, cookies=street_cookies, timeout=10, limits=limits) as street:
        browsers = [(district, page_requests(rng, by_grid, None)),
                    (street, page_requests(rng, by_grid, scope_of(STREET_USERS[0])))]
        tally = Tally()
        server_cpu, own_cpu = server.cpu_s(), time.process_time()
        psutil.cpu_percent()
        end = time.monotonic() + duration
        writer = threading.Thread(target=dispatch_steadily, args=(site_file, end, tally), daemon=True)
        writer.start()
        await browse(browsers, rate, end, tally)
        await asyncio.to_thread(writer.join)
        await asyncio.sleep(EVENT_WAIT_S)
    cpu = Cpu(server.cpu_s() - server_cpu, time.process_time() - own_cpu, 0.0, psutil.cpu_percent(),
              psutil.cpu_count() or 1)
    return tally, cpu


def run_load(base: str, site_file: Path, by_grid: dict[str, list[str]], server: Server,
             args: argparse.Namespace) -> tuple[Tally, ListenerReport, Cpu]:
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    usernames = [(DISTRICT_USERS + STREET_USERS)[index % (2 * STREETS)] for index in range(args.clients)]
    listeners = context.Process(target=listener_process, args=(base, usernames, ready, stop, results), daemon=True)
    listeners.start()
    while not ready.wait(1):
        if not listeners.is_alive():
            raise RuntimeError(f"the live listeners' process ended (exit code {listeners.exitcode}) before connecting")
    print(f"{args.clients} live listeners connected; loading for {args.duration:.0f} s", flush=True)
    tally, cpu = asyncio.run(measure(base, site_file, by_grid, server, args.duration, args.rate))
    stop.set()
    listened = results.get(timeout=120)
    listeners.join(30)
    return tally, listened, replace(cpu, listeners_s=listened.cpu_s)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `q` of them at or below it.

    >>> percentile([5, 1, 4, 2, 3], 0.5), percentile(range(1, 101), 0.99), percentile([], 0.5)
    (3, 99, nan)
    """
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * q) - 1))]


def missed_events(tally: Tally, listeners: list[Listener]) -> int:
    """Dispatches each listener's scope holds that it never received, summed over the listeners."""
    missed = 0
    for listener in listeners:
        expected = {incident for incident, grid in tally.dispatched
                    if listener.scope is None or grid in listener.scope}
        missed += len(expected - listener.seen)
    return missed


def report(tally: Tally, listened: ListenerReport, cpu: Cpu, args: argparse.Namespace) -> bool:
    """Prints the figures; whether the goal was met."""
    every = [value for values in tally.latencies.values() for value in values]
    for kind, values in (*tally.latencies.items(), ("all", every)):
        print(f"{kind:8} {len(values):6d} requests  p50 {percentile(values, 0.5) * 1000:7.1f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:7.1f} ms")
    errors = sum(tally.errors.values())
    print(f"errors {errors}" + (f" ({', '.join(f'{k}: {n}' for k, n in sorted(tally.errors.items()))})"
                                if errors else ""))
    print(f"request generator: p99 {percentile(tally.late_starts_s, 0.99) * 1000:.1f} ms behind schedule")
    missed = missed_events(tally, listened.listeners)
    failed = [listener for listener in listened.listeners if listener.error]
    delays = [delay for listener in listened.listeners for delay in listener.delays_s]
    print(f"live events: {len(tally.dispatched)} incidents dispatched to {len(listened.listeners)} listeners, "
          f"missed {missed}; outside their scope {sum(listener.outside_scope for listener in listened.listeners)}; "
          f"streams ended early {sum(listener.ended_early for listener in listened.listeners)}; "
          f"listeners failed {len(failed)}" + (f" (first: {failed[0].error})" if failed else ""))
    print(f"live delay from commit: p50 {percentile(delays, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(delays, 0.99) * 1000:.0f} ms")
    window = args.duration + EVENT_WAIT_S
    print(f"CPU over {window:.0f} s ({cpu.cores} cores, machine {cpu.machine_busy_pct:.0f}% busy): server "
          f"{cpu.server_s / window:.0%} of a core, requests+dispatcher {cpu.requests_s / window:.0%}, "
          f"listeners {cpu.listeners_s / window:.0%} (the load generator shares the machine with the server "
          f"and PostgreSQL: latencies include waiting for a core)")
    p99 = percentile(every, 0.99) * 1000
    met = p99 < 300 and missed == 0 and errors == 0 and not failed
    print(f"goal p99 < 300 ms and 0 missed: {'met' if met else 'NOT met'} (p99 {p99:.0f} ms, missed {missed})")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200, help="live-feed listeners")
    parser.add_argument("--rate", type=float, default=50, help="list and detail requests per second")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN, help="a PostgreSQL URL allowed to create databases")
    parser.add_argument("--port", type=int, default=0, help="the workbench's port (default: a free one)")
    args = parser.parse_args()

    name = f"aibrain_bench_web_{uuid4().hex[:8]}"
    admin_url = make_url(args.pg_admin_url)
    admin_info = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    conninfo = admin_url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    database = admin_url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
            site_file = write_site(Path(folder), database)
            upgrade_to_head(database)
            started = time.perf_counter()
            by_grid = seed(conninfo, args.incidents)
            print(f"seeded {args.incidents} incidents with their audit rows in {time.perf_counter() - started:.0f} s",
                  flush=True)
            add_people(database)
            port = args.port or free_port()
            server = Server(site_file, port)
            server.wait_started()
            tally, listened, cpu = run_load(f"http://127.0.0.1:{port}", site_file, by_grid, server, args)
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(admin_info, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0 if report(tally, listened, cpu, args) else 2


if __name__ == "__main__":
    sys.exit(main())
