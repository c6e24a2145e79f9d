"""What every rule sees of a frame and what it answers, and what every rule type's parameters share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Generic, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detector.detections import Detections
from detector.zones import Zone


@dataclass(frozen=True, slots=True, eq=False)
class FrameView:
    """One camera frame as rules see it: tracked detections with their object kinds and zone
    membership worked out once by the engine, for every rule to share.

    object_kinds: (N,) str, "" where the class maps to no kind (or the detection was filtered out);
    in_zone: (Z, N) bool, row z for zones[z]; frame_size: (width, height) of the picture the boxes are in;
    image: the frame's picture (BGR, read only), for rules that compare how objects look, at any size (the
    detector's smaller one in a live run): read it with boxes as fractions (`normalised_boxes`), never in
    pixels; None where no pixels are kept.
    """

    ts: float
    detections: Detections
    object_kinds: np.ndarray
    zones: tuple[Zone, ...]
    in_zone: np.ndarray
    frame_size: tuple[int, int]
    image: np.ndarray | None = None

    def normalised_boxes(self) -> np.ndarray:
        """(N, 4) boxes as fractions of the frame: what rules remember, so a camera whose
        resolution changes keeps its parked objects."""
        width, height = self.frame_size
        return self.detections.xyxy / np.array([width, height, width, height], dtype=np.float32)

    def candidates(self, object_kinds: Collection[str], zone_tags: Collection[str],
                   min_confidence: float) -> tuple[np.ndarray, list[str]]:
        """Indices of detections of `object_kinds` at `min_confidence` or more whose ground point is
        in a zone tagged with one of `zone_tags`, and the zone each stands in (first listed wins)."""
        tagged = [z for z, zone in enumerate(self.zones) if zone.tags & set(zone_tags)]
        if not tagged or not len(self.detections):
            return np.zeros(0, np.int64), []
        inside = self.in_zone[tagged]  # (tagged zones, N)
        mask = (np.isin(self.object_kinds, list(object_kinds))
                & (self.detections.confidence >= min_confidence) & inside.any(axis=0))
        indices = np.flatnonzero(mask)
        first_zone = inside[:, indices].argmax(axis=0)
        return indices, [self.zones[tagged[z]].name for z in first_zone]


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule confirmed on detection `index` of the frame; the engine turns it into a Violation.

    `bbox` (pixels) replaces the detection's box when the violation spans several objects (a
    cluster, a crowd); `object_count` says how many.
    """

    kind: str
    zone: str
    index: int
    object_kind: str
    first_seen_ts: float
    bbox: tuple[float, float, float, float] | None = None
    object_count: int = 1


class Rule(Protocol):
    """A stateful per-camera rule; `evaluate` must be called with non-decreasing timestamps."""

    kind: str
    zone_tags: frozenset[str]

    def evaluate(self, view: FrameView) -> list[RuleHit]: ...


def union_box(xyxy: np.ndarray) -> tuple[float, float, float, float]:
    """The box around all of (N, 4) boxes, in their pixels."""
    return (float(xyxy[:, 0].min()), float(xyxy[:, 1].min()), float(xyxy[:, 2].max()), float(xyxy[:, 3].max()))


ObjectKind = Annotated[str, Field(min_length=1, max_length=64)]


class RuleParameters(BaseModel):
    """A rule type's parameters, as the taxonomy and a site's rules write them. Each type declares
    its own model in its module (its `type` naming it) and lists it in `detector.rules.RULE_TYPES`;
    configs validates YAML against these models and nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    type: str
    min_confidence: float = Field(0.3, ge=0, le=1, description="detections less sure than this are not looked at")

    @abstractmethod
    def object_lists(self) -> tuple[str, list[list[str]]]:
        """The field naming the rule's object kinds, and its lists of them: the model must know
        at least one kind of each list."""

    def object_kinds(self) -> list[str]:
        """Every object kind the rule looks at."""
        _, lists = self.object_lists()
        return lists[0] if len(lists) == 1 else sorted({kind for kinds in lists for kind in kinds})


class ObjectsParameters(RuleParameters):
    """Parameters of a rule that looks at one list of object kinds."""

    objects: tuple[ObjectKind, ...] = Field(min_length=1, description="object kinds the rule looks at")

    def object_lists(self) -> tuple[str, list[list[str]]]:
        return "objects", [list(self.objects)]


class LastingParameters(RuleParameters):
    """Parameters of a rule whose condition must last."""

    dwell_s: float = Field(gt=0, le=7 * 86400, description="how long it must last (frame time)")
    lost_tolerance_s: float = Field(30.0, ge=0, le=86400, description="unseen / lapsed this long is tolerated")


class StandingParameters(LastingParameters):
    """Parameters of a rule that follows objects standing still."""

    max_displacement: float = Field(0.3, gt=0, le=5, description="stationary: moved less than this x box size")
    max_scale_change: float = Field(0.25, gt=0, le=5, description=(
        "stationary: box height changed by less than this share (an object coming towards the camera grows)"))
    same_object_iou: float = Field(0.5, gt=0, le=1, description=(
        "a detection overlapping a remembered object's box this much (IoU) may be that object found again"))
    min_look_similarity: float = Field(0.8, ge=0, le=1, description=(
        "found again after a gap: grey thumbnails must correlate (NCC) at least this much to be the same "
        "object; 0 turns the test off"))
    max_colour_distance: float = Field(0.35, ge=0, le=1, description=(
        "found again after a gap: colour histograms (Bhattacharyya) must be at most this far apart to be the "
        "same object; 1 turns the test off"))
    min_seen_ratio: float = Field(0.5, ge=0, le=1, description=(
        "share of the frames since the object stopped in which it must be seen (or hidden by other detections)"))
    occluded_cover: float = Field(0.5, gt=0, le=1, description=(
        "a frame missing the object is excused when other detections cover this share of its box"))


P = TypeVar("P", bound=RuleParameters)


@dataclass
class RuleBase(ABC, Generic[P]):
    """A rule built the one way assembly builds every type: its violation kind, the zone tags it
    watches, its parameters, and the detector's `max_frame_gap_s` (frames further apart mean the
    camera was offline: that time counts neither towards a dwell nor against it)."""

    kind: str
    zone_tags: frozenset[str]
    params: P
    max_frame_gap_s: float

    def __post_init__(self) -> None:
        checks = {"zone_tags must not be empty": bool(self.zone_tags), "max_frame_gap_s must be > 0":
                  self.max_frame_gap_s > 0}
        failed = [message for message, ok in checks.items() if not ok]
        if failed:
            raise ValueError(f"{self.params.type} rule for {self.kind}: {'; '.join(failed)}")

    @abstractmethod
    def evaluate(self, view: FrameView) -> list[RuleHit]:
        """Hits confirmed on this frame; timestamps must not decrease between calls."""
