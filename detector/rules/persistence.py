"""Persistence: a static thing (poster, banner, structure, pile) present in enough of the last
checks, spread over a time window — robust to a detector that finds it only now and then."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from detector.rules.base import FrameView, RuleHit


@dataclass
class _ZoneChecks:
    present: deque[bool]
    first_present_ts: float | None = None  # first present check of the current run
    confirmed: bool = False


@dataclass
class PersistenceRule:
    """Every `check_every_s` of frame time, looks once at each tagged zone: is an object of
    `object_kinds` there (confidence >= `min_confidence`)? Confirms once when at least
    `min_present` of the last `checks` looks found one, on a look that finds one (its box is the
    evidence); re-arms once all `checks` looks in a row find nothing. The camera being offline
    makes no looks: the history waits, it is not filled with absences.

    >>> rule = PersistenceRule("posting", frozenset({"poster", "flyer"}), frozenset({"wall"}),
    ...                        check_every_s=600, checks=6, min_present=4)  # 4 of 6 looks over an hour
    """

    kind: str
    object_kinds: frozenset[str]
    zone_tags: frozenset[str]
    check_every_s: float = 60.0
    checks: int = 10
    min_present: int = 8
    min_confidence: float = 0.3
    _next_check_ts: float | None = field(default=None, init=False, repr=False)
    _zones: dict[str, _ZoneChecks] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        checks = {
            "object_kinds must not be empty": bool(self.object_kinds),
            "zone_tags must not be empty": bool(self.zone_tags),
            "check_every_s must be > 0": self.check_every_s > 0,
            "need 1 <= min_present <= checks": 1 <= self.min_present <= self.checks,
            "min_confidence must be in 0..1": 0 <= self.min_confidence <= 1,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"persistence rule for {self.kind}: {'; '.join(failed)}")

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        if self._next_check_ts is not None and view.ts < self._next_check_ts:
            return []
        self._next_check_ts = view.ts + self.check_every_s
        found = (np.isin(view.object_kinds, list(self.object_kinds))
                 & (view.detections.confidence >= self.min_confidence))
        hits = []
        for z, zone in enumerate(view.zones):
            if not zone.tags & self.zone_tags:
                continue
            here = np.flatnonzero(found & view.in_zone[z])
            state = self._zones.setdefault(zone.name, _ZoneChecks(deque(maxlen=self.checks)))
            state.present.append(bool(here.size))
            if not any(state.present):
                state.first_present_ts, state.confirmed = None, False
                continue
            if here.size and state.first_present_ts is None:
                state.first_present_ts = view.ts
            if here.size and not state.confirmed and sum(state.present) >= self.min_present:
                state.confirmed = True
                best = int(here[np.argmax(view.detections.confidence[here])])
                assert state.first_present_ts is not None
                hits.append(RuleHit(self.kind, zone.name, best, str(view.object_kinds[best]), state.first_present_ts,
                                    object_count=int(here.size)))
        return hits
