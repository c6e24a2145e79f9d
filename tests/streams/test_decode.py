from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from common.stage_cpu import STAGE_CPU, Stage
from streams.decode import DecodeCounter, DecodedFrame, GridSampler, iter_decoded, open_container
from streams.frame import DecodePolicy
from streams.screen import DropCounts, PictureScreen
from tests.streams.conftest import CLIP_FPS, CLIP_GOP, CLIP_SECONDS

FRAMES = CLIP_SECONDS * CLIP_FPS
KEYFRAMES = FRAMES // CLIP_GOP


def decode(path: Path, policy: DecodePolicy, detect_fps: float | None = None,
           counter: DecodeCounter | None = None) -> list[tuple[float, bool, tuple[int, ...]]]:
    """(media time, keyframe, image shape) of every frame handed on; no decoder frame kept alive."""
    with open_container(str(path), 5, 5) as container:
        return [(d.media_time_s, d.keyframe, d.to_bgr().shape)
                for d in iter_decoded(container, policy, detect_fps, counter=counter)]


def test_all_hands_on_every_frame_in_media_time_order(pattern_clip: Path) -> None:
    frames = decode(pattern_clip, DecodePolicy.ALL)
    times = [t for t, _, _ in frames]
    assert len(frames) == FRAMES
    assert times == sorted(times) and len(set(times)) == FRAMES
    assert times[1] - times[0] == pytest.approx(1 / CLIP_FPS)
    assert [round(t, 3) for t, key, _ in frames if key] == [float(s) for s in range(CLIP_SECONDS)]
    assert frames[0][2] == (240, 320, 3)


def test_keyframes_decodes_only_keyframes(pattern_clip: Path) -> None:
    counter = DecodeCounter()
    frames = decode(pattern_clip, DecodePolicy.KEYFRAMES, counter=counter)
    assert len(frames) == KEYFRAMES
    assert all(key for _, key, _ in frames)
    # The decoder itself skipped the rest: nothing else was decoded, not merely filtered.
    assert counter.frames == KEYFRAMES


def test_keyframes_with_detect_fps_samples_the_keyframes(pattern_clip: Path) -> None:
    frames = decode(pattern_clip, DecodePolicy.KEYFRAMES, detect_fps=0.5)
    assert [round(t, 3) for t, _, _ in frames] == [0.0, 2.0, 4.0]


def test_sampled_decodes_all_but_hands_on_the_detect_fps_grid(pattern_clip: Path) -> None:
    counter = DecodeCounter()
    frames = decode(pattern_clip, DecodePolicy.SAMPLED, detect_fps=2.0, counter=counter)
    assert [round(t, 3) for t, _, _ in frames] == [i * 0.5 for i in range(CLIP_SECONDS * 2)]
    assert counter.frames == FRAMES


def test_sampled_with_detect_fps_above_the_stream_rate_hands_on_every_frame(pattern_clip: Path) -> None:
    assert len(decode(pattern_clip, DecodePolicy.SAMPLED, detect_fps=25.0)) == FRAMES


def test_sampled_without_detect_fps_is_refused(pattern_clip: Path) -> None:
    with open_container(str(pattern_clip), 5, 5) as container, pytest.raises(ValueError, match="detect_fps"):
        next(iter_decoded(container, DecodePolicy.SAMPLED, None))


def test_keyframes_on_real_1080p_footage(unbox_1080p: Path) -> None:
    every = decode(unbox_1080p, DecodePolicy.ALL)
    keys = decode(unbox_1080p, DecodePolicy.KEYFRAMES)
    assert keys[0][2] == (1080, 1920, 3)
    assert [t for t, _, _ in keys] == [t for t, key, _ in every if key]
    assert len(keys) * 10 <= len(every)


def test_decoded_frame_converts_to_bgr(pattern_clip: Path) -> None:
    with open_container(str(pattern_clip), 5, 5) as container:
        first: DecodedFrame = next(iter_decoded(container, DecodePolicy.ALL, None))
        image = first.to_bgr()
    assert image.shape == (240, 320, 3) and image.dtype.name == "uint8"
    assert image.std() > 0  # a real picture, not a blank buffer


