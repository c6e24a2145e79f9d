"""The main stream of a sub-stream camera: its size probed, a keyframe grabbed on demand, and the sub-stream's
picture at the main stream's size and proportions (anamorphic D1 unsquashed)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from streams.decode import DecodedFrame
from streams.frame import Frame
from streams.main_picture import MainStream, NoMainPicture, SubStreamPicture
from tests.helpers.media import make_test_pattern_clip, read_image

# Mean absolute difference (0..255) between a swscale scaling from YUV and cv2's on BGR (see test_fitted_picture).
MAX_MEAN_DIFF = 3.0


@pytest.fixture(scope="module")
def main_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_pattern_clip(tmp_path_factory.mktemp("main") / "main.mp4", 2, size=(640, 360))


def d1_picture(photo: Path) -> DecodedFrame:
    """The photo as a 16:9 camera's D1 sub-stream gives it: squeezed into 704x576 (non-square pixels)."""
    bgr = np.asarray(cv2.resize(read_image(photo), (704, 576), interpolation=cv2.INTER_AREA), np.uint8)
    return DecodedFrame(0.0, True, av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p"))


def test_probe_reads_the_main_streams_size(main_clip: Path) -> None:
    main = MainStream(str(main_clip), 5.0, 5.0)
    assert main.size is None
    assert main.probe() == (640, 360) and main.size == (640, 360) and not main.stale


def test_probing_a_stream_that_is_not_there_fails_as_opening_one_does(tmp_path: Path) -> None:
    with pytest.raises((av.FFmpegError, OSError)):
        MainStream(str(tmp_path / "absent.mp4"), 1.0, 1.0).probe()


def test_grab_gives_a_main_stream_keyframe_at_full_size(main_clip: Path) -> None:
    main = MainStream(str(main_clip), 5.0, 5.0)
    main.probe()
    picture = main.grab()
    assert picture.image.shape == (360, 640, 3) and picture.image.dtype == np.uint8
    assert picture.image.std() > 10, "the test pattern, not a blank picture"
    assert not main.stale


def test_a_grab_finding_another_size_marks_the_probed_size_stale(main_clip: Path, tmp_path: Path) -> None:
    main = MainStream(str(main_clip), 5.0, 5.0)
    main.probe()
    main.url = str(make_test_pattern_clip(tmp_path / "smaller.mp4", 1, size=(320, 240)))  # the camera reconfigured
    assert main.grab().image.shape == (240, 320, 3)
    assert main.stale
    assert main.probe() == (320, 240) and not main.stale


def test_a_main_stream_that_cannot_be_opened_gives_no_picture_and_keeps_credentials_out(tmp_path: Path) -> None:
    main = MainStream("rtsp://admin:hunter2@127.0.0.1:9/Streaming/Channels/101", 1.0, 1.0)
    with pytest.raises(NoMainPicture) as caught:
        main.grab()
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(main)


def test_a_d1_sub_stream_is_scaled_to_the_main_streams_proportions(shared_bike_still: Path) -> None:
    picture = SubStreamPicture(d1_picture(shared_bike_still), (1920, 1080))
    assert (picture.width, picture.height) == (1920, 1080)
    small = picture.detect_image((640, 640))
    assert small.shape == (360, 640, 3), "16:9 as the main stream, not 640x524 letterboxed"
    assert picture.detect_image(None).shape == (396, 704, 3), "without a box: the sub-stream's width"
    # The photo's own proportions come back: the D1 squeeze is undone.
    expected = cv2.resize(read_image(shared_bike_still), (640, 360), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(np.int16) - expected.astype(np.int16)).mean() < 3 * MAX_MEAN_DIFF


def test_a_frame_of_the_sub_stream_is_in_main_stream_pixels(shared_bike_still: Path) -> None:
    picture = SubStreamPicture(d1_picture(shared_bike_still), (1920, 1080))
    frame = Frame("cam-01", 0, 0.0, 0.0, None, True, picture=picture, detect_image=picture.detect_image((640, 640)))
    assert (frame.width, frame.height) == (1920, 1080) and frame.detect_scale == (3.0, 3.0)
    assert not frame.converted
    assert frame.image.shape == (1080, 1920, 3), "the fallback evidence: the sub-stream scaled up"
