from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from streams.frame import DecodePolicy
from streams.health import CameraState
from streams.mailbox import LatestFrameSlots
from streams.source import READER_NICENESS, SourceSettings
from tests.streams.conftest import CLIP_SECONDS
from tests.streams.readers import running

ORIGIN = 1_700_000_000.0


def replay(path: Path, **overrides: object) -> SourceSettings:
    fields: dict[str, object] = {"camera_id": "file-1", "url": str(path), "decode": DecodePolicy.SAMPLED,
                                 "detect_fps": 2.0, "live": False, "replay_origin": ORIGIN}
    fields.update(overrides)
    return SourceSettings(**fields)  # type: ignore[arg-type]


def test_replay_delivers_every_sampled_frame_with_file_timestamps(pattern_clip: Path) -> None:
    # A slow consumer: replay must wait for it, never drop.
    with running(replay(pattern_clip), consume_delay_s=0.02) as (reader, rec):
        rec.wait_state(CameraState.FINISHED, timeout_s=20)
        assert reader.join(5), "a finished file ends its reader"
        rec.wait_frames(CLIP_SECONDS * 2, timeout_s=30)
    assert rec.states == [CameraState.CONNECTING, CameraState.ONLINE, CameraState.FINISHED]
    assert [f.seq for f in rec.frames] == list(range(CLIP_SECONDS * 2))
    assert [round(f.media_time_s, 3) for f in rec.frames] == [i * 0.5 for i in range(CLIP_SECONDS * 2)]
    assert all(f.ts == ORIGIN + f.media_time_s for f in rec.frames)
    assert rec.frames[0].image.shape == (240, 320, 3)
    stats = reader.stats()
    assert (stats.frames_handed_on, stats.frames_decoded, stats.reconnects) == (12, 60, 0)
    assert stats.state is CameraState.FINISHED


def test_replay_keyframes_only(pattern_clip: Path) -> None:
    with running(replay(pattern_clip, decode=DecodePolicy.KEYFRAMES, detect_fps=None)) as (reader, rec):
        rec.wait_state(CameraState.FINISHED, timeout_s=20)
        rec.wait_frames(CLIP_SECONDS, timeout_s=30)
    assert all(f.keyframe for f in rec.frames)
    assert reader.stats().frames_decoded == CLIP_SECONDS


def test_start_and_end_limit_the_replay(pattern_clip: Path) -> None:
    with running(replay(pattern_clip, start_s=2.0, end_s=4.0)) as (_, rec):
        rec.wait_state(CameraState.FINISHED, timeout_s=20)
        rec.wait_frames(4, timeout_s=30)
    assert [round(f.media_time_s, 3) for f in rec.frames] == [2.0, 2.5, 3.0, 3.5]


def test_loop_keeps_the_timeline_increasing(pattern_clip: Path) -> None:
    per_pass = CLIP_SECONDS * 2
    with running(replay(pattern_clip, loop=True)) as (_, rec):
        rec.wait_frames(per_pass * 2 + 3, timeout_s=30)
        assert CameraState.FINISHED not in rec.states
    ts = [f.ts - ORIGIN for f in rec.frames]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    second_pass = rec.frames[per_pass:per_pass * 2]
    assert [round(f.media_time_s, 3) for f in second_pass] == [i * 0.5 for i in range(per_pass)]
    assert all(f.ts == pytest.approx(ORIGIN + CLIP_SECONDS + f.media_time_s) for f in second_pass)
    assert rec.states == [CameraState.CONNECTING, CameraState.ONLINE]


def test_paced_live_file_behaves_like_a_camera(pattern_clip: Path) -> None:
    settings = replay(pattern_clip, live=True, replay_origin=None, pace=True, detect_fps=5.0, end_s=1.0)
    started = time.time()
    with running(settings) as (_, rec):
        rec.wait_state(CameraState.FINISHED, timeout_s=30)
        rec.wait_frames(5, timeout_s=30)
    elapsed = time.time() - started
    assert elapsed >= 0.8 - 0.1  # 0.8 s of media from the first to the last frame, in real time
    assert all(started <= f.ts <= started + elapsed for f in rec.frames)  # wall clock, not media time


def test_missing_file_in_replay_fails_and_the_reader_ends(tmp_path: Path) -> None:
    with running(replay(tmp_path / "missing.mp4")) as (reader, rec):
        rec.wait_state(CameraState.FAILED, timeout_s=30)
        assert reader.join(5), "a replay reader ends when its file cannot be read"
    assert rec.states == [CameraState.CONNECTING, CameraState.OFFLINE, CameraState.FAILED]
    assert "FileNotFoundError" in rec.events[1].reason


