"""Count: too many objects of a kind in a zone for long enough (a shared-bike pile-up, a crowd)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.rules.base import FrameView, RuleHit, union_box
from detector.rules.episode import Episode, FrameClock


@dataclass
class CountRule:
    """Confirms once per episode per zone: at least `min_count` objects of `object_kinds`
    (confidence >= `min_confidence`) in a zone tagged with one of `zone_tags`, for `dwell_s` of
    frame time, dips below the count of up to `lost_tolerance_s` tolerated. The violation's box
    spans the objects counted; `object_count` says how many there were.

    >>> rule = CountRule("bike_pileup", frozenset({"non_motor_vehicle"}), frozenset({"sidewalk"}),
    ...                  min_count=10, dwell_s=300)
    """

    kind: str
    object_kinds: frozenset[str]
    zone_tags: frozenset[str]
    min_count: int = 10
    dwell_s: float = 120.0
    min_confidence: float = 0.3
    lost_tolerance_s: float = 30.0
    max_frame_gap_s: float = 10.0
    _clock: FrameClock = field(init=False, repr=False)
    _episodes: dict[str, Episode] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._clock = FrameClock(self.max_frame_gap_s)
        checks = {
            "object_kinds must not be empty": bool(self.object_kinds),
            "zone_tags must not be empty": bool(self.zone_tags),
            "min_count must be >= 1": self.min_count >= 1,
            "dwell_s must be > 0": self.dwell_s > 0,
            "lost_tolerance_s must be >= 0": self.lost_tolerance_s >= 0,
            "min_confidence must be in 0..1": 0 <= self.min_confidence <= 1,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"count rule for {self.kind}: {'; '.join(failed)}")

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        dt = self._clock.advance(view.ts)
        counted = (np.isin(view.object_kinds, list(self.object_kinds))
                   & (view.detections.confidence >= self.min_confidence))
        hits = []
        for z, zone in enumerate(view.zones):
            if not zone.tags & self.zone_tags:
                continue
            here = np.flatnonzero(counted & view.in_zone[z])
            episode = self._episodes.setdefault(zone.name, Episode(self.dwell_s, self.lost_tolerance_s))
            if episode.step(len(here) >= self.min_count, dt, view.ts):
                assert episode.started_ts is not None
                best = int(here[np.argmax(view.detections.confidence[here])])
                hits.append(RuleHit(self.kind, zone.name, best, str(view.object_kinds[best]), episode.started_ts,
                                    union_box(view.detections.xyxy[here]), int(len(here))))
        return hits
