"""A reader with a sub-stream (`detect_url`): it decodes the sub-stream, hands on frames in the main stream's
size and proportions, probes the main stream first (a failure is OFFLINE, retried), and probes again when an
evidence grab finds the main stream's size changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.frame import DecodePolicy
from streams.health import CameraState
from streams.source import SourceSettings
from tests.helpers.media import make_test_pattern_clip
from tests.streams.readers import running

MAIN_SIZE, SUB_SIZE = (640, 360), (352, 288)  # a 16:9 main stream, a CIF sub-stream (anamorphic, as D1 is)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("substream")
    return (make_test_pattern_clip(folder / "main.mp4", 2, size=MAIN_SIZE),
            make_test_pattern_clip(folder / "sub.mp4", 6, size=SUB_SIZE))


def camera(main: Path | str, sub: Path, **overrides: object) -> SourceSettings:
    fields: dict[str, object] = {
        "camera_id": "cam-1", "url": str(main), "detect_url": str(sub), "decode": DecodePolicy.KEYFRAMES,
        "detect_fps": 2.0, "live": True, "pace": True, "loop": True, "open_timeout_s": 2.0, "read_timeout_s": 2.0,
        "offline_after_s": 3.0, "backoff_initial_s": 1.0, "backoff_max_s": 1.0, "detect_size": (320, 320)}
    return SourceSettings(**(fields | overrides))  # type: ignore[arg-type]


def test_frames_of_the_sub_stream_come_in_the_main_streams_size_and_proportions(clips: tuple[Path, Path]) -> None:
    main, sub = clips
    with running(camera(main, sub)) as (reader, rec):
        rec.wait_frames(2, timeout_s=30)
    assert reader.main_stream is not None and reader.main_stream.size == MAIN_SIZE
    frame = rec.frames[0]
    assert (frame.width, frame.height) == MAIN_SIZE
    assert frame.detect_image.shape == (180, 320, 3), "the main stream's 16:9, fitted to the detector's box"
    assert frame.detect_scale == (2.0, 2.0) and not frame.converted
    assert frame.image.shape == (360, 640, 3), "the sub-stream scaled up: the fallback evidence"
    assert rec.states == [CameraState.CONNECTING, CameraState.ONLINE]


def test_a_main_stream_that_cannot_be_probed_is_offline_and_retried(clips: tuple[Path, Path], tmp_path: Path) -> None:
    _, sub = clips
    with running(camera(tmp_path / "no-main.mp4", sub)) as (reader, rec):
        rec.wait_state(CameraState.OFFLINE, timeout_s=20)
        rec.wait_for(lambda: reader.stats().reconnects >= 2, timeout_s=20, what="two retries")
    assert rec.frames == [] and rec.states == [CameraState.CONNECTING, CameraState.OFFLINE]
    assert "main stream" in rec.events[-1].reason and "FileNotFoundError" in rec.events[-1].reason


def test_a_main_stream_found_resized_by_a_grab_is_probed_again(clips: tuple[Path, Path], tmp_path: Path) -> None:
    main, sub = clips
    resized = make_test_pattern_clip(tmp_path / "resized.mp4", 1, size=(480, 270))
    with running(camera(main, sub)) as (reader, rec):
        rec.wait_frames(1, timeout_s=30)
        assert reader.main_stream is not None
        reader.main_stream.url = str(resized)  # the camera was set to another main resolution
        reader.main_stream.grab()  # the evidence worker's grab finds it
        rec.wait_state(CameraState.ONLINE, timeout_s=30, occurrence=2)
        count = len(rec.frames)
        rec.wait_frames(count + 1, timeout_s=30)
    assert "main stream's picture size changed" in rec.event(CameraState.OFFLINE).reason
    assert (rec.frames[-1].width, rec.frames[-1].height) == (480, 270)
    assert rec.frames[-1].detect_image.shape == (180, 320, 3)


def test_a_sub_stream_of_another_kind_is_refused_without_its_password(clips: tuple[Path, Path]) -> None:
    main, _ = clips
    with pytest.raises(ValueError, match="same kind") as caught:
        SourceSettings("cam-1", str(main), detect_url="rtsp://admin:hunter2@10.0.0.7/Streaming/Channels/102")
    assert "hunter2" not in str(caught.value)
    settings = SourceSettings("cam-1", "rtsp://admin:hunter2@10.0.0.7/101",
                              detect_url="rtsp://admin:hunter2@10.0.0.7/102")
    assert "hunter2" not in repr(settings)
