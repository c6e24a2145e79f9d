"""Liveness (issue 8, point 11): a role thread that dies is noticed, logged and restarted, or the
process exits for its own supervisor to restart; /healthz and /readyz on the metrics port.

Role threads are killed for real: scripts/lib/chaos_run.py raises inside the running thread, as a
crash of its loop would.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

import pika
import pytest
import yaml
from sqlalchemy import func, select

from aibrain.assets import PROJECT_ROOT
from aibrain.live.live_run import LiveRun
from aibrain.live.supervisor import EXIT_ROLE_FAILED, RestartPolicy, RoleState, Supervisor
from common.role import ThreadRole
from routing.broker.relay import OutboxRelay
from routing.broker.topology import delete_topology
from routing.incidents.database import make_engine, session_factory
from routing.incidents.intake import RoutingIntake
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident
from scripts.lib.chaos_run import kill_role_thread
from tests.conftest import AMQP_URL
from tests.e2e.site import write_grids
from tests.helpers.media import make_still_clip
from tests.helpers.rtsp import free_port
from tests.routing.helpers import make_dispatcher, make_topology, violation

CHAOS_RUN = PROJECT_ROOT / "scripts" / "lib" / "chaos_run.py"


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def role_class(annotation: Any) -> type[ThreadRole] | None:
    """The role class a LiveRun field holds (alone, optional or in a list), or None for other fields."""
    if isinstance(annotation, UnionType) or get_origin(annotation) is list:
        return next((found for arg in get_args(annotation) if (found := role_class(arg))), None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, ThreadRole) else None


def test_every_role_thread_a_live_run_holds_is_under_its_supervisor() -> None:
    """A role left out of `roles()` would die unnoticed: neither restarted nor in /healthz."""
    hints = get_type_hints(LiveRun)
    run = object.__new__(LiveRun)  # its fields set by hand: no camera, model or database needed
    held: list[ThreadRole] = []
    for field in fields(LiveRun):
        if (cls := role_class(hints[field.name])) is None:
            continue
        several = get_origin(hints[field.name]) is list
        roles = [object.__new__(cls) for _ in range(2 if several else 1)]
        held += roles
        setattr(run, field.name, roles if several else roles[0])
    assert {type(role).__name__ for role in held} >= {
        "CameraReader", "InferenceLoop", "RoutingIntake", "OutboxRelay", "FeedbackConsumer", "DeadlineWatcher",
        "VerificationCoordinator"}
    watched = {id(role) for role in run.roles()}
    assert [type(role).__name__ for role in held if id(role) not in watched] == []


def test_a_crashed_role_is_restarted_and_one_that_keeps_crashing_is_given_up(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db_url = f"sqlite:///{tmp_path / 'aibrain.db'}"
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    stop = threading.Event()
    intake = RoutingIntake(make_dispatcher(sessions, make_topology("liveness")), stop)
    supervisor = Supervisor([intake], RestartPolicy(backoff_initial_s=1.0, backoff_max_s=1.0, max_crashes=2))
    intake.start()
    try:
        assert supervisor.check() and supervisor.healthy()
        with caplog.at_level(logging.INFO):
            assert kill_role_thread("routing-intake")

            def noticed() -> bool:
                supervisor.check()
                return supervisor.states()["routing-intake"] is RoleState.RESTARTING

            wait_for(noticed, 10.0, "the crash noticed")
            assert not supervisor.healthy()

            def restarted() -> bool:
                supervisor.check()
                return intake.alive()

            wait_for(restarted, 10.0, "the role restarted")
        assert supervisor.restarts() == {"routing-intake": 1} and supervisor.healthy()
        assert "role routing-intake crashed (RoleKilled" in caplog.text and "RoleKilled" in caplog.text
        assert "role routing-intake: restarting (restart 1)" in caplog.text

        intake.submit(violation(track_id=1))  # the restarted role works

        def stored() -> bool:
            with sessions() as session:
                return session.scalar(select(func.count()).select_from(Incident)) == 1

        wait_for(stored, 30.0, "the violation stored by the restarted intake")

        for _ in range(2):  # two crashes more: over max_crashes within the window
            wait_for(lambda: supervisor.check() and intake.alive(), 10.0, "the role running")
            assert kill_role_thread("routing-intake")
            wait_for(intake.crashed, 10.0, "the thread ended")
        assert not supervisor.check()
        assert supervisor.gave_up == "routing-intake" and not supervisor.healthy()
    finally:
        stop.set()
        intake.join(10)
        engine.dispose()


def test_a_crashed_broker_role_closes_its_connection(tmp_path: Path) -> None:
    """Else the broker keeps the dead thread's connection, and the deliveries it holds, until
    heartbeats time out, while the restarted role opens another."""
    db_url = f"sqlite:///{tmp_path / 'aibrain.db'}"
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    stop = threading.Event()
    topology = make_topology(f"liveness-{uuid.uuid4().hex[:8]}")
    relay = OutboxRelay(AMQP_URL, session_factory(engine), topology, stop)
    relay.start()
    try:
        connection = wait_for(lambda: relay._connection, 30.0, "the relay connected")
        assert connection.is_open
        assert kill_role_thread("outbox-relay")
        wait_for(relay.crashed, 10.0, "the relay's thread ended")
        assert connection.is_closed
    finally:
        stop.set()
        relay.join(10)
        engine.dispose()
        cleanup = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        delete_topology(cleanup.channel(), topology)
        cleanup.close()


# -- a live `aibrain run` (through the chaos launcher) ---------------------------------------------

class LiveSite:
    """A one-camera site (a looped file), SQLite, no broker, the metrics port."""

    def __init__(self, folder: Path, clip: Path, model: Path, metrics_port: int) -> None:
        self.folder = folder
        write_grids(folder / "grids.geojson")
        config = {
            "database": f"sqlite:///{folder / 'aibrain.db'}", "evidence_dir": "evidence", "model": str(model),
            "grids": "grids.geojson", "metrics_port": metrics_port,
            "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
            "cameras": [{"id": "cam-01", "name": "东门", "url": str(clip), "loop": True, "detect_fps": 2,
                         "zones": [{"name": "gate", "grid": "G-01", "tags": ["no_parking_non_motor"],
                                    "polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}],
            "rules": [{"kind": "non_motor_parking", "zone_tags": ["no_parking_non_motor"]}],
        }
        self.file = folder / "site.yaml"
        self.file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        self.base_url = f"http://127.0.0.1:{metrics_port}"
        self.log = folder / "aibrain.log"

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("w") as log:
            return subprocess.Popen([sys.executable, str(CHAOS_RUN), "run", "--config", str(self.file)], stdout=log,
                                    stderr=subprocess.STDOUT, env=os.environ | {"PYTHONUNBUFFERED": "1"},
                                    cwd=PROJECT_ROOT)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def logged(self) -> str:
        return self.log.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def still_clip(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path) -> Path:
    return make_still_clip(shared_bike_still, tmp_path_factory.mktemp("liveness") / "bikes.mp4", seconds=10)


@pytest.fixture
def site(tmp_path: Path, still_clip: Path, yolo_onnx: Path) -> LiveSite:
    return LiveSite(tmp_path, still_clip, yolo_onnx, free_port())


@pytest.fixture
def runs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for run in started:
        if run.poll() is None:
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=60)


@pytest.mark.e2e
def test_live_run_answers_health_restarts_a_killed_role_and_exits_when_it_keeps_dying(
        site: LiveSite, runs: list[subprocess.Popen[bytes]]) -> None:
    run = site.start()
    runs.append(run)

    def answers(path: str, status: int) -> Callable[[], dict[str, Any] | None]:
        def check() -> dict[str, Any] | None:
            assert run.poll() is None, site.logged()[-3000:]
            code, body = site.get(path)
            return json.loads(body) if code == status else None
        return check

    ready = wait_for(answers("/readyz", 200), 120.0, "/readyz 200")
    assert ready == {"ready": True, "database": "ok", "cameras_online": 1, "cameras": {"cam-01": "online"}}
    health = wait_for(answers("/healthz", 200), 10.0, "/healthz 200")
    assert health["status"] == "ok" and health["roles"]["inference"] == "alive"
    assert set(health["roles"]) == {"routing-intake", "deadline-watcher", "verification", "camera-pictures",
                                   "inference", "reader-cam-01"}

    run.send_signal(signal.SIGUSR1)  # the chaos launcher kills the inference thread
    wait_for(lambda: "role inference: restarting (restart 1)" in site.logged(), 10.0, "the restart logged")
    logged = site.logged()
    assert "chaos: killed role thread inference" in logged and "role inference crashed (RoleKilled" in logged
    code, metrics = site.get("/metrics")
    assert code == 200 and 'aibrain_role_restarts_total{role="inference"} 1.0' in metrics
    wait_for(answers("/healthz", 200), 10.0, "/healthz 200 again")
    frames_before = frames_detected(site)
    wait_for(lambda: frames_detected(site) > frames_before, 30.0, "frames detected after the restart")

    # Killed again each time it is back: more crashes than the policy allows, so the process exits.
    # (No signal once it gives up: an exiting interpreter restores SIGUSR1's default, which kills.)
    deadline = time.monotonic() + 180
    unhealthy: list[dict[str, Any]] = []  # /healthz while a crashed role waits (backoffs grow to 10 s)
    while "giving up" not in site.logged() and run.poll() is None and time.monotonic() < deadline:
        run.send_signal(signal.SIGUSR1)
        code, body = site.get("/healthz")
        if code == 503:
            unhealthy.append(json.loads(body))
        time.sleep(0.5)
    assert run.wait(timeout=60) == EXIT_ROLE_FAILED, site.logged()[-3000:]
    assert any(body["status"] == "failing" and body["roles"]["inference"] == "restarting" for body in unhealthy)
    assert "role inference crashed 6 times" in site.logged()


def frames_detected(site: LiveSite) -> float:
    _, metrics = site.get("/metrics")
    for line in metrics.splitlines():
        if line.startswith('aibrain_frames_detected_total{camera="cam-01"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.e2e
def test_a_metrics_port_in_use_stops_the_start_before_any_camera(site: LiveSite) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(site.base_url.rsplit(":", 1)[1])))
        taken.listen()
        run = subprocess.run([sys.executable, "-m", "aibrain", "run", "--config", str(site.file)],
                             capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)
    port = site.base_url.rsplit(":", 1)[1]
    assert run.returncode == 2, run.stderr
    assert f"{site.file}: metrics_port: port {port} on 127.0.0.1 cannot be opened" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "reader" not in run.stderr and "running" not in run.stderr
    assert not (site.folder / "aibrain.db").exists(), "stopped before the database and the cameras"
