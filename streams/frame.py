"""The value that leaves the streams stage: one decoded picture of one camera."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class DecodePolicy(StrEnum):
    """Which frames a source decodes and hands on.

    ALL: every frame; SAMPLED: every frame decoded, only those on the `detect_fps` grid handed on;
    KEYFRAMES: only key frames decoded (the decoder skips the rest), then sampled to `detect_fps`.
    """

    ALL = "all"
    SAMPLED = "sampled"
    KEYFRAMES = "keyframes"


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded picture.

    `ts` is POSIX seconds: the wall clock at capture for live streams, the replay origin plus the
    media time for files. Rules use only `ts`, so a file replayed at any speed gives the same result.

    >>> Frame("cam-01", 0, 1_700_000_000.0, 0.0, np.zeros((2, 2, 3), np.uint8), True).height
    2
    """

    camera_id: str
    seq: int
    ts: float
    media_time_s: float
    image: np.ndarray  # H x W x 3, BGR, uint8
    keyframe: bool

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"camera {self.camera_id}: frame image must be HxWx3 uint8, got "
                             f"{self.image.shape} {self.image.dtype}")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
