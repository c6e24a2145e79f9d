"""End to end: the closed loop for a grid worker, through `aibrain run` and `aibrain worker`.

A real RTSP camera shows parked shared bikes; the pipeline alerts worker w-001. The worker accepts
and resolves with the `aibrain worker` command (interactively and one command at a time). Then the
camera looks again: when the bikes were moved (the camera now shows the same pavement with them
painted out) the incident is verified; when they are still there it is reopened and the next level
of the grid's escalation chain is told. An accept limit missed escalates once, to the first level.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pika
import pytest
import yaml
from sqlalchemy import select

from detector.onnx_backend import OnnxBackend
from routing.db import make_engine, session_factory
from routing.schema import Incident, IncidentEvent
from routing.topology import Topology, delete_topology
from tests.conftest import AMQP_URL
from tests.e2e.broker import drain, wait_for_queue, wait_until
from tests.e2e.site import write_grids
from tests.helpers.media import make_still_clip, paint_out, read_image
from tests.helpers.rtsp import RtspServer, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

GATE_ZONE = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
CHAIN = ["leader-g01", "street-centre"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path, yolo_onnx: Path) -> dict[str, Path]:
    """The parked bikes, and the same pavement with every bike painted out (the detector finds none)."""
    folder = tmp_path_factory.mktemp("loop-clips")
    backend = OnnxBackend(yolo_onnx)
    detections = backend.detect([read_image(shared_bike_still)])[0]
    bikes = detections.select(np.isin(detections.class_id, [1, 3]) & (detections.confidence >= 0.1))
    empty_still = paint_out(shared_bike_still, [tuple(box) for box in bikes.xyxy.tolist()], folder / "empty.png")
    empty = backend.detect([read_image(empty_still)])[0]
    assert not np.isin(empty.class_id, [1, 3]).any(), "the painted-out pavement must hold no bike"
    return {"bikes": make_still_clip(shared_bike_still, folder / "bikes.mp4", seconds=60),
            "empty": make_still_clip(empty_still, folder / "empty.mp4", seconds=60)}


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"loop{uuid.uuid4().hex[:8]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    delete_topology(connection.channel(), Topology(prefix=name, worker_ids=("w-001",), escalation_targets=tuple(CHAIN)))
    connection.close()


class Site:
    """A one-camera site, `aibrain run` on it, and `aibrain worker` for w-001."""

    def __init__(self, folder: Path, camera_url: str, model: Path, prefix: str, accept_within_min: float) -> None:
        self.folder, self.prefix = folder, prefix
        self.database = f"sqlite:///{folder / 'aibrain.db'}"
        write_grids(folder / "grids.geojson")
        config = {
            "database": self.database, "broker": AMQP_URL, "queue_prefix": prefix, "evidence_dir": "evidence",
            "model": str(model), "grids": "grids.geojson",
            "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01", "G-02"], "shifts": ["Mon-Sun 00:00-24:00"]}],
            "cameras": [{"id": "cam-01", "name": "汇丰购物广场东门", "url": camera_url, "detect_fps": 2,
                         "decode": "keyframes", "open_timeout_s": 5, "read_timeout_s": 5, "reconnect_max_s": 2,
                         "zones": [{"name": "gate-sidewalk", "grid": "G-01", "tags": ["no_parking_non_motor"],
                                    "polygon": GATE_ZONE}]}],
            "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": 6,
                       "accept_within_min": accept_within_min, "resolve_within_min": 60}],
            "escalation": {"grids": {"G-01": CHAIN}, "default": ["street-centre"], "check_every_s": 1},
            "verification": {"look_s": 3, "min_frames": 3, "give_up_s": 60, "retry_s": 30},
            "metrics_port": free_port(),
        }
        self.metrics_url = f"http://127.0.0.1:{config['metrics_port']}/metrics"
        self.file = folder / "site.yaml"
        self.file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.inbox = folder / "w-001-inbox.json"

    def worker(self, *command: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "aibrain", "worker", "--id", "w-001", "--config", str(self.file),
                               "--inbox", str(self.inbox), *command], input=stdin, capture_output=True, text=True,
                              timeout=60, env=os.environ | {"COLUMNS": "200"})
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def open_incidents(self) -> dict[str, dict]:
        self.worker("inbox")
        entries = json.loads(self.inbox.read_text(encoding="utf-8"))["entries"]
        return {key: entry for key, entry in entries.items() if entry["status"] != "verified"}

    def incident(self) -> Incident:
        with session_factory(make_engine(self.database))() as session:
            return session.scalars(select(Incident)).one()

    def trail(self) -> list[tuple[str, str]]:
        with session_factory(make_engine(self.database))() as session:
            events = session.scalars(select(IncidentEvent).order_by(IncidentEvent.id))
            return [(e.action.value, e.actor) for e in events]

    def queue(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def metrics(self) -> dict[str, float]:
        """The Prometheus samples the run exposes, by name and labels."""
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            text = response.read().decode()
        return {name: float(value) for name, value in (line.rsplit(" ", 1) for line in text.splitlines()
                                                       if line and not line.startswith("#"))}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[list[subprocess.Popen]]:
    runs: list[subprocess.Popen] = []
    yield runs
    for run in runs:
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0, (tmp_path / "aibrain.log").read_text()[-3000:]


def start(site: Site, runs: list[subprocess.Popen]) -> subprocess.Popen:
    log = (site.folder / "aibrain.log").open("w")
    run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site.file)], stdout=log,
                           stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    runs.append(run)
    wait_for_queue(site.queue("worker.w-001"), run, 60)
    return run


def test_resolved_and_moved_is_verified(tmp_path: Path, clips: dict[str, Path], yolo_onnx: Path, prefix: str,
                                        running: list[subprocess.Popen]) -> None:
    with RtspServer(clips["bikes"], loop=True) as camera:
        site = Site(tmp_path, camera.url, yolo_onnx, prefix, accept_within_min=30)
        start(site, running)
        wait_until(lambda: len(site.open_incidents()) == 1, 90, "the alert in the worker's inbox")

        out = site.worker(stdin="accept 1\nquit\n")  # interactive
        assert "非机动车乱停放" in out and "汇丰购物广场东门" in out and "accept sent" in out
        wait_until(lambda: site.incident().status == "accepted", 30, "accepted")

        camera.kill()  # the bikes are moved away: the camera now sees the empty pavement
        camera.clip = clips["empty"]
        camera.start()
        out = site.worker("resolve", "1", "--note", "moved both bikes to the rack")
        assert "resolve sent" in out
        wait_until(lambda: site.incident().status == "verified", 90, "verified by the camera")
        metrics = site.metrics()

    assert site.open_incidents() == {}
    assert "no open incidents" in site.worker("inbox")
    assert site.trail() == [("detect", "detector"), ("dispatch", "router"), ("accept", "w-001"),
                            ("resolve", "w-001"), ("verify", "verifier")]
    centre = drain(site.queue("command-centre"), wait_s=5)
    assert [(p.type, body.get("action")) for p, body in centre] == [
        ("alert", None), ("incident_update", "accept"), ("incident_update", "resolve"),
        ("incident_update", "verify")]
    assert drain(site.queue("escalation.leader-g01"), wait_s=1) == []
    assert metrics["aibrain_incidents_total"] == 1 and metrics["aibrain_verifications_total"] == 1
    assert metrics['aibrain_feedback_messages_total{outcome="applied"}'] == 2
    assert metrics['aibrain_frames_detected_total{camera="cam-01"}'] > 10
    assert metrics['aibrain_camera_online{camera="cam-01"}'] == 1 and metrics["aibrain_outbox_unsent"] == 0


def test_missed_accept_escalates_once_and_still_there_is_reopened(
        tmp_path: Path, clips: dict[str, Path], yolo_onnx: Path, prefix: str,
        running: list[subprocess.Popen]) -> None:
    with RtspServer(clips["bikes"], loop=True) as camera:
        site = Site(tmp_path, camera.url, yolo_onnx, prefix, accept_within_min=0.5)
        start(site, running)
        wait_until(lambda: len(site.open_incidents()) == 1, 90, "the alert in the worker's inbox")
        # Nobody accepts within 30 s: the grid leader is told, once.
        [(properties, escalation)] = drain(site.queue("escalation.leader-g01"), wait_s=60)
        assert properties.type == "incident_update" and escalation["action"] == "escalate"
        assert escalation["escalated_to"] == "leader-g01" and escalation["escalation_level"] == 1
        assert escalation["note"].startswith("accept limit missed")

        site.worker("accept", "1")
        wait_until(lambda: site.incident().status == "accepted", 30, "accepted")
        site.worker("resolve", "1", "--note", "asked the owner to move it")  # but the bikes stay
        wait_until(lambda: site.incident().status == "reopened", 90, "reopened by the camera")

    [(_, reopened)] = drain(site.queue("escalation.street-centre"), wait_s=10)
    assert reopened["escalated_to"] == "street-centre" and reopened["status"] == "reopened"
    assert reopened["note"].startswith("reopened: object present in")
    assert drain(site.queue("escalation.leader-g01"), wait_s=1) == [], "no second escalation to the leader"
    [entry] = site.open_incidents().values()
    assert entry["status"] == "reopened"
    assert site.trail()[2:] == [("escalate", "deadline-watcher"), ("accept", "w-001"), ("resolve", "w-001"),
                                ("reopen", "verifier"), ("escalate", "verifier")]
    assert site.incident().escalation_level == 2
