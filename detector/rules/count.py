"""Count: too many objects of a kind in a zone for long enough (a shared-bike pile-up, a crowd)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field

from detector.rules.base import FrameView, LastingParameters, ObjectsParameters, RuleBase, RuleHit, union_box
from detector.rules.episode import Episode, FrameClock


class CountParameters(ObjectsParameters, LastingParameters):
    """At least `min_count` objects of `objects` in a zone for `dwell_s`."""

    type: Literal["count"] = "count"
    min_count: int = Field(ge=1, le=10_000, description="objects at least")


@dataclass
class CountRule(RuleBase[CountParameters]):
    """Confirms once per episode per zone: at least `min_count` objects of `objects` (confidence
    >= `min_confidence`) in a zone tagged with one of `zone_tags`, for `dwell_s` of frame time,
    dips below the count of up to `lost_tolerance_s` tolerated. The violation's box spans the
    objects counted; `object_count` says how many there were.

    >>> rule = CountRule("bike_pileup", frozenset({"sidewalk"}),
    ...                  CountParameters(objects=("non_motor_vehicle",), min_count=10, dwell_s=300), max_frame_gap_s=10)
    """

    _clock: FrameClock = field(init=False, repr=False)
    _episodes: dict[str, Episode] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._clock = FrameClock(self.max_frame_gap_s)

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        dt = self._clock.advance(view.ts)
        params = self.params
        counted = (np.isin(view.object_kinds, list(params.objects))
                   & (view.detections.confidence >= params.min_confidence))
        hits = []
        for z, zone in enumerate(view.zones):
            if not zone.tags & self.zone_tags:
                continue
            here = np.flatnonzero(counted & view.in_zone[z])
            episode = self._episodes.setdefault(zone.name, Episode(params.dwell_s, params.lost_tolerance_s))
            if episode.step(len(here) >= params.min_count, dt, view.ts):
                assert episode.started_ts is not None
                best = int(here[np.argmax(view.detections.confidence[here])])
                hits.append(RuleHit(self.kind, zone.name, best, str(view.object_kinds[best]), episode.started_ts,
                                    union_box(view.detections.xyxy[here]), int(len(here))))
        return hits
