"""Credentials in camera, broker and database URLs never reach a log line, a camera event, or a
command's output, whatever fails: a camera that cannot be reached, a broker refusing the password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.engine import make_url

from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import CameraEvent
from tests.configs.test_load_site import good_site, write_site
from tests.e2e.broker import wait_until
from tests.helpers.live_run import LiveRun
from tests.helpers.rtsp import free_port

pytestmark = pytest.mark.integration

# The camera's and the broker's passwords hold an `@`: the part after it is what a redaction that
# stops at the first `@` would leak.
CAMERA_PASSWORD, BROKER_PASSWORD, DATABASE_SECRET = "Abc@cam-S3cret-71", "mq@S3cret-72", "pg-S3cret-73"
SECRETS = ("cam-S3cret-71", "S3cret-72", DATABASE_SECRET)


def test_no_credential_reaches_logs_events_or_output(tmp_path: Path, pg_url: str, yolo_onnx: Path) -> None:
    database = make_url(pg_url).set(password=DATABASE_SECRET).render_as_string(hide_password=False)  # trust auth
    site = good_site()
    site.update(database=database, broker=f"amqp://guest:{BROKER_PASSWORD}@127.0.0.1:5672/%2F", model=str(yolo_onnx))
    site["cameras"][0]["url"] = f"rtsp://admin:{CAMERA_PASSWORD}@127.0.0.1:{free_port()}/Streaming/Channels/101"
    site["cameras"][0].update(open_timeout_s=2, read_timeout_s=2, reconnect_max_s=2)
    path = write_site(tmp_path, site)

    sessions = session_factory(make_engine(database))

    def camera_reasons() -> list[str]:
        with sessions() as session:
            return [event.reason for event in session.scalars(select(CameraEvent))]

    with LiveRun(path, log_level="DEBUG") as run:
        # The camera refused and retried, the broker's login refused, and the camera's event stored.
        run.wait_for("camera cam-01: offline", 120)
        run.wait_for("the broker refused the user name or password", 120)
        wait_until(lambda: any("rtsp://***@" in reason for reason in camera_reasons()), 120, "the camera event")
    output = run.output
    assert run.returncode == 0, output[-3000:]
    assert "rtsp://***@127.0.0.1" in output and "amqp://***@127.0.0.1" in output
    reasons = camera_reasons()

    bad = dict(site, broker=f"amqp://guest:{BROKER_PASSWORD}@", database=f"mysql://root:{DATABASE_SECRET}@db/x")
    bad["cameras"] = [dict(site["cameras"][0], decode="bogus", detect_fps=-1)]
    check = subprocess.run([sys.executable, "-m", "aibrain", "check-config", str(write_site(tmp_path, bad))],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 2 and "cameras[0] (cam-01).decode" in check.stderr
    for text in (output, check.stdout + check.stderr, *reasons, yaml.safe_dump(reasons)):
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked"
