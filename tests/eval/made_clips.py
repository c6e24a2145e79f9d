"""Clips made from real footage for cases the footage lacks, written by the tests into their tmp_path.

`make_occluded_clip`: the parked car of `pialin_street.mp4` (the only real parked vehicle in the
footage) played forwards and backwards to 30 s, with a real car cut from `sohaib_raasta_traffic.mp4`
sliding across it, in front, from left to right: for a few seconds the parked car is partly or wholly
hidden by passing traffic. The constants below are its truth, for evaluation truth files.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from aibrain.assets import asset

PIALIN = "footage/videos/pialin_street.mp4"
SOHAIB = "footage/videos/sohaib_raasta_traffic.mp4"

OCCLUDED_CLIP_S = 30.0  # media seconds
OCCLUDED_FPS = 10.0  # frames written per second (a replay samples them at the camera's detect_fps)
OCCLUDED_SIZE = (300, 240)  # (width, height): pialin's own size
# The parked car (a silver Peugeot): it stands for the whole clip; its box in fractions of the frame (x1, y1, x2, y2).
PARKED_STANDS = (0.0, None)  # media s it stops .. leaves (None: still there at the end)
PARKED_BOX = (0.527, 0.438, 0.993, 0.754)  # pixels [158, 105, 298, 181] of 300 x 240
# The passing car: a white car cut from sohaib frame OCCLUDER_FRAME, box OCCLUDER_CROP (pixels of that frame),
# scaled to OCCLUDER_SIZE, bottom edge at OCCLUDER_BOTTOM; it enters the frame at OCCLUDER_ENTERS and has left it at
# OCCLUDER_LEAVES, moving at constant speed, and overlaps the parked car's box from OCCLUDER_COVERS[0] to [1].
OCCLUDER_FRAME = 350
OCCLUDER_CROP = (906, 451, 1023, 511)
OCCLUDER_SIZE = (170, 88)  # a little larger than the parked car: at the middle of its pass it hides it whole
OCCLUDER_BOTTOM = 196  # nearer the camera than the parked car (whose bottom edge is at 181)
OCCLUDER_ENTERS, OCCLUDER_LEAVES = 4.0, 16.0


def occluder_left(t: float) -> float:
    """The passing car's left edge (pixels) at media time `t`: off the frame's left before it enters,
    past its right edge once it has left."""
    width = OCCLUDED_SIZE[0]
    share = (t - OCCLUDER_ENTERS) / (OCCLUDER_LEAVES - OCCLUDER_ENTERS)
    return -OCCLUDER_SIZE[0] + share * (width + OCCLUDER_SIZE[0])


def _covers() -> tuple[float, float]:
    """Media seconds between which the passing car overlaps the parked car's box."""
    width = OCCLUDED_SIZE[0]
    left, right = PARKED_BOX[0] * width, PARKED_BOX[2] * width
    speed = (width + OCCLUDER_SIZE[0]) / (OCCLUDER_LEAVES - OCCLUDER_ENTERS)  # pixels a second
    # Overlap begins when the passing car's right edge reaches the parked car's left edge, and ends when
    # its left edge passes the parked car's right edge.
    return (OCCLUDER_ENTERS + left / speed, OCCLUDER_ENTERS + (right + OCCLUDER_SIZE[0]) / speed)


OCCLUDER_COVERS: tuple[float, float] = _covers()  # about (8.0, 16.0)


def _frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise OSError(f"cannot read {path}")
    return frames


def _frame(path: Path, number: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(path))
    for _ in range(number):  # decoding forward from the start: the same picture whatever the seek support
        capture.grab()
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise OSError(f"cannot read frame {number} of {path}")
    return frame


def _occluder(sohaib: Path) -> np.ndarray:
    x1, y1, x2, y2 = OCCLUDER_CROP
    return cv2.resize(_frame(sohaib, OCCLUDER_FRAME)[y1:y2, x1:x2], OCCLUDER_SIZE, interpolation=cv2.INTER_AREA)


def _paste(frame: np.ndarray, car: np.ndarray, left: float) -> None:
    """Draw `car` onto `frame` in place, its left edge at `left` (clipped at the frame's edges)."""
    height, width = car.shape[:2]
    x = int(round(left))
    top = OCCLUDER_BOTTOM - height
    a, b = max(x, 0), min(x + width, frame.shape[1])
    if a < b:
        frame[top:OCCLUDER_BOTTOM, a:b] = car[:, a - x:b - x]


def make_occluded_clip(out: Path, pialin: Path | None = None, sohaib: Path | None = None) -> Path:
    """Write the occlusion clip (mp4v, OCCLUDED_SIZE, OCCLUDED_FPS, OCCLUDED_CLIP_S long) to `out`; returns `out`.
    The same sources give the same frames: nothing is random."""
    source = _frames(pialin or asset(PIALIN))
    if source[0].shape[1::-1] != OCCLUDED_SIZE:  # the truth's pixels are pialin's
        raise ValueError(f"{pialin or asset(PIALIN)}: expected a {OCCLUDED_SIZE} picture, got {source[0].shape[1::-1]}")
    car = _occluder(sohaib or asset(SOHAIB))
    source_fps = 20.0  # pialin_street.mp4's rate
    back_and_forth = source + source[-2:0:-1]  # ping-pong without repeating the end frames
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), OCCLUDED_FPS, OCCLUDED_SIZE)
    if not writer.isOpened():
        raise OSError(f"cannot write {out}")
    try:
        for number in range(int(OCCLUDED_CLIP_S * OCCLUDED_FPS)):
            t = number / OCCLUDED_FPS
            frame = back_and_forth[int(round(t * source_fps)) % len(back_and_forth)].copy()
            if OCCLUDER_ENTERS <= t < OCCLUDER_LEAVES:
                _paste(frame, car, occluder_left(t))
            writer.write(frame)
    finally:
        writer.release()
    return out
