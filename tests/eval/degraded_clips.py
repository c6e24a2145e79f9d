"""Street footage made worse the way cameras make it worse: a camera that shakes on its pole, and
night. Each maker reads a real clip, changes every frame deterministically (a fixed seed: the same
clip on every run) and encodes the result with cv2 (MPEG-4 Part 2, as pialin_street.mp4 itself is);
the clips are written by the tests into tmp_path, never committed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

SHAKE_PX = 4  # how far the picture jumps each frame, at most, in either direction (on a 300 px wide clip)
STRONG_SHAKE_PX = 16  # a pole in a gale: over 5 % of the width from one frame to the next
NIGHT_GAMMA = 2.8  # out = in ** gamma on 0..1: shadows sink to black, the lit parts keep some shape
NIGHT_GAIN = 0.45  # the street lights reach little: the whole picture darker still (pialin: mean grey 123 -> 20)
DARK_NIGHT_GAMMA, DARK_NIGHT_GAIN = 4.0, 0.2  # an unlit street: pialin's mean grey 123 -> 6, the car a faint shape
NIGHT_NOISE = 8.0  # sensor noise (grey levels, standard deviation) a camera adds when it amplifies a dark picture

Frame = np.ndarray


def make_shaken_clip(source: Path, out: Path, shake_px: int = SHAKE_PX, seed: int = 12) -> Path:
    """`source` with every frame shifted by up to `shake_px` pixels in x and y (a wind-shaken pole):
    a still object jumps about by that much from one frame to the next."""
    rng = np.random.default_rng(seed)

    def shaken(frame: Frame) -> Frame:
        dx, dy = rng.integers(-shake_px, shake_px + 1, size=2)
        shift = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
        height, width = frame.shape[:2]
        moved: Frame = cv2.warpAffine(frame, shift, (width, height), borderMode=cv2.BORDER_REPLICATE)
        return moved

    return _rewrite(source, out, shaken)


def make_night_clip(source: Path, out: Path, gamma: float = NIGHT_GAMMA, gain: float = NIGHT_GAIN,
                    seed: int = 12) -> Path:
    """`source` as a camera sees it at night: darkened (`gamma`, then `gain`) and grainy."""
    rng = np.random.default_rng(seed)
    levels = np.arange(256, dtype=np.float32) / 255.0
    curve = np.clip(255.0 * gain * levels ** gamma, 0, 255).astype(np.uint8)

    def night(frame: Frame) -> Frame:
        dark = cv2.LUT(frame, curve).astype(np.float32)
        grain = rng.normal(0.0, NIGHT_NOISE, size=frame.shape[:2])[..., None]  # luminance noise, as sensors make
        return np.clip(dark + grain, 0, 255).astype(np.uint8)

    return _rewrite(source, out, night)


def _rewrite(source: Path, out: Path, change: Callable[[Frame], Frame]) -> Path:
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    capture.release()
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    try:
        for frame in _frames(source):
            writer.write(change(frame))
    finally:
        writer.release()
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"cv2 wrote no video to {out}")
    return out


def _frames(source: Path) -> Iterator[Frame]:
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot read video {source}")
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()
