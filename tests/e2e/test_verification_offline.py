"""End to end: the camera is offline when the worker resolves, so it cannot look again. After give_up_s the
incident is verification_pending; once the camera is back, it looks again after retry_s and verifies.

A real RTSP camera shows parked shared bikes, `aibrain run` alerts w-001, who accepts; the camera's RTSP
server is then killed, the worker resolves, and the server comes back showing the pavement without bikes.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from routing.incidents.database import make_engine, session_factory
from routing.incidents.tables import CameraEvent
from tests.e2e.broker import wait_until
from tests.e2e.loop_site import Site, start
from tests.helpers.rtsp import RtspServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

GIVE_UP_S, RETRY_S = 12, 8
VERIFICATION = {"look_s": 2, "min_frames": 2, "give_up_s": GIVE_UP_S, "retry_s": RETRY_S}


def camera_states(site: Site) -> list[str]:
    with session_factory(make_engine(site.database))() as session:
        return [event.state for event in session.scalars(select(CameraEvent).order_by(CameraEvent.id))]


def test_camera_offline_at_resolve_is_verification_pending_then_verified_when_back(
        tmp_path: Path, clips: dict[str, Path], yolo_onnx: Path, prefix: str,
        running: list[subprocess.Popen]) -> None:
    with RtspServer(clips["bikes"], loop=True) as camera:
        site = Site(tmp_path, camera.url, yolo_onnx, prefix, verification=VERIFICATION)
        start(site, running)
        wait_until(lambda: len(site.open_incidents()) == 1, 90, "the alert in the worker's inbox")
        site.worker("accept", "1")
        wait_until(lambda: site.incident().status == "accepted", 30, "accepted")

        camera.kill()
        wait_until(lambda: "offline" in camera_states(site), 60, "the camera reported offline")
        site.worker("resolve", "1", "--note", "moved both bikes to the rack")
        wait_until(lambda: site.incident().status == "verification_pending", GIVE_UP_S + 60,
                   "verification_pending: the camera could not look")
        assert camera_states(site)[-1] == "offline", "the camera stayed away throughout the look"

        camera.clip = clips["empty"]  # back, and the bikes are gone
        camera.start()
        wait_until(lambda: site.incident().status == "verified", RETRY_S + GIVE_UP_S + 90, "verified once back")

    incident = site.incident()
    assert incident.verification_attempts >= 1  # one more if the camera was not back yet at the first retry
    events = site.events()
    assert [(e.action.value, e.actor) for e in events] == [
        ("detect", "detector"), ("dispatch", "router"), ("accept", "w-001"), ("resolve", "w-001"),
        ("defer_verification", "verifier"), ("verify", "verifier")]
    resolved, deferred, verified = events[3:]
    assert deferred.at - resolved.at >= timedelta(seconds=GIVE_UP_S), "gave up only after give_up_s"
    assert verified.at - deferred.at >= timedelta(seconds=RETRY_S), "looked again only after retry_s"
    assert deferred.note and deferred.note.startswith("camera gave 0 usable frame(s)"), deferred.note
    states = camera_states(site)
    assert "online" in states[states.index("offline"):], states
