"""Cluster, persistence and count rules, object filters and zone schedules, on synthetic detections."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from common.schedule import parse_shift
from detector.engine import ObjectFilter
from detector.rules import (
    ClusterGroup,
    ClusterParameters,
    ClusterRule,
    CountParameters,
    CountRule,
    DwellParameters,
    DwellRule,
    PersistenceParameters,
    PersistenceRule,
)
from detector.zones import Zone
from tests.detector.rule_frames import GAP_S, PAVEMENT, ROAD, T0, Obj, engine, every, run

SIDEWALK = frozenset({"sidewalk"})
SHADE = ClusterGroup(objects=("umbrella", "stall"))
AT_IT = ClusterGroup(objects=("table", "chair", "person"), stationary=False)


def vending(**overrides: object) -> ClusterRule:
    options: dict[str, object] = {"groups": (SHADE, AT_IT), "dwell_s": 60.0, "settle_s": 10.0,
                                  "lost_tolerance_s": 15.0}
    return ClusterRule("street_vending", SIDEWALK, ClusterParameters.model_validate(options | overrides), GAP_S)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


# -- cluster --------------------------------------------------------------------------------------

def test_cluster_confirms_once_when_every_group_stays_together() -> None:
    stall = (Obj("umbrella", 1, x=300, w=200, h=80), Obj("table", 2, x=320), Obj("person", 3, x=420, y=820))
    violations = run(engine(vending()), every(0, 200, *stall))
    assert len(violations) == 1
    (v,) = violations
    assert v.kind == "street_vending" and v.zone == "pavement" and v.object_count == 3
    assert v.object_kind == "umbrella", "the shade represents the cluster"
    # The umbrella counts once it has stood still 10 s; the cluster then holds 60 s.
    assert v.first_seen == at(10) and v.confirmed_at == at(70)
    assert v.bbox == (200.0, 720.0, 470.0, 820.0), "the box spans every member"


def test_cluster_needs_every_group() -> None:
    assert run(engine(vending()), every(0, 200, Obj("umbrella", 1))) == [], "a shade alone is not a stall"
    assert run(engine(vending()), every(0, 200, Obj("table", 2), Obj("person", 3))) == [], "no shade"


def test_a_passing_umbrella_is_not_a_stall() -> None:
    walking = [(float(t), (Obj("umbrella", 1, x=100 + 6 * t), Obj("person", 2, x=100 + 6 * t, y=830)))
               for t in range(150)]
    assert run(engine(vending()), walking) == []


def test_people_coming_and_going_within_tolerance_keep_the_cluster() -> None:
    shade, customer = Obj("umbrella", 1), Obj("person", 3, x=380, y=830)
    frames = every(0, 30, shade, customer) + every(30, 40, shade) + every(40, 100, shade, customer)
    (v,) = run(engine(vending()), frames)
    assert v.confirmed_at == at(70)
    # Gone longer than the tolerance: the episode ends, the clock starts again.
    frames = every(0, 30, shade, customer) + every(30, 60, shade) + every(60, 200, shade, customer)
    (v,) = run(engine(vending()), frames)
    assert v.first_seen == at(60)


def test_a_cluster_outside_its_zones_or_below_confidence_is_ignored() -> None:
    on_road = (Obj("umbrella", 1, y=300), Obj("person", 2, y=320))
    assert run(engine(vending()), every(0, 200, *on_road)) == []
    weak = (Obj("umbrella", 1, conf=0.2), Obj("person", 2, x=380))
    assert run(engine(vending()), every(0, 200, *weak)) == []


def test_group_min_count() -> None:
    def market() -> ClusterRule:
        return ClusterRule("street_vending", SIDEWALK, ClusterParameters(
            groups=(ClusterGroup(objects=("umbrella",), min_count=2),), dwell_s=30, settle_s=0), GAP_S)

    assert run(engine(market()), every(0, 100, Obj("umbrella", 1))) == []
    (v,) = run(engine(market()), every(0, 100, Obj("umbrella", 1), Obj("umbrella", 2, x=600)))
    assert v.object_count == 2


def test_cluster_offline_gap_freezes_the_clock() -> None:
    stall = (Obj("umbrella", 1), Obj("table", 2, x=320))
    (v,) = run(engine(vending()), every(0, 40, *stall) + every(200, 300, *stall))
    assert v.first_seen == at(10) and v.confirmed_at == at(200 + 31)


def test_cluster_parameters_are_checked() -> None:
    with pytest.raises(ValidationError, match="groups"):
        ClusterParameters(groups=(), dwell_s=60)
    with pytest.raises(ValidationError, match="min_count"):
        ClusterGroup(objects=("umbrella",), min_count=0)
    with pytest.raises(ValueError, match="zone_tags must not be empty"):
        ClusterRule("street_vending", frozenset(), ClusterParameters(groups=(SHADE,), dwell_s=60), GAP_S)


# -- persistence ---------------------------------------------------------------------------------

def posters(**overrides: object) -> PersistenceRule:
    options: dict[str, object] = {"objects": ("poster",), "check_every_s": 60.0, "checks": 6, "min_present": 4}
    return PersistenceRule("posting", SIDEWALK, PersistenceParameters.model_validate(options | overrides), GAP_S)


def test_persistence_confirms_on_k_of_n_checks_despite_misses() -> None:
    poster = Obj("poster", y=700)
    # One frame a second; the detector finds the poster only on some checks (minutes 1 and 3 missed).
    frames = [(float(t), (poster,) if (t // 60) not in (1, 3) else ()) for t in range(0, 600)]
    (v,) = run(engine(posters()), frames)
    assert v.kind == "posting" and v.object_kind == "poster"
    assert v.first_seen == at(0) and v.confirmed_at == at(300), "4th present look: minute 5"


def test_persistence_never_confirms_below_k() -> None:
    poster = Obj("poster", y=700)
    frames = [(float(t), (poster,) if (t // 60) % 2 else ()) for t in range(0, 1200)]  # every other look
    assert run(engine(posters(min_present=4, checks=6)), frames) == []


def test_persistence_rearms_after_n_empty_checks() -> None:
    poster = Obj("poster", y=700)
    frames = every(0, 360, poster) + every(360, 720) + every(720, 1100, poster)
    violations = run(engine(posters()), frames)
    assert [v.first_seen for v in violations] == [at(0), at(720)], "taken down, then put up again"


def test_persistence_looks_once_per_interval_at_any_frame_rate() -> None:
    poster = Obj("poster", y=700)
    fast = run(engine(posters()), every(0, 250, poster, step=0.2))
    slow = run(engine(posters()), every(0, 250, poster, step=30))
    assert [v.confirmed_at for v in fast] == [at(180)] and [v.confirmed_at for v in slow] == [at(180)]


# -- count ----------------------------------------------------------------------------------------

def bikes(n: int) -> tuple[Obj, ...]:
    return tuple(Obj("non_motor_vehicle", i, x=60 + 80 * i, w=60) for i in range(n))


def pileup(**overrides: object) -> CountRule:
    options: dict[str, object] = {"objects": ("non_motor_vehicle",), "min_count": 8, "dwell_s": 60.0,
                                  "lost_tolerance_s": 10.0}
    return CountRule("bike_pileup", SIDEWALK, CountParameters.model_validate(options | overrides), GAP_S)


def crowding() -> CountRule:
    return CountRule("crowding", SIDEWALK, CountParameters(objects=("person",), min_count=3, dwell_s=10), GAP_S)


def test_count_confirms_when_enough_stay_long_enough() -> None:
    assert run(engine(pileup()), every(0, 200, *bikes(7))) == []
    (v,) = run(engine(pileup()), every(0, 200, *bikes(10)))
    assert v.object_count == 10 and v.confirmed_at == at(60)
    assert v.bbox == (30.0, 740.0, 810.0, 800.0)


def test_count_tolerates_a_short_dip_and_rearms_after_a_long_one() -> None:
    frames = every(0, 30, *bikes(9)) + every(30, 35, *bikes(5)) + every(35, 100, *bikes(9))
    assert [v.confirmed_at for v in run(engine(pileup()), frames)] == [at(60)]
    frames = every(0, 80, *bikes(9)) + every(80, 120, *bikes(3)) + every(120, 250, *bikes(9))
    assert [v.first_seen for v in run(engine(pileup()), frames)] == [at(0), at(120)]


# -- filters and schedules ------------------------------------------------------------------------

def test_object_filters_drop_weak_and_tiny_detections_of_a_kind() -> None:
    crowd = crowding()
    people = tuple(Obj("person", i, x=100 + 150 * i, conf=0.5, w=40, h=100) for i in range(3))
    assert len(run(engine(crowd), every(0, 30, *people))) == 1
    strict = {"person": ObjectFilter(min_confidence=0.6)}
    assert run(engine(crowding(),
                      filters=strict), every(0, 30, *people)) == []
    tiny = {"person": ObjectFilter(min_area=0.005)}  # 40 x 100 px is 0.004 of the picture
    assert run(engine(crowding(),
                      filters=tiny), every(0, 30, *people)) == []


def test_a_zone_allows_a_kind_in_its_window_only() -> None:
    """Vending allowed 18:00-22:00 in Shanghai: the same stall confirms only once the window closes."""
    shanghai = ZoneInfo("Asia/Shanghai")
    evening = Zone("pavement", frozenset({"sidewalk"}), PAVEMENT.polygon,
                   {"street_vending": (parse_shift("Mon-Sun 18:00-22:00"),)})
    start = datetime(2024, 6, 3, 21, 50, tzinfo=shanghai).timestamp() - T0  # 10 minutes before closing
    stall = (Obj("umbrella", 1), Obj("table", 2, x=320))
    violations = run(engine(vending(), zones=(evening, ROAD), tz=shanghai), every(start, start + 1800, *stall, step=5))
    (v,) = violations
    closing = datetime(2024, 6, 3, 22, 0, tzinfo=shanghai)
    assert v.first_seen.astimezone(shanghai) >= closing and v.confirmed_at.astimezone(shanghai).hour == 22
    # Other kinds are not allowed there at any hour.
    parking = DwellRule("non_motor_parking", SIDEWALK, DwellParameters(objects=("non_motor_vehicle",), dwell_s=60),
                        GAP_S)
    assert len(run(engine(parking, zones=(evening, ROAD), tz=shanghai),
                   every(start, start + 200, Obj("non_motor_vehicle", 5)))) == 1
