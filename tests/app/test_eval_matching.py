"""Matching incidents against truth (aibrain/evaluation/matching.py): windows from the rule's dwell and the slack,
objects that stand too briefly, zone and box conditions, duplicates, one-to-one by time, and the figures."""

from __future__ import annotations

import pytest

from aibrain.evaluation.matching import (
    Confirmation,
    Expectation,
    FileMatching,
    Why,
    expectation,
    figures,
    match_file,
)
from aibrain.evaluation.truth import Box, IgnoreEntry, TruthObject

FILE = "street.mp4"
CAR_BOX: Box = (0.5, 0.4, 0.9, 0.8)
DWELL_S, SLACK_S, SPAN = 4.0, 1.0, (0.0, 30.0)


def car(id: str = "car", stands: tuple[float, float | None] = (0.0, None), **truth: object) -> TruthObject:
    return TruthObject.model_validate({"id": id, "kind": "motor_parking", "stands": stands, **truth})


def seen(at_s: float, kind: str = "motor_parking", zone: str = "sidewalk", box: Box = CAR_BOX,
         incident_id: str | None = None) -> Confirmation:
    return Confirmation(FILE, kind, zone, at_s, box, incident_id or f"inc-{at_s:g}-{kind}", None)


def expected(*objects: TruthObject, dwell_s: float = DWELL_S) -> list[Expectation]:
    return [expectation(FILE, obj, dwell_s, SLACK_S, SPAN) for obj in objects]


def whys(matching: FileMatching) -> list[tuple[float, str, str | None]]:
    return [(a.incident.media_time_s, str(a.why), a.object) for a in matching.false_alarms]


def test_window_runs_from_arrival_plus_dwell_to_leaving_widened_by_the_slack() -> None:
    [parked] = expected(car(stands=(2.0, 20.0)))
    assert parked.window == (2.0 + DWELL_S - SLACK_S, 20.0 + SLACK_S) and parked.due_s == 6.0
    [to_the_end] = expected(car(stands=(2.0, None)))
    assert to_the_end.window == (5.0, 30.0 + SLACK_S), "still there: the window ends with the evaluated part"
    beyond = expectation(FILE, car(stands=(2.0, 50.0)), DWELL_S, SLACK_S, (0.0, 12.0))
    assert beyond.window == (5.0, 13.0), "leaving after the evaluated part ends is the same as staying"
    late_start = expectation(FILE, car(stands=(2.0, None)), DWELL_S, SLACK_S, (10.0, 30.0))
    assert late_start.window == (13.0, 31.0) and late_start.due_s == 14.0, "seen to arrive where evaluating starts"
    [given] = expected(car(stands=(2.0, None), confirm_window=(10.0, 11.0)))
    assert given.window == (10.0, 11.0), "the truth's own window wins"


def test_confirmed_in_the_window_is_right_and_time_to_confirm_counts_from_the_dwell() -> None:
    matching = match_file([seen(5.5)], expected(car(stands=(1.0, None))))
    [match] = matching.matches
    assert match.expected.object.id == "car" and match.ttc_s == pytest.approx(0.5)
    assert not matching.false_alarms and not matching.misses


def test_window_edges_are_inside_and_beyond_them_is_outside() -> None:
    objects = expected(car(stands=(0.0, 10.0)))  # window 3 .. 11
    assert len(match_file([seen(3.0)], objects).matches) == 1
    assert len(match_file([seen(11.0)], objects).matches) == 1
    early = match_file([seen(2.9)], objects)
    assert whys(early) == [(2.9, "outside its window", "car")] and len(early.misses) == 1
    late = match_file([seen(11.1)], objects)
    assert whys(late) == [(11.1, "outside its window", "car")] and len(late.misses) == 1


def test_an_object_standing_less_than_its_dwell_expects_no_incident_and_is_no_miss() -> None:
    brief = expected(car("queueing", stands=(5.0, 8.0)))  # 3 s < 4 s
    assert brief[0].window is None
    quiet = match_file([], brief)
    assert not quiet.misses and not quiet.matches and not quiet.false_alarms
    confirmed = match_file([seen(8.5)], brief)
    assert whys(confirmed) == [(8.5, "outside its window", "queueing")], "confirming it is a false alarm"
    assert not confirmed.misses


def test_zone_must_be_equal_when_the_truth_gives_one() -> None:
    objects = expected(car(zone="sidewalk"))
    assert len(match_file([seen(5.0, zone="sidewalk")], objects).matches) == 1
    elsewhere = match_file([seen(5.0, zone="crossing")], objects)
    assert whys(elsewhere) == [(5.0, "no such object", None)] and len(elsewhere.misses) == 1
    assert len(match_file([seen(5.0, zone="crossing")], expected(car())).matches) == 1, "no zone: any zone"


def test_kind_must_be_equal() -> None:
    matching = match_file([seen(5.0, kind="stall_occupation")], expected(car()))
    assert whys(matching) == [(5.0, "no such object", None)] and len(matching.misses) == 1


