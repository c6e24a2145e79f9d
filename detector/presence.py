"""Automatic verification (核查): after an incident is resolved, look at the same camera again and
tell whether the object is gone. Frames in, verdicts out; it knows nothing of incidents' storage."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detector.boxes import box_iou
from detector.detections import Detections

Box = tuple[float, float, float, float]


class Verdict(StrEnum):
    GONE = "gone"
    STILL_THERE = "still_there"
    NO_VIEW = "no_view"  # not enough frames before `give_up_ts`: the camera could not look


class LookSettings(BaseModel):
    """How long and how closely the camera looks again. Defined once, here: the site config and
    routing's verification policy carry this one value down to every check.

    >>> LookSettings(look_s=20).min_frames
    3
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    look_s: float = Field(60.0, ge=0, le=3600, description="frame time the camera looks for")
    min_frames: int = Field(3, ge=1, le=10_000, description="frames the look needs at least")
    present_ratio: float = Field(0.5, gt=0, le=1, description="still there: present in this share of frames")
    min_overlap: float = Field(0.3, gt=0, le=1, description="IoU with the incident's box that counts as present")


@dataclass(frozen=True, slots=True)
class PresenceCheck:
    """Is an object of `object_kinds` still where `box` (fractions of the frame) was?

    Frames from `not_before_ts` on count; the look ends once it has covered `look.look_s` of frame
    time in at least `look.min_frames` frames. The object counts as present in a frame when a
    detection of its kinds overlaps `box` by at least `look.min_overlap` (IoU); still there when
    present in at least `look.present_ratio` of the frames looked at. No finished look by
    `give_up_ts` is NO_VIEW.
    """

    check_id: str
    camera_id: str
    object_kinds: frozenset[str]
    box: Box
    not_before_ts: float
    give_up_ts: float
    look: LookSettings = field(default_factory=LookSettings)
    min_confidence: float = 0.25

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.box
        if not (0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1):
            raise ValueError(f"check {self.check_id}: box must be fractions of the frame, got {self.box}")


@dataclass(frozen=True, slots=True)
class PresenceResult:
    check_id: str
    camera_id: str
    verdict: Verdict
    frames: int
    present_frames: int
    looked_s: float

    def describe(self) -> str:
        if self.verdict is Verdict.NO_VIEW:
            return f"camera gave {self.frames} usable frame(s), too few to verify"
        return f"object present in {self.present_frames} of {self.frames} frames over {self.looked_s:.0f} s"


@dataclass(slots=True)
class _Look:
    check: PresenceCheck
    frames: int = 0
    present: int = 0
    first_ts: float | None = None
    last_ts: float | None = None

    def result(self, verdict: Verdict) -> PresenceResult:
        looked = 0.0 if self.first_ts is None or self.last_ts is None else self.last_ts - self.first_ts
        return PresenceResult(self.check.check_id, self.check.camera_id, verdict, self.frames, self.present, looked)

    def finished(self) -> PresenceResult | None:
        look = self.check.look
        if self.frames < look.min_frames or self.first_ts is None or self.last_ts is None:
            return None
        if self.last_ts - self.first_ts < look.look_s:
            return None
        still = self.present >= look.present_ratio * self.frames
        return self.result(Verdict.STILL_THERE if still else Verdict.GONE)


class Verifier:
    """The looks in progress, per camera. `submit` from any thread; `observe` and `expire` from the
    inference loop, which feeds every frame of a camera with a look in progress.

    >>> verifier = Verifier()
    >>> verifier.submit(PresenceCheck("i-1", "cam-01", frozenset({"non_motor_vehicle"}),
    ...                               (0.1, 0.5, 0.3, 0.9), not_before_ts=0.0, give_up_ts=100.0))
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._looks: dict[str, dict[str, _Look]] = {}  # camera id -> check id -> look

    def submit(self, check: PresenceCheck) -> bool:
        """Start a look; False when one for the same check is already in progress."""
        with self._lock:
            looks = self._looks.setdefault(check.camera_id, {})
            if check.check_id in looks:
                return False
            looks[check.check_id] = _Look(check)
            return True

    def watching(self, camera_id: str) -> bool:
        with self._lock:
            return bool(self._looks.get(camera_id))

    def observe(self, camera_id: str, ts: float, detections: Detections, object_kinds: np.ndarray,
                frame_size: tuple[int, int]) -> list[PresenceResult]:
        """Count one frame towards the camera's looks; the looks it finishes, with their verdicts.

        `object_kinds` is (N,) str, the object kind of each detection ("" for none).
        """
        width, height = frame_size
        boxes = detections.xyxy / np.array([width, height, width, height], dtype=np.float32)
        done = []
        with self._lock:
            looks = self._looks.get(camera_id, {})
            for check_id, look in list(looks.items()):
                check = look.check
                if ts < check.not_before_ts:
                    continue
                candidates = (np.isin(object_kinds, list(check.object_kinds))
                              & (detections.confidence >= check.min_confidence))
                overlap = box_iou(np.asarray([check.box], np.float32), boxes[candidates])
                look.frames += 1
                look.present += int(bool(overlap.size) and float(overlap.max()) >= check.look.min_overlap)
                look.first_ts = ts if look.first_ts is None else look.first_ts
                look.last_ts = ts
                result = look.finished()
                if result is not None:
                    del looks[check_id]
                    done.append(result)
        return done

    def expire(self, now_ts: float) -> list[PresenceResult]:
        """Looks past their `give_up_ts` without a verdict: NO_VIEW."""
        expired = []
        with self._lock:
            for looks in self._looks.values():
                for check_id, look in list(looks.items()):
                    if now_ts >= look.check.give_up_ts:
                        del looks[check_id]
                        expired.append(look.result(Verdict.NO_VIEW))
        return expired
