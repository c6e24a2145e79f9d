"""Per-camera rule engine: tracked detections of a frame -> violations (without snapshots)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

import numpy as np

from detector.backends.postprocess import nms
from detector.detections import Detections
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


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    """What a detection of one object kind needs before any rule sees it: a confidence, and a box
    area in fractions of the frame (a 'person' ten pixels tall is noise, not a crowd)."""

    min_confidence: float = 0.0
    min_area: float = 0.0


class RuleEngine:
    """Runs one camera's rules on each frame; works out object kinds and zone membership once per
    frame for all rules.

    `kind_lookup` (class id -> index into `kind_names`, -1 for none) comes from
    `model_card.object_kind_lookup`, `kind_names` from `model_card.known_object_kinds`.
    `object_filters` drop weak or tiny detections of a kind before the rules; zones' `allow`
    windows are read in `tz`, the site's time zone.

    >>> engine = RuleEngine("cam-01", {1: "bicycle"}, np.array([-1, 0]), ("non_motor_vehicle",), [], [])
    >>> engine.evaluate(1_700_000_000.0, Detections.empty(), (1920, 1080))
    []
    """

    def __init__(self, camera_id: str, class_names: dict[int, str], kind_lookup: np.ndarray,
                 kind_names: Sequence[str], zones: Sequence[Zone], rules: Sequence[Rule],
                 object_filters: Mapping[str, ObjectFilter] | None = None, tz: tzinfo = UTC) -> None:
        names = [zone.name for zone in zones]
        if len(set(names)) != len(names):
            raise ValueError(f"camera {camera_id}: zone names must be unique, got {names}")
        self.camera_id = camera_id
        self.class_names = class_names
        self.zones = tuple(zones)
        self.rules = tuple(rules)
        self.tz = tz
        # Index -1 (no kind) lands on the trailing "" entry.
        self._kind_of_class = np.asarray([*kind_names, ""])[kind_lookup]
        filters = object_filters or {}
        # Per class: the filter of its object kind, as arrays indexed like _kind_of_class.
        self._min_confidence = np.array([filters.get(k, ObjectFilter()).min_confidence for k in self._kind_of_class],
                                        dtype=np.float32)
        self._min_area = np.array([filters.get(k, ObjectFilter()).min_area for k in self._kind_of_class])
        self._scheduled = any(zone.allow for zone in self.zones)

    def zone(self, name: str) -> Zone:
        return next(zone for zone in self.zones if zone.name == name)

    def object_kinds(self, detections: Detections, frame_size: tuple[int, int]) -> np.ndarray:
        """(N,) str: the object kind of each detection, "" where its class maps to none or the
        detection fails its kind's filter."""
        kinds: np.ndarray = self._kind_of_class[detections.class_id].copy()
        width, height = frame_size
        box = detections.xyxy
        area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1]) / float(width * height)
        weak = ((detections.confidence < self._min_confidence[detections.class_id])
                | (area < self._min_area[detections.class_id]))
        kinds[weak] = ""
        return kinds

    def evaluate(self, frame_ts: float, detections: Detections, frame_size: tuple[int, int],
                 image: np.ndarray | None = None) -> list[Violation]:
        """Violations confirmed on this frame; `detections` carry tracker ids, `frame_size` is (w, h), `image`
        the frame's picture (BGR) when rules may look at the objects' pixels."""
        width, height = frame_size
        kinds = self.object_kinds(detections, frame_size)
        single = one_box_per_object(detections.xyxy, detections.confidence, kinds)
        detections, kinds = detections.select(single), kinds[single]
        points = detections.bottom_centres()
        in_zone = np.array([zone.contains(points, width, height) for zone in self.zones], dtype=bool)
        view = FrameView(frame_ts, detections, kinds, self.zones, in_zone.reshape(len(self.zones), len(detections)),
                         frame_size, image)
        local = datetime.fromtimestamp(frame_ts, self.tz) if self._scheduled else None
        return [self._violation(hit, view, frame_size) for rule in self.rules
                for hit in rule.evaluate(self._as_seen_by(rule, view, local))]

    def _as_seen_by(self, rule: Rule, view: FrameView, local: datetime | None) -> FrameView:
        """The view with zones where the rule's kind is allowed right now left empty."""
        if local is None:
            return view
        allowed = [z for z, zone in enumerate(self.zones) if zone.allows(rule.kind, local)]
        if not allowed:
            return view
        in_zone = view.in_zone.copy()
        in_zone[allowed] = False
        return replace(view, in_zone=in_zone)

    def _violation(self, hit: RuleHit, view: FrameView, frame_size: tuple[int, int]) -> Violation:
        d = view.detections
        box = hit.bbox if hit.bbox is not None else tuple(float(v) for v in d.xyxy[hit.index])
        class_id = int(d.class_id[hit.index])
        return Violation(
            camera_id=self.camera_id, zone=hit.zone, kind=hit.kind, object_kind=hit.object_kind,
            class_name=self.class_names.get(class_id, str(class_id)), track_id=int(d.tracker_id[hit.index]),
            bbox=(box[0], box[1], box[2], box[3]), confidence=float(d.confidence[hit.index]),
            first_seen=_utc(hit.first_seen_ts), confirmed_at=_utc(view.ts), frame_size=frame_size,
            object_count=hit.object_count)
