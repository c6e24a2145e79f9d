"""Cluster: several kinds of object together in a zone for long enough — the COCO proxy for street
vending (a shade + a table, a chair or people) and for business spilling out of a shop."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.rules.base import FrameView, RuleHit, union_box
from detector.rules.episode import Episode, FrameClock
from detector.rules.standing import StandingObjects


@dataclass(frozen=True, slots=True)
class ClusterGroup:
    """At least `min_count` objects of `object_kinds` in the zone; with `stationary`, only objects
    that have stood still for the rule's `settle_s` count (a passer-by's umbrella does not)."""

    object_kinds: frozenset[str]
    min_count: int = 1
    stationary: bool = True


@dataclass
class ClusterRule:
    """Confirms once per episode per zone: every group satisfied in one zone tagged with one of
    `zone_tags`, for `dwell_s` of frame time, lapses up to `lost_tolerance_s` tolerated (people
    come and go, a detector misses a frame). One violation for the whole cluster: its box spans
    the members, `object_count` counts them.

    >>> shade = ClusterGroup(frozenset({"umbrella", "stall"}))
    >>> people = ClusterGroup(frozenset({"table", "chair", "person"}), stationary=False)
    >>> rule = ClusterRule("street_vending", (shade, people), frozenset({"sidewalk"}), dwell_s=300)
    """

    kind: str
    groups: tuple[ClusterGroup, ...]
    zone_tags: frozenset[str]
    dwell_s: float = 300.0
    settle_s: float = 10.0
    min_confidence: float = 0.3
    max_displacement: float = 0.3
    lost_tolerance_s: float = 30.0
    max_frame_gap_s: float = 10.0
    _standing: StandingObjects = field(init=False, repr=False)
    _clock: FrameClock = field(init=False, repr=False)
    _stationary_kinds: frozenset[str] = field(init=False, repr=False)  # kinds that must have settled
    _episodes: dict[str, Episode] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._standing = StandingObjects(self.max_displacement, self.lost_tolerance_s, self.max_frame_gap_s)
        self._clock = FrameClock(self.max_frame_gap_s)
        self._stationary_kinds = frozenset().union(*(g.object_kinds for g in self.groups if g.stationary))
        checks = {
            "groups must not be empty": bool(self.groups) and all(g.object_kinds for g in self.groups),
            "every group's min_count must be >= 1": all(g.min_count >= 1 for g in self.groups),
            "zone_tags must not be empty": bool(self.zone_tags),
            "dwell_s must be > 0": self.dwell_s > 0,
            "settle_s must be >= 0": self.settle_s >= 0,
            "min_confidence must be in 0..1": 0 <= self.min_confidence <= 1,
        }
        failed = [message for message, ok in checks.items() if not ok] + self._standing.problems()
        if failed:
            raise ValueError(f"cluster rule for {self.kind}: {'; '.join(failed)}")

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        dt = self._clock.advance(view.ts)
        settled = self._settled(view)
        hits = []
        for z, zone in enumerate(view.zones):
            if not zone.tags & self.zone_tags:
                continue
            members = self._members(view, view.in_zone[z], settled)
            episode = self._episodes.setdefault(zone.name, Episode(self.dwell_s, self.lost_tolerance_s))
            if episode.step(members is not None, dt, view.ts) and members is not None:
                assert episode.started_ts is not None
                first = members[0]
                hits.append(RuleHit(self.kind, zone.name, int(first), str(view.object_kinds[first]),
                                    episode.started_ts, union_box(view.detections.xyxy[members]), len(members)))
        return hits

    def _settled(self, view: FrameView) -> np.ndarray:
        """(N,) bool: detections of a stationary group's kinds that have stood still for settle_s."""
        indices, zones = view.candidates(self._stationary_kinds, self.zone_tags, self.min_confidence)
        settled = np.zeros(len(view.detections), dtype=bool)
        for index, standing in self._standing.update(view, indices, zones):
            settled[index] = standing.dwell_s >= self.settle_s
        return settled

    def _members(self, view: FrameView, in_zone: np.ndarray, settled: np.ndarray) -> np.ndarray | None:
        """Detection indices forming the cluster in this zone (first group's best first), or None."""
        confident = in_zone & (view.detections.confidence >= self.min_confidence)
        members = []
        for group in self.groups:
            mask = confident & np.isin(view.object_kinds, list(group.object_kinds))
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