@pytest.mark.parametrize(("box", "fits"), [
    (CAR_BOX, True),
    ((0.55, 0.45, 0.95, 0.85), True),  # IoU 0.6
    ((0.6, 0.1, 0.8, 0.7), True),  # little overlap, but it stands (bottom-centre 0.7, 0.7) inside the truth box
    ((0.0, 0.0, 0.45, 0.35), False),  # elsewhere in the frame
    ((0.3, 0.5, 0.55, 0.95), False),  # overlapping a little, standing outside (bottom 0.95)
])
def test_box_fits_by_overlap_or_where_it_stands(box: Box, fits: bool) -> None:
    matching = match_file([seen(5.0, box=box)], expected(car(box=CAR_BOX)))
    assert len(matching.matches) == int(fits)
    assert whys(matching) == ([] if fits else [(5.0, "no such object", None)])


def test_a_second_confirmation_of_a_matched_object_is_a_duplicate_and_counts_as_false() -> None:
    matching = match_file([seen(9.0), seen(5.0)], expected(car()))
    assert [m.incident.media_time_s for m in matching.matches] == [5.0], "the earliest is the right one"
    assert whys(matching) == [(9.0, "duplicate", "car")]
    per_kind, overall = figures([matching], expected(car()))
    assert (overall.tp, overall.fp, overall.fn, overall.duplicates) == (1, 1, 0, 1)
    assert per_kind["motor_parking"].precision == 0.5


def test_one_to_one_greedy_by_time_two_objects_two_incidents() -> None:
    left, right = car("left", box=(0.0, 0.4, 0.4, 0.8)), car("right", stands=(3.0, None), box=CAR_BOX)
    incidents = [seen(8.0, box=CAR_BOX), seen(4.5, box=(0.05, 0.45, 0.4, 0.8))]
    matching = match_file(incidents, expected(left, right))
    assert sorted((m.expected.object.id, m.incident.media_time_s) for m in matching.matches) == \
        [("left", 4.5), ("right", 8.0)]
    same_place = match_file([seen(5.0), seen(7.5)], expected(car("a"), car("b", stands=(2.0, None))))
    assert sorted(m.expected.object.id for m in same_place.matches) == ["a", "b"], \
        "without boxes two objects take two incidents, one each"


def test_ignored_incidents_count_neither_way_but_an_object_there_is_still_matched() -> None:
    sky: Box = (0.0, 0.0, 1.0, 0.1)
    ignore = [IgnoreEntry(kind="motor_parking", box=sky)]
    in_the_sky = seen(5.0, box=(0.2, 0.0, 0.3, 0.08))
    matching = match_file([in_the_sky, seen(6.0)], expected(car(box=CAR_BOX)), ignore)
    assert matching.ignored == [in_the_sky] and not matching.false_alarms and len(matching.matches) == 1
    timed = [IgnoreEntry(during=(0.0, 4.0))]
    assert len(match_file([seen(5.0)], [], timed).false_alarms) == 1, "outside `during` it counts"


def test_precision_and_recall_are_null_when_nothing_counts_towards_them() -> None:
    per_kind, overall = figures([match_file([seen(5.0)], [])], [])
    assert overall.precision == 0.0 and overall.recall is None and overall.f1 is None
    as_json = per_kind["motor_parking"].as_json()
    assert as_json == {"tp": 0, "fp": 1, "fn": 0, "duplicates": 0, "precision": 0.0, "recall": None, "f1": None,
                       "ttc_median_s": None, "ttc_p90_s": None}
    nothing = expected(car(stands=(0.0, 2.0)))  # too brief: expects nothing
    per_kind, overall = figures([match_file([], nothing)], nothing)
    assert list(per_kind) == ["motor_parking"], "a kind with truth objects appears"
    assert overall.as_json()["precision"] is None and overall.as_json()["recall"] is None


def test_figures_per_kind_and_overall_with_time_to_confirm_median_and_p90() -> None:
    objects = expected(*(car(f"car{i}", stands=(float(i), None)) for i in range(5)))
    incidents = [seen(4.0 + i + delay, incident_id=f"i{i}") for i, delay in enumerate([0.0, 0.5, 1.0, 1.5])]
    stall = seen(7.0, kind="stall_occupation")
    matching = match_file([*incidents, stall], objects)
    per_kind, overall = figures([matching], objects)
    parking = per_kind["motor_parking"].as_json()
    assert (parking["tp"], parking["fp"], parking["fn"]) == (4, 0, 1)
    assert parking["precision"] == 1.0 and parking["recall"] == 0.8 and parking["f1"] == pytest.approx(0.8889)
    assert parking["ttc_median_s"] == 0.75 and parking["ttc_p90_s"] == 1.35
    assert per_kind["stall_occupation"].as_json()["precision"] == 0.0
    assert (overall.tp, overall.fp, overall.fn) == (4, 1, 1) and overall.precision == 0.8
    assert Why.NO_SUCH_OBJECT in {a.why for a in matching.false_alarms}
