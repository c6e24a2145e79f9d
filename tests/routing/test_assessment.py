"""Assessment (考核) figures over a seeded history on both database backends, each equal to a value worked out
by hand here; and the CSV export (BOM, round trip, formula injection)."""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import box
from sqlalchemy.orm import Session, sessionmaker

from routing.assign.grids import Grid, GridMap
from routing.assign.organisation import Organisation
from routing.incidents import store
from routing.incidents.assessment import Assessment, GroupBy, assess
from routing.incidents.assessment_csv import assessment_csv
from routing.incidents.assessment_tally import IncidentFacts, Tally
from routing.incidents.dispatch import Dispatcher
from routing.incidents.interventions import Interventions
from routing.incidents.lifecycle import next_status
from routing.incidents.tables import Incident, IncidentAction, IncidentStatus
from tests.routing.helpers import (
    CAMERAS,
    DAYTIME,
    LABELS,
    LIMITS,
    SHANGHAI,
    ZONE_GRIDS,
    make_grids,
    make_loop,
    make_roster,
    make_topology,
    violation,
)

Action, Status = IncidentAction, IncidentStatus
BOM = b"\xef\xbb\xbf"
BIKE, CAR = "non_motor_parking", "motor_parking"  # kinds of helpers.LABELS
ACCEPT_MIN, RESOLVE_MIN = 10, 60  # every incident's promised deadlines, minutes after dispatch
# Two streets; 汇丰社区 is in both. G-04's name comes from a hostile grids file.
ORGANISATION = Organisation("黄浦区", GridMap([
    Grid("G-01", "汇丰一", "外滩街道", "汇丰社区", box(0, 0, 1, 1)),
    Grid("G-02", "汇丰二", "外滩街道", "汇丰社区", box(1, 0, 2, 1)),
    Grid("G-03", "金陵一", "外滩街道", "金陵社区", box(2, 0, 3, 1)),
    Grid("G-04", "=1+1", "南京东路街道", "汇丰社区", box(3, 0, 4, 1))]))
WORKER_NAMES = {"w-1": "张三", "w-2": "李四", "w-3": "@王五"}
# The period: two site-local days, 2024-06-03 and 06-04; assessed as of its end.
START = datetime(2024, 6, 3, tzinfo=SHANGHAI)
END = NOW = datetime(2024, 6, 5, tzinfo=SHANGHAI)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 6, day, hour, minute, tzinfo=SHANGHAI)


def add(session: Session, name: str, grid: str | None, worker: str | None, kind: str, created: datetime,
        events: list[tuple[IncidentAction, float]], resolve_min: float = RESOLVE_MIN) -> None:
    """One incident dispatched at `created`, then `events` (action, minutes after dispatch) through the state
    machine, each with its audit row, as the closed loop and the interventions write them."""
    incident_id = f"{name}-{uuid.uuid4().hex[:8]}"
    status = next_status(next_status(None, Action.DETECT), Action.DISPATCH)
    trail = []
    for action, minutes in events:
        before, status = status, next_status(status, action)
        trail.append((action, before, status, created + timedelta(minutes=minutes)))
    store.add_incident(session, Incident(
        id=incident_id, kind=kind, kind_label=LABELS[kind], status=status, camera_id="cam-01",
        camera_name="东街口 1 号", zone="sidewalk", grid_id=grid, worker_id=worker, object_kind="vehicle",
        class_name="bicycle", track_id=1, confidence=0.9, bbox=[0.0, 0.0, 1.0, 1.0], frame_size=[1920, 1080],
        first_seen=created - timedelta(minutes=3), confirmed_at=created, created_at=created,
        accept_by=created + timedelta(minutes=ACCEPT_MIN), resolve_by=created + timedelta(minutes=resolve_min)))
    session.flush()  # the incident before its audit rows
    for action, before, after, at in trail:
        store.add_transition(session, incident_id, action, before, after, worker or "centre", at)


