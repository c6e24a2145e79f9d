"""What every rule sees of a frame and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.detections import Detections
from detector.violation import ViolationKind
from detector.zones import Zone


@dataclass(frozen=True, slots=True, eq=False)
class FrameView:
    """One camera frame as rules see it: tracked detections with their object kinds and zone
    membership worked out once by the engine, for every rule to share.

    object_kinds: (N,) str, "" where the class maps to no kind; in_zone: (Z, N) bool, row z for zones[z].
    """

    ts: float
    detections: Detections
    object_kinds: np.ndarray
    zones: tuple[Zone, ...]
    in_zone: np.ndarray


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule confirmed on detection `index` of the frame; the engine turns it into a Violation."""

    kind: ViolationKind
    zone: str
    index: int
    object_kind: str
    first_seen_ts: float


class Rule(Protocol):
    """A stateful per-camera rule; `evaluate` must be called with non-decreasing timestamps."""

    kind: ViolationKind

    def evaluate(self, view: FrameView) -> list[RuleHit]: ...
