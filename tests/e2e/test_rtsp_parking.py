"""End to end: parked shared bikes on a real RTSP camera -> `aibrain run` -> the worker's RabbitMQ queue.

The clip is the shared-bike still looped for 60 s (a true parked scene), served by GStreamer's RTSP
server with credentials. Mid-run the server is killed for 10 s: the camera goes offline and back
online, the run goes on, and the parked bike gives no second incident.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pika
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from detector.backends.onnx_backend import OnnxBackend
from detector.zones import Zone
from routing.broker.topology import Topology, delete_topology
from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import CameraEvent, Incident, IncidentEvent
from tests.conftest import AMQP_URL
from tests.e2e.broker import drain, drain_when_declared, wait_for_queue, wait_until
from tests.e2e.site import write_grids
from tests.helpers.media import make_still_clip, read_image
from tests.helpers.rtsp import RtspServer, free_port
from tests.helpers.services import PrivatePostgres, private_service

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PASSWORD = "s3cret-cam-pw"
GATE_ZONE = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]
DWELL_S = 10
CONTRACT_FIELDS = {
    "schema_version", "dispatch_id", "incident_id", "kind", "kind_label_zh", "grid_id", "grid_name", "worker_id",
    "worker_name", "camera_id", "camera_name", "zone", "location", "first_seen", "confirmed_at", "confidence",
    "bbox", "frame_size", "snapshot", "object_kind", "due_by",
}


@pytest.fixture(scope="module")
def parked_bikes_clip(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path) -> Path:
    return make_still_clip(shared_bike_still, tmp_path_factory.mktemp("clips") / "bikes.mp4", seconds=60)


@pytest.fixture
def rtsp_camera(parked_bikes_clip: Path) -> Iterator[RtspServer]:
    with RtspServer(parked_bikes_clip, user="admin", password=PASSWORD, loop=True) as server:
        yield server


@pytest.fixture
def queue_prefix() -> Iterator[str]:
    prefix = f"e2e{uuid.uuid4().hex[:8]}"
    yield prefix
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    delete_topology(connection.channel(), Topology(prefix=prefix, worker_ids=("w-001", "w-002")))
    connection.close()


def write_site(tmp_path: Path, database: str, camera_url: str, prefix: str, model: Path,
               metrics_port: int | None = None) -> Path:
    write_grids(tmp_path / "grids.geojson")
    site = {
        "timezone": "Asia/Shanghai", "database": database, "broker": AMQP_URL, "queue_prefix": prefix,
        "evidence_dir": "evidence", "model": str(model), "grids": "grids.geojson",
        "workers": [
            {"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]},
            {"id": "w-002", "name": "李娜", "grids": ["G-02"], "shifts": ["Mon-Sun 00:00-24:00"]},
        ],
        "cameras": [{
            "id": "cam-01", "name": "汇丰购物广场东门", "url": camera_url, "detect_fps": 2, "decode": "keyframes",
            "open_timeout_s": 5, "read_timeout_s": 5, "reconnect_max_s": 2, "location": [121.472, 31.232],
            "zones": [{"name": "gate-sidewalk", "grid": "G-01", "tags": ["no_parking_non_motor"],
                       "polygon": GATE_ZONE}],
        }],
        "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"], "dwell_s": DWELL_S}],
        "metrics_port": metrics_port,
    }
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(site, allow_unicode=True), encoding="utf-8")
    return path


def bikes_in_and_out_of_zone(model: Path, still: Path) -> tuple[int, int]:
    """What the detector sees on the still: parked bikes inside the gate zone and outside it."""
    backend = OnnxBackend(model)
    image = read_image(still)
    detections = backend.detect([image])[0]
    bikes = detections.select(np.isin(detections.class_id, [1, 3]) & (detections.confidence >= 0.3))
    inside = Zone("gate", frozenset(), tuple((x, y) for x, y in GATE_ZONE)).contains(
        bikes.bottom_centres(), image.shape[1], image.shape[0])
    return int(inside.sum()), int((~inside).sum())


def frames_detected(metrics_url: str) -> float:
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        families = {family.name: family for family in text_string_to_metric_families(response.read().decode())}
    return sum(sample.value for sample in families["aibrain_frames_detected"].samples)


def wait_for_frames_after(moment: float, metrics_url: str) -> None:
    """Until the detector has been through frames taken after `moment` (wall clock): two more frames
    detected once it has passed (the one in hand might be older)."""
    wait_until(lambda: time.time() >= moment, moment - time.time() + 5, "the moment")
    seen = frames_detected(metrics_url)
    wait_until(lambda: frames_detected(metrics_url) >= seen + 2, 60, "frames taken after the moment")


def came_back(states: list[str]) -> bool:
    return "offline" in states and "online" in states[states.index("offline"):]


def camera_states(database: str) -> list[str]:
    with session_factory(make_engine(database))() as session:
        return [e.state for e in session.scalars(select(CameraEvent).order_by(CameraEvent.id))]


def test_parked_bike_alerts_its_grid_worker_once_across_a_camera_outage(
        tmp_path: Path, db_url: str, rtsp_camera: RtspServer, queue_prefix: str,
        yolo_onnx: Path, shared_bike_still: Path) -> None:
    inside, outside = bikes_in_and_out_of_zone(yolo_onnx, shared_bike_still)
    assert inside == 1 and outside >= 1, "the scene must hold parked bikes both inside and outside the zone"

    port = free_port()
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    site = write_site(tmp_path, db_url, rtsp_camera.url, queue_prefix, yolo_onnx, metrics_port=port)
    log_path = tmp_path / "aibrain.log"
    with log_path.open("w") as log_file:
        run = subprocess.Popen([sys.executable, "-m", "aibrain", "--log-level", "DEBUG", "run", "--config", str(site)],
                               stdout=log_file, stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
        try:
            worker_queue = f"{queue_prefix}.worker.w-001"
            alerts = drain_when_declared(worker_queue, run, wait_s=90)
            assert len(alerts) == inside

            rtsp_camera.kill()
            wait_until(lambda: "offline" in camera_states(db_url), 60, "the camera offline")
            rtsp_camera.start()
            wait_until(lambda: came_back(camera_states(db_url)), 60, "the camera online again")
            # Long enough for a duplicate to be confirmed, were dwell reset: frames seen that long after
            # the camera came back have been through the rules.
            wait_for_frames_after(time.time() + DWELL_S + 5, metrics_url)
            alerts += drain(worker_queue, wait_s=2)
        finally:
            run.send_signal(signal.SIGTERM)
            exit_code = run.wait(timeout=60)
    log = log_path.read_text()
    assert exit_code == 0, log[-3000:]

    assert len(alerts) == inside, [a for _, a in alerts]
    properties, alert = alerts[0]
    assert alert.keys() >= CONTRACT_FIELDS
    assert properties.message_id == alert["dispatch_id"]
    assert properties.delivery_mode == 2 and properties.content_type == "application/json"
    assert alert["kind"] == "non_motor_parking" and alert["kind_label_zh"] == "非机动车乱停放"
    assert (alert["grid_id"], alert["worker_id"], alert["worker_name"]) == ("G-01", "w-001", "张伟")
    assert (alert["camera_id"], alert["camera_name"], alert["zone"]) == ("cam-01", "汇丰购物广场东门", "gate-sidewalk")
    assert alert["location"] == {"lon": 121.472, "lat": 31.232}
    assert alert["bbox"][3] > 0.5 * alert["frame_size"][1], "the alert is for the bike inside the zone"
    assert Path(alert["snapshot"]).is_file()
    assert PASSWORD not in json.dumps(alert)
    assert drain(f"{queue_prefix}.worker.w-002", wait_s=1) == []
    assert len(drain(f"{queue_prefix}.command-centre", wait_s=2)) == inside

    with session_factory(make_engine(db_url))() as session:
        incidents = session.scalars(select(Incident)).all()
        assert [(i.kind, i.status, i.worker_id) for i in incidents] == [("non_motor_parking", "dispatched", "w-001")]
        assert len(session.scalars(select(IncidentEvent)).all()) == 2
    states = camera_states(db_url)
    assert came_back(states), states
    assert states.count("offline") == 1, f"one outage, reported once: {states}"

    assert "camera cam-01: offline" in log and "camera cam-01: online" in log
    assert PASSWORD not in log, "camera credentials leaked into the log"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    yield from private_service(PrivatePostgres, "a private PostgreSQL cluster")


def test_database_stopped_mid_run_loses_nothing_and_publishes_only_committed_incidents(
        tmp_path: Path, private_postgres: PrivatePostgres, rtsp_camera: RtspServer, queue_prefix: str,
        yolo_onnx: Path, shared_bike_still: Path) -> None:
    """Acceptance (b): PostgreSQL stops while a bike's dwell runs and the camera drops; the run goes
    on detecting, retries its writes, and once the database is back stores everything and alerts."""
    inside, _ = bikes_in_and_out_of_zone(yolo_onnx, shared_bike_still)
    database = private_postgres.url
    site = write_site(tmp_path, database, rtsp_camera.url, queue_prefix, yolo_onnx)
    log_path = tmp_path / "aibrain.log"
    worker_queue = f"{queue_prefix}.worker.w-001"
    with log_path.open("w") as log_file:
        run = subprocess.Popen([sys.executable, "-m", "aibrain", "run", "--config", str(site)],
                               stdout=log_file, stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"})
        try:
            wait_for_queue(worker_queue, run, 60)
            wait_until(lambda: "online" in camera_states(database), 60, "the camera online")
            private_postgres.stop()  # well before the 10 s dwell is reached
            rtsp_camera.kill()  # and the camera drops while the database is away
            wait_until(lambda: "camera cam-01: offline" in log_path.read_text(), 60, "the camera offline")
            rtsp_camera.start()
            wait_until(lambda: "confirmed: camera cam-01 zone" in log_path.read_text(), 90,
                       "the bike confirmed while the database is away")
            wait_until(lambda: "storing HealthEvent failed (OperationalError" in log_path.read_text(), 60,
                       "a camera event's write retried")
            assert run.poll() is None, "aibrain run must survive the database outage"
            assert drain(worker_queue, wait_s=1) == [], "no alert may go out before its incident is committed"
            private_postgres.start()
            alerts = drain(worker_queue, wait_s=90)
        finally:
            run.send_signal(signal.SIGTERM)
            exit_code = run.wait(timeout=60)
    log = log_path.read_text()
    assert exit_code == 0, log[-3000:]
    assert "storing HealthEvent failed (OperationalError" in log, "writes were retried, not dropped"
    assert "Traceback" not in log, "an expected outage is a warning line, not a crash report"

    assert len(alerts) == inside
    with session_factory(make_engine(database))() as session:
        incidents = session.scalars(select(Incident)).all()
        assert [i.id for i in incidents] == [alerts[0][1]["incident_id"]]
        assert incidents[0].confirmed_at < datetime.now(UTC) - timedelta(seconds=5), "confirmed during the outage"
    states = camera_states(database)
    assert came_back(states) and states.count("offline") == 1, states