def seed(sessions: sessionmaker[Session]) -> None:
    """Twelve incidents in the period (i1..i12) and two just outside it. Minutes after dispatch; accept by
    10, resolve by 60."""
    A, R, V, X = Action.ACCEPT, Action.RESOLVE, Action.VERIFY, Action.EXTEND
    with sessions() as session, session.begin():
        add(session, "i0-before", "G-01", "w-1", BIKE, local(2, 23, 59), [(A, 30)])  # late, but outside
        # 06-03. i1 at the period's very start: accept 5, resolve 30, verified.
        add(session, "i1", "G-01", "w-1", BIKE, local(3, 0), [(A, 5), (R, 30), (V, 35)])
        add(session, "i2", "G-01", "w-1", BIKE, local(3, 10), [(A, 15), (R, 50), (V, 55)])  # accept late
        add(session, "i3", "G-02", "w-2", CAR, local(3, 11), [(A, 8), (R, 90), (V, 95)])  # resolve late
        add(session, "i4", "G-02", "w-2", BIKE, local(3, 14),  # reopened; its first times count
            [(A, 2), (R, 20), (Action.REOPEN, 25), (A, 30), (R, 40), (V, 45)])
        # Accepted at the deadline itself (on time); extended to 120 minutes and resolved at 100: late on the
        # original deadline, on time on the promised one.
        add(session, "i5", "G-03", "w-2", CAR, local(3, 15), [(A, 10), (X, 40), (R, 100)], resolve_min=120)
        add(session, "i6", "G-03", "w-2", CAR, local(3, 16), [(A, 3), (Action.FALSE_ALARM, 10)])
        # 06-04.
        add(session, "i7", "G-04", "w-3", BIKE, local(4, 9), [(Action.FALSE_ALARM, 20)])
        add(session, "i8", "G-04", "w-3", BIKE, local(4, 10), [(Action.ESCALATE, 10)])  # never acted on
        add(session, "i9", "G-04", "w-3", CAR, local(4, 11),  # resolved at 7 without accepting
            [(R, 7), (Action.DEFER_VERIFICATION, 12)])
        add(session, "i10", None, None, CAR, local(4, 12), [(A, 12), (R, 45), (V, 50)])  # no grid, no worker
        add(session, "i11", "G-01", "w-1", BIKE, local(4, 23, 55), [])  # nothing due before NOW
        add(session, "i12", "G-02", "w-2", BIKE, local(4, 23, 30), [(A, 5)])  # resolve not due yet
        add(session, "i13-at-end", "G-01", "w-1", BIKE, END, [(A, 1)])  # [start, end): outside


def run(sessions: sessionmaker[Session], group_by: GroupBy, grid_ids: frozenset[str] | None = None) -> Assessment:
    with sessions() as session:
        return assess(session, START, END, group_by, ORGANISATION, grid_ids, NOW, SHANGHAI, WORKER_NAMES)


RATES = ("false_alarm_rate", "accepted_on_time_rate", "resolved_on_time_rate", "closed_rate", "reopened_rate",
         "extended_rate")


def expected(key: str, label: str, rates: tuple[float, ...], **figures: float) -> dict[str, object]:
    """A row as `dataclasses.asdict` gives it; `rates` in the order of RATES (误报率, accepted on time,
    按期处置率, 结案率, 返工率, 延期率)."""
    return {"key": key, "label": label, **figures, **{name: pytest.approx(rate) for name, rate in zip(RATES, rates,
                                                                                                     strict=True)}}


