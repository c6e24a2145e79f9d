"""Builders for routing tests: a small site (two grids, two workers, three cameras)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pika
from pika.adapters.blocking_connection import BlockingChannel
from shapely.geometry import Polygon
from sqlalchemy.orm import Session, sessionmaker

from common.schedule import parse_shift
from detector.violation import Violation
from routing.assign.grids import GeoPoint, Grid, GridMap
from routing.assign.roster import Roster, Worker
from routing.broker.topology import Topology
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.database import make_engine, session_factory
from routing.incidents.deadlines import DueLimits, DueMinutes
from routing.incidents.dispatch import CameraInfo, Dispatcher
from routing.incidents.escalation import EscalationChains
from routing.incidents.migrate import upgrade_to_head

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2024-06-03 10:00 in Shanghai: the day worker is on duty in grid g-east.
DAYTIME = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
# Monday 2024-06-03 23:00 in Shanghai: nobody covers g-east at night.
NIGHT = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)


def square(x0: float, y0: float, size: float = 0.01) -> Polygon:
    return Polygon([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)])


def make_grids() -> GridMap:
    return GridMap([Grid("g-east", "东街网格", "外滩街道", "汇丰社区", square(121.00, 31.00)),
                    Grid("g-west", "西街网格", "外滩街道", "金陵社区", square(120.98, 31.00))])


def make_roster() -> Roster:
    return Roster([
        Worker("w-day", "张三", ("g-east",), (parse_shift("Mon-Sun 08:00-20:00"),)),
        Worker("w-night", "李四", ("g-west",), (parse_shift("Mon-Sun 20:00-08:00"),)),
    ], SHANGHAI)


CAMERAS = {
    "cam-01": CameraInfo("东街口 1 号", GeoPoint(121.005, 31.005)),  # in g-east by location
    "cam-02": CameraInfo("西街 2 号"),  # no location: its zone names the grid
    "cam-03": CameraInfo("郊外 3 号", GeoPoint(100.0, 20.0)),  # in no grid at all
}
ZONE_GRIDS = {("cam-02", "sidewalk"): "g-west"}
LIMITS = DueLimits(per_kind={"motor_parking": DueMinutes(accept=5, resolve=30)})
# g-east escalates to its grid leader, then the street centre; other grids straight to the centre.
CHAINS = EscalationChains({"g-east": ("leader-east", "street-centre")}, default=("street-centre",))


def migrated_sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A fixture's body: sessions on the database at `db_url`, migrated to head."""
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def make_topology(prefix: str) -> Topology:
    return Topology(prefix=prefix, worker_ids=("w-day", "w-night"), escalation_targets=CHAINS.targets())


def make_loop(topology: Topology) -> ClosedLoop:
    return ClosedLoop(topology, LIMITS, CHAINS, SHANGHAI)


LABELS = {"non_motor_parking": "非机动车乱停放", "motor_parking": "机动车乱停放"}


def make_dispatcher(sessions: sessionmaker[Session], topology: Topology,
                    wake: Callable[[], None] | None = None, roster: Roster | None = None) -> Dispatcher:
    return Dispatcher(sessions, make_roster() if roster is None else roster, ZONE_GRIDS, make_grids(), CAMERAS,
                      LIMITS, topology, SHANGHAI, wake=wake, labels=LABELS)


def violation(camera_id: str = "cam-01", zone: str = "sidewalk", confirmed_at: datetime = DAYTIME,
              kind: str = "non_motor_parking", track_id: int = 7) -> Violation:
    return Violation(
        camera_id=camera_id, zone=zone, kind=kind, object_kind="non_motor_vehicle",
        class_name="bicycle", track_id=track_id, bbox=(10.0, 20.5, 110.0, 220.0), confidence=0.87,
        first_seen=confirmed_at - timedelta(minutes=3), confirmed_at=confirmed_at,
        frame_size=(1920, 1080), snapshot=Path(f"evidence/{camera_id}/{track_id}.jpg"),
    )


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def take(channel: BlockingChannel, queue: str, count: int,
         timeout: float = 10.0) -> list[tuple[pika.BasicProperties, dict[str, object]]]:
    """Get (and ack) exactly `count` messages from `queue`, then check nothing more is there."""
    got: list[tuple[pika.BasicProperties, dict[str, object]]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        got.append((properties, json.loads(body.decode("utf-8"))))
    assert len(got) == count, f"{queue}: expected {count} messages, got {len(got)}"
    assert channel.basic_get(queue, auto_ack=True)[0] is None, f"{queue}: more than {count} messages"
    return got

