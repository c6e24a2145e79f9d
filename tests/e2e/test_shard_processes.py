"""`--shard k/N` as separate processes: two `aibrain run` over one site of four file cameras, one
PostgreSQL database and one RabbitMQ broker. Each camera is watched by exactly one process, and every
camera's parked bike is one incident and one alert: none missing, none twice. When one shard dies
(SIGKILL: no drain, no goodbye), the other's cameras keep playing and their incidents keep arriving.
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
from tests.conftest import AMQP_URL
from tests.e2e.broker import drain, wait_until
from tests.e2e.loop_site import CHAIN, GATE_ZONE
from tests.e2e.site import write_grids
from tests.helpers.media import make_still_clip

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CAMERAS = ("cam-01", "cam-02", "cam-04", "cam-05")  # two in each shard of 2 (crc32 of the id)
SHARDS = 2
EMPTY_S = 8  # the killed-shard clip's empty pavement before the bikes: no incident can precede the kill


def write_site(folder: Path, database: str, clips: dict[str, Path], model: Path, prefix: str) -> Path:
    """The site of CAMERAS, each playing its clip from `clips` once."""
    write_grids(folder / "grids.geojson")
    site = {
        "database": database, "broker": AMQP_URL, "queue_prefix": prefix, "model": str(model),
        "grids": "grids.geojson", "evidence_dir": "evidence",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": [{"id": camera, "name": f"东门 {camera}", "url": str(clips[camera]), "detect_fps": 2,
                     "decode": "keyframes",
                     "zones": [{"name": "gate-sidewalk", "grid": "G-01", "tags": ["no_parking_non_motor"],
                                "polygon": GATE_ZONE}]} for camera in CAMERAS],
        "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": 4}],
        "escalation": {"grids": {"G-01": CHAIN}, "default": ["street-centre"]},  # what the prefix fixture deletes
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def shard_run(site: Path, shard: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`aibrain run --shard shard/SHARDS`, stopped with SIGTERM at the end (exit 0), unless the test
    killed it: then its exit is that SIGKILL's, and any other is a crash."""
    with log.open("w") as out:
        run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site),
                                "--shard", f"{shard}/{SHARDS}"], stdout=out, stderr=subprocess.STDOUT,
                               env=os.environ | {"PYTHONUNBUFFERED": "1"})
        try:
            yield run
        finally:
            if run.poll() is None:
                run.send_signal(signal.SIGTERM)
                assert run.wait(timeout=60) == 0, log.read_text()[-3000:]
            else:
                assert run.returncode == -signal.SIGKILL, log.read_text()[-3000:]


def shard_cameras(shard: int) -> set[str]:
    return {camera for camera in CAMERAS if in_shard(camera, (shard, SHARDS))}


def camera_states(database: str) -> dict[str, list[str]]:
    """Each camera's stored states in order; none before a run has created the schema."""
    try:
        with session_factory(make_engine(database))() as session:
            events = session.scalars(select(CameraEvent).order_by(CameraEvent.id))
            states: dict[str, list[str]] = {}
            for event in events:
                states.setdefault(event.camera_id, []).append(str(event.state))
            return states
    except ProgrammingError:
        return {}


def finished_cameras(database: str) -> set[str]:
    """Cameras that played to their end."""
    return {camera for camera, states in camera_states(database).items() if "finished" in states}


def incidents_per_camera(database: str) -> Counter[str]:
    with session_factory(make_engine(database))() as session:
        return Counter(session.scalars(select(Incident.camera_id)))


def alerts_per_camera(prefix: str) -> Counter[str]:
    return Counter(alert["camera_id"] for _, alert in drain(f"{prefix}.worker.w-001", wait_s=10))


def watched_cameras(log: Path) -> set[str]:
    text = log.read_text()
    return {camera for camera in CAMERAS if f"camera {camera}: online" in text}


