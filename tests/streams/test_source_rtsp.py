"""CameraReader against a real RTSP server (GStreamer, scripts/rtsp_server.py): frames and secrecy.

Faults (server killed or frozen, damaged or resized streams) are in test_source_faults.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.frame import DecodePolicy
from streams.health import CameraState
from tests.helpers.rtsp import RtspServer
from tests.streams.readers import rtsp_camera, running

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55"  # distinctive, so a leak cannot hide behind a common word
WRONG_PASSWORD = "wr0ng-Pa55"
ONLINE, OFFLINE = CameraState.ONLINE, CameraState.OFFLINE


@pytest.fixture
def server(bike_clip: Path) -> Iterator[RtspServer]:
    with RtspServer(bike_clip) as srv:
        yield srv


def test_live_frames_arrive_with_wall_clock_timestamps(server: RtspServer) -> None:
    started = time.time()
    with running(rtsp_camera(server.url)) as (reader, rec):
        rec.wait_frames(10, timeout_s=20)
    ended = time.time()
    assert rec.states[:2] == [CameraState.CONNECTING, ONLINE]
    assert rec.frames[0].image.shape == (308, 320, 3)
    seqs = [f.seq for f in rec.frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(started <= f.ts <= ended for f in rec.frames)
    assert reader.stats().frames_handed_on >= 10


def test_keyframes_policy_over_rtsp(server: RtspServer) -> None:
    with running(rtsp_camera(server.url, decode=DecodePolicy.KEYFRAMES, detect_fps=None)) as (reader, rec):
        rec.wait_frames(3, timeout_s=20)
        stats = reader.stats()
    assert all(f.keyframe for f in rec.frames)
    assert stats.frames_decoded == stats.frames_handed_on


def test_credentials_work_and_never_reach_the_logs(bike_clip: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    with RtspServer(bike_clip, user="admin", password=PASSWORD) as srv:
        assert PASSWORD in srv.url
        with running(rtsp_camera(srv.url)) as (_, rec):
            rec.wait_frames(5, timeout_s=20)
        with running(rtsp_camera(srv.url_with("admin", WRONG_PASSWORD), camera_id="cam-wrong")) as (reader, bad):
            bad.wait_state(OFFLINE, timeout_s=30)
            bad.wait_for(lambda: reader.stats().reconnects >= 1, timeout_s=30, what="a retry")
        with running(rtsp_camera(srv.url.replace("/cam", "/missing"), camera_id="cam-404")) as (_, missing):
            missing.wait_state(OFFLINE, timeout_s=30)
    assert ONLINE in rec.states
    assert ONLINE not in bad.states
    assert "401" in bad.events[-1].reason and "rtsp://***@127.0.0.1" in bad.events[-1].reason
    texts = [caplog.text] + [e.reason for e in rec.events + bad.events + missing.events]
    assert caplog.text.count("rtsp://***@") >= 2  # URLs were logged, redacted
    for text in texts:
        assert PASSWORD not in text and WRONG_PASSWORD not in text
