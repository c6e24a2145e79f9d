"""Small real H.264 clips for tests, encoded with the ffmpeg CLI (no mocks, no committed video)."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Constant GOP and no scene-cut keyframes, so a test knows exactly which frames are keyframes.
_H264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-sc_threshold", "0",
         "-bf", "0", "-movflags", "+faststart"]


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_still_clip(image: Path, out: Path, seconds: float, fps: int = 10, gop: int = 10,
                    width: int | None = None) -> Path:
    """Encode a still image as an H.264 MP4 of `seconds` at `fps`, one keyframe every `gop` frames.

    `width` scales the picture (height follows the aspect ratio); dimensions are forced even,
    which yuv420p requires.
    """
    scale = f"scale={width}:-2" if width else "scale=trunc(iw/2)*2:trunc(ih/2)*2"
    _ffmpeg(["-loop", "1", "-framerate", str(fps), "-i", str(image), "-t", f"{seconds}",
             "-vf", scale, "-r", str(fps), "-g", str(gop), "-keyint_min", str(gop), *_H264, str(out)])
    return out


def make_test_pattern_clip(out: Path, seconds: float, size: tuple[int, int] = (320, 240), fps: int = 10,
                           gop: int = 10) -> Path:
    """Encode ffmpeg's moving `testsrc` pattern (`size` is width, height) as an H.264 MP4."""
    width, height = size
    _ffmpeg(["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}:duration={seconds}",
             "-g", str(gop), "-keyint_min", str(gop), *_H264, str(out)])
    return out
