"""What a replay produced: per file what was read and found, and the incident records of all files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class IncidentRecord:
    """One incident a replay dispatched: the violation, where it went, and where in which file it was confirmed.

    `media_time_s` is the confirmation's media time in `file`; `confidence` and `bbox` are rounded as written.
    """

    incident_id: str
    dispatch_id: str
    kind: str
    kind_label_zh: str
    object_count: int
    camera_id: str
    zone: str
    grid_id: str | None  # None: no grid found for the camera and zone
    worker_id: str | None  # None: sent to the fallback queue
    object_kind: str
    class_name: str
    track_id: int
    first_seen: datetime
    confirmed_at: datetime
    media_time_s: float
    bbox: tuple[float, float, float, float]
    confidence: float
    snapshot: Path | None
    file: Path

    def as_json(self) -> dict[str, Any]:
        """The record as `--json` writes it, a line each, and incidents.json starts from: the fields in the order
        declared (which is the order of those files' keys), times in ISO 8601 with their offset, paths as text."""
        return asdict(self) | {
            "first_seen": self.first_seen.isoformat(), "confirmed_at": self.confirmed_at.isoformat(),
            "bbox": list(self.bbox), "snapshot": str(self.snapshot) if self.snapshot else None, "file": str(self.file)}


@dataclass
class FileOutcome:
    """One replayed file: its timeline, the part of it replayed, what came of it.

    `origin_ts` is the wall time (POSIX) of media time 0; an incident confirmed at `ts` lies at
    media time `ts - origin_ts` of this file. `error` names why the file could not be read (to its
    end); incidents found before that are kept. `damage` names why a file read to its end was not
    read cleanly (cut short, packets the decoder refused).
    """

    file: Path
    origin_ts: float
    duration_s: float | None  # None: the container does not say (or could not be opened)
    start_s: float = 0.0
    end_s: float | None = None  # as asked; None: to the end
    frames: int = 0
    incidents: int = 0
    elapsed_s: float = 0.0  # wall time the replay of this file took
    error: str | None = None
    damage: str | None = None

    @property
    def span_s(self) -> float | None:
        """Media seconds replayed (asked for, within the file), when the file's length is known."""
        if self.duration_s is None:
            return None
        end = self.duration_s if self.end_s is None else min(self.end_s, self.duration_s)
        return max(end - self.start_s, 0.0)

    @property
    def speed_factor(self) -> float | None:
        """Media seconds replayed per wall second (the real-time factor)."""
        span = self.span_s
        return span / self.elapsed_s if span is not None and self.elapsed_s > 0 and self.error is None else None


@dataclass
class ReplayOutcome:
    """All files of one `aibrain replay`, in the order replayed, and every incident found."""

    started_at: datetime
    files: list[FileOutcome] = field(default_factory=list)
    records: list[IncidentRecord] = field(default_factory=list)
    finished_at: datetime | None = None
    interrupted: bool = False  # stopped by Ctrl-C: later files were not replayed

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.error is not None]

    @property
    def damaged(self) -> list[FileOutcome]:
        return [f for f in self.files if f.error is None and f.damage is not None]
