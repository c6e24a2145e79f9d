"""Dwell: an object of given kinds standing still in a tagged zone for long enough (parking,
vending, out-of-store business, piling)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.boxes import box_iou, relative_shift
from detector.rules.base import FrameView, RuleHit
from detector.violation import ViolationKind


@dataclass(slots=True)
class _Standing:
    """One object the rule remembers standing in a zone."""

    object_kind: str
    zone: str
    anchor: np.ndarray  # box where it started standing: movement is measured from here, so slow drift counts
    box: np.ndarray  # last box seen, for re-finding it under a new track id
    track_id: int
    first_seen_ts: float
    dwell_s: float = 0.0
    unseen_s: float = 0.0  # camera-online time since it was last seen
    confirmed: bool = False

    def restart(self, box: np.ndarray, zone: str, ts: float) -> None:
        self.anchor, self.zone, self.first_seen_ts = box, zone, ts
        self.dwell_s, self.confirmed = 0.0, False


@dataclass
class DwellRule:
    """Confirms once per standing object: kind in `object_kinds`, bottom centre in a zone carrying
    one of `zone_tags`, confidence >= `min_confidence`, centre within `max_displacement` (fraction of
    its box size) of where it started, for `dwell_s` seconds of frame time.

    Time is frame time only. A gap between frames longer than `max_frame_gap_s` is the camera being
    offline: it counts neither towards dwell nor towards `lost_tolerance_s` (dwell is frozen, not
    reset). An object unseen (occluded, missed) for longer than `lost_tolerance_s` of online time is
    forgotten; if it returns it is a new object. A new track id at the remembered place
    (IoU >= `same_object_iou`, same object kind) continues the remembered object, so tracker id
    switches neither restart dwell nor raise a second violation.

    >>> rule = DwellRule(ViolationKind.NON_MOTOR_PARKING, frozenset({"non_motor_vehicle"}),
    ...                  frozenset({"no_parking"}), dwell_s=180)
    """

    kind: ViolationKind
    object_kinds: frozenset[str]
    zone_tags: frozenset[str]
    dwell_s: float = 180.0
    min_confidence: float = 0.3
    max_displacement: float = 0.3
    lost_tolerance_s: float = 30.0
    max_frame_gap_s: float = 10.0
    same_object_iou: float = 0.5
    _standing: list[_Standing] = field(default_factory=list, init=False, repr=False)
    _last_ts: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        checks = {
            "object_kinds must not be empty": bool(self.object_kinds),
            "zone_tags must not be empty": bool(self.zone_tags),
            "dwell_s must be > 0": self.dwell_s > 0,
            "min_confidence must be in 0..1": 0 <= self.min_confidence <= 1,
            "max_displacement must be > 0": self.max_displacement > 0,
            "lost_tolerance_s must be >= 0": self.lost_tolerance_s >= 0,
            "max_frame_gap_s must be > 0": self.max_frame_gap_s > 0,
            "same_object_iou must be in (0, 1]": 0 < self.same_object_iou <= 1,
        }
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"dwell rule for {self.kind}: {'; '.join(failed)}")

    def evaluate(self, view: FrameView) -> list[RuleHit]:
        """Hits confirmed on this frame; timestamps must not decrease between calls."""
        dt = self._online_seconds(view.ts)
        for remembered in self._standing:
            remembered.unseen_s += dt
        self._standing = [s for s in self._standing if s.unseen_s <= self.lost_tolerance_s]

        indices, zones = self._candidates(view)
        detections = view.detections
        matched = self._match(indices, view)
        hits = []
        for position, index in enumerate(indices):
            box, zone = detections.xyxy[index].copy(), zones[position]  # a copy holds no frame arrays
            standing = matched.get(int(index))
            if standing is None:
                self._standing.append(_Standing(str(view.object_kinds[index]), zone, box, box,
                                                int(detections.tracker_id[index]), view.ts))
                continue
            if relative_shift(standing.anchor, box) > self.max_displacement:
                standing.restart(box, zone, view.ts)
            else:
                standing.dwell_s += standing.unseen_s  # occlusion within tolerance still counts as standing
            standing.unseen_s, standing.box = 0.0, box
            standing.track_id = int(detections.tracker_id[index])
            if not standing.confirmed and standing.dwell_s >= self.dwell_s:
                standing.confirmed = True
                hits.append(RuleHit(self.kind, standing.zone, int(index), standing.object_kind,
                                    standing.first_seen_ts))
        return hits

    def _online_seconds(self, ts: float) -> float:
        """Seconds since the previous frame, or 0 across an offline gap or a repeated timestamp."""
        gap = 0.0 if self._last_ts is None else ts - self._last_ts
        self._last_ts = ts if self._last_ts is None else max(self._last_ts, ts)
        return gap if 0 < gap <= self.max_frame_gap_s else 0.0

    def _candidates(self, view: FrameView) -> tuple[np.ndarray, list[str]]:
        """Indices of detections this rule looks at, and the zone each stands in (first listed wins)."""
        tagged = [z for z, zone in enumerate(view.zones) if zone.tags & self.zone_tags]
        if not tagged or not len(view.detections):
            return np.zeros(0, np.int64), []
        inside = view.in_zone[tagged]  # (tagged zones, N)
        mask = (np.isin(view.object_kinds, list(self.object_kinds))
                & (view.detections.confidence >= self.min_confidence) & inside.any(axis=0))
        indices = np.flatnonzero(mask)
        first_zone = inside[:, indices].argmax(axis=0)
        return indices, [view.zones[tagged[z]].name for z in first_zone]

    def _match(self, indices: np.ndarray, view: FrameView) -> dict[int, _Standing]:
        """Detection index -> remembered object: same track id first, then the same place."""
        kinds, track_ids = view.object_kinds, view.detections.tracker_id
        by_track = {(s.track_id, s.object_kind): s for s in self._standing if s.track_id >= 0}
        matched: dict[int, _Standing] = {}
        for index in indices:
            standing = by_track.get((int(track_ids[index]), str(kinds[index])))
            if standing is not None:
                matched[int(index)] = standing
        taken = {id(s) for s in matched.values()}
        free = [s for s in self._standing if id(s) not in taken]
        rest = np.array([i for i in indices if int(i) not in matched], dtype=np.int64)
        if not free or not rest.size:
            return matched
        iou = box_iou(np.stack([s.box for s in free]), view.detections.xyxy[rest])
        same_kind = np.array([[s.object_kind == kinds[i] for i in rest] for s in free])
        iou[~same_kind] = 0.0
        taken_rows: set[int] = set()
        # Greedy by overlap, best first: deterministic, and ample for a handful of objects.
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            row, col = divmod(int(flat), len(rest))
            if iou[row, col] < self.same_object_iou:
                break
            if row not in taken_rows and int(rest[col]) not in matched:
                taken_rows.add(row)
                matched[int(rest[col])] = free[row]
        return matched
