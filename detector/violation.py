"""The value that leaves the detector stage: one confirmed violation of one object."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path


class ViolationKind(StrEnum):
    """Kind codes of 六乱一超 (the taxonomy table of DESIGN.md)."""

    NON_MOTOR_PARKING = "non_motor_parking"
    MOTOR_PARKING = "motor_parking"
    STREET_VENDING = "street_vending"
    OUT_OF_STORE = "out_of_store"
    PILING = "piling"
    POSTING = "posting"
    HANGING = "hanging"
    ILLEGAL_STRUCTURE = "illegal_structure"

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    ViolationKind.NON_MOTOR_PARKING: "非机动车乱停放",
    ViolationKind.MOTOR_PARKING: "机动车乱停放",
    ViolationKind.STREET_VENDING: "乱摆卖",
    ViolationKind.OUT_OF_STORE: "超门店经营",
    ViolationKind.PILING: "乱堆放",
    ViolationKind.POSTING: "乱张贴",
    ViolationKind.HANGING: "乱拉挂",
    ViolationKind.ILLEGAL_STRUCTURE: "乱搭建",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule confirmed: this object broke this rule in this zone of this camera.

    Times are timezone-aware (UTC) and come from frame timestamps, never the wall clock.
    `bbox` is x1, y1, x2, y2 in the frame's pixels; `frame_size` is (width, height).
    """

    camera_id: str
    zone: str
    kind: ViolationKind
    object_kind: str
    class_name: str
    track_id: int
    bbox: tuple[float, float, float, float]
    confidence: float
    first_seen: datetime
    confirmed_at: datetime
    frame_size: tuple[int, int]
    snapshot: Path | None = None
