"""Objects standing still in zones, remembered across frames: the memory the dwell and cluster
rules share. Time is frame time; the camera being offline freezes it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.boxes import box_iou, relative_shift
from detector.rules.base import FrameView, StandingParameters
from detector.rules.episode import FrameClock
from detector.rules.look import Likeness, Look, LookThresholds, compare, look_of

PART_INSIDE = 0.9  # a detection this much inside a remembered box, and smaller than it, is a part of it
COVER_GRID = 8  # the anchor is sampled on COVER_GRID x COVER_GRID points to measure what covers it


@dataclass(slots=True)
class Standing:
    """One object remembered standing in a zone. Boxes are fractions of the frame, so an object
    keeps its place when the camera's resolution changes.

    Since the dwell (re)started, of its `frames` the object was seen in `seen_frames`, and missed but
    hidden by other detections in `excused_frames`; `missed` counts the frames since it was last seen."""

    object_kind: str
    zone: str
    anchor: np.ndarray  # box where it started standing: movement is measured from here, so slow drift counts
    box: np.ndarray  # last box seen whole, for re-finding it under a new track id
    track_id: int
    first_seen_ts: float
    look: Look | None = None  # how it looked, from a whole view (never from a half-hidden one)
    dwell_s: float = 0.0
    unseen_s: float = 0.0  # camera-online time since it was last seen
    confirmed: bool = False
    frames: int = 1
    seen_frames: int = 1
    excused_frames: int = 0
    missed: int = 0

    @property
    def seen_ratio(self) -> float:
        """Share of its frames in which it was seen or excused as hidden."""
        return (self.seen_frames + self.excused_frames) / self.frames

    def restart(self, box: np.ndarray, zone: str, ts: float, look: Look | None, confirmed: bool) -> None:
        self.anchor, self.box, self.zone, self.first_seen_ts, self.look = box, box, zone, ts, look
        self.dwell_s, self.confirmed = 0.0, confirmed
        self.frames, self.seen_frames, self.excused_frames = 1, 1, 0


@dataclass(frozen=True, slots=True)
class _Found:
    """A remembered object found in this frame: `partial` when only a part of it shows, `credit` when the
    time it went unseen counts as standing (seen the frame before, or found again looking the same)."""

    standing: Standing
    partial: bool
    credit: bool


@dataclass
class StandingObjects:
    """Which detections stand still, and for how long.

    Stationary: centre within `max_displacement` (fraction of its box size) of where it started,
    and height within `max_scale_change` of its height then (a car driving towards the camera
    grows more than it shifts). A gap between frames longer than `max_frame_gap_s` is the camera
    being offline: it counts neither towards dwell nor towards `lost_tolerance_s`. An object unseen
    for longer than `lost_tolerance_s` of online time is forgotten.

    Found again: by its track id, or at its remembered place (IoU >= `same_object_iou`, same object
    kind; or a smaller box inside its anchor, the rest hidden by passing traffic). After a gap of one
    frame or more, whoever is found there must also look the same (see `look.py`): another car
    stopping where the first one stood is another object, and its dwell starts at zero. The time an
    object went unseen counts as standing only when it is found again looking the same; without a
    picture (or pixels enough) to tell, it is found by place alone and only the last frame interval
    counts. A part of an object (inside its anchor) neither moves it nor replaces its remembered look.

    A new (or restarted) object at the place of a confirmed one of the same kind that is not yet
    forgotten starts confirmed (see `at_confirmed_place`): one object, one confirmation, even when a
    look comparison fails.
    """

    params: StandingParameters
    max_frame_gap_s: float
    remembered: list[Standing] = field(default_factory=list)
    _clock: FrameClock = field(init=False)
    _thresholds: LookThresholds = field(init=False)

    def __post_init__(self) -> None:
        self._clock = FrameClock(self.max_frame_gap_s)
        self._thresholds = LookThresholds(self.params.min_look_similarity, self.params.max_colour_distance)

    def update(self, view: FrameView, indices: np.ndarray, zones: list[str]) -> list[tuple[int, Standing]]:
        """Advance to this frame with the candidate detections `indices` (standing in `zones`);
        returns each candidate with its remembered object, dwell brought up to date."""
        dt = self._clock.advance(view.ts)
        for remembered in self.remembered:
            remembered.unseen_s += dt
            remembered.frames += 1
        self.remembered = [s for s in self.remembered if s.unseen_s <= self.params.lost_tolerance_s]

        boxes, track_ids = view.normalised_boxes(), view.detections.tracker_id
        matched = self._match(indices, view, boxes)
        seen = []
        for position, index in enumerate(indices):
            box, zone = boxes[index], zones[position]  # a new array: holds no frame memory
            found = matched.get(int(index))
            if found is None:
                kind = str(view.object_kinds[index])
                standing = Standing(kind, zone, box, box, int(track_ids[index]), view.ts, self._look(view, box),
                                    confirmed=self.at_confirmed_place(kind, box))
                self.remembered.append(standing)
            else:
                standing = found.standing
                self._found(standing, found, box, zone, view, dt)
            standing.unseen_s, standing.missed, standing.track_id = 0.0, 0, int(track_ids[index])
            seen.append((int(index), standing))
        found_now = {id(standing) for _, standing in seen}
        self._miss([s for s in self.remembered if id(s) not in found_now], boxes)
        return seen

    def _found(self, standing: Standing, found: _Found, box: np.ndarray, zone: str, view: FrameView,
               dt: float) -> None:
        """Bring a remembered object found on this frame up to date."""
        if found.partial:  # the visible part of a standing object: it has not moved
            standing.dwell_s += standing.unseen_s if found.credit else min(dt, standing.unseen_s)
            standing.seen_frames += 1
            return
        if self._moved(standing.anchor, box):
            # Still at the place where it was confirmed (itself included): no second confirmation.
            standing.restart(box, zone, view.ts, self._look(view, box),
                             self.at_confirmed_place(standing.object_kind, box))
            return
        # Unseen time counts as standing only for the same object; otherwise just the last frame interval.
        standing.dwell_s += standing.unseen_s if found.credit else min(dt, standing.unseen_s)
        standing.seen_frames += 1
        standing.box = box
        standing.look = self._look(view, box) or standing.look  # the latest whole view: light changes over a day

    def _miss(self, missing: list[Standing], boxes: np.ndarray) -> None:
        """Count this frame as missed for objects not found in it, excused when other detections hide them."""
        if not missing:
            return
        hidden = _covered_shares(np.stack([s.anchor for s in missing]), boxes) >= self.params.occluded_cover
        for standing, excused in zip(missing, hidden, strict=True):
            standing.missed += 1
            standing.excused_frames += int(excused)

    def _moved(self, anchor: np.ndarray, box: np.ndarray) -> bool:
        height = max(float(anchor[3] - anchor[1]), 1e-9)
        return (relative_shift(anchor, box) > self.params.max_displacement
                or abs(float(box[3] - box[1]) / height - 1) > self.params.max_scale_change)

    def _look(self, view: FrameView, box: np.ndarray) -> Look | None:
        return None if self._thresholds.off else look_of(view.image, box)

    def at_confirmed_place(self, kind: str, box: np.ndarray, besides: Standing | None = None) -> bool:
        """Whether `box` is at the place of a confirmed object of `kind` (other than `besides`) not yet
        forgotten: overlapping it (IoU >= same_object_iou), or one of the two a part of the other."""
        return any(s.confirmed and s is not besides and s.object_kind == kind
                   and (float(box_iou(s.anchor[None], box[None])[0, 0]) >= self.params.same_object_iou
                        or _part_of(s.anchor, box) or _part_of(box, s.anchor))
                   for s in self.remembered)

    def _found_as(self, standing: Standing, view: FrameView, box: np.ndarray) -> _Found | None:
        """`standing` found again as `box`, or None when it looks like another object."""
        partial = _part_of(standing.anchor, box)
        if not standing.missed and not partial:
            return _Found(standing, partial, credit=True)  # seen whole the frame before: the same, no gap
        # A smaller box inside the anchor may be another object in front of (or beside) it: always compared.
        likeness = compare(standing.look, view.image, box, self._thresholds, partial)
        if likeness is Likeness.DIFFERENT:
            return None
        return _Found(standing, partial, credit=not standing.missed or likeness is Likeness.SAME)

    def _match(self, indices: np.ndarray, view: FrameView, boxes: np.ndarray) -> dict[int, _Found]:
        """Detection index -> remembered object found: same track id first, then the same place."""
        kinds, track_ids = view.object_kinds, view.detections.tracker_id
        by_track = {(s.track_id, s.object_kind): s for s in self.remembered if s.track_id >= 0}
        matched: dict[int, _Found] = {}
        for index in indices:
            standing = by_track.get((int(track_ids[index]), str(kinds[index])))
            # A tracker may hand a lost id to another object nearby: after a gap the look must agree too.
            found = None if standing is None else self._found_as(standing, view, boxes[index])
            if found is not None:
                matched[int(index)] = found
        taken = {id(f.standing) for f in matched.values()}
        free = [s for s in self.remembered if id(s) not in taken]
        rest = np.array([i for i in indices if int(i) not in matched], dtype=np.int64)
        if not free or not rest.size:
            return matched
        overlap = np.maximum(box_iou(np.stack([s.box for s in free]), boxes[rest]),
                             _part_share(np.stack([s.anchor for s in free]), boxes[rest]))
        same_kind = np.array([[s.object_kind == kinds[i] for i in rest] for s in free])
        overlap[~same_kind] = 0.0
        taken_rows: set[int] = set()
        # Greedy by overlap, best first: deterministic, and ample for a handful of objects.
        for flat in np.argsort(-overlap, axis=None, kind="stable"):
            row, col = divmod(int(flat), len(rest))
            if overlap[row, col] < self.params.same_object_iou:
                break
            index = int(rest[col])
            if row in taken_rows or index in matched:
                continue
            found = self._found_as(free[row], view, boxes[index])
            if found is not None:
                taken_rows.add(row)
                matched[index] = found
        return matched


def _part_share(anchors: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(A, B): the share of each box's area inside each anchor where the box may be the visible part of the
    anchor's object (at least PART_INSIDE of it inside, and clearly smaller than the anchor); 0 elsewhere."""
    top_left = np.maximum(anchors[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(anchors[:, None, 2:], boxes[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_anchor = np.prod(anchors[:, 2:] - anchors[:, :2], axis=1)
    area_box = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    share: np.ndarray = inter / (area_box[None, :] + 1e-9)
    share[(area_box[None, :] >= PART_INSIDE * area_anchor[:, None]) | (share < PART_INSIDE)] = 0.0
    return share


def _part_of(anchor: np.ndarray, box: np.ndarray) -> bool:
    return bool(_part_share(anchor[None], box[None])[0, 0] > 0)


def _covered_shares(anchors: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(A,): the share of each of `anchors` covered by any of `boxes` (all xyxy in the same units), sampled on
    a COVER_GRID x COVER_GRID grid of points."""
    if not len(boxes):
        return np.zeros(len(anchors))
    steps = (np.arange(COVER_GRID) + 0.5) / COVER_GRID
    xs = anchors[:, None, 0] + steps[None, :] * (anchors[:, 2] - anchors[:, 0])[:, None]  # (A, G)
    ys = anchors[:, None, 1] + steps[None, :] * (anchors[:, 3] - anchors[:, 1])[:, None]
    in_x = (xs[:, :, None] >= boxes[None, None, :, 0]) & (xs[:, :, None] <= boxes[None, None, :, 2])  # (A, G, B)
    in_y = (ys[:, :, None] >= boxes[None, None, :, 1]) & (ys[:, :, None] <= boxes[None, None, :, 3])
    covered = (in_y[:, :, None, :] & in_x[:, None, :, :]).any(axis=3)  # (A, G rows, G columns)
    return covered.mean(axis=(1, 2))  # type: ignore[no-any-return]
