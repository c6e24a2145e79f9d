"""Real clips for the streams tests, encoded once per session with ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.media import damage_clip, make_resolution_change_clip, make_still_clip, make_test_pattern_clip

# 10 fps, a keyframe every 10 frames: keyframes at whole seconds, 6 s -> 60 frames, 6 keyframes.
CLIP_FPS = 10
CLIP_GOP = 10
CLIP_SECONDS = 6


@pytest.fixture(scope="session")
def pattern_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clips") / "pattern.mp4"
    return make_test_pattern_clip(out, CLIP_SECONDS, size=(320, 240), fps=CLIP_FPS, gop=CLIP_GOP)


@pytest.fixture(scope="session")
def bike_clip(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path) -> Path:
    """A real street photo as a short 320-wide clip: what the RTSP tests serve."""
    out = tmp_path_factory.mktemp("clips") / "bike.mp4"
    return make_still_clip(shared_bike_still, out, seconds=4, fps=CLIP_FPS, gop=CLIP_GOP, width=320)


# Faults on the served timeline (media seconds; keyframes at whole seconds).
CORRUPT_FROM_S, CORRUPT_TO_S = 8.0, 16.0  # longer than the read timeout and offline_after_s
BRIEF_CORRUPT_FROM_S, BRIEF_CORRUPT_TO_S = 5.0, 5.5  # shorter than the read timeout
BLACK_FROM_S, BLACK_TO_S = 10.0, 11.0
FIRST_WIDTH, FIRST_SECONDS, SECOND_WIDTH = 640, 6.0, 480


@pytest.fixture(scope="session")
def corrupt_clip(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path) -> Path:
    """The street photo for 40 s, every picture damaged from 8 s to 16 s."""
    clips = tmp_path_factory.mktemp("clips")
    clean = make_still_clip(shared_bike_still, clips / "clean.mp4", seconds=40, fps=CLIP_FPS, gop=CLIP_GOP, width=320)
    return damage_clip(clean, clips / "corrupt.mp4", CORRUPT_FROM_S, CORRUPT_TO_S)


@pytest.fixture(scope="session")
def brief_faults_clip(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path) -> Path:
    """The street photo for 30 s with half a second of damage and a second of black picture."""
    clips = tmp_path_factory.mktemp("clips")
    clean = make_still_clip(shared_bike_still, clips / "blackout.mp4", seconds=30, fps=CLIP_FPS, gop=CLIP_GOP,
                            width=320, blackout=(BLACK_FROM_S, BLACK_TO_S))
    return damage_clip(clean, clips / "brief_faults.mp4", BRIEF_CORRUPT_FROM_S, BRIEF_CORRUPT_TO_S)


@pytest.fixture(scope="session")
def resize_clip(tmp_path_factory: pytest.TempPathFactory, shared_bike_still: Path) -> Path:
    """An MPEG-TS: the street photo 640 wide for 6 s, then 480 wide for 30 s."""
    out = tmp_path_factory.mktemp("clips") / "resize.ts"
    return make_resolution_change_clip(shared_bike_still, out, [(FIRST_WIDTH, FIRST_SECONDS), (SECOND_WIDTH, 30.0)],
                                       fps=CLIP_FPS, gop=CLIP_GOP)