def test_open_missing_file_raises_ffmpeg_error(tmp_path: Path) -> None:
    with pytest.raises(av.FFmpegError):
        open_container(str(tmp_path / "missing.mp4"), 1, 1)


def test_grid_sampler_takes_one_frame_per_slot_and_restarts_when_time_goes_back() -> None:
    sampler = GridSampler(1.0)
    taken = [t for t in (0.0, 0.4, 1.0, 1.9, 2.1, 0.0, 0.5, 1.2) if sampler.take(t)]
    assert taken == [0.0, 1.0, 2.1, 0.0, 1.2]
    with pytest.raises(ValueError):
        GridSampler(0)


def test_bgr_conversion_matches_the_default_filter(pattern_clip: Path) -> None:
    with av.open(str(pattern_clip)) as container:
        decoded = next(iter_decoded(container, DecodePolicy.ALL, None))
        default = decoded.frame.to_ndarray(format="bgr24")
        assert np.abs(decoded.to_bgr().astype(int) - default.astype(int)).max() <= 1


def test_keyframes_not_wanted_are_left_undecoded_counted_and_deferred(pattern_clip: Path) -> None:
    asked: list[float] = []
    deferred: list[float] = []

    def wanted(media_time_s: float) -> bool:
        asked.append(round(media_time_s, 3))
        return round(media_time_s) % 2 == 0  # the detector is busy at odd seconds

    counter = DecodeCounter()
    screen = PictureScreen(DropCounts(), on_picture=lambda: deferred.append(time.monotonic()))
    with open_container(str(pattern_clip), 5, 5) as container:
        kept = {round(d.media_time_s, 3): d.to_bgr() for d in iter_decoded(
            container, DecodePolicy.KEYFRAMES, None, counter=counter, screen=screen, wanted=wanted)}
    with open_container(str(pattern_clip), 5, 5) as container:
        straight = {round(d.media_time_s, 3): d.to_bgr()
                    for d in iter_decoded(container, DecodePolicy.KEYFRAMES, None)}
    assert asked == [float(s) for s in range(CLIP_SECONDS)]  # keyframes only, each asked once
    assert sorted(kept) == [0.0, 2.0, 4.0]
    assert (counter.frames, counter.skipped) == (3, 3)
    assert len(deferred) == KEYFRAMES  # 3 pictures admitted, 3 deferred: each a sign of life
    for t, image in kept.items():  # the keyframe after a skipped one decodes exactly as without skipping
        assert np.array_equal(image, straight[t])


def test_only_keyframes_the_sampler_would_take_are_asked_for(pattern_clip: Path) -> None:
    asked: list[float] = []

    def wanted(media_time_s: float) -> bool:
        asked.append(round(media_time_s, 3))
        return True

    with open_container(str(pattern_clip), 5, 5) as container:
        taken = [d.media_time_s for d in iter_decoded(container, DecodePolicy.KEYFRAMES, 0.5, wanted=wanted)]
    assert asked == [0.0, 2.0, 4.0] and len(taken) == 3


def test_other_policies_never_ask(pattern_clip: Path) -> None:
    with open_container(str(pattern_clip), 5, 5) as container:
        frames = list(iter_decoded(container, DecodePolicy.SAMPLED, 1.0, wanted=lambda t: False))
    assert len(frames) == CLIP_SECONDS


def test_decoding_and_converting_count_towards_their_stages(pattern_clip: Path) -> None:
    before = STAGE_CPU.totals()
    with open_container(str(pattern_clip), 5, 5) as container:
        for decoded in iter_decoded(container, DecodePolicy.ALL, None, thread_type="NONE"):
            decoded.to_bgr_fitting(160, 160)
            decoded.to_bgr()
    after = STAGE_CPU.totals()
    assert after[Stage.DECODE] > before[Stage.DECODE] and after[Stage.CONVERSION] > before[Stage.CONVERSION]
