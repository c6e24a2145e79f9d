"""Real clips for the streams tests, encoded once per session with ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.media import make_still_clip, make_test_pattern_clip

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