@pytest.fixture
def history(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    seed(sessions)
    return sessions


def test_total_and_streets_equal_the_hand_count(history: sessionmaker[Session]) -> None:
    result = run(history, GroupBy.STREET)
    # i1..i12 (i0 before, i13 at the end are out); false alarms i6, i7; valid the other 10.
    # Accept: on time i1 i3 i4 i5 i9 (its resolve) i12; late i2 i8 (never) i10; i11 not due -> 6 / 9.
    # Resolve: on time i1 i2 i4 (first) i5 (extended) i9 i10; late i3 i8; i11 i12 not due -> 6 / 8.
    # Verified i1 i2 i3 i4 i10 -> 5 / 10; ever resolved i1-i5 i9 i10, reopened i4 -> 1 / 7; extended i5 -> 1 / 10.
    # Seconds to respond (i6's accept is a false alarm's): 120 300 300 420 480 600 720 900 -> median
    # (420 + 480) / 2, p90 the ceil(7.2) = 8th. To resolve: 420 1200 1800 2700 3000 5400 6000 -> p90 the 7th.
    assert dataclasses.asdict(result.total) == expected(
        "total", "合计 total", (2 / 12, 6 / 9, 6 / 8, 5 / 10, 1 / 7, 1 / 10),
        incidents=12, false_alarms=2, valid=10, accept_assessed=9, accepted_on_time=6, resolve_assessed=8,
        resolved_on_time=6, verified=5, ever_resolved=7, reopened=1, extended=1, median_accept_s=450.0,
        p90_accept_s=900.0, median_resolve_s=2700.0, p90_resolve_s=6000.0)
    assert [row.key for row in result.rows] == ["(no grid)", "street:南京东路街道", "street:外滩街道"]
    no_grid, nanjing, bund = result.rows
    # i10 alone: accepted late at 12, resolved on time at 45, verified.
    assert dataclasses.asdict(no_grid) == expected(
        "(no grid)", "(no grid)", (0 / 1, 0 / 1, 1 / 1, 1 / 1, 0 / 1, 0 / 1),
        incidents=1, false_alarms=0, valid=1, accept_assessed=1, accepted_on_time=0, resolve_assessed=1,
        resolved_on_time=1, verified=1, ever_resolved=1, reopened=0, extended=0, median_accept_s=720.0,
        p90_accept_s=720.0, median_resolve_s=2700.0, p90_resolve_s=2700.0)
    # G-04: i7 false alarm; i8 late on both; i9 on time on both (420 s), pending verification.
    assert dataclasses.asdict(nanjing) == expected(
        "street:南京东路街道", "南京东路街道", (1 / 3, 1 / 2, 1 / 2, 0 / 2, 0 / 1, 0 / 2),
        incidents=3, false_alarms=1, valid=2, accept_assessed=2, accepted_on_time=1, resolve_assessed=2,
        resolved_on_time=1, verified=0, ever_resolved=1, reopened=0, extended=0, median_accept_s=420.0,
        p90_accept_s=420.0, median_resolve_s=420.0, p90_resolve_s=420.0)
    # G-01..03: i1-i6, i11, i12. Accept on time i1 i3 i4 i5 i12, late i2 -> 5 / 6; resolve on time i1 i2 i4 i5,
    # late i3 -> 4 / 5. Respond 120 300 300 480 600 900 -> median 390, p90 the ceil(5.4) = 6th;
    # resolve 1200 1800 3000 5400 6000 -> median 3000, p90 the ceil(4.5) = 5th.
    assert dataclasses.asdict(bund) == expected(
        "street:外滩街道", "外滩街道", (1 / 8, 5 / 6, 4 / 5, 4 / 7, 1 / 5, 1 / 7),
        incidents=8, false_alarms=1, valid=7, accept_assessed=6, accepted_on_time=5, resolve_assessed=5,
        resolved_on_time=4, verified=4, ever_resolved=5, reopened=1, extended=1, median_accept_s=390.0,
        p90_accept_s=900.0, median_resolve_s=3000.0, p90_resolve_s=6000.0)


def test_other_groupings(history: sessionmaker[Session]) -> None:
    by_worker = {row.key: row for row in run(history, GroupBy.WORKER).rows}
    assert {key: (row.label, row.incidents) for key, row in by_worker.items()} == {
        "(no worker)": ("(no worker)", 1), "worker:w-1": ("张三 (w-1)", 3), "worker:w-2": ("李四 (w-2)", 5),
        "worker:w-3": ("@王五 (w-3)", 3)}
    # w-1: i1 i2 i11. Accept i1 on time, i2 late, i11 not due; resolve i1 i2 on time; verified i1 i2;
    # respond 300 900 -> median 600, p90 the 2nd; resolve 1800 3000 -> median 2400.
    assert dataclasses.asdict(by_worker["worker:w-1"]) == expected(
        "worker:w-1", "张三 (w-1)", (0 / 3, 1 / 2, 2 / 2, 2 / 3, 0 / 2, 0 / 3),
        incidents=3, false_alarms=0, valid=3, accept_assessed=2, accepted_on_time=1, resolve_assessed=2,
        resolved_on_time=2, verified=2, ever_resolved=2, reopened=0, extended=0, median_accept_s=600.0,
        p90_accept_s=900.0, median_resolve_s=2400.0, p90_resolve_s=3000.0)
    by_community = run(history, GroupBy.COMMUNITY).rows
    assert [(row.key, row.label, row.incidents) for row in by_community] == [
        ("(no grid)", "(no grid)", 1), ("community:南京东路街道/汇丰社区", "南京东路街道/汇丰社区", 3),
        ("community:外滩街道/汇丰社区", "外滩街道/汇丰社区", 6),
        ("community:外滩街道/金陵社区", "外滩街道/金陵社区", 2)]
    by_grid = run(history, GroupBy.GRID).rows
    assert [(row.key, row.label, row.incidents) for row in by_grid] == [
        ("(no grid)", "(no grid)", 1), ("grid:G-01", "汇丰一", 3), ("grid:G-02", "汇丰二", 3),
        ("grid:G-03", "金陵一", 2), ("grid:G-04", "=1+1", 3)]
    # G-03: i5 (extended, resolved on time against 120) and i6 (false alarm).
    assert (by_grid[3].extended_rate, by_grid[3].resolved_on_time_rate, by_grid[3].false_alarm_rate) == (1.0, 1.0, 0.5)
    by_kind = run(history, GroupBy.KIND).rows
    # motor: i3 i5 i6 i9 i10; non-motor: i1 i2 i4 i7 i8 i11 i12.
    assert [(row.key, row.label, row.incidents, row.false_alarms) for row in by_kind] == [
        ("kind:motor_parking", "机动车乱停放", 5, 1), ("kind:non_motor_parking", "非机动车乱停放", 7, 1)]


def test_daily_series_and_scope(history: sessionmaker[Session]) -> None:
    result = run(history, GroupBy.STREET)
    # 06-03: i1-i6, false alarm i6, resolved on time i1 i2 i4 i5, verified i1-i4.
    # 06-04: i7-i12, false alarm i7, resolved on time i9 i10, verified i10.
    assert [(d.day.isoformat(), d.incidents, d.false_alarms, d.resolved_on_time, d.verified)
            for d in result.daily] == [("2024-06-03", 6, 1, 4, 4), ("2024-06-04", 6, 1, 2, 1)]
    # A user scoped to 外滩街道 sees its street's figures as the total, and no incident without a grid.
    bund = ORGANISATION.node("street:外滩街道")
    scoped = run(history, GroupBy.STREET, ORGANISATION.grids_under(bund))
    assert [row.key for row in scoped.rows] == ["street:外滩街道"]
    assert scoped.total == dataclasses.replace(scoped.rows[0], key="total", label="合计 total")
    assert scoped.total.incidents == 8
    assert run(history, GroupBy.GRID, frozenset()).total.incidents == 0


def test_csv_opens_in_excel_and_neutralises_formulas(history: sessionmaker[Session]) -> None:
    data = assessment_csv(run(history, GroupBy.GRID))
    assert data.startswith(BOM)
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert table[0][:4] == ["网格 grid", "立案数 incidents", "误报数 false alarms", "误报率 false alarm %"]
    assert [line[0] for line in table[1:]] == ["(no grid)", "汇丰一", "汇丰二", "金陵一", "'=1+1", "合计 total"]
    # The total: 2/12 false alarms, 6/9 accepted and 6/8 resolved on time, 5/10 closed, 1/7 reopened,
    # 1/10 extended; 450 s, 900 s, 2700 s, 6000 s in minutes.
    assert table[-1][1:] == ["12", "2", "16.7", "66.7", "75.0", "50.0", "14.3", "10.0", "7.5", "15.0", "45.0", "100.0"]
    by_worker = list(csv.reader(io.StringIO(assessment_csv(run(history, GroupBy.WORKER)).decode("utf-8-sig"))))
    assert "'@王五 (w-3)" in [line[0] for line in by_worker]


def test_a_rate_without_denominator_is_none_and_an_empty_csv_cell() -> None:
    only_false_alarm = Tally()
    facts = IncidentFacts(grid_id="G-01", worker_id="w-1", kind="motor_parking", kind_label="机动车乱停放",
                          status=Status.FALSE_ALARM, created_at=START, accept_by=START, resolve_by=START,
                          first_accept=None, first_resolve=None, reopened=False, extended=False)
    only_false_alarm.add(facts, None, None)
    row = only_false_alarm.row("grid:G-01", "-汇丰一")
    assert (row.false_alarm_rate, row.accepted_on_time_rate, row.closed_rate, row.median_accept_s) == (1.0, None,
                                                                                                         None, None)
    assessment = Assessment(START, END, GroupBy.GRID, (row,), row, ())
    lines = list(csv.reader(io.StringIO(assessment_csv(assessment).decode("utf-8-sig"))))
    assert lines[1] == ["'-汇丰一", "1", "1", "100.0", "", "", "", "", "", "", "", "", ""]


def test_a_grid_the_site_no_longer_has_keeps_its_incidents(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        add(session, "old", "G-OLD", "w-1", "motor_parking", local(3, 9), [(Action.ACCEPT, 1)])
    assert [(row.key, row.label) for row in run(sessions, GroupBy.STREET).rows] == [("(grid not in site)",) * 2]
    assert [(row.key, row.label) for row in run(sessions, GroupBy.GRID).rows] == [("grid:G-OLD", "G-OLD")]


def test_the_period_must_be_a_real_interval(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(ValueError, match="must end after"):
        assess(session, END, START, GroupBy.KIND, ORGANISATION, None, NOW, SHANGHAI)
    with sessions() as session, pytest.raises(ValueError, match="no time zone"):
        assess(session, START.replace(tzinfo=None), END, GroupBy.KIND, ORGANISATION, None, NOW, UTC)


def test_figures_of_incidents_moved_by_the_closed_loop_and_the_centre(sessions: sessionmaker[Session]) -> None:
    """The real dispatcher, closed loop and interventions write the history: an extension the centre approves
    moves resolve_by, so a resolve late on the original deadline counts on time; a false alarm counts apart."""
    topology = make_topology("t")  # only the outbox is written: no broker needed
    dispatcher = Dispatcher(sessions, make_roster(), ZONE_GRIDS, make_grids(), CAMERAS, LIMITS, topology, SHANGHAI,
                            clock=lambda: DAYTIME, labels=LABELS)
    loop = make_loop(topology)
    centre = Interventions(loop, make_roster(), dispatcher.alerts)
    # Non-motor parking in g-east, dispatched at DAYTIME to w-day: accept by 15 minutes, resolve by 120.
    extended, false_alarm, late = (dispatcher.dispatch(violation(track_id=n)).incident_id for n in (1, 2, 3))

    def at(minutes: float) -> datetime:
        return DAYTIME + timedelta(minutes=minutes)

    with sessions() as session, session.begin():
        first, second, third = (session.get_one(Incident, i) for i in (extended, false_alarm, late))
        loop.act(session, first, Action.ACCEPT, "w-day", at(5))
        centre.extend(session, first, 60, "路面施工，需调拖车", "user:wang", at(100))  # resolve by 180
        loop.act(session, first, Action.RESOLVE, "w-day", at(150))
        centre.false_alarm(session, second, "影子，不是车", "user:wang", at(3))
        loop.act(session, third, Action.ACCEPT, "w-day", at(20))
        loop.act(session, third, Action.RESOLVE, "w-day", at(60))
        loop.act(session, third, Action.VERIFY, "camera", at(70))
    organisation = Organisation("全区", make_grids())
    with sessions() as session:
        result = assess(session, at(-60), at(24 * 60), GroupBy.WORKER, organisation, None, at(24 * 60), SHANGHAI)
    # Accepted on time: the extended one (5 <= 15), not the late one (20). Resolved on time: both (150 <= 180,
    # 60 <= 120). Verified: the late one. Respond 300, 1200 s; resolve 9000, 3600 s.
    assert [row.key for row in result.rows] == ["worker:w-day"]
    assert dataclasses.asdict(result.total) == expected(
        "total", "合计 total", (1 / 3, 1 / 2, 2 / 2, 1 / 2, 0 / 2, 1 / 2),
        incidents=3, false_alarms=1, valid=2, accept_assessed=2, accepted_on_time=1, resolve_assessed=2,
        resolved_on_time=2, verified=1, ever_resolved=2, reopened=0, extended=1, median_accept_s=750.0,
        p90_accept_s=1200.0, median_resolve_s=6300.0, p90_resolve_s=9000.0)
