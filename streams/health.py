"""Camera health: the states a source reports and the event it emits on each change."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CameraState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    STALLED = "stalled"  # connected, but no frame within the read timeout
    OFFLINE = "offline"  # cannot connect or the connection dropped
    FINISHED = "finished"  # a file source reached its end
    FAILED = "failed"  # a replayed file cannot be read: retrying would not help, the reader ends


@dataclass(frozen=True, slots=True)
class HealthEvent:
    """Emitted once per state change of a camera (never repeated for the same state)."""

    camera_id: str
    state: CameraState
    ts: float  # wall clock, POSIX seconds
    reason: str = ""
