"""Camera faults against a real RTSP server: each is reported as one outage, on time, with
capped reconnects, no damaged or blank picture in the mailbox, and a healthy camera beside
it unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from streams.frame import DecodePolicy, Frame
from streams.health import CameraState, HealthEvent
from streams.source import CameraReader
from tests.helpers.rtsp import RtspServer, RtspViewer
from tests.streams.conftest import FIRST_WIDTH, SECOND_WIDTH
from tests.streams.pictures import assert_served_pictures, reference_pictures
from tests.streams.readers import OFFLINE_AFTER_S, READ_TIMEOUT_S, Recorder, rtsp_camera, running

pytestmark = pytest.mark.integration

CONNECTING, ONLINE, STALLED, OFFLINE = (CameraState.CONNECTING, CameraState.ONLINE, CameraState.STALLED,
                                        CameraState.OFFLINE)
SCHEDULING_SLACK_S = 1.5  # threads wake late on a loaded machine
RECOVERY_TIMEOUT_S = 30.0


@contextmanager
def healthy_camera(clip: Path) -> Iterator[Recorder]:
    """A second camera on a server of its own, decoding every frame, read beside the faulty one."""
    with RtspServer(clip, mount="/healthy") as server, \
            running(rtsp_camera(server.url, camera_id="cam-healthy", decode=DecodePolicy.ALL,
                                detect_fps=None)) as (_, rec):
        rec.wait_frames(5, timeout_s=20)
        yield rec


@dataclass
class Outage:
    """Waits for the faulty reader to go offline and come back, counting its connection attempts."""

    reader: CameraReader
    rec: Recorder
    attempts_at_offline: int = 0
    attempts_at_online: int = 0

    def wait_offline(self) -> None:
        self.rec.wait_state(OFFLINE, timeout_s=RECOVERY_TIMEOUT_S)
        self.attempts_at_offline = self.reader.stats().open_attempts

    def wait_online(self) -> None:
        self.rec.wait_state(ONLINE, timeout_s=RECOVERY_TIMEOUT_S, occurrence=2)
        self.attempts_at_online = self.reader.stats().open_attempts
        self.rec.wait_frames(len(self.rec.frames) + 3, timeout_s=10)

    @property
    def attempts(self) -> int:
        return self.attempts_at_online - self.attempts_at_offline


def wait_for_baseline(faulty: Recorder, healthy: Recorder) -> None:
    """Both cameras deliver before the fault."""
    faulty.wait_frames(3, timeout_s=20)
    healthy.wait_frames(len(healthy.frames) + 3, timeout_s=20)


def longest_gap(frames: list[Frame], start: float, end: float) -> float:
    """The longest time in [start, end] without a frame."""
    times = [start, *(f.ts for f in frames if start < f.ts < end), end]
    return max(later - earlier for earlier, later in pairwise(times))


def assert_one_outage(outage: Outage, healthy: Recorder, references: dict[tuple[int, int], np.ndarray],
                      stalled_first: bool) -> HealthEvent:
    """One OFFLINE and one ONLINE (a STALLED before a stall), OFFLINE within the configured bound
    of the last picture, under one connection attempt per second, only served pictures in the
    mailbox, the first of each connection a keyframe, and the healthy camera delivering throughout."""
    rec, bound_s = outage.rec, outage.reader.settings.offline_after_s
    assert rec.states == [CONNECTING, ONLINE, *([STALLED] if stalled_first else []), OFFLINE, ONLINE]
    offline, back = rec.event(OFFLINE), rec.event(ONLINE, 2)
    last_picture = max(f.ts for f in rec.frames if f.ts < offline.ts)
    assert offline.ts - last_picture <= bound_s + SCHEDULING_SLACK_S, \
        f"offline {offline.ts - last_picture:.1f} s after the last picture, bound {bound_s} s"
    outage_s = back.ts - offline.ts
    assert outage.attempts <= max(outage_s, 1.0), f"{outage.attempts} connection attempts in {outage_s:.1f} s"
    assert_served_pictures(rec.frames, references)
    for event in (rec.event(ONLINE), back):
        assert next(f for f in rec.frames if f.ts >= event.ts).keyframe, "a connection began before a keyframe"
    # Unaffected by the fault: no health event of its own and never so long without a picture that it would
    # count as offline (a frame rate compared with the one before would measure the machine's load too).
    assert healthy.states == [CONNECTING, ONLINE], healthy.states
    assert longest_gap(healthy.frames, last_picture, back.ts) < OFFLINE_AFTER_S, "the healthy camera stalled"
    return offline


def test_server_killed_then_restarted(bike_clip: Path) -> None:
    with healthy_camera(bike_clip) as healthy, RtspServer(bike_clip) as server, \
            running(rtsp_camera(server.url)) as (reader, rec):
        outage = Outage(reader, rec)
        wait_for_baseline(rec, healthy)
        server.kill()
        outage.wait_offline()
        rec.wait_for(lambda: reader.stats().reconnects >= 4, timeout_s=15, what="failed reconnects")
        server.start()
        outage.wait_online()
    offline = assert_one_outage(outage, healthy, reference_pictures(bike_clip), stalled_first=False)
    assert offline.reason.startswith(("read failed", "stream ended"))


def test_frozen_server_is_stalled_then_offline_on_time(bike_clip: Path) -> None:
    with healthy_camera(bike_clip) as healthy, RtspServer(bike_clip) as server, \
            running(rtsp_camera(server.url)) as (reader, rec):
        outage = Outage(reader, rec)
        wait_for_baseline(rec, healthy)
        server.pause()  # the connection stays up, nothing arrives; connects hang until open_timeout_s
        try:
            outage.wait_offline()
            rec.wait_for(lambda: reader.stats().open_attempts > outage.attempts_at_offline, timeout_s=15,
                         what="another connect into the frozen server")
        finally:
            server.resume()
        outage.wait_online()
    offline = assert_one_outage(outage, healthy, reference_pictures(bike_clip), stalled_first=True)
    assert offline.reason.startswith("no usable picture for")  # the watchdog's: the reader was still waiting


def test_long_corruption_is_an_outage_until_clean_pictures_return(corrupt_clip: Path, bike_clip: Path) -> None:
    with healthy_camera(bike_clip) as healthy, RtspServer(corrupt_clip) as server, RtspViewer(server.url), \
            running(rtsp_camera(server.url)) as (reader, rec):
        outage = Outage(reader, rec)
        wait_for_baseline(rec, healthy)
        outage.wait_offline()  # the damage begins 8 s into the served timeline and lasts 8 s
        outage.wait_online()
        stats = reader.stats()
    assert_one_outage(outage, healthy, reference_pictures(corrupt_clip), stalled_first=True)
    assert rec.event(STALLED).reason == f"no usable picture within {READ_TIMEOUT_S:g} s"
    assert stats.dropped.corrupt > 0


def test_resolution_change_reconnects_and_comes_back_at_the_new_size(resize_clip: Path, bike_clip: Path) -> None:
    with healthy_camera(bike_clip) as healthy, RtspServer(resize_clip, loop=False) as server, \
            RtspViewer(server.url), running(rtsp_camera(server.url)) as (reader, rec):
        outage = Outage(reader, rec)
        wait_for_baseline(rec, healthy)
        outage.wait_offline()  # the size changes 6 s into the served timeline
        outage.wait_online()
    references = reference_pictures(resize_clip)
    first_size, second_size = references
    offline = assert_one_outage(outage, healthy, references, stalled_first=False)
    assert offline.reason == (f"resolution changed from {first_size[0]}x{first_size[1]} to "
                              f"{second_size[0]}x{second_size[1]}; reconnecting")
    assert first_size[0] == FIRST_WIDTH and second_size[0] == SECOND_WIDTH
    back = rec.event(ONLINE, 2)
    assert {f.width for f in rec.frames if f.ts < offline.ts} == {FIRST_WIDTH}
    assert {f.width for f in rec.frames if f.ts >= back.ts} == {SECOND_WIDTH}


def test_brief_damage_and_black_pictures_never_reach_the_mailbox(brief_faults_clip: Path) -> None:
    with RtspServer(brief_faults_clip) as server, \
            running(rtsp_camera(server.url, read_timeout_s=4.0)) as (reader, rec):
        rec.wait_for(lambda: reader.stats().dropped.blank >= 5 and reader.stats().dropped.corrupt >= 1,
                     timeout_s=40, what="the damaged and the black stretch")
        rec.wait_frames(len(rec.frames) + 5, timeout_s=10)
        stats = reader.stats()
    assert rec.states == [CONNECTING, ONLINE]  # shorter than the read timeout: no health event
    assert_served_pictures(rec.frames, reference_pictures(brief_faults_clip))
    assert stats.reconnects == 0 and stats.open_attempts == 1
