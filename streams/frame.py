"""The value that leaves the streams stage: one decoded picture of one camera."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import numpy as np


class DecodePolicy(StrEnum):
    """Which frames a source decodes and hands on.

    ALL: every frame; SAMPLED: every frame decoded, only those on the `detect_fps` grid handed on;
    KEYFRAMES: only key frames decoded (the decoder skips the rest), then sampled to `detect_fps`.
    """

    ALL = "all"
    SAMPLED = "sampled"
    KEYFRAMES = "keyframes"


class FullPicture(Protocol):
    """A decoded picture not yet converted to BGR (streams.decode.DecodedFrame): its full size, and the
    conversion, done only when something needs the full-size pixels (the evidence of a violation)."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def to_bgr(self) -> np.ndarray: ...


def _check_bgr(camera_id: str, what: str, image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"camera {camera_id}: {what} must be HxWx3 uint8, got {image.shape} {image.dtype}")


class Frame:
    """One decoded picture, at full size and, for the detector, possibly smaller.

    `ts` is POSIX seconds: the wall clock at capture for live streams, the replay origin plus the
    media time for files. Rules use only `ts`, so a file replayed at any speed gives the same result.

    Give either `image` (the full-size BGR picture) or `picture` (the decoder's, converted on the first
    read of `image`, once, then let go so its buffer returns to the decoder). `detect_image` is the
    picture the detector sees, smaller than full size to save CPU (default: `image`); boxes found on it
    are scaled back by `detect_scale`, so everything after the detector works in full-size pixels.
    `width` and `height` are always the full size. Not thread-safe for the first `image` read from two
    threads at once (both would convert; harmless, but wasteful): the detector's post thread does it (for a
    sub-stream camera's evidence, a main-stream evidence worker, once the post thread has handed the frame on).

    >>> Frame("cam-01", 0, 1_700_000_000.0, 0.0, np.zeros((2, 2, 3), np.uint8), True).height
    2
    >>> small = Frame("cam-01", 0, 0.0, 0.0, np.zeros((1080, 1920, 3), np.uint8), True,
    ...               detect_image=np.zeros((360, 640, 3), np.uint8))
    >>> small.detect_scale
    (3.0, 3.0)
    """

    __slots__ = ("camera_id", "seq", "ts", "media_time_s", "keyframe", "detect_image", "_image", "_picture",
                 "_width", "_height")

    def __init__(self, camera_id: str, seq: int, ts: float, media_time_s: float, image: np.ndarray | None,
                 keyframe: bool, *, picture: FullPicture | None = None,
                 detect_image: np.ndarray | None = None) -> None:
        if (image is None) == (picture is None):
            raise ValueError(f"camera {camera_id}: a frame needs either its image or its decoded picture")
        if image is not None:
            _check_bgr(camera_id, "frame image", image)
            self._width, self._height = int(image.shape[1]), int(image.shape[0])
        else:
            assert picture is not None
            self._width, self._height = picture.width, picture.height
        if detect_image is not None:
            _check_bgr(camera_id, "detection image", detect_image)
        elif image is None:
            raise ValueError(f"camera {camera_id}: a frame given as a decoded picture needs its detection image")
        self.camera_id, self.seq, self.ts, self.media_time_s, self.keyframe = (
            camera_id, seq, ts, media_time_s, keyframe)
        self._image, self._picture = image, picture
        self.detect_image: np.ndarray = detect_image if detect_image is not None else image  # type: ignore[assignment]

    @property
    def image(self) -> np.ndarray:
        """The full-size BGR picture (H x W x 3, uint8), converted from the decoder's on first use."""
        if self._image is None:
            assert self._picture is not None
            image = self._picture.to_bgr()
            _check_bgr(self.camera_id, "frame image", image)
            self._image, self._picture = image, None
        return self._image

    @property
    def converted(self) -> bool:
        """Whether the full-size picture exists as BGR pixels (given, or converted by a read of `image`)."""
        return self._image is not None

    @property
    def height(self) -> int:
        return self._height

    @property
    def width(self) -> int:
        return self._width

    @property
    def detect_scale(self) -> tuple[float, float]:
        """(x, y) factors from detection-image pixels to full-size pixels."""
        return self._width / self.detect_image.shape[1], self._height / self.detect_image.shape[0]

    def __repr__(self) -> str:
        return (f"Frame({self.camera_id!r}, seq={self.seq}, ts={self.ts:.3f}, {self._width}x{self._height}, "
                f"detect {self.detect_image.shape[1]}x{self.detect_image.shape[0]})")
