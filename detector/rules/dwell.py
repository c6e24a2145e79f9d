"""Dwell: an object of given kinds standing still in a tagged zone for long enough (parking, and
single-object vending or out-of-store business with a custom model)."""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.rules.base import FrameView, RuleHit
from detector.rules.standing import StandingObjects


@dataclass
class DwellRule:
    """Confirms once per standing object: kind in `object_kinds`, bottom centre in a zone carrying
    one of `zone_tags`, confidence >= `min_confidence`, standing still (see `StandingObjects`) for
    `dwell_s` seconds of frame time. Short occlusions and tracker id switches neither restart the
    dwell nor raise a second violation; while the camera is offline the dwell is frozen.

    >>> rule = DwellRule("non_motor_parking", frozenset({"non_motor_vehicle"}),
    ...                  frozenset({"no_parking"}), dwell_s=180)
    """

    kind: str
    object_kinds: frozenset[str]
    zone_tags: frozenset[str]
    dwell_s: float = 180.0
    min_confidence: float = 0.3
    max_displacement: float = 0.3
    lost_tolerance_s: float = 30.0
    max_frame_gap_s: float = 10.0
    same_object_iou: float = 0.5
    _standing: StandingObjects = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._standing = StandingObjects(self.max_displacement, self.lost_tolerance_s, self.max_frame_gap_s,
                                         self.same_object_iou)
        checks = {
            "object_kinds must not be empty": bool(self.object_kinds),
            "zone_tags must not be empty": bool(self.zone_tags),
            "dwell_s must be > 0": self.dwell_s > 0,
            "min_confidence must be in 0..1": 0 <= self.min_confidence <= 1,
        }
        failed = [message for message, ok in checks.items() if not ok] + self._standing.problems()
        if failed:
            raise ValueError(f"dwell rule for {self.kind}: {'; '.join(failed)}")

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        """Hits confirmed on this frame; timestamps must not decrease between calls."""
        indices, zones = view.candidates(self.object_kinds, self.zone_tags, self.min_confidence)
        hits = []
        for index, standing in self._standing.update(view, indices, zones):
            if not standing.confirmed and standing.dwell_s >= self.dwell_s:
                standing.confirmed = True
                hits.append(RuleHit(self.kind, standing.zone, index, standing.object_kind, standing.first_seen_ts))
        return hits
