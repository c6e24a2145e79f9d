"""Cluster: several kinds of object together in a zone for long enough — the COCO proxy for street
vending (a shade + a table, a chair or people) and for business spilling out of a shop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from detector.rules.base import FrameView, ObjectKind, RuleBase, RuleHit, RuleParameters, StandingParameters, union_box
from detector.rules.episode import Episode, FrameClock
from detector.rules.standing import StandingObjects


class ClusterGroup(BaseModel):
    """At least `min_count` objects of `objects` in the zone; with `stationary`, only objects that
    have stood still for the rule's `settle_s` count (a passer-by's umbrella does not)."""

    model_config = RuleParameters.model_config

    objects: tuple[ObjectKind, ...] = Field(min_length=1)
    min_count: int = Field(1, ge=1, le=1000)
    stationary: bool = True


class ClusterParameters(StandingParameters):
    """Every one of `groups` present together in one zone for `dwell_s`."""

    type: Literal["cluster"] = "cluster"
    groups: tuple[ClusterGroup, ...] = Field(min_length=1, description="kinds that must be together")
    settle_s: float = Field(10.0, ge=0, le=86400, description="standing this long counts as stationary")

    def object_lists(self) -> tuple[str, list[list[str]]]:
        return "groups", [list(group.objects) for group in self.groups]


@dataclass
class ClusterRule(RuleBase[ClusterParameters]):
    """Confirms once per episode per zone: every group satisfied in one zone tagged with one of
    `zone_tags`, for `dwell_s` of frame time, lapses up to `lost_tolerance_s` tolerated (people
    come and go, a detector misses a frame). One violation for the whole cluster: its box spans
    the members, `object_count` counts them.

    >>> shade = ClusterGroup(objects=("umbrella", "stall"))
    >>> people = ClusterGroup(objects=("table", "chair", "person"), stationary=False)
    >>> rule = ClusterRule("street_vending", frozenset({"sidewalk"}),
    ...                    ClusterParameters(groups=(shade, people), dwell_s=300), max_frame_gap_s=10)
    """

    _standing: StandingObjects = field(init=False, repr=False)
    _clock: FrameClock = field(init=False, repr=False)
    _stationary_kinds: frozenset[str] = field(init=False, repr=False)  # kinds that must have settled
    _episodes: dict[str, Episode] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        params = self.params
        self._standing = StandingObjects(params, self.max_frame_gap_s)
        self._clock = FrameClock(self.max_frame_gap_s)
        self._stationary_kinds = frozenset().union(*(g.objects for g in params.groups if g.stationary))

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        dt = self._clock.advance(view.ts)
        settled = self._settled(view)
        hits = []
        for z, zone in enumerate(view.zones):
            if not zone.tags & self.zone_tags:
                continue
            members = self._members(view, view.in_zone[z], settled)
            episode = self._episodes.setdefault(zone.name, Episode(self.params.dwell_s,
                                                                         self.params.lost_tolerance_s))
            if episode.step(members is not None, dt, view.ts) and members is not None:
                assert episode.started_ts is not None
                first = members[0]
                hits.append(RuleHit(self.kind, zone.name, int(first), str(view.object_kinds[first]),
                                    episode.started_ts, union_box(view.detections.xyxy[members]), len(members)))
        return hits

    def _settled(self, view: FrameView) -> np.ndarray:
        """(N,) bool: detections of a stationary group's kinds that have stood still for settle_s, seen (or
        hidden by other detections) in at least min_seen_ratio of those frames."""
        indices, zones = view.candidates(self._stationary_kinds, self.zone_tags, self.params.min_confidence)
        settled = np.zeros(len(view.detections), dtype=bool)
        for index, standing in self._standing.update(view, indices, zones):
            settled[index] = (standing.dwell_s >= self.params.settle_s
                              and standing.seen_ratio >= self.params.min_seen_ratio)
        return settled

    def _members(self, view: FrameView, in_zone: np.ndarray, settled: np.ndarray) -> np.ndarray | None:
        """Detection indices forming the cluster in this zone (first group's best first), or None."""
        confident = in_zone & (view.detections.confidence >= self.params.min_confidence)
        members = []
        for group in self.params.groups:
            mask = confident & np.isin(view.object_kinds, list(group.objects))
            if group.stationary:
                mask &= settled
            found = np.flatnonzero(mask)
            if len(found) < group.min_count:
                return None
            members.append(found[np.argsort(-view.detections.confidence[found], kind="stable")])
        return _ordered_unique(np.concatenate(members))


def _ordered_unique(indices: np.ndarray) -> np.ndarray:
    """`indices` without repeats, first occurrence order kept (an object may fill two groups)."""
    _, first = np.unique(indices, return_index=True)
    return indices[np.sort(first)]
