"""What `aibrain replay` is given: the video files behind its paths, and media times as typed."""

from __future__ import annotations

import argparse
import math
import re
from enum import StrEnum
from pathlib import Path

# Containers recorders and NVR exports commonly write; other files in a folder are left alone.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".ts", ".mts", ".m2ts", ".flv", ".webm",
                            ".mpg", ".mpeg", ".wmv", ".3gp", ".h264", ".264", ".h265", ".265", ".hevc", ".dav"})
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")  # [H:]MM:SS[.fff]


class ReplayInputError(ValueError):
    pass


class Speed(StrEnum):
    """MAX: as fast as the machine allows; REALTIME: frames paced like a camera's (media time = wall time)."""

    MAX = "max"
    REALTIME = "realtime"


def video_files(paths: list[Path]) -> list[Path]:
    """The files to replay, in order: a file as given, a folder's video files (sub-folders too)
    sorted by their path inside it. A missing path or a folder without videos is an error."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted((p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()),
                           key=lambda p: p.relative_to(path).parts)
            if not found:
                raise ReplayInputError(f"{path}: no video files in this folder "
                                       f"(looked for {', '.join(sorted(VIDEO_SUFFIXES))})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise ReplayInputError(f"{path}: no such file or folder")
    return files


def media_time(text: str) -> float:
    """Seconds into a file: `90`, `90.5`, `1:30`, `01:01:30.5` (H:MM:SS); never negative.

    >>> media_time("1:02:03.5"), media_time("75")
    (3723.5, 75.0)
    """
    clock = _CLOCK.match(text.strip())
    if clock:
        hours, minutes, seconds = clock.groups()
        if int(minutes) >= 60 or float(seconds) >= 60:
            raise ReplayInputError(f"media time {text!r}: minutes and seconds must be below 60")
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    try:
        seconds_only = float(text)
    except ValueError:
        raise ReplayInputError(f"media time {text!r}: give seconds (90.5) or H:MM:SS (0:01:30)") from None
    if not (math.isfinite(seconds_only) and seconds_only >= 0):
        raise ReplayInputError(f"media time {text!r}: must be a finite number, 0 or more")
    return seconds_only


def format_media_time(seconds: float) -> str:
    """`H:MM:SS.s`, the form analysts read in players.

    >>> format_media_time(3723.46)
    '1:02:03.5'
    """
    tenths = round(seconds * 10)
    minutes, tenth_seconds = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{tenth_seconds // 10:02d}.{tenth_seconds % 10}"


def media_time_argument(text: str) -> float:
    """`media_time` as an argparse type: a bad value is a usage error naming the option."""
    try:
        return media_time(text)
    except ReplayInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
