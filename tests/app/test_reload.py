"""Issue 10, points 5 and 6: `aibrain run` applies a changed site file without a restart, refuses an
invalid one (keeping what runs), and keeps a small picture and the state of each camera for the
workbench. Real runs on real footage: file cameras looping the street clip whose sidewalk holds a
parked car (one motor_parking incident after a 4 s dwell in a zone around it)."""

from __future__ import annotations

import copy
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pika
import pytest
import yaml
from sqlalchemy import select

from aibrain.broker_setup.broker_settings import site_topology
from aibrain.live.camera_pictures import MAX_WIDTH
from aibrain.live.live_files import camera_picture, live_dir, read_camera_status, read_reload_outcome
from aibrain.live.live_run import LiveRun
from aibrain.live.site_watch import SiteFileWatch
from configs.load import Site, load_site
from routing.broker.topology import delete_topology
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.tables import Incident
from tests.conftest import AMQP_URL, unavailable
from tests.e2e.broker import wait_until
from tests.e2e.replay_site import CAR_ZONE, DWELL_S, SKY_ZONE
from tests.e2e.site import write_grids
from tests.helpers.live_run import LiveRun as LiveRunProcess


class SignalledRun(LiveRunProcess):
    def send_signal(self, number: int) -> None:
        assert self._process is not None
        self._process.send_signal(number)


def camera(camera_id: str, clip: Path, polygon: list[list[float]]) -> dict[str, Any]:
    return {"id": camera_id, "name": f"路口 {camera_id}", "url": str(clip), "loop": True, "detect_fps": 2,
            "decode": "sampled", "location": [121.472, 31.232],
            "zones": [{"name": "sidewalk", "grid": "G-01", "tags": ["no_parking_motor"], "polygon": polygon}]}


def site_config(folder: Path, model: Path, cameras: list[dict[str, Any]]) -> dict[str, Any]:
    write_grids(folder / "grids.geojson")
    return {
        "database": f"sqlite:///{folder / 'aibrain.db'}", "model": str(model), "grids": "grids.geojson",
        "evidence_dir": "var/evidence",
        "workers": [{"id": "w-001", "name": "张伟", "grids": ["G-01"], "shifts": ["Mon-Sun 00:00-24:00"]}],
        "cameras": cameras,
        "rules": [{"kind": "motor_parking", "zone_tags": ["no_parking_motor"], "dwell_s": DWELL_S}],
    }


def write(folder: Path, config: dict[str, Any]) -> Path:
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def incident_cameras(run: LiveRun) -> list[str]:
    with run.sessions() as session:
        return list(session.scalars(select(Incident.camera_id)))


def test_a_reload_is_due_on_sighup_and_when_the_content_changed_not_when_only_touched(tmp_path: Path) -> None:
    site_file = tmp_path / "site.yaml"
    site_file.write_text("cameras: []\n")
    now = [0.0]
    watch = SiteFileWatch(site_file, every_s=2.0, clock=lambda: now[0])
    assert watch.due() is None
    site_file.write_text("cameras: []\n")  # saved again, the same content
    now[0] = 2.0
    assert watch.due() is None
    site_file.write_text("cameras: [cam-01]\n")
    now[0] = 3.0
    assert watch.due() is None  # not yet time to look
    now[0] = 4.0
    assert watch.due() == "the file changed"
    now[0] = 6.0
    assert watch.due() is None
    watch.request()
    assert watch.due() == "SIGHUP" and watch.due() is None