def test_two_shard_processes_split_the_cameras_and_store_each_incident_once(
        tmp_path: Path, pg_url: str, prefix: str, shared_bike_still: Path, yolo_onnx: Path) -> None:
    assert all(len(shard_cameras(k)) == 2 for k in range(SHARDS)), "two cameras a shard"
    clip = make_still_clip(shared_bike_still, tmp_path / "bikes.mp4", seconds=15)
    site = write_site(tmp_path, pg_url, dict.fromkeys(CAMERAS, clip), yolo_onnx, prefix)
    logs = [tmp_path / f"shard-{k}.log" for k in range(SHARDS)]
    with ExitStack() as runs:
        for k in range(SHARDS):  # started together: both migrate the one database at once
            runs.enter_context(shard_run(site, k, logs[k]))
        wait_until(lambda: finished_cameras(pg_url) == set(CAMERAS), 180, "every file camera played to its end")

    assert incidents_per_camera(pg_url) == dict.fromkeys(CAMERAS, 1)
    assert alerts_per_camera(prefix) == dict.fromkeys(CAMERAS, 1)
    for k, log in enumerate(logs):
        assert watched_cameras(log) == shard_cameras(k), (k, log.read_text()[-3000:])
        assert f"running {len(shard_cameras(k))} camera(s)" in log.read_text()


def bikes_after_empty_pavement(clips: dict[str, Path], out: Path) -> Path:
    """EMPTY_S of the painted-out pavement, then 12 s of the parked bikes (stream copies: both clips
    are encoded alike, with a keyframe every second)."""
    parts = out.parent / "parts.txt"
    cut = [(clips["empty"], EMPTY_S), (clips["bikes"], 12)]
    for i, (clip, seconds) in enumerate(cut):
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(clip), "-t", str(seconds),
                        "-c", "copy", str(out.parent / f"part-{i}.mp4")], check=True)
    parts.write_text("".join(f"file 'part-{i}.mp4'\n" for i in range(len(cut))), encoding="utf-8")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
                    "-i", str(parts), "-c", "copy", str(out)], check=True)
    return out


def test_a_killed_shard_leaves_the_other_shards_cameras_running(
        tmp_path: Path, pg_url: str, prefix: str, clips: dict[str, Path], yolo_onnx: Path) -> None:
    killed, survivor = 0, 1
    # The killed shard's cameras see the empty pavement: whatever its start took, it has nothing to
    # report before it dies. The survivor's see the bikes only EMPTY_S into their clip.
    late_bikes = bikes_after_empty_pavement(clips, tmp_path / "late-bikes.mp4")
    site = write_site(tmp_path, pg_url, {camera: late_bikes if in_shard(camera, (survivor, SHARDS)) else clips["empty"]
                                         for camera in CAMERAS}, yolo_onnx, prefix)
    logs = [tmp_path / f"shard-{k}.log" for k in range(SHARDS)]
    with ExitStack() as runs:
        # The survivor starts last and the kill follows its cameras' first pictures at once, while its
        # clips are still seconds from their bikes.
        shards = {}
        for shard in (killed, survivor):
            shards[shard] = runs.enter_context(shard_run(site, shard, logs[shard]))
            wait_until(lambda shard=shard: watched_cameras(logs[shard]) == shard_cameras(shard), 180,
                       f"shard {shard}'s cameras online")
        shards[killed].kill()
        shards[killed].wait(timeout=30)
        assert incidents_per_camera(pg_url) == {}, f"the bikes appear {EMPTY_S} s into the clip, after the kill"

        wait_until(lambda: finished_cameras(pg_url) >= shard_cameras(survivor), 180,
                   "the surviving shard's cameras played to their end")
        wait_until(lambda: set(incidents_per_camera(pg_url)) >= shard_cameras(survivor), 60,
                   "the surviving shard's incidents")

    # The survivor's cameras: each bike one incident and one alert, all after the kill; the killed
    # shard's cameras stopped where it died (their clips never finished), and nobody took them over.
    assert incidents_per_camera(pg_url) == dict.fromkeys(shard_cameras(survivor), 1)
    assert alerts_per_camera(prefix) == dict.fromkeys(shard_cameras(survivor), 1)
    states = camera_states(pg_url)
    for camera in shard_cameras(killed):
        assert "finished" not in states.get(camera, []), (camera, states)
    assert watched_cameras(logs[survivor]) == shard_cameras(survivor)
