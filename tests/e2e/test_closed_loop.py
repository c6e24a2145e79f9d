"""End to end: the closed loop for a grid worker, through `aibrain run` and `aibrain worker`.

A real RTSP camera shows parked shared bikes; the pipeline alerts worker w-001. The worker accepts
and resolves with the `aibrain worker` command (interactively and one command at a time). Then the
camera looks again: when the bikes were moved (the camera now shows the same pavement with them
painted out) the incident is verified; when they are still there it is reopened and the next level
of the grid's escalation chain is told. An accept limit missed escalates once, to the first level.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.broker import drain, wait_until
from tests.e2e.loop_site import Site, start
from tests.helpers.rtsp import RtspServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


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