def test_missing_file_played_as_a_camera_goes_offline_and_retries_with_backoff(tmp_path: Path) -> None:
    with running(replay(tmp_path / "missing.mp4", live=True, replay_origin=None, pace=True)) as (reader, rec):
        rec.wait_state(CameraState.OFFLINE, timeout_s=30)
        rec.wait_for(lambda: reader.stats().reconnects >= 2, timeout_s=30, what="two reconnects")
    assert rec.states == [CameraState.CONNECTING, CameraState.OFFLINE]  # one event, many attempts
    assert "FileNotFoundError" in rec.events[-1].reason


@pytest.mark.parametrize("overrides, message", [
    ({"decode": DecodePolicy.SAMPLED, "detect_fps": None}, "needs detect_fps"),
    ({"live": True}, "replay_origin"),
    ({"start_s": 3.0, "end_s": 2.0}, "end_s"),
    ({"backoff_initial_s": 0.1}, "backoff"),
    ({"detect_size": (640, 0)}, "detect_size"),
])
def test_settings_are_checked(pattern_clip: Path, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replay(pattern_clip, **overrides)


def test_rtsp_settings_refuse_file_options_without_leaking_the_password() -> None:
    with pytest.raises(ValueError) as info:
        SourceSettings("cam-1", "rtsp://admin:hunter2@10.0.0.7/live", loop=True)
    assert "hunter2" not in str(info.value) and "rtsp://***@10.0.0.7/live" in str(info.value)
    settings = SourceSettings("cam-1", "rtsp://admin:hunter2@10.0.0.7/live")
    assert "hunter2" not in repr(settings)


def test_reader_thread_yields_the_cpu_to_inference(pattern_clip: Path) -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with running(replay(pattern_clip, pace=True, live=True, replay_origin=None)) as (reader, rec):
        rec.wait_state(CameraState.ONLINE, timeout_s=30)
        thread = reader._thread
        assert thread is not None and thread.native_id is not None
        assert os.getpriority(os.PRIO_PROCESS, thread.native_id) == min(own + READER_NICENESS, 19)


def test_paced_looped_camera_with_a_slow_consumer_skips_decodes_and_stays_online(pattern_clip: Path) -> None:
    # The detector takes a frame every 2.5 s, the camera offers one a second: the keyframes that would
    # only replace the waiting frame are left undecoded. Each is a sign of life (timeouts shorter than
    # the consumer's period would otherwise report a stall), and a paced file keeps to the clock while
    # it skips (it must not race to the end of the file and then sleep).
    settings = replay(pattern_clip, live=True, replay_origin=None, pace=True, loop=True,
                      decode=DecodePolicy.KEYFRAMES, detect_fps=1.0, read_timeout_s=1.5, offline_after_s=2.0)
    slots = LatestFrameSlots()
    started = time.time()
    with running(settings, consume_delay_s=2.5, slots=slots) as (reader, rec):
        rec.wait_frames(4, timeout_s=30)
        stats, dropped = reader.stats(), slots.dropped("file-1")
        assert rec.states == [CameraState.CONNECTING, CameraState.ONLINE]
    assert stats.frames_skipped >= 4 and dropped == 0
    assert stats.frames_decoded == stats.frames_handed_on
    timeline, passes, last = [], 0, -1.0
    for frame in rec.frames:  # the timeline across loops: media time goes back at each new pass
        passes += frame.media_time_s < last
        last = frame.media_time_s
        timeline.append(passes * CLIP_SECONDS + frame.media_time_s)
    for frame, t in zip(rec.frames, timeline, strict=True):  # handed on when its time came, not later
        assert frame.ts - started == pytest.approx(t, abs=0.6)


def test_a_detect_size_hands_on_the_shrunk_picture_and_keeps_the_full_one_unconverted(pattern_clip: Path) -> None:
    with running(replay(pattern_clip, detect_size=(160, 160), end_s=1.0)) as (_, rec):
        rec.wait_state(CameraState.FINISHED, timeout_s=20)
        rec.wait_frames(2, timeout_s=30)
    with running(replay(pattern_clip, end_s=1.0)) as (_, plain):
        plain.wait_frames(2, timeout_s=30)
    for frame, full in zip(rec.frames, plain.frames, strict=True):
        assert frame.detect_image.shape == (120, 160, 3) and (frame.width, frame.height) == (320, 240)
        assert not frame.converted
        assert np.array_equal(frame.image, full.image)  # converted on demand: the same full-size pixels


def test_a_picture_within_the_detect_size_is_handed_on_as_it_is(pattern_clip: Path) -> None:
    with running(replay(pattern_clip, detect_size=(640, 640), end_s=0.5)) as (_, rec):
        rec.wait_frames(1, timeout_s=30)
    frame = rec.frames[0]
    assert frame.converted and frame.detect_image is frame.image and frame.image.shape == (240, 320, 3)
