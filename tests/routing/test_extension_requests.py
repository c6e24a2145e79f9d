"""Requests for more time on both database backends: a worker asks (a pending row, an audit row that
keeps the status, an update to their queue), a leader approves (the deadline in force moves, by the
minutes asked or the leader's own) or refuses with a note; each request is decided once, one waits
at a time, and a reassignment or a closed incident ends what could be asked or granted."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.incidents.extension_requests import ExtensionRequests, pending_request
from routing.incidents.field_tables import ExtensionRequest, RequestStatus
from routing.incidents.interventions import NOTE_MAX, InterventionRefused
from routing.incidents.lifecycle import TransitionRefused
from routing.incidents.tables import IncidentAction, IncidentStatus
from tests.routing.helpers import DAYTIME, make_loop
from tests.routing.test_closed_loop import TOPOLOGY, act, dispatched, get, incident, trail, updates
from tests.routing.test_interventions import ACCEPT_MIN, LATER, RESOLVE_MIN, centre, last_note

Action, Status = IncidentAction, IncidentStatus
WORKER = "user:zhangwei"  # w-day, signed in to the phone app
LEADER = "user:leader"
ASKED = DAYTIME + timedelta(minutes=5)
REASON = "店主不在，明早处理"
ACCEPT_BY, RESOLVE_BY = DAYTIME + timedelta(minutes=ACCEPT_MIN), DAYTIME + timedelta(minutes=RESOLVE_MIN)


def desk(sessions: sessionmaker[Session]) -> ExtensionRequests:
    loop = make_loop(TOPOLOGY)
    return ExtensionRequests(loop, centre(sessions, loop))


def ask(sessions: sessionmaker[Session], requests: ExtensionRequests, incident_id: str, minutes: float = 90,
        worker_id: str = "w-day", at: timedelta = timedelta()) -> int:
    """A request committed; its id."""
    with sessions() as session, session.begin():
        return requests.request(session, get(session, incident_id), worker_id, WORKER, ASKED + at, minutes, REASON).id


def stored(sessions: sessionmaker[Session], request_id: int) -> ExtensionRequest:
    with sessions() as session:
        found = session.get(ExtensionRequest, request_id)
        assert found is not None
        return found


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(session.scalars(select(ExtensionRequest.id)).all())


def waiting(sessions: sessionmaker[Session], incident_id: str) -> int | None:
    with sessions() as session:
        found = pending_request(session, incident_id)
        return found and found.id


def test_a_request_is_stored_audited_and_told_to_the_worker(sessions: sessionmaker[Session]) -> None:
    requests, incident_id = desk(sessions), dispatched(sessions)
    with sessions() as session, session.begin():
        asked = requests.request(session, get(session, incident_id), "w-day", WORKER, ASKED, 90, f"  {REASON} ")
        assert asked.id is not None, "flushed: the caller answers with it"
    row = stored(sessions, asked.id)
    assert (row.incident_id, row.worker_id, row.requested_by, row.minutes, row.reason, row.at, row.status) == (
        incident_id, "w-day", "zhangwei", 90, REASON, ASKED, RequestStatus.PENDING)
    assert (row.decided_by, row.decided_at, row.decision_note) == (None, None, None)
    assert waiting(sessions, incident_id) == asked.id

    assert trail(sessions, incident_id)[-1] == ("request_extension", "dispatched", "dispatched", WORKER)
    assert last_note(sessions, incident_id) == f"90 min: {REASON}"
    [(key, update)] = updates(sessions)
    assert (key, update.action, update.status, update.actor) == (
        "worker.w-day", Action.REQUEST_EXTENSION, Status.DISPATCHED, WORKER)
    row_now = incident(sessions, incident_id)
    assert (row_now.status, row_now.accept_by, row_now.resolve_by) == (Status.DISPATCHED, ACCEPT_BY, RESOLVE_BY), \
        "asking moves nothing"


def test_one_request_waits_at_a_time(sessions: sessionmaker[Session]) -> None:
    requests, incident_id = desk(sessions), dispatched(sessions)
    first = ask(sessions, requests, incident_id)
    with pytest.raises(InterventionRefused, match="has a request for more time waiting already"):
        ask(sessions, requests, incident_id, 30, at=timedelta(minutes=1))
    assert count(sessions) == 1 and len(trail(sessions, incident_id)) == 3
    with sessions() as session, session.begin():
        requests.refuse(session, get(session, incident_id), first, LEADER, LATER, "今天必须处理")
    second = ask(sessions, requests, incident_id, 30, at=timedelta(minutes=40))
    assert waiting(sessions, incident_id) == second != first, "decided: another may be asked"


def test_a_request_out_of_bounds_without_a_reason_or_not_theirs_is_refused(sessions: sessionmaker[Session]) -> None:
    requests, incident_id = desk(sessions), dispatched(sessions)
    refusals: list[tuple[float, str | None, str, str]] = [
        (0, REASON, "w-day", "more than 0 and at most 30 days, not 0 minutes"), (-5, REASON, "w-day", "not -5"),
        (math.nan, REASON, "w-day", "not nan minutes"), (math.inf, REASON, "w-day", "not inf minutes"),
        (30 * 24 * 60 + 1, REASON, "w-day", "at most 30 days"),
        (60, None, "w-day", "an extension request needs a reason"), (60, "   ", "w-day", "needs a reason"),
        (60, "x" * (NOTE_MAX + 1), "w-day", "at most 2000 characters, not 2001"),
        (60, REASON, "w-night", "is with w-day, not w-night")]
    for minutes, reason, worker_id, message in refusals:
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match=message):
            requests.request(session, get(session, incident_id), worker_id, WORKER, ASKED, minutes, reason)  # type: ignore[arg-type]
    assert count(sessions) == 0 and len(trail(sessions, incident_id)) == 2 and updates(sessions) == []
    assert stored(sessions, ask(sessions, requests, incident_id, 30 * 24 * 60)).minutes == 30 * 24 * 60, "the longest"


def test_approval_moves_the_accept_deadline_of_a_dispatched_incident_by_the_minutes_asked(
        sessions: sessionmaker[Session]) -> None:
    requests, incident_id = desk(sessions), dispatched(sessions)
    request_id = ask(sessions, requests, incident_id, 90)
    with sessions() as session, session.begin():
        decided = requests.approve(session, get(session, incident_id), request_id, LEADER, LATER)
        assert decided.status is RequestStatus.APPROVED

    row = incident(sessions, incident_id)
    moved = ACCEPT_BY + timedelta(minutes=90)
    assert (row.status, row.accept_by, row.accept_due, row.resolve_by) == (Status.DISPATCHED, moved, moved, RESOLVE_BY)
    assert trail(sessions, incident_id)[-1] == ("extend", "dispatched", "dispatched", LEADER)
    assert last_note(sessions, incident_id) == \
        "approved the request of w-day (90 min); accept by 2024-06-03T10:15+08:00 -> 2024-06-03T11:45+08:00"
    request = stored(sessions, request_id)
    assert (request.status, request.decided_by, request.decided_at, request.decision_note) == (
        RequestStatus.APPROVED, LEADER, LATER, None)
    key, update = updates(sessions)[-1]
    assert (key, update.action, update.actor) == ("worker.w-day", Action.EXTEND, LEADER)
    assert update.due_by is not None and update.due_by.accept == moved, "the worker sees the new deadline"
    assert waiting(sessions, incident_id) is None


def test_approval_moves_the_resolve_deadline_of_an_accepted_incident_by_the_approvers_figure(
        sessions: sessionmaker[Session]) -> None:
    requests, incident_id = desk(sessions), dispatched(sessions)
    act(sessions, make_loop(TOPOLOGY), incident_id, Action.ACCEPT, ASKED, WORKER)
    long_reason = "店" * NOTE_MAX  # the longest a worker may write
    with sessions() as session, session.begin():
        request_id = requests.request(session, get(session, incident_id), "w-day", WORKER, ASKED, 120, long_reason).id
    for minutes, message in ((0, "not 0 minutes"), (math.nan, "not nan minutes"), (-30, "not -30 minutes")):
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match=message):
            requests.approve(session, get(session, incident_id), request_id, LEADER, LATER, minutes)
    assert waiting(sessions, incident_id) == request_id, "a refused approval leaves it waiting"

    note = "最" * NOTE_MAX  # the longest a leader may write: the audit row keeps as much as an extension may
    with sessions() as session, session.begin():
        requests.approve(session, get(session, incident_id), request_id, LEADER, LATER, 30, f" {note} ")
    row = incident(sessions, incident_id)
    assert (row.status, row.accept_by, row.resolve_by) == (Status.ACCEPTED, ACCEPT_BY,
                                                           RESOLVE_BY + timedelta(minutes=30))
    assert trail(sessions, incident_id)[-1] == ("extend", "accepted", "accepted", LEADER)
    extended = last_note(sessions, incident_id)
    assert extended is not None and extended.startswith("approved the request of w-day (120 min, granted 30 min): 最最")
    assert extended.endswith("…; resolve by 2024-06-03T12:00+08:00 -> 2024-06-03T12:30+08:00")
    request = stored(sessions, request_id)
    assert (request.status, request.decision_note, request.reason) == (RequestStatus.APPROVED, note, long_reason)


def test_a_refusal_needs_a_note_and_moves_no_deadline(sessions: sessionmaker[Session]) -> None:
    requests, incident_id = desk(sessions), dispatched(sessions)
    request_id = ask(sessions, requests, incident_id, 90)
    for note in ("", "   "):
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="a refusal needs"):
            requests.refuse(session, get(session, incident_id), request_id, LEADER, LATER, note)
    assert waiting(sessions, incident_id) == request_id
    with sessions() as session, session.begin():
        decided = requests.refuse(session, get(session, incident_id), request_id, LEADER, LATER, " 今天必须处理 ")
        assert decided.status is RequestStatus.REFUSED

    row = incident(sessions, incident_id)
    assert (row.status, row.accept_by, row.resolve_by) == (Status.DISPATCHED, ACCEPT_BY, RESOLVE_BY)
    assert trail(sessions, incident_id)[-1] == ("refuse_extension", "dispatched", "dispatched", LEADER)
    assert last_note(sessions, incident_id) == "refused the request of w-day (90 min): 今天必须处理"
    request = stored(sessions, request_id)
    assert (request.status, request.decided_by, request.decided_at, request.decision_note) == (
        RequestStatus.REFUSED, LEADER, LATER, "今天必须处理")
    key, update = updates(sessions)[-1]
    assert (key, update.action, update.status) == ("worker.w-day", Action.REFUSE_EXTENSION, Status.DISPATCHED)


def test_a_request_is_decided_once_and_only_on_its_own_incident(sessions: sessionmaker[Session]) -> None:
    requests, incident_id, other_id = desk(sessions), dispatched(sessions), dispatched(sessions, 8)
    approved, refused = ask(sessions, requests, incident_id), ask(sessions, requests, other_id)
    with sessions() as session, session.begin():
        requests.approve(session, get(session, incident_id), approved, LEADER, LATER)
        requests.refuse(session, get(session, other_id), refused, LEADER, LATER, "不行")
    steps = len(trail(sessions, incident_id)), len(trail(sessions, other_id))
    attempts = [(incident_id, approved, "the request was approved already"),
                (other_id, refused, "the request was refused already"),
                (incident_id, refused, f"incident {incident_id} has no request {refused}"),
                (incident_id, 999_999, "has no request 999999")]
    for target, request_id, message in attempts:
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match=message):
            requests.approve(session, get(session, target), request_id, LEADER, LATER)
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match=message):
            requests.refuse(session, get(session, target), request_id, LEADER, LATER, "再议")
    assert (len(trail(sessions, incident_id)), len(trail(sessions, other_id))) == steps
    assert incident(sessions, incident_id).accept_by == ACCEPT_BY + timedelta(minutes=90), "extended once"
    assert (stored(sessions, approved).status, stored(sessions, refused).status) == (RequestStatus.APPROVED,
                                                                                     RequestStatus.REFUSED)


def test_a_request_made_before_a_reassignment_lapses(sessions: sessionmaker[Session]) -> None:
    loop = make_loop(TOPOLOGY)
    interventions = centre(sessions, loop)
    requests, incident_id = ExtensionRequests(loop, interventions), dispatched(sessions)
    old = ask(sessions, requests, incident_id)
    with sessions() as session, session.begin():
        interventions.reassign(session, get(session, incident_id), "w-night", "user:centre", LATER, None)
    assert waiting(sessions, incident_id) is None
    for decide in (lambda s: requests.approve(s, get(s, incident_id), old, LEADER, LATER + timedelta(minutes=1)),
                   lambda s: requests.refuse(s, get(s, incident_id), old, LEADER, LATER + timedelta(minutes=1), "x")):
        with sessions() as session, session.begin(), pytest.raises(
                InterventionRefused, match="the request of w-day lapsed: the incident was reassigned at "
                                           "2024-06-03T10:40\\+08:00, after it was made; it is now with w-night"):
            decide(session)
    assert incident(sessions, incident_id).accept_by == ACCEPT_BY and stored(sessions, old).status is \
        RequestStatus.PENDING
    with pytest.raises(InterventionRefused, match="is with w-night, not w-day"):
        ask(sessions, requests, incident_id, at=timedelta(minutes=40))

    new = ask(sessions, requests, incident_id, 60, "w-night", timedelta(minutes=40))
    assert waiting(sessions, incident_id) == new, "the lapsed request blocks no new one"
    with sessions() as session, session.begin():  # back to the first worker: their old request stays lapsed
        interventions.reassign(session, get(session, incident_id), "w-day", "user:centre", LATER + timedelta(1), None)
    assert waiting(sessions, incident_id) is None
    with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="request of w-day lapsed"):
        requests.approve(session, get(session, incident_id), old, LEADER, LATER + timedelta(days=2))
    assert incident(sessions, incident_id).accept_by == ACCEPT_BY


def test_nothing_is_asked_or_decided_on_a_closed_incident(sessions: sessionmaker[Session]) -> None:
    loop = make_loop(TOPOLOGY)
    requests, resolved_id, closed_id = desk(sessions), dispatched(sessions), dispatched(sessions, 8)
    act(sessions, loop, resolved_id, Action.RESOLVE, ASKED)
    with pytest.raises(TransitionRefused, match="cannot request_extension an incident that is resolved"):
        ask(sessions, requests, resolved_id)

    request_id = ask(sessions, requests, closed_id)
    act(sessions, loop, closed_id, Action.FALSE_ALARM, LATER, "user:centre", "duplicate")
    assert waiting(sessions, closed_id) is None, "closed: nothing waits any more"
    with pytest.raises(TransitionRefused, match="cannot request_extension an incident that is false_alarm"):
        ask(sessions, requests, closed_id, at=timedelta(minutes=40))
    with sessions() as session, session.begin(), pytest.raises(TransitionRefused, match="cannot extend an incident"):
        requests.approve(session, get(session, closed_id), request_id, LEADER, LATER)
    with sessions() as session, session.begin(), pytest.raises(TransitionRefused, match="cannot refuse_extension"):
        requests.refuse(session, get(session, closed_id), request_id, LEADER, LATER, "已误报")
    assert count(sessions) == 1 and stored(sessions, request_id).status is RequestStatus.PENDING
    assert [a for a, *_ in trail(sessions, resolved_id)] == ["detect", "dispatch", "resolve"]


def test_two_approvers_at_once_decide_once(sessions: sessionmaker[Session]) -> None:
    """The second approver read the request while it was pending; the first commits; the second is refused."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite's BEGIN IMMEDIATE lets one writing transaction in at a time")
    requests, incident_id = desk(sessions), dispatched(sessions)
    request_id = ask(sessions, requests, incident_id, 90)
    with sessions() as second, second.begin():
        read_early = second.get(ExtensionRequest, request_id)
        assert read_early is not None and read_early.status is RequestStatus.PENDING
        with sessions() as first, first.begin():
            requests.approve(first, get(first, incident_id), request_id, LEADER, LATER)
        with pytest.raises(InterventionRefused, match="the request was approved already"):
            requests.approve(second, get(second, incident_id), request_id, "user:other", LATER)
    assert incident(sessions, incident_id).accept_by == ACCEPT_BY + timedelta(minutes=90), "extended once"
    assert [a for a, *_ in trail(sessions, incident_id)].count("extend") == 1
