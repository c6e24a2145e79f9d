"""The value that leaves the detector stage: one confirmed violation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


def new_violation_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule confirmed: this object (or cluster of `object_count` objects) broke this rule in
    this zone of this camera.

    `kind` is a code of the taxonomy (configs/taxonomy.yaml), e.g. "non_motor_parking". Times are
    timezone-aware (UTC) and come from frame timestamps, never the wall clock. `bbox` is x1, y1,
    x2, y2 in the frame's pixels (around all members of a cluster); `frame_size` is (width, height).
    `snapshot` is the evidence picture (drawn on); `frame` the same frame clean, beside it as
    `<snapshot stem>.frame.jpg` with its detections in `<snapshot stem>.dets.json` (detector/evidence.py),
    kept for training data; either is None when not written.
    `id` is made once, when the rule confirms: the incident takes it as its own id, so storing
    the same violation again (a retry, a replay of the spool) never makes a second incident.
    """

    camera_id: str
    zone: str
    kind: str
    object_kind: str
    class_name: str
    track_id: int
    bbox: tuple[float, float, float, float]
    confidence: float
    first_seen: datetime
    confirmed_at: datetime
    frame_size: tuple[int, int]
    object_count: int = 1
    snapshot: Path | None = None
    frame: Path | None = None
    id: str = field(default_factory=new_violation_id)