@pytest.fixture
def running(tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> Iterator[tuple[LiveRun, dict[str, Any]]]:
    """An in-process live run of cam-a (its zone on the sky: no incident) and cam-b (its zone around the
    car), started; the test is the thread that supervises it, so it calls `reload` itself."""
    config = site_config(tmp_path, yolo_onnx, [camera("cam-a", pialin_street, SKY_ZONE),
                                               camera("cam-b", pialin_street, CAR_ZONE)])
    site = load_site(write(tmp_path, config))
    upgrade_to_head(site.database_url())
    run = LiveRun.build(site, list(site.config.cameras), threading.Event())
    run.start()
    try:
        yield run, config
    finally:
        run.shutdown()


def test_a_reload_applies_a_zone_change_adds_and_removes_cameras_and_leaves_the_others_running(
        running: tuple[LiveRun, dict[str, Any]], tmp_path: Path, pialin_street: Path) -> None:
    run, config = running
    live = live_dir(run.site.path(run.site.config.evidence_dir))
    wait_until(lambda: "cam-b" in incident_cameras(run), 40, "cam-b's parked car becomes an incident")
    assert "cam-a" not in incident_cameras(run)
    state_a, state_b = run.inference.cameras["cam-a"], run.inference.cameras["cam-b"]
    tracker_b, engine_b = state_b.tracker, state_b.engine
    readers = {reader.settings.camera_id: reader for reader in run.readers}

    changed = copy.deepcopy(config)
    changed["cameras"][0]["zones"][0]["polygon"] = CAR_ZONE
    changed["cameras"].append(camera("cam-c", pialin_street, SKY_ZONE))
    changed["detector"] = {"max_batch": 2}
    write(tmp_path, changed)
    outcome = run.reload()

    assert outcome.ok and outcome.problems == []
    assert outcome.changes == ["cameras added: cam-c", "zones and rules rebuilt: cam-a",
                               "camera names, locations and zone grids changed"]
    assert outcome.needs_restart == ["detector.max_batch"]
    assert read_reload_outcome(live) == outcome
    wait_until(lambda: "cam-c" in run.inference.cameras, 5, "the inference loop takes the change")
    # cam-b untouched: the same reader, detector state, tracker and rules (its dwell timers).
    assert run.inference.cameras["cam-b"] is state_b and state_b.tracker is tracker_b and state_b.engine is engine_b
    assert next(r for r in run.readers if r.settings.camera_id == "cam-b") is readers["cam-b"]
    assert readers["cam-b"].alive()
    # cam-a: its reader goes on, its tracks too; its rules are new, on the new zone.
    new_a = run.inference.cameras["cam-a"]
    assert new_a is not state_a and new_a.engine is not state_a.engine and new_a.tracker is state_a.tracker
    assert [zone.polygon for zone in new_a.engine.zones] == [tuple(map(tuple, CAR_ZONE))]
    assert next(r for r in run.readers if r.settings.camera_id == "cam-a") is readers["cam-a"]
    assert run.site.config.detector.max_batch == 8  # restart-only: as started
    assert sorted(run.supervisor.states()) == sorted(
        ["routing-intake", "deadline-watcher", "verification", "camera-pictures", "inference",
         "reader-cam-a", "reader-cam-b", "reader-cam-c"])

    wait_until(lambda: "cam-a" in incident_cameras(run), 40, "the car in cam-a's new zone becomes an incident")
    wait_until(lambda: camera_picture(live, "cam-c") is not None, 20, "cam-c's picture")
    wait_until(lambda: read_camera_status(live).get("cam-c", None) is not None
               and read_camera_status(live)["cam-c"].fps > 0, 20, "cam-c's frames/s")
    status = read_camera_status(live)
    assert status["cam-c"].state == "online" and status["cam-c"].since is not None
    assert status["cam-b"].last_incident_at is not None
    picture = camera_picture(live, "cam-c")
    assert picture is not None
    image = cv2.imdecode(np.frombuffer(picture.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] <= MAX_WIDTH and image.std() > 10  # the street, not a blank

    config["cameras"][1]["detect_fps"] = 3
    write(tmp_path, config)  # cam-c removed, cam-a's zone back on the sky, cam-b read at another rate
    outcome = run.reload()
    assert outcome.changes == ["cameras removed: cam-c", "readers restarted: cam-b", "zones and rules rebuilt: cam-a",
                               "camera names, locations and zone grids changed"]
    wait_until(lambda: "cam-c" not in run.inference.cameras, 5, "cam-c's detector state dropped")
    assert "cam-c" not in {reader.settings.camera_id for reader in run.readers}
    assert "reader-cam-c" not in run.supervisor.states()
    assert camera_picture(live, "cam-c") is None
    wait_until(lambda: "cam-c" not in read_camera_status(live), 5, "cam-c gone from the camera states")
    # cam-b: a new reader at the new rate, the old one ended; its detector state (tracks, timers) kept.
    reader_b = next(r for r in run.readers if r.settings.camera_id == "cam-b")
    assert reader_b is not readers["cam-b"] and reader_b.settings.detect_fps == 3
    assert readers["cam-b"].join(10) and reader_b.alive()
    assert run.inference.cameras["cam-b"] is state_b
    frames_b = run.inference.stats.cameras["cam-b"].frames
    wait_until(lambda: run.inference.stats.cameras["cam-b"].frames > frames_b + 3, 10, "cam-b's new reader's frames")


def test_an_invalid_file_is_refused_and_the_running_configuration_kept(
        running: tuple[LiveRun, dict[str, Any]], tmp_path: Path) -> None:
    run, config = running
    before = dict(run.inference.cameras)
    running_site: Site = run.site
    broken = copy.deepcopy(config)
    broken["cameras"][0]["zones"][0]["polygon"] = [[0.1, 0.1], [0.2, 0.2]]
    broken["workers"][0]["shifts"] = ["Someday 08:00-20:00"]
    write(tmp_path, broken)

    outcome = run.reload()

    assert not outcome.ok and outcome.changes == []
    assert any("cameras[0] (cam-a).zones[0] (sidewalk).polygon" in problem and "at least 3 points" in problem
               for problem in outcome.problems), outcome.problems
    assert any("workers[0] (w-001).shifts" in problem for problem in outcome.problems), outcome.problems
    assert read_reload_outcome(live_dir(run.site.path(run.site.config.evidence_dir))) == outcome
    assert run.site is running_site and run.inference.cameras == before
    assert all(reader.alive() for reader in run.readers)


def test_the_run_reloads_when_the_file_changes_and_on_sighup(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    """`aibrain run` as started by an operator: the file saved by another process is applied within a
    few seconds; SIGHUP reloads it too; a broken file is refused in the log and in reload.json."""
    config = site_config(tmp_path, yolo_onnx, [camera("cam-a", pialin_street, SKY_ZONE)])
    site_file = write(tmp_path, config)
    live = tmp_path / "var" / "live"
    with SignalledRun(site_file) as run:
        run.wait_for("running 1 camera(s)", 60)
        wait_until(lambda: "cam-a" in read_camera_status(live), 20, "cam-a's state")

        config["cameras"].append(camera("cam-b", pialin_street, CAR_ZONE))
        write(tmp_path, config)
        run.wait_for("site reload of", 15)
        run.wait_for("applied: cameras added: cam-b", 1)
        wait_until(lambda: camera_picture(live, "cam-b") is not None, 20, "cam-b's picture")
        assert read_camera_status(live)["cam-b"].state == "online"

        run.send_signal(signal.SIGHUP)
        run.wait_for("(SIGHUP)", 10)
        run.wait_for("applied: nothing changed", 10)

        config["cameras"][1]["detect_fps"] = -1
        write(tmp_path, config)
        run.wait_for("refused: 1 problem(s)", 15)
        outcome = read_reload_outcome(live)
        assert outcome is not None and not outcome.ok
        assert "cameras[1] (cam-b).detect_fps" in outcome.problems[0]
        run.wait_for("violation", 40)  # cam-b still runs, as configured before: its parked car is confirmed
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.integration
def test_a_worker_added_by_a_reload_gets_their_queue_declared(
        tmp_path: Path, pialin_street: Path, yolo_onnx: Path) -> None:
    try:
        admin = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    except pika.exceptions.AMQPError as exc:
        unavailable("RabbitMQ", exc)
    prefix = f"reload{uuid.uuid4().hex[:8]}"
    config = site_config(tmp_path, yolo_onnx, [camera("cam-a", pialin_street, SKY_ZONE)])
    config |= {"broker": AMQP_URL, "queue_prefix": prefix}
    site = load_site(write(tmp_path, config))
    upgrade_to_head(site.database_url())
    run = LiveRun.build(site, list(site.config.cameras), threading.Event())

    def queue_exists(queue: str) -> bool:
        try:
            admin.channel().queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            return False
        return True

    run.start()
    try:
        wait_until(lambda: queue_exists(f"{prefix}.worker.w-001"), 20, "the relay declares its topology")
        assert not queue_exists(f"{prefix}.worker.w-002")
        config["workers"].append({"id": "w-002", "name": "李娜", "grids": ["G-02"], "shifts": ["Mon-Sun 08:00-20:00"]})
        write(tmp_path, config)

        outcome = run.reload()

        assert outcome.changes == ["workers and shifts changed", "workers added (w-002): give them their broker "
                                   "users with `aibrain broker provision`"]
        wait_until(lambda: queue_exists(f"{prefix}.worker.w-002"), 20, "the relay declares the new worker's queue")
        assert run.loop.topology.worker_ids == ("w-001", "w-002")
    finally:
        run.shutdown()
        delete_topology(admin.channel(), site_topology(run.site))
        admin.close()
