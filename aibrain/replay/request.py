"""What `aibrain replay` was asked to do: the files, the camera, the media range, the outputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aibrain.replay.inputs import Speed


@dataclass(frozen=True)
class ReplayRequest:
    files: list[Path]  # files, or folders whose video files are replayed
    camera_id: str
    json_out: Path | None = None
    origin: datetime | None = None  # wall time of the first file's start; the next files follow on
    database: str | None = None
    progress: bool = True
    start_s: float | None = None  # media time range of each file
    end_s: float | None = None
    speed: Speed = Speed.MAX
    report_dir: Path | None = None
    clips: bool = False  # with report_dir: a short MP4 around each confirmation
