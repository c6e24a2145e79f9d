"""End to end: the closed loop for a grid worker, through `aibrain run` and `aibrain worker`.

A real RTSP camera shows parked shared bikes; the pipeline alerts worker w-001. The worker accepts
and resolves with the `aibrain worker` command (interactively and one command at a time), connected
as their own RabbitMQ user where the site's users were provisioned. Then the camera looks again:
when the bikes were moved (the camera now shows the same pavement with them painted out) the
incident is verified; when they are still there it is reopened and the next level of the grid's
escalation chain is told. An accept limit missed escalates once, to the first level.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric

from aibrain.broker_setup.broker_settings import url_as
from routing.broker.management_api import ManagementApi
from tests.broker.conftest import ADMIN_URL, admin_api  # noqa: F401  (a fixture, used by broker_users)
from tests.conftest import AMQP_URL
from tests.e2e.broker import drain, wait_until
from tests.e2e.loop_site import Site, start
from tests.e2e.metrics import (
    assert_sane,
    declared_families,
    histogram_count,
    load_dashboard,
    queried_names,
    samples,
    series_names,
    served_families,
    value,
)
from tests.helpers.rtsp import RtspServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def broker_users(prefix: str, admin_api: ManagementApi) -> Iterator[ManagementApi]:  # noqa: F811
    """The management API; the users provisioned under `prefix` are deleted afterwards."""
    yield admin_api
    for user in admin_api.users():
        if user.startswith(prefix):
            admin_api.delete_user(user)


def provision(site: Site) -> str:
    """`aibrain broker provision` as an operator runs it; returns w-001's URL from the credentials file."""
    credentials = site.folder / "workers.txt"
    done = subprocess.run([sys.executable, "-m", "aibrain", "broker", "provision", "--config", str(site.file),
                           "--admin-url", ADMIN_URL, "--credentials-out", str(credentials)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    [url] = [line for line in credentials.read_text(encoding="utf-8").splitlines() if line.startswith("amqp")]
    return url


def test_resolved_and_moved_is_verified(tmp_path: Path, clips: dict[str, Path], yolo_onnx: Path, prefix: str,
                                        broker_users: ManagementApi, running: list[subprocess.Popen]) -> None:
    """With the users `aibrain broker provision` makes: the run as the site's pipeline user, the worker as
    their own (from the credentials file); every metric family declared is served, with this run's values, the
    latency histograms among them, and every series the Grafana dashboard queries is served."""
    with RtspServer(clips["bikes"], loop=True) as camera:
        site = Site(tmp_path, camera.url, yolo_onnx, prefix, accept_within_min=30,
                    broker=url_as(AMQP_URL, f"{prefix}-pipeline", f"pipeline-{uuid.uuid4().hex}"))
        site.worker_broker = provision(site)
        worker_user = f"{prefix}-worker-w-001"
        assert f"amqp://{worker_user}:" in site.worker_broker
        assert {worker_user, f"{prefix}-pipeline"} <= set(broker_users.users())
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
        metrics = every_declared_family(site)

    assert site.open_incidents() == {}
    assert "no open incidents" in site.worker("inbox")
    assert site.trail() == [("detect", "detector"), ("dispatch", "router"), ("accept", "w-001"),
                            ("resolve", "w-001"), ("verify", "verifier")]
    centre = drain(site.queue("command-centre"), wait_s=5)
    assert [(p.type, body.get("action")) for p, body in centre] == [
        ("alert", None), ("incident_update", "accept"), ("incident_update", "resolve"),
        ("incident_update", "verify")]
    assert drain(site.queue("escalation.leader-g01"), wait_s=1) == []

    assert_sane(metrics)
    assert value(metrics, "aibrain_incidents") == 1 and value(metrics, "aibrain_verifications") == 1
    assert value(metrics, "aibrain_messages_published") == len(centre) and value(metrics, "aibrain_outbox_unsent") == 0
    assert value(metrics, "aibrain_feedback_messages", outcome="applied") == 2
    assert [v for _, v in samples(metrics["aibrain_feedback_rejected"])] in ([], [0.0])
    assert value(metrics, "aibrain_feedback_requeued") == 0 and value(metrics, "aibrain_dead_letter_messages") == 0
    assert value(metrics, "aibrain_store_retries") == 0 and value(metrics, "aibrain_escalations") == 0
    assert value(metrics, "aibrain_intake_parked") == 0 and value(metrics, "aibrain_intake_replayed") == 0
    assert value(metrics, "aibrain_frames_detected", camera="cam-01") > 10
    assert value(metrics, "aibrain_frames_dropped", camera="cam-01") >= 0
    assert value(metrics, "aibrain_camera_online", camera="cam-01") == 1
    assert {labels["camera"] for labels, _ in samples(metrics["aibrain_frames_unusable"])} == {"cam-01"}
    # Each frame's age is taken as its batch starts, before it is counted as detected (read first by the scrape).
    assert histogram_count(metrics, "aibrain_frame_age_seconds") >= value(metrics, "aibrain_frames_detected",
                                                                          camera="cam-01")
    assert histogram_count(metrics, "aibrain_inference_seconds") > 0
    assert histogram_count(metrics, "aibrain_incident_commit_seconds") == 1
    assert histogram_count(metrics, "aibrain_broker_confirm_seconds") == len(centre)
    assert queried_names(load_dashboard()) <= series_names(metrics), "the dashboard queries series not served"


def every_declared_family(site: Site) -> dict[str, Metric]:
    """The run's metric families, once every one aibrain/live/metrics.py declares is served and the outbox is empty."""
    declared, served = declared_families(), {}

    def all_served() -> bool:
        served.update(served_families(site.metrics_text()))
        return declared <= served.keys() and value(served, "aibrain_outbox_unsent") == 0

    wait_until(all_served, 30, f"every declared family on /metrics: {declared - served.keys()}")
    return served


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
