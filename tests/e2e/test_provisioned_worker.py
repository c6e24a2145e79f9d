"""End to end with the broker users `aibrain broker provision` makes: `aibrain run` connects as the site's
pipeline user, the worker as their own provisioned user (from the credentials file), and the worker's
accept and resolve are applied by the pipeline through to verification. The run's /metrics then shows
every family aibrain/metrics.py declares, with the values this run must have.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric

from aibrain.broker_settings import url_as
from routing.admin_http import ManagementApi
from routing.broker_admin import BrokerAdminError
from tests.broker.conftest import ADMIN_URL
from tests.conftest import AMQP_URL, unavailable
from tests.e2e.broker import drain, wait_until
from tests.e2e.loop_site import Site, start
from tests.e2e.metrics import assert_sane, declared_families, samples, served_families, value
from tests.helpers.rtsp import RtspServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def broker_users(prefix: str) -> Iterator[ManagementApi]:
    """The management API; the users provisioned under `prefix` are deleted afterwards."""
    api = ManagementApi(ADMIN_URL)
    try:
        api.users()
    except BrokerAdminError as exc:
        unavailable("RabbitMQ management API", exc)
    yield api
    for user in api.users():
        if user.startswith(prefix):
            api.delete_user(user)


def provision(site: Site) -> str:
    """`aibrain broker provision` as an operator runs it; returns w-001's URL from the credentials file."""
    credentials = site.folder / "workers.txt"
    done = subprocess.run([sys.executable, "-m", "aibrain", "broker", "provision", "--config", str(site.file),
                           "--admin-url", ADMIN_URL, "--credentials-out", str(credentials)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    [url] = [line for line in credentials.read_text(encoding="utf-8").splitlines() if line.startswith("amqp")]
    return url


def test_worker_as_their_own_provisioned_user_closes_the_loop_and_metrics_show_it(
        tmp_path: Path, clips: dict[str, Path], yolo_onnx: Path, prefix: str, broker_users: ManagementApi,
        running: list[subprocess.Popen]) -> None:
    pipeline_url = url_as(AMQP_URL, f"{prefix}-pipeline", f"pipeline-{uuid.uuid4().hex}")
    with RtspServer(clips["bikes"], loop=True) as camera:
        site = Site(tmp_path, camera.url, yolo_onnx, prefix, broker=pipeline_url)
        site.worker_broker = provision(site)
        worker_user = f"{prefix}-worker-w-001"
        assert f"amqp://{worker_user}:" in site.worker_broker
        assert {worker_user, f"{prefix}-pipeline"} <= set(broker_users.users())
        start(site, running)
        wait_until(lambda: len(site.open_incidents()) == 1, 90, "the alert in the worker's inbox")

        assert "accept sent" in site.worker("accept", "1")
        wait_until(lambda: site.incident().status == "accepted", 30, "accepted")
        camera.kill()  # the bikes are moved away: the camera now sees the empty pavement
        camera.clip = clips["empty"]
        camera.start()
        assert "resolve sent" in site.worker("resolve", "1", "--note", "moved both bikes to the rack")
        wait_until(lambda: site.incident().status == "verified", 90, "verified by the camera")

        declared = declared_families()
        served: dict[str, Metric] = {}

        def every_family_served() -> bool:
            served.update(served_families(site.metrics_text()))
            return declared <= served.keys() and value(served, "aibrain_outbox_unsent") == 0

        wait_until(every_family_served, 30, f"every declared family on /metrics: {declared - served.keys()}")

    assert site.trail() == [("detect", "detector"), ("dispatch", "router"), ("accept", "w-001"),
                            ("resolve", "w-001"), ("verify", "verifier")]
    centre = drain(site.queue("command-centre"), wait_s=5)
    assert [(p.type, body.get("action")) for p, body in centre] == [
        ("alert", None), ("incident_update", "accept"), ("incident_update", "resolve"),
        ("incident_update", "verify")]

    assert_sane(served)
    assert value(served, "aibrain_incidents") == 1 and value(served, "aibrain_verifications") == 1
    assert value(served, "aibrain_messages_published") == len(centre)
    assert value(served, "aibrain_feedback_messages", outcome="applied") == 2
    assert [v for _, v in samples(served["aibrain_feedback_rejected"])] in ([], [0.0])
    assert value(served, "aibrain_feedback_requeued") == 0 and value(served, "aibrain_dead_letter_messages") == 0
    assert value(served, "aibrain_store_retries") == 0 and value(served, "aibrain_escalations") == 0
    assert value(served, "aibrain_frames_detected", camera="cam-01") > 10
    assert value(served, "aibrain_frames_dropped", camera="cam-01") >= 0
    assert value(served, "aibrain_camera_online", camera="cam-01") == 1
    assert {labels["camera"] for labels, _ in samples(served["aibrain_frames_unusable"])} == {"cam-01"}

