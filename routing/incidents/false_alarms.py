"""Why an incident was closed as a false alarm (误报): the codes stored with it (`incidents.false_alarm_reason`)
and their 中文 labels, the same for a worker's phone and the command centre's workbench."""

from __future__ import annotations

from enum import StrEnum


class FalseAlarmReason(StrEnum):
    NOT_VIOLATION = "not_violation"
    WRONG_PLACE = "wrong_place"
    DUPLICATE = "duplicate"
    # Not a vehicle, or not the kind the rule watches for: the detector's error, where the others are
    # the rules'. Only these incidents become hard negatives for training (`aibrain dataset export`).
    WRONG_OBJECT = "wrong_object"
    OTHER = "other"  # the person's own words are then required


FALSE_ALARM_LABELS: dict[FalseAlarmReason, str] = {
    FalseAlarmReason.NOT_VIOLATION: "不构成违规",
    FalseAlarmReason.WRONG_PLACE: "位置不符",
    FalseAlarmReason.DUPLICATE: "重复上报",
    FalseAlarmReason.WRONG_OBJECT: "识别错误",
    FalseAlarmReason.OTHER: "其他",
}
