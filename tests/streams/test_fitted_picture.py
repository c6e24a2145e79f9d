"""The detector's smaller picture: one swscale pass from the decoder's YUV, the full size kept for later."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from streams.decode import DecodedFrame, iter_decoded, open_container
from streams.frame import DecodePolicy, Frame
from tests.helpers.media import read_image

# Mean absolute difference (0..255) allowed between swscale's AREA straight from YUV and cv2's INTER_AREA on
# the full BGR picture: the filters and the chroma upsampling differ a little; a wrong picture differs by tens.
MAX_MEAN_DIFF = 3.0


def yuv_picture(photo: Path, width: int, height: int) -> DecodedFrame:
    """A real photo (texture, colour) at this size as a yuv420p picture, as a decoder gives it."""
    bgr = np.asarray(cv2.resize(read_image(photo), (width, height), interpolation=cv2.INTER_AREA), np.uint8)
    return DecodedFrame(0.0, True, av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p"))


@pytest.mark.parametrize(("size", "fitted"), [((1920, 1080), (640, 360)), ((704, 576), (640, 524)),
                                              ((1080, 1920), (360, 640))])
def test_fitting_shrinks_to_the_box_keeping_proportions_and_colours(
        shared_bike_still: Path, size: tuple[int, int], fitted: tuple[int, int]) -> None:
    picture = yuv_picture(shared_bike_still, *size)
    assert (picture.width, picture.height) == size
    small = picture.to_bgr_fitting(640, 640)
    assert small is not None and small.shape == (fitted[1], fitted[0], 3) and small.dtype == np.uint8
    expected = cv2.resize(picture.to_bgr(), fitted, interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(np.int16) - expected.astype(np.int16)).mean() < MAX_MEAN_DIFF


def test_a_picture_that_fits_already_is_not_scaled(shared_bike_still: Path) -> None:
    assert yuv_picture(shared_bike_still, 640, 360).to_bgr_fitting(640, 640) is None
    assert yuv_picture(shared_bike_still, 320, 240).to_bgr_fitting(640, 640) is None


def test_a_frame_holds_the_decoder_picture_and_converts_it_when_asked(shared_bike_still: Path) -> None:
    picture = yuv_picture(shared_bike_still, 1920, 1080)
    small = picture.to_bgr_fitting(640, 640)
    frame = Frame("cam-1", 0, 0.0, 0.0, None, True, picture=picture, detect_image=small)
    assert (frame.width, frame.height, frame.detect_scale, frame.converted) == (1920, 1080, (3.0, 3.0), False)
    assert np.array_equal(frame.image, picture.to_bgr()) and frame.converted


def test_held_decoder_pictures_keep_their_pixels_after_decoding_on_and_closing(pattern_clip: Path) -> None:
    # What lets a Frame hold the decoder's picture until evidence needs it (no copy of the planes).
    with open_container(str(pattern_clip), 5, 5) as container:
        held = list(iter_decoded(container, DecodePolicy.KEYFRAMES, None, thread_type="NONE"))
        converted_in_container = [d.to_bgr() for d in held]
    with open_container(str(pattern_clip), 5, 5) as container:  # the same pictures decoded afresh
        again = [d.to_bgr() for d in iter_decoded(container, DecodePolicy.KEYFRAMES, None)]
    assert len(held) == len(again) > 2
    for picture, now, fresh in zip(held, converted_in_container, again, strict=True):
        assert np.array_equal(picture.to_bgr(), now) and np.array_equal(now, fresh)
