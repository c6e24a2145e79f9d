"""Which decoded frames carry a usable picture: the screen between a decoder and the mailbox.

A picture is usable when it decoded cleanly from a clean keyframe on, shows something (not a
uniform grey or black concealment picture), is newer than the last one and, for a live
source, has the size its connection started with. Everything else is dropped and counted: a
detector must never see a damaged, blank or repeated picture. The screen knows nothing of
cameras or health; it raises when a connection should end (`ResolutionChanged`, `NoPicture`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

# A flat picture: grey or black concealment, a lens cap. The brightness of a dark street at
# night still varies by far more than this (luma levels, 0..255).
BLANK_MAX_STD = 2.0
# Luma is sampled on a grid of this step, straight from the decoder's plane: about 8,000
# samples of a 1080p picture, a fraction of a millisecond (a scaled conversion costs ~3 ms).
_BLANK_STEP = 16
_BLANK_FALLBACK_SIZE = (64, 36)  # pixel formats without an 8-bit luma plane are scaled to this


@dataclass(slots=True)
class DropCounts:
    """Decoded frames the screen dropped, by reason."""

    corrupt: int = 0  # flagged corrupt by the decoder
    before_keyframe: int = 0  # after a (re)connect or a corrupt frame, before the next clean keyframe
    blank: int = 0  # uniformly grey or black
    stale: int = 0  # media time not after the last picture's


class ResolutionChanged(Exception):
    """A live stream changed its picture size mid-connection."""

    def __init__(self, before: tuple[int, int], after: tuple[int, int]) -> None:
        super().__init__(f"resolution changed from {before[0]}x{before[1]} to {after[0]}x{after[1]}")


class NoPicture(Exception):
    """Packets arrive, but none gave a usable picture within the picture timeout."""


def luma_spread(frame: av.VideoFrame) -> float:
    """Standard deviation of the picture's brightness, sampled on a coarse grid."""
    fmt = frame.format
    luma = fmt.components[0]
    if fmt.is_planar and luma.is_luma and luma.bits == 8 and luma.plane == 0:
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), np.uint8, count=plane.height * plane.line_size)
        return float(rows.reshape(plane.height, plane.line_size)[::_BLANK_STEP, :plane.width:_BLANK_STEP].std())
    width, height = _BLANK_FALLBACK_SIZE
    return float(frame.reformat(width=width, height=height, format="gray").to_ndarray().std())


def is_blank(frame: av.VideoFrame) -> bool:
    return luma_spread(frame) < BLANK_MAX_STD


class PictureScreen:
    """Screens the decoded frames of one connection, in decode order.

    `admit` passes a frame only if it is clean, comes at or after a clean keyframe (counted from
    the connection's start and again from every corrupt frame, whose damage the frames after it
    inherit), is not blank and is newer than the last admitted one. With `fixed_size`, a clean
    frame of another size than the connection's first raises `ResolutionChanged`; otherwise the
    new size is simply taken on. With `picture_timeout_s`, `packet_arrived` raises `NoPicture`
    once that long has passed since the connection opened or the last admitted picture, so a
    stream of packets that never decode to a picture counts as a stall. `on_picture` is called
    for every admitted frame, and for every picture deferred (`picture_deferred`).

    >>> screen = PictureScreen(DropCounts())
    >>> grey = av.VideoFrame.from_ndarray(np.full((36, 64, 3), 128, np.uint8), format="rgb24")
    >>> screen.admit(grey, 0.0), screen.counts
    (False, DropCounts(corrupt=0, before_keyframe=1, blank=0, stale=0))
    """

    def __init__(self, counts: DropCounts, *, fixed_size: bool = False, picture_timeout_s: float | None = None,
                 on_picture: Callable[[], None] | None = None) -> None:
        self.counts = counts
        self._fixed_size = fixed_size
        self._timeout_s = picture_timeout_s
        self._on_picture = on_picture
        self._keyed = False
        self._size: tuple[int, int] | None = None
        self._last_time_s: float | None = None
        self._last_picture = time.monotonic()

    def picture_deferred(self) -> None:
        """A keyframe was left undecoded on purpose (the detector still had this camera's last picture):
        a sign of life like an admitted picture, for the picture timeout and `on_picture`."""
        self._last_picture = time.monotonic()
        if self._on_picture is not None:
            self._on_picture()

    def packet_arrived(self) -> None:
        if self._timeout_s is not None and time.monotonic() - self._last_picture >= self._timeout_s:
            raise NoPicture(f"no usable picture within {self._timeout_s:g} s")

    def admit(self, frame: av.VideoFrame, media_time_s: float) -> bool:
        if frame.is_corrupt:
            self._keyed = False
            self.counts.corrupt += 1
            return False
        size = (frame.width, frame.height)
        if self._fixed_size and self._size is not None and size != self._size:
            raise ResolutionChanged(self._size, size)
        self._size = size
        if frame.key_frame:
            self._keyed = True
        elif not self._keyed:
            self.counts.before_keyframe += 1
            return False
        if self._last_time_s is not None and media_time_s <= self._last_time_s:
            self.counts.stale += 1
            return False
        if is_blank(frame):
            self.counts.blank += 1
            return False
        self._last_time_s = media_time_s
        self._last_picture = time.monotonic()
        if self._on_picture is not None:
            self._on_picture()
        return True
