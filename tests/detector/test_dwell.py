"""Dwell rule through the engine, on synthetic tracked detections (1000 x 1000 frames)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from detector.detections import Detections
from detector.engine import RuleEngine
from detector.model_card import known_object_kinds, load_card, object_kind_lookup
from detector.rules import RULE_TYPES, DwellParameters, DwellRule, Rule, new_rule
from detector.violation import Violation
from detector.zones import Zone
from tests.detector.rule_frames import picture

T0 = 1_700_000_000.0
SIZE = (1000, 1000)
PERSON, BICYCLE, CAR, MOTORCYCLE = 0, 1, 2, 3
CLASS_NAMES = {PERSON: "person", BICYCLE: "bicycle", CAR: "car", MOTORCYCLE: "motorcycle", 5: "bus",
               7: "truck", 13: "bench", 25: "umbrella", 28: "suitcase", 56: "chair", 58: "potted plant",
               60: "dining table"}
# The lower half of the picture is a no-parking pavement; the top half is the road.
PAVEMENT = Zone("pavement", frozenset({"no_parking", "sidewalk"}), ((0, 0.5), (1, 0.5), (1, 1), (0, 1)))


@dataclass(frozen=True)
class Obj:
    """One detection: a 100 x 60 box whose bottom centre is (x, y), painted with the pattern `look` (the
    same look is the same object to the eye; see rule_frames.picture)."""

    track: int
    x: float = 300
    y: float = 800
    cls: int = BICYCLE
    conf: float = 0.8
    look: int = 0

    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x - 50, self.y - 60, self.x + 50, self.y)


def detections(*objs: Obj) -> Detections:
    if not objs:
        return Detections.empty()
    xyxy = np.array([o.xyxy() for o in objs], np.float32)
    return Detections(xyxy, np.array([o.conf for o in objs], np.float32), np.array([o.cls for o in objs]),
                      np.array([o.track for o in objs]))


def engine_with(rule: Rule) -> RuleEngine:
    card = load_card("yolov8n")
    return RuleEngine("cam-01", CLASS_NAMES, object_kind_lookup(card, CLASS_NAMES), known_object_kinds(card),
                      [PAVEMENT], [rule])


def make_engine(zone_tags: frozenset[str] = frozenset({"no_parking"})) -> RuleEngine:
    """Bicycle/motorcycle parking: 60 s dwell, 20 s lost tolerance, gaps over 10 s are offline."""
    return engine_with(DwellRule("non_motor_parking", zone_tags, DwellParameters(
        objects=("non_motor_vehicle",), dwell_s=60.0, lost_tolerance_s=20.0), max_frame_gap_s=10.0))


def run(engine: RuleEngine, frames: Sequence[tuple[float, tuple[Obj, ...]]]) -> list[Violation]:
    """Feed (seconds after T0, objects) frames, each with its picture; all violations in order."""
    return [v for t, objs in frames
            for v in engine.evaluate(T0 + t, detections(*objs), SIZE, picture(tuple((o.xyxy(), o.look) for o in objs)))]


def every(start: float, stop: float, *objs: Obj, step: float = 1.0) -> list[tuple[float, tuple[Obj, ...]]]:
    return [(float(t), objs) for t in np.arange(start, stop, step)]


def test_dwell_reached_confirms_exactly_once() -> None:
    violations = run(make_engine(), every(0, 120, Obj(7)))
    assert len(violations) == 1
    (v,) = violations
    assert v.kind == "non_motor_parking" and v.zone == "pavement"
    assert v.object_kind == "non_motor_vehicle" and v.class_name == "bicycle" and v.track_id == 7
    assert v.first_seen == datetime.fromtimestamp(T0, UTC) and v.first_seen.tzinfo is UTC
    assert v.confirmed_at == datetime.fromtimestamp(T0 + 60, UTC)
    assert v.bbox == (250.0, 740.0, 350.0, 800.0) and v.frame_size == SIZE
    assert v.confidence == pytest.approx(0.8) and v.snapshot is None


def test_works_at_any_frame_rate() -> None:
    slow = run(make_engine(), every(0, 120, Obj(7), step=5.0))
    fast = run(make_engine(), every(0, 70, Obj(7), step=0.04))
    assert [v.confirmed_at for v in slow] == [datetime.fromtimestamp(T0 + 60, UTC)]
    assert len(fast) == 1 and abs(fast[0].confirmed_at.timestamp() - (T0 + 60)) < 0.05


def test_too_short_is_no_violation() -> None:
    assert run(make_engine(), every(0, 59, Obj(7))) == []


@pytest.mark.parametrize("obj", [
    Obj(7, y=300),  # on the road, outside the zone
    Obj(7, cls=PERSON),  # a person standing there is no parking
    Obj(7, cls=CAR),  # a car is the motor-parking rule's business
    Obj(7, conf=0.2),  # below min_confidence
])
def test_objects_the_rule_does_not_look_at(obj: Obj) -> None:
    assert run(make_engine(), every(0, 200, obj)) == []


def test_zone_with_other_tags_is_ignored() -> None:
    assert run(make_engine(zone_tags=frozenset({"fire_lane"})), every(0, 200, Obj(7))) == []


def test_moving_object_never_confirms() -> None:
    frames = [(float(t), (Obj(7, x=100 + 8 * t),)) for t in range(100)]  # a bike pushed along slowly
    assert run(make_engine(), frames) == []


def test_box_jitter_is_still_standing() -> None:
    rng = np.random.default_rng(0)
    frames = [(float(t), (Obj(7, x=300 + rng.uniform(-10, 10), y=800 + rng.uniform(-5, 5)),))
              for t in range(70)]
    assert len(run(make_engine(), frames)) == 1


def test_moved_object_restarts_its_dwell() -> None:
    engine = make_engine()
    assert run(engine, every(0, 40, Obj(7, x=300))) == []
    violations = run(engine, every(40, 130, Obj(7, x=600)))  # re-parked 300 px further along
    assert [v.first_seen for v in violations] == [datetime.fromtimestamp(T0 + 40, UTC)]
    assert violations[0].confirmed_at == datetime.fromtimestamp(T0 + 100, UTC)


def test_occlusion_shorter_than_tolerance_keeps_dwell() -> None:
    frames = every(0, 30, Obj(7)) + every(30, 45) + every(45, 80, Obj(7))  # hidden 15 s < 20 s
    (v,) = run(make_engine(), frames)
    assert v.first_seen == datetime.fromtimestamp(T0, UTC)
    assert v.confirmed_at == datetime.fromtimestamp(T0 + 60, UTC)


def test_object_gone_longer_than_tolerance_is_new_when_it_returns() -> None:
    frames = every(0, 50, Obj(7)) + every(50, 80) + every(80, 150, Obj(7))  # gone 30 s > 20 s
    (v,) = run(make_engine(), frames)
    assert v.first_seen == datetime.fromtimestamp(T0 + 80, UTC)


def test_tracker_id_switch_keeps_dwell() -> None:
    frames = every(0, 30, Obj(7)) + every(30, 100, Obj(42, x=305))  # new id, same place
    violations = run(make_engine(), frames)
    assert len(violations) == 1
    assert violations[0].first_seen == datetime.fromtimestamp(T0, UTC) and violations[0].track_id == 42


def test_id_switch_after_occlusion_and_untracked_detections_continue() -> None:
    frames = every(0, 30, Obj(7)) + every(30, 40) + every(40, 50, Obj(-1)) + every(50, 100, Obj(9))
    (v,) = run(make_engine(), frames)
    assert v.first_seen == datetime.fromtimestamp(T0, UTC)


def test_class_flicker_within_a_kind_is_the_same_object() -> None:
    frames = [(float(t), (Obj(7, cls=BICYCLE if t % 2 else MOTORCYCLE),)) for t in range(100)]
    assert len(run(make_engine(), frames)) == 1


def test_offline_gap_freezes_dwell_and_does_not_duplicate() -> None:
    # 40 s seen, camera offline 60 s (no frames), back: 20 s more of standing confirm it.
    frames = every(0, 40, Obj(7)) + every(100, 200, Obj(7))
    violations = run(make_engine(), frames)
    assert len(violations) == 1
    assert violations[0].first_seen == datetime.fromtimestamp(T0, UTC)
    assert violations[0].confirmed_at == datetime.fromtimestamp(T0 + 100 + 21, UTC)


def test_offline_gap_does_not_count_as_unseen() -> None:
    # Offline 60 s is more than the 20 s tolerance, but the object was not "unseen" while offline.
    frames = every(0, 40, Obj(7)) + every(100, 103) + every(103, 200, Obj(7))
    (v,) = run(make_engine(), frames)
    assert v.first_seen == datetime.fromtimestamp(T0, UTC)


def test_no_second_violation_over_a_long_stay() -> None:
    frames = every(0, 3 * 3600, Obj(7), step=2.0)
    frames[1000:1005] = [(t, ()) for t, _ in frames[1000:1005]]  # a short occlusion on the way
    assert len(run(make_engine(), frames)) == 1


def test_two_bikes_side_by_side_are_two_violations() -> None:
    violations = run(make_engine(), every(0, 70, Obj(1, x=200), Obj(2, x=400)))
    assert sorted(v.track_id for v in violations) == [1, 2]


def test_state_is_per_engine_and_deterministic() -> None:
    frames = every(0, 30, Obj(7)) + every(30, 45) + every(45, 130, Obj(8, x=302), Obj(9, x=700, y=900))
    # Each violation gets an id of its own: everything else must be the same.
    first, second = ([dataclasses.replace(v, id="") for v in run(make_engine(), frames)] for _ in range(2))
    assert first == second and first


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValidationError, match="dwell_s"):
        DwellParameters(objects=("motor_vehicle",), dwell_s=0)
    with pytest.raises(ValueError, match="zone_tags must not be empty; max_frame_gap_s must be > 0"):
        DwellRule("motor_parking", frozenset(), DwellParameters(objects=("motor_vehicle",), dwell_s=60),
                  max_frame_gap_s=0)


def test_rule_table() -> None:
    assert RULE_TYPES["dwell"].rule is DwellRule and RULE_TYPES["dwell"].parameters is DwellParameters
    rule = new_rule("motor_parking", frozenset({"sidewalk"}), DwellParameters(objects=("motor_vehicle",), dwell_s=300),
                    max_frame_gap_s=10)
    (v,) = run(engine_with(rule), every(0, 400, Obj(3, cls=CAR), step=10.0))
    assert v.kind == "motor_parking" and v.class_name == "car"
    assert v.confirmed_at == datetime.fromtimestamp(T0 + 300, UTC)


def test_one_bike_seen_as_bicycle_and_motorcycle_is_one_incident() -> None:
    """Class-aware NMS keeps both classes on one e-bike; both are `non_motor_vehicle`: one object."""
    both = (Obj(1, cls=BICYCLE, conf=0.6), Obj(2, x=305, cls=MOTORCYCLE, conf=0.7))
    violations = run(make_engine(), every(0, 120, *both))
    assert [(v.class_name, v.track_id) for v in violations] == [("motorcycle", 2)]


def test_overlapping_objects_of_different_kinds_both_count() -> None:
    bike_and_car = (Obj(1, cls=BICYCLE), Obj(2, x=305, cls=CAR))
    engine = engine_with(DwellRule("non_motor_parking", frozenset({"no_parking"}), DwellParameters(
        objects=("non_motor_vehicle", "motor_vehicle"), dwell_s=60.0), max_frame_gap_s=10.0))
    assert sorted(v.class_name for v in run(engine, every(0, 120, *bike_and_car))) == ["bicycle", "car"]


def test_resolution_change_keeps_the_parked_object() -> None:
    """The camera's stream drops to half size mid-dwell: same place in the picture, same object."""
    engine = make_engine()
    assert run(engine, every(0, 40, Obj(7))) == []
    half = [engine.evaluate(T0 + t, Detections(np.array([[125, 370, 175, 400]], np.float32),
                                               np.array([0.8], np.float32), np.array([BICYCLE]), np.array([3])),
                            (500, 500)) for t in range(40, 200)]
    violations = [v for found in half for v in found]
    assert len(violations) == 1
    assert violations[0].first_seen == datetime.fromtimestamp(T0, UTC) and violations[0].frame_size == (500, 500)
