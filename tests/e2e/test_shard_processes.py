"""`--shard k/N` as separate processes: two `aibrain run` over one site of four file cameras and one
PostgreSQL database. Each camera is watched by exactly one process, and every camera's parked bike is
one incident: none missing, none twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError

from aibrain.live.live_run import in_shard
from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import CameraEvent, Incident
from tests.e2e.broker import wait_until
from tests.e2e.loop_site import GATE_ZONE
from tests.e2e.site import write_grids
from tests.helpers.media import make_still_clip

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CAMERAS = ("cam-01", "cam-02", "cam-04", "cam-05")  # two in each shard of 2 (crc32 of the id)
SHARDS = 2


def write_site(folder: Path, database: str, clip: Path, model: Path) -> Path:
    write_grids(folder / "grids.geojson")
    site = {
        "database": database, "model": str(model), "grids": "grids.geojson", "evidence_dir": "evidence",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": camera, "name": f"东门 {camera}", "url": str(clip), "detect_fps": 2, "decode": "keyframes",
                     "zones": [{"name": "gate-sidewalk", "grid": "G-01", "tags": ["no_parking_non_motor"],
                                "polygon": GATE_ZONE}]} for camera in CAMERAS],
        "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": 4}],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def shard_run(site: Path, shard: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site),
                                "--shard", f"{shard}/{SHARDS}"], stdout=out, stderr=subprocess.STDOUT,
                               env=os.environ | {"PYTHONUNBUFFERED": "1"})
        try:
            yield run
        finally:
            run.send_signal(signal.SIGTERM)
            assert run.wait(timeout=60) == 0, log.read_text()[-3000:]


def finished_cameras(database: str) -> set[str]:
    """Cameras that played to their end; none before a run has created the schema."""
    try:
        with session_factory(make_engine(database))() as session:
            return set(session.scalars(select(CameraEvent.camera_id).where(CameraEvent.state == "finished")))
    except ProgrammingError:
        return set()


def test_two_shard_processes_split_the_cameras_and_store_each_incident_once(
        tmp_path: Path, pg_url: str, shared_bike_still: Path, yolo_onnx: Path) -> None:
    assert all(sum(in_shard(c, (k, SHARDS)) for c in CAMERAS) == 2 for k in range(SHARDS)), "two cameras a shard"
    clip = make_still_clip(shared_bike_still, tmp_path / "bikes.mp4", seconds=15)
    site = write_site(tmp_path, pg_url, clip, yolo_onnx)
    logs = [tmp_path / f"shard-{k}.log" for k in range(SHARDS)]
    with ExitStack() as runs:
        for k in range(SHARDS):  # started together: both migrate the one database at once
            runs.enter_context(shard_run(site, k, logs[k]))
        wait_until(lambda: finished_cameras(pg_url) == set(CAMERAS), 180, "every file camera played to its end")

    with session_factory(make_engine(pg_url))() as session:
        per_camera = Counter(session.scalars(select(Incident.camera_id)))
    assert per_camera == dict.fromkeys(CAMERAS, 1), per_camera
    for k, log in enumerate(logs):
        text = log.read_text()
        watched = {camera for camera in CAMERAS if f"camera {camera}: online" in text}
        assert watched == {camera for camera in CAMERAS if in_shard(camera, (k, SHARDS))}, (k, text[-3000:])
        assert f"running {len(watched)} camera(s)" in text
