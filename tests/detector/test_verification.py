"""The detector's second look after a resolve, on synthetic detections (1000 x 1000 frames)."""

from __future__ import annotations

import numpy as np
import pytest

from detector.detections import Detections
from detector.presence import LookSettings, PresenceCheck, Verdict, Verifier

T0 = 1_700_000_000.0
SIZE = (1000, 1000)
BIKE_BOX = (250.0, 740.0, 350.0, 800.0)  # pixels
KINDS = frozenset({"non_motor_vehicle"})
LOOK = LookSettings(look_s=10.0, min_frames=3)


def check(**overrides: object) -> PresenceCheck:
    fields: dict[str, object] = {
        "check_id": "incident-1", "camera_id": "cam-01", "object_kinds": KINDS,
        "box": (0.25, 0.74, 0.35, 0.80), "not_before_ts": T0, "give_up_ts": T0 + 100,
        "look": LOOK}
    fields.update(overrides)
    return PresenceCheck(**fields)  # type: ignore[arg-type]


def frame(*boxes: tuple[float, float, float, float], kind: str = "non_motor_vehicle",
          conf: float = 0.8) -> tuple[Detections, np.ndarray]:
    if not boxes:
        return Detections.empty(), np.zeros(0, dtype="<U32")
    detections = Detections(np.array(boxes, np.float32), np.full(len(boxes), conf, np.float32),
                            np.ones(len(boxes), np.int64))
    return detections, np.array([kind] * len(boxes))


def look(verifier: Verifier, seconds: range, *boxes: tuple[float, float, float, float], **frame_options: object):
    results = []
    for t in seconds:
        detections, kinds = frame(*boxes, **frame_options)  # type: ignore[arg-type]
        results += verifier.observe("cam-01", T0 + t, detections, kinds, SIZE)
    return results


def test_object_still_there_is_reported_once_the_look_is_long_enough() -> None:
    verifier = Verifier()
    assert verifier.submit(check())
    assert not verifier.submit(check()), "one look per check"
    assert look(verifier, range(0, 10), BIKE_BOX) == []  # 9 s looked: not yet
    (result,) = look(verifier, range(10, 11), (252.0, 742.0, 352.0, 801.0))  # jitter is the same object
    assert result.verdict is Verdict.STILL_THERE
    assert (result.frames, result.present_frames, result.looked_s) == (11, 11, 10.0)
    assert not verifier.watching("cam-01"), "a finished look is dropped"


def test_object_gone_when_absent_or_moved_or_another_kind() -> None:
    verifier = Verifier()
    verifier.submit(check())
    results = (look(verifier, range(0, 4))  # nothing there
               + look(verifier, range(4, 8), (600.0, 740.0, 700.0, 800.0))  # a bike elsewhere
               + look(verifier, range(8, 11), BIKE_BOX, kind="motor_vehicle"))  # a car parked there now
    (result,) = results
    assert result.verdict is Verdict.GONE and result.present_frames == 0


def test_frames_before_the_resolve_do_not_count() -> None:
    verifier = Verifier()
    verifier.submit(check(not_before_ts=T0 + 50))
    assert look(verifier, range(0, 50), BIKE_BOX) == []
    (result,) = look(verifier, range(50, 61))
    assert result.verdict is Verdict.GONE and result.frames == 11


def test_majority_decides_and_low_confidence_is_not_presence() -> None:
    verifier = Verifier()
    verifier.submit(check(look=LookSettings(look_s=10.0, min_frames=3, present_ratio=0.5)))
    results = look(verifier, range(0, 5), BIKE_BOX) + look(verifier, range(5, 11), BIKE_BOX, conf=0.1)
    (result,) = results
    assert result.verdict is Verdict.GONE and (result.present_frames, result.frames) == (5, 11)


def test_no_frames_by_the_give_up_time_is_no_view() -> None:
    verifier = Verifier()
    verifier.submit(check(give_up_ts=T0 + 100))
    assert look(verifier, range(0, 2), BIKE_BOX) == []  # the camera went offline after 2 frames
    assert verifier.expire(T0 + 99) == []
    (result,) = verifier.expire(T0 + 100)
    assert result.verdict is Verdict.NO_VIEW and result.frames == 2
    assert "too few" in result.describe()


def test_resolution_change_does_not_matter_boxes_are_fractions() -> None:
    verifier = Verifier()
    verifier.submit(check())
    detections, kinds = frame((125.0, 370.0, 175.0, 400.0))
    results = [r for t in range(11) for r in verifier.observe("cam-01", T0 + t, detections, kinds, (500, 500))]
    assert [r.verdict for r in results] == [Verdict.STILL_THERE]


def test_other_cameras_frames_are_not_looked_at() -> None:
    verifier = Verifier()
    verifier.submit(check())
    detections, kinds = frame(BIKE_BOX)
    assert all(verifier.observe("cam-02", T0 + t, detections, kinds, SIZE) == [] for t in range(20))
    assert verifier.watching("cam-01") and not verifier.watching("cam-02")


def test_bad_checks_are_refused() -> None:
    with pytest.raises(ValueError, match="fractions"):
        check(box=BIKE_BOX)
    with pytest.raises(ValueError, match="min_frames"):
        LookSettings(min_frames=0)
    with pytest.raises(ValueError, match="present_ratio"):
        LookSettings(present_ratio=0)
