"""A camera password holding an `@` (ffmpeg, like RFC 3986 readers, takes the user-info to the last
`@`): the reader logs in with it, and no part of it reaches a log line or a health reason."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streams.health import CameraState
from tests.helpers.rtsp import RtspServer
from tests.streams.readers import rtsp_camera, running

pytestmark = pytest.mark.integration

PASSWORD, WRONG_PASSWORD = "Abc@s3cret-71", "Abc@wr0ng-72"  # the part after the `@` is what would leak


def test_a_password_with_an_at_logs_in_and_never_reaches_the_logs(bike_clip: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with RtspServer(bike_clip, user="admin", password=PASSWORD) as server:
        with running(rtsp_camera(server.url)) as (_, good):
            good.wait_frames(3, timeout_s=30)
        with running(rtsp_camera(server.url_with("admin", WRONG_PASSWORD), camera_id="cam-wrong")) as (_, bad):
            bad.wait_state(CameraState.OFFLINE, timeout_s=30)
    assert CameraState.ONLINE in good.states and CameraState.ONLINE not in bad.states
    reason = bad.event(CameraState.OFFLINE).reason
    assert "401" in reason and f"rtsp://***@127.0.0.1:{server.port}/cam" in reason, reason
    for text in [caplog.text, *(event.reason for event in good.events + bad.events)]:
        assert "s3cret-71" not in text and "wr0ng-72" not in text, text
