"""A replay finds what a live run finds: the same clip watched by `aibrain run` (as a camera, in real
time, timestamps from the wall clock) and replayed by `aibrain replay` (timestamps from media time)
gives the same incidents: kind, zone, object, grid, worker, count, and confirmation at the same
point of the clip (within two detector frames, for the live run's timing jitter)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import CameraEvent, Incident
from tests.e2e.broker import wait_until
from tests.e2e.replay_site import ORIGIN, replay_incidents, write_site
from tests.helpers.media import transcode_h264
from tests.helpers.rtsp import RtspServer

pytestmark = pytest.mark.e2e

DETECT_FPS = 2  # the site's; two frames of it is the tolerance on a live confirmation's place in the clip
TOLERANCE_S = 2 / DETECT_FPS


@dataclass(frozen=True)
class Found:
    """An incident as both runs can tell it: what, where, and when in the clip."""

    kind: str
    zone: str
    object_kind: str
    class_name: str
    grid_id: str | None
    worker_id: str | None
    media_s: float  # confirmation, seconds after the clip's first picture
    dwell_s: float  # confirmation - first seen

    def same_as(self, other: Found) -> bool:
        return (self.kind, self.zone, self.object_kind, self.class_name, self.grid_id, self.worker_id) == \
            (other.kind, other.zone, other.object_kind, other.class_name, other.grid_id, other.worker_id) and \
            abs(self.media_s - other.media_s) <= TOLERANCE_S and abs(self.dwell_s - other.dwell_s) <= TOLERANCE_S


@contextmanager
def aibrain_run(site: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site)], stdout=out,
                               stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
        try:
            yield run
        finally:
            run.send_signal(signal.SIGTERM)
            assert run.wait(timeout=60) == 0, log.read_text()[-3000:]


def live_database(folder: Path) -> str:
    """The live run's database, its schema in place before the run starts (so the test can poll it)."""
    database = f"sqlite:///{folder / 'live.db'}"
    upgrade_to_head(database)
    return database


def camera_events(database: str) -> list[tuple[str, datetime]]:
    with session_factory(make_engine(database))() as session:
        return [(e.state, e.at) for e in session.scalars(select(CameraEvent).order_by(CameraEvent.id))]


def live_incidents(database: str) -> list[Found]:
    """Incidents of the live run, placed in the clip by the camera's first `online` (its first picture)."""
    online = next(at for state, at in camera_events(database) if state == "online")
    with session_factory(make_engine(database))() as session:
        incidents = session.scalars(select(Incident).order_by(Incident.confirmed_at)).all()
        return [Found(str(i.kind), i.zone, i.object_kind, i.class_name, i.grid_id, i.worker_id,
                      (i.confirmed_at - online).total_seconds(), (i.confirmed_at - i.first_seen).total_seconds())
                for i in incidents]


def replayed_incidents(site: Path, clip: Path) -> list[Found]:
    origin = datetime.fromisoformat(ORIGIN)
    return [Found(r["kind"], r["zone"], r["object_kind"], r["class_name"], r["grid_id"], r["worker_id"],
                  r["media_time_s"], (datetime.fromisoformat(r["confirmed_at"]) -
                                      datetime.fromisoformat(r["first_seen"])).total_seconds())
            for r in replay_incidents(site, clip, "--origin", origin.isoformat())]


def assert_same_incidents(live: list[Found], replayed: list[Found]) -> None:
    assert replayed, "the clip must give incidents, or the comparison proves nothing"
    assert len(live) == len(replayed), f"live {live}\nreplay {replayed}"
    for seen_live, seen_replayed in zip(live, replayed, strict=True):
        assert seen_live.same_as(seen_replayed), f"live {seen_live}\nreplay {seen_replayed}"


def test_file_camera_watched_live_and_replayed_give_the_same_incidents(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    database = live_database(tmp_path)
    site = write_site(tmp_path, str(pialin_street), yolo_onnx, database=database)
    with aibrain_run(site, tmp_path / "live.log"):  # a file camera plays once, paced, on the wall clock
        wait_until(lambda: "finished" in [state for state, _ in camera_events(database)], 120,
                   "the file camera to play to its end")
    assert_same_incidents(live_incidents(database), replayed_incidents(site, pialin_street))


def test_rtsp_camera_watched_live_and_its_recording_replayed_give_the_same_incidents(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    recording = transcode_h264(pialin_street, tmp_path / "street_h264.mp4")
    database = live_database(tmp_path)
    with RtspServer(recording, user="admin", password="cam-pw", loop=False) as camera:
        site = write_site(tmp_path, camera.url, yolo_onnx, database=database)
        with aibrain_run(site, tmp_path / "live.log"):
            def played_once() -> bool:
                states = [state for state, _ in camera_events(database)]
                return "online" in states and "offline" in states[states.index("online"):]

            wait_until(played_once, 120, "the camera to stream the recording once")
    (tmp_path / "replay").mkdir()
    replay_site = write_site(tmp_path / "replay", str(recording), yolo_onnx)
    assert_same_incidents(live_incidents(database), replayed_incidents(replay_site, recording))
