"""The picture screen on real decoded clips: what it lets through and what it drops."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from streams.decode import DecodeCounter, iter_decoded, open_container
from streams.frame import DecodePolicy
from streams.screen import BLANK_MAX_STD, DropCounts, NoPicture, PictureScreen, ResolutionChanged, luma_spread
from tests.streams.conftest import (
    BLACK_FROM_S,
    BLACK_TO_S,
    BRIEF_CORRUPT_FROM_S,
    CLIP_FPS,
    CLIP_GOP,
    CORRUPT_FROM_S,
    CORRUPT_TO_S,
    FIRST_SECONDS,
)
from tests.streams.pictures import assert_served_picture, reference_pictures

KEYFRAME_INTERVAL_S = CLIP_GOP / CLIP_FPS


def screened(path: Path, screen: PictureScreen, policy: DecodePolicy = DecodePolicy.ALL) -> list[tuple[float, bool]]:
    """(media time, keyframe) of every frame the screen let through, checked against the clip."""
    references = reference_pictures(path)
    passed = []
    with open_container(str(path), 5, 5) as container:
        for decoded in iter_decoded(container, policy, None, counter=DecodeCounter(), screen=screen):
            assert_served_picture(decoded.to_bgr(), references, f"picture at {decoded.media_time_s:.1f} s")
            passed.append((round(decoded.media_time_s, 3), decoded.keyframe))
    return passed


def test_damaged_pictures_are_dropped_until_the_next_clean_keyframe(corrupt_clip: Path) -> None:
    counts = DropCounts()
    passed = screened(corrupt_clip, PictureScreen(counts))
    times = [t for t, _ in passed]
    assert not [t for t in times if CORRUPT_FROM_S <= t < CORRUPT_TO_S]
    assert min(t for t in times if t >= CORRUPT_TO_S) == CORRUPT_TO_S  # resumes at the clean keyframe
    assert len(times) == 400 - (CORRUPT_TO_S - CORRUPT_FROM_S) * CLIP_FPS
    # Every damaged keyframe is flagged; frames that merely inherit the damage are dropped too.
    assert counts.corrupt >= (CORRUPT_TO_S - CORRUPT_FROM_S) / KEYFRAME_INTERVAL_S
    assert counts.corrupt + counts.before_keyframe == (CORRUPT_TO_S - CORRUPT_FROM_S) * CLIP_FPS


def test_brief_damage_and_black_pictures_are_dropped_and_counted(brief_faults_clip: Path) -> None:
    counts = DropCounts()
    passed = screened(brief_faults_clip, PictureScreen(counts))
    times = [t for t, _ in passed]
    assert not [t for t in times if BRIEF_CORRUPT_FROM_S <= t < BRIEF_CORRUPT_FROM_S + KEYFRAME_INTERVAL_S]
    assert not [t for t in times if BLACK_FROM_S <= t < BLACK_TO_S]
    assert counts.blank == (BLACK_TO_S - BLACK_FROM_S) * CLIP_FPS
    assert counts.corrupt > 0 and counts.stale == 0


def test_keyframes_policy_screens_the_keyframes(corrupt_clip: Path) -> None:
    counts = DropCounts()
    passed = screened(corrupt_clip, PictureScreen(counts), DecodePolicy.KEYFRAMES)
    assert all(key for _, key in passed)
    assert counts.corrupt == (CORRUPT_TO_S - CORRUPT_FROM_S) / KEYFRAME_INTERVAL_S


def test_nothing_before_the_first_clean_keyframe(pattern_clip: Path) -> None:
    counts = DropCounts()
    screen = PictureScreen(counts)
    with av.open(str(pattern_clip)) as container:
        frames = list(container.decode(container.streams.video[0]))[5:25]  # joins mid-GOP at 0.5 s
    admitted = [i for i, frame in enumerate(frames) if screen.admit(frame, i / CLIP_FPS)]
    assert admitted == list(range(5, 20)) and frames[5].key_frame
    assert counts.before_keyframe == 5


def test_a_frame_whose_media_time_does_not_advance_is_dropped(pattern_clip: Path) -> None:
    counts = DropCounts()
    seen: list[float] = []
    screen = PictureScreen(counts, on_picture=lambda: seen.append(time.monotonic()))
    with av.open(str(pattern_clip)) as container:
        first, second = list(container.decode(container.streams.video[0]))[:2]
    assert screen.admit(first, 0.0)
    assert not screen.admit(second, 0.0) and not screen.admit(second, -0.1)
    assert screen.admit(second, 0.1)
    assert counts.stale == 2 and len(seen) == 2


def test_resolution_change_ends_a_live_connection_but_not_a_replay(resize_clip: Path) -> None:
    with open_container(str(resize_clip), 5, 5) as container, pytest.raises(ResolutionChanged) as info:
        for _ in iter_decoded(container, DecodePolicy.ALL, None, screen=PictureScreen(DropCounts(), fixed_size=True)):
            pass
    assert str(info.value) == "resolution changed from 640x616 to 480x462"
    passed = screened(resize_clip, PictureScreen(DropCounts()), DecodePolicy.KEYFRAMES)
    assert len(passed) > FIRST_SECONDS / KEYFRAME_INTERVAL_S  # both sizes


def test_no_usable_picture_within_the_timeout_ends_the_connection() -> None:
    screen = PictureScreen(DropCounts(), picture_timeout_s=0.2)
    screen.packet_arrived()  # just opened: still within the timeout
    time.sleep(0.3)
    with pytest.raises(NoPicture, match="no usable picture within 0.2 s"):
        screen.packet_arrived()
    PictureScreen(DropCounts()).packet_arrived()  # no timeout (a replayed file): never raises


def test_a_deferred_picture_is_a_sign_of_life() -> None:
    # A keyframe left undecoded because the detector still had the camera's last picture is no stall.
    seen: list[float] = []
    screen = PictureScreen(DropCounts(), picture_timeout_s=0.2, on_picture=lambda: seen.append(time.monotonic()))
    time.sleep(0.15)
    screen.picture_deferred()
    time.sleep(0.1)
    screen.packet_arrived()  # 0.25 s since the connection opened, 0.1 s since the deferred picture
    assert len(seen) == 1
    time.sleep(0.25)
    with pytest.raises(NoPicture):
        screen.packet_arrived()


@pytest.mark.parametrize("fmt", ["yuv420p", "nv12", "rgb24"])
def test_blank_pictures_have_no_spread_whatever_the_pixel_format(fmt: str) -> None:
    rng = np.random.default_rng(0)
    flat = av.VideoFrame.from_ndarray(np.full((72, 128, 3), 128, np.uint8), format="rgb24").reformat(format=fmt)
    busy = av.VideoFrame.from_ndarray(rng.integers(0, 256, (72, 128, 3), np.uint8), format="rgb24").reformat(format=fmt)
    assert luma_spread(flat) < BLANK_MAX_STD < luma_spread(busy)
