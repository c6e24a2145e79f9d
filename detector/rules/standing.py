"""Objects standing still in zones, remembered across frames: the memory the dwell and cluster
rules share. Time is frame time; the camera being offline freezes it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from detector.boxes import box_iou, relative_shift
from detector.rules.base import FrameView
from detector.rules.episode import FrameClock


@dataclass(slots=True)
class Standing:
    """One object remembered standing in a zone. Boxes are fractions of the frame, so an object
    keeps its place when the camera's resolution changes."""

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
class StandingObjects:
    """Which detections stand still, and for how long.

    Stationary: centre within `max_displacement` (fraction of its box size) of where it started.
    A gap between frames longer than `max_frame_gap_s` is the camera being offline: it counts
    neither towards dwell nor towards `lost_tolerance_s`. An object unseen for longer than
    `lost_tolerance_s` of online time is forgotten. A new track id at the remembered place
    (IoU >= `same_object_iou`, same object kind) continues the remembered object.
    """

    max_displacement: float
    lost_tolerance_s: float
    max_frame_gap_s: float
    same_object_iou: float = 0.5
    remembered: list[Standing] = field(default_factory=list)
    _clock: FrameClock = field(init=False)

    def __post_init__(self) -> None:
        self._clock = FrameClock(self.max_frame_gap_s)

    def update(self, view: FrameView, indices: np.ndarray, zones: list[str]) -> list[tuple[int, Standing]]:
        """Advance to this frame with the candidate detections `indices` (standing in `zones`);
        returns each candidate with its remembered object, dwell brought up to date."""
        dt = self._clock.advance(view.ts)
        for remembered in self.remembered:
            remembered.unseen_s += dt
        self.remembered = [s for s in self.remembered if s.unseen_s <= self.lost_tolerance_s]

        boxes, track_ids = view.normalised_boxes(), view.detections.tracker_id
        matched = self._match(indices, view, boxes)
        seen = []
        for position, index in enumerate(indices):
            box, zone = boxes[index], zones[position]  # a new array: holds no frame memory
            standing = matched.get(int(index))
            if standing is None:
                standing = Standing(str(view.object_kinds[index]), zone, box, box, int(track_ids[index]), view.ts)
                self.remembered.append(standing)
            elif relative_shift(standing.anchor, box) > self.max_displacement:
                standing.restart(box, zone, view.ts)
            else:
                standing.dwell_s += standing.unseen_s  # occlusion within tolerance still counts as standing
            standing.unseen_s, standing.box, standing.track_id = 0.0, box, int(track_ids[index])
            seen.append((int(index), standing))
        return seen

    def _match(self, indices: np.ndarray, view: FrameView, boxes: np.ndarray) -> dict[int, Standing]:
        """Detection index -> remembered object: same track id first, then the same place."""
        kinds, track_ids = view.object_kinds, view.detections.tracker_id
        by_track = {(s.track_id, s.object_kind): s for s in self.remembered if s.track_id >= 0}
        matched: dict[int, Standing] = {}
        for index in indices:
            standing = by_track.get((int(track_ids[index]), str(kinds[index])))
            if standing is not None:
                matched[int(index)] = standing
        taken = {id(s) for s in matched.values()}
        free = [s for s in self.remembered if id(s) not in taken]
        rest = np.array([i for i in indices if int(i) not in matched], dtype=np.int64)
        if not free or not rest.size:
            return matched
        iou = box_iou(np.stack([s.box for s in free]), boxes[rest])
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
