"""What every rule sees of a frame and what it answers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detector.detections import Detections
from detector.zones import Zone


@dataclass(frozen=True, slots=True, eq=False)
class FrameView:
    """One camera frame as rules see it: tracked detections with their object kinds and zone
    membership worked out once by the engine, for every rule to share.

    object_kinds: (N,) str, "" where the class maps to no kind (or the detection was filtered out);
    in_zone: (Z, N) bool, row z for zones[z]; frame_size: (width, height) of the picture the boxes are in.
    """

    ts: float
    detections: Detections
    object_kinds: np.ndarray
    zones: tuple[Zone, ...]
    in_zone: np.ndarray
    frame_size: tuple[int, int]

    def normalised_boxes(self) -> np.ndarray:
        """(N, 4) boxes as fractions of the frame: what rules remember, so a camera whose
        resolution changes keeps its parked objects."""
        width, height = self.frame_size
        return self.detections.xyxy / np.array([width, height, width, height], dtype=np.float32)

    def candidates(self, object_kinds: Collection[str], zone_tags: Collection[str],
                   min_confidence: float) -> tuple[np.ndarray, list[str]]:
        """Indices of detections of `object_kinds` at `min_confidence` or more whose ground point is
        in a zone tagged with one of `zone_tags`, and the zone each stands in (first listed wins)."""
        tagged = [z for z, zone in enumerate(self.zones) if zone.tags & set(zone_tags)]
        if not tagged or not len(self.detections):
            return np.zeros(0, np.int64), []
        inside = self.in_zone[tagged]  # (tagged zones, N)
        mask = (np.isin(self.object_kinds, list(object_kinds))
                & (self.detections.confidence >= min_confidence) & inside.any(axis=0))
        indices = np.flatnonzero(mask)
        first_zone = inside[:, indices].argmax(axis=0)
        return indices, [self.zones[tagged[z]].name for z in first_zone]


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule confirmed on detection `index` of the frame; the engine turns it into a Violation.

    `bbox` (pixels) replaces the detection's box when the violation spans several objects (a
    cluster, a crowd); `object_count` says how many.
    """

    kind: str
    zone: str
    index: int
    object_kind: str
    first_seen_ts: float
    bbox: tuple[float, float, float, float] | None = None
    object_count: int = 1


class Rule(Protocol):
    """A stateful per-camera rule; `evaluate` must be called with non-decreasing timestamps."""

    kind: str
    zone_tags: frozenset[str]

    def evaluate(self, view: FrameView) -> list[RuleHit]: ...


def union_box(xyxy: np.ndarray) -> tuple[float, float, float, float]:
    """The box around all of (N, 4) boxes, in their pixels."""
    return (float(xyxy[:, 0].min()), float(xyxy[:, 1].min()), float(xyxy[:, 2].max()), float(xyxy[:, 3].max()))
