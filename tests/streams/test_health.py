"""Health reporting: each change once, in order; the watchdog's OFFLINE bound."""

from __future__ import annotations

import threading
import time

import pytest

from configs.schema import CameraConfig
from streams.health import CameraState, HealthEvent, HealthReporter
from streams.source import SourceSettings

ISSUE_BOUND_S = 20.0  # a camera must be reported offline within this, with the default settings


def reporter(offline_after_s: float = 60.0) -> tuple[HealthReporter, list[HealthEvent]]:
    events: list[HealthEvent] = []
    return HealthReporter("cam-1", events.append, offline_after_s), events


def test_each_change_is_reported_once_and_stalled_only_follows_online() -> None:
    health, events = reporter()
    for state in (CameraState.CONNECTING, CameraState.STALLED, CameraState.OFFLINE, CameraState.STALLED,
                  CameraState.ONLINE, CameraState.ONLINE, CameraState.STALLED, CameraState.STALLED,
                  CameraState.OFFLINE, CameraState.STALLED, CameraState.OFFLINE):
        health.report(state, "")
    assert [e.state for e in events] == [CameraState.CONNECTING, CameraState.OFFLINE, CameraState.ONLINE,
                                         CameraState.STALLED, CameraState.OFFLINE]
    assert health.state is CameraState.OFFLINE


def test_watchdog_reports_offline_once_after_offline_after_s_without_a_picture() -> None:
    health, events = reporter(offline_after_s=0.5)
    stop, done = threading.Event(), threading.Event()
    watchdog = threading.Thread(target=health.watch, args=(stop, done), daemon=True)
    health.report(CameraState.CONNECTING, "")
    watchdog.start()
    health.report(CameraState.ONLINE, "")
    for _ in range(4):  # pictures keep it online
        time.sleep(0.2)
        health.picture_seen()
    assert [e.state for e in events] == [CameraState.CONNECTING, CameraState.ONLINE]
    last_picture = time.monotonic()
    deadline = last_picture + 10
    while health.state is not CameraState.OFFLINE and time.monotonic() < deadline:
        time.sleep(0.02)
    offline_after = time.monotonic() - last_picture
    time.sleep(1.2)  # more checks, no second report
    done.set()
    watchdog.join(2)
    assert not watchdog.is_alive()
    assert [e.state for e in events] == [CameraState.CONNECTING, CameraState.ONLINE, CameraState.OFFLINE]
    assert 0.5 <= offline_after < 0.5 + 4.0, "reported on time, never early (4 s for a loaded machine)"
    assert events[-1].reason.startswith("no usable picture for ")


def test_watchdog_stays_quiet_once_stopped() -> None:
    health, events = reporter(offline_after_s=0.2)
    stop, done = threading.Event(), threading.Event()
    health.report(CameraState.ONLINE, "")
    stop.set()
    watchdog = threading.Thread(target=health.watch, args=(stop, done), daemon=True)
    watchdog.start()
    watchdog.join(2)
    assert not watchdog.is_alive() and [e.state for e in events] == [CameraState.ONLINE]


def test_default_settings_report_a_camera_offline_within_the_bound() -> None:
    default = CameraConfig.model_fields["offline_after_s"].default
    assert default <= ISSUE_BOUND_S
    assert SourceSettings("cam-1", "rtsp://10.0.0.7/live").offline_after_s == default


def test_offline_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="offline_after_s"):
        SourceSettings("cam-1", "rtsp://10.0.0.7/live", offline_after_s=0)
    with pytest.raises(ValueError, match="offline_after_s"):
        HealthReporter("cam-1", print, 0)
