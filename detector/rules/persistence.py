"""Persistence: a static thing (poster, banner, structure, pile) present in enough of the last
checks, spread over a time window — robust to a detector that finds it only now and then."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from detector.rules.base import FrameView, ObjectsParameters, RuleBase, RuleHit


class PersistenceParameters(ObjectsParameters):
    """An object of `objects` present in >= `min_present` of the last `checks` looks, one look
    every `check_every_s`."""

    type: Literal["persistence"] = "persistence"
    check_every_s: float = Field(gt=0, le=86400, description="one look this often (frame time)")
    checks: int = Field(ge=1, le=1000, description="looks remembered")
    min_present: int = Field(ge=1, le=1000, description="looks that must find it")

    @field_validator("min_present")
    @classmethod
    def at_most_checks(cls, min_present: int, info: ValidationInfo) -> int:
        checks = info.data.get("checks")  # absent when checks itself is invalid
        if checks is not None and min_present > checks:
            raise ValueError(f"cannot exceed checks ({checks})")
        return min_present


@dataclass
class _ZoneChecks:
    present: deque[bool]
    first_present_ts: float | None = None  # first present check of the current run
    confirmed: bool = False


@dataclass
class PersistenceRule(RuleBase[PersistenceParameters]):
    """Every `check_every_s` of frame time, looks once at each tagged zone: is an object of
    `objects` there (confidence >= `min_confidence`)? Confirms once when at least `min_present`
    of the last `checks` looks found one, on a look that finds one (its box is the evidence);
    re-arms once all `checks` looks in a row find nothing. The camera being offline makes no
    looks: the history waits, it is not filled with absences.

    >>> rule = PersistenceRule("posting", frozenset({"wall"}), PersistenceParameters(
    ...     objects=("poster", "flyer"), check_every_s=600, checks=6, min_present=4),  # 4 of 6 looks over an hour
    ...     max_frame_gap_s=10)
    """

    _next_check_ts: float | None = field(default=None, init=False, repr=False)
    _zones: dict[str, _ZoneChecks] = field(default_factory=dict, init=False, repr=False)

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        if self._next_check_ts is not None and view.ts < self._next_check_ts:
            return []
        params = self.params
        self._next_check_ts = view.ts + params.check_every_s
        found = np.isin(view.object_kinds, list(params.objects)) & (view.detections.confidence >= params.min_confidence)
        hits = []
        for z, zone in enumerate(view.zones):
            if not zone.tags & self.zone_tags:
                continue
            here = np.flatnonzero(found & view.in_zone[z])
            state = self._zones.setdefault(zone.name, _ZoneChecks(deque(maxlen=params.checks)))
            state.present.append(bool(here.size))
            if not any(state.present):
                state.first_present_ts, state.confirmed = None, False
                continue
            if here.size and state.first_present_ts is None:
                state.first_present_ts = view.ts
            if here.size and not state.confirmed and sum(state.present) >= params.min_present:
                state.confirmed = True
                best = int(here[np.argmax(view.detections.confidence[here])])
                assert state.first_present_ts is not None
                hits.append(RuleHit(self.kind, zone.name, best, str(view.object_kinds[best]), state.first_present_ts,
                                    object_count=int(here.size)))
        return hits
