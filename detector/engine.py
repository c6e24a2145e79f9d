"""Per-camera rule engine: tracked detections of a frame -> violations (without snapshots)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from detector.detections import Detections
from detector.postprocess import nms
from detector.rules.base import FrameView, Rule, RuleHit
from detector.violation import Violation
from detector.zones import Zone

# Boxes of one object kind overlapping this much are one object seen as two classes (an e-bike
# scored both `bicycle` and `motorcycle` survives class-aware NMS twice): the best one stays.
SAME_OBJECT_IOU = 0.7


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def one_box_per_object(xyxy: np.ndarray, confidence: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Mask keeping, among overlapping boxes of the same object kind, only the most confident."""
    keep = np.ones(len(kinds), dtype=bool)
    for kind in np.unique(kinds[kinds != ""]):
        same = np.flatnonzero(kinds == kind)
        if same.size > 1:
            keep[same] = False
            keep[same[nms(xyxy[same], confidence[same], SAME_OBJECT_IOU)]] = True
    return keep


class RuleEngine:
    """Runs one camera's rules on each frame; works out object kinds and zone membership once per
    frame for all rules.

    `kind_lookup` (class id -> index into `kind_names`, -1 for none) comes from
    `model_card.object_kind_lookup`, `kind_names` from `model_card.known_object_kinds`.

    >>> engine = RuleEngine("cam-01", {1: "bicycle"}, np.array([-1, 0]), ("non_motor_vehicle",), [], [])
    >>> engine.evaluate(1_700_000_000.0, Detections.empty(), (1920, 1080))
    []
    """

    def __init__(self, camera_id: str, class_names: dict[int, str], kind_lookup: np.ndarray,
                 kind_names: Sequence[str], zones: Sequence[Zone], rules: Sequence[Rule]) -> None:
        names = [zone.name for zone in zones]
        if len(set(names)) != len(names):
            raise ValueError(f"camera {camera_id}: zone names must be unique, got {names}")
        self.camera_id = camera_id
        self.class_names = class_names
        self.zones = tuple(zones)
        self.rules = tuple(rules)
        # Index -1 (no kind) lands on the trailing "" entry.
        self._kind_of_class = np.asarray([*kind_names, ""])[kind_lookup]

    def zone(self, name: str) -> Zone:
        return next(zone for zone in self.zones if zone.name == name)

    def evaluate(self, frame_ts: float, detections: Detections,
                 frame_size: tuple[int, int]) -> list[Violation]:
        """Violations confirmed on this frame; `detections` carry tracker ids, `frame_size` is (w, h)."""
        width, height = frame_size
        kinds = self._kind_of_class[detections.class_id]
        single = one_box_per_object(detections.xyxy, detections.confidence, kinds)
        detections, kinds = detections.select(single), kinds[single]
        points = detections.bottom_centres()
        in_zone = np.array([zone.contains(points, width, height) for zone in self.zones], dtype=bool)
        view = FrameView(frame_ts, detections, kinds, self.zones, in_zone.reshape(len(self.zones), len(detections)))
        return [self._violation(hit, view, frame_size) for rule in self.rules for hit in rule.evaluate(view)]

    def _violation(self, hit: RuleHit, view: FrameView, frame_size: tuple[int, int]) -> Violation:
        d = view.detections
        x1, y1, x2, y2 = (float(v) for v in d.xyxy[hit.index])
        class_id = int(d.class_id[hit.index])
        return Violation(
            camera_id=self.camera_id, zone=hit.zone, kind=hit.kind, object_kind=hit.object_kind,
            class_name=self.class_names.get(class_id, str(class_id)), track_id=int(d.tracker_id[hit.index]),
            bbox=(x1, y1, x2, y2), confidence=float(d.confidence[hit.index]),
            first_seen=_utc(hit.first_seen_ts), confirmed_at=_utc(view.ts), frame_size=frame_size)
