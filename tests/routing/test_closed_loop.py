"""The closed loop on both database backends: transitions, audit rows, due times, escalation,
verification verdicts, and the messages each one queues."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from detector.presence import PresenceResult, Verdict
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.deadline_watcher import DeadlineWatcher
from routing.incidents.lifecycle import TRANSITIONS, TransitionRefused, already_done, next_status
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus, MessageType, OutboxMessage
from routing.incidents.verification import VerificationPolicy, checks_due, presence_check, record_verdict
from routing.messages.update import IncidentUpdate
from tests.routing.helpers import DAYTIME, make_dispatcher, make_loop, make_topology, violation

Action, Status = IncidentAction, IncidentStatus
TOPOLOGY = make_topology("t")
ACCEPT_MIN, RESOLVE_MIN = 15, 120  # the default limits for non-motor parking
DEFAULT_POLICY = VerificationPolicy()


class Clock:
    """A clock the test moves by hand (the loop's 'incident's own clock')."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def dispatched(sessions: sessionmaker[Session], track_id: int = 7) -> str:
    """A fresh incident, dispatched at DAYTIME to w-day in g-east."""
    return make_dispatcher(sessions, TOPOLOGY).dispatch(violation(track_id=track_id)).incident_id


def get(session: Session, incident_id: str) -> Incident:
    found = session.get(Incident, incident_id)
    assert found is not None
    return found


def act(sessions: sessionmaker[Session], loop: ClosedLoop, incident_id: str, action: IncidentAction,
        at: datetime, actor: str = "w-day", note: str | None = None) -> IncidentStatus:
    with sessions() as session, session.begin():
        return loop.act(session, get(session, incident_id), action, actor, at, note)


def incident(sessions: sessionmaker[Session], incident_id: str) -> Incident:
    with sessions() as session:
        return get(session, incident_id)


def trail(sessions: sessionmaker[Session], incident_id: str) -> list[tuple[str, str | None, str, str]]:
    with sessions() as session:
        events = session.scalars(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                                 .order_by(IncidentEvent.id))
        return [(e.action.value, e.from_status and e.from_status.value, e.to_status.value, e.actor) for e in events]


def updates(sessions: sessionmaker[Session]) -> list[tuple[str, IncidentUpdate]]:
    """(routing key, update) of every incident update queued, oldest first."""
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.message_type == MessageType.INCIDENT_UPDATE)
                               .order_by(OutboxMessage.id))
        return [(row.routing_key, IncidentUpdate.model_validate_json(row.body)) for row in rows]


def test_state_machine_table() -> None:
    assert next_status(Status.DISPATCHED, Action.ACCEPT) is Status.ACCEPTED
    assert next_status(Status.REOPENED, Action.RESOLVE) is Status.RESOLVED
    with pytest.raises(TransitionRefused, match="cannot accept an incident that is verified"):
        next_status(Status.VERIFIED, Action.ACCEPT)
    assert already_done(Status.RESOLVED, Action.ACCEPT) and not already_done(Status.REOPENED, Action.ACCEPT)
    # Nothing leads out of verified: it is the end of the loop.
    assert not [key for key in TRANSITIONS if key[0] is Status.VERIFIED]


def test_accept_and_resolve_are_audited_and_announced_to_the_worker(sessions: sessionmaker[Session]) -> None:
    loop, incident_id = make_loop(TOPOLOGY), dispatched(sessions)
    at = DAYTIME + timedelta(minutes=3)
    assert act(sessions, loop, incident_id, Action.ACCEPT, at) is Status.ACCEPTED
    assert act(sessions, loop, incident_id, Action.RESOLVE, at + timedelta(minutes=20), note="bikes moved") \
        is Status.RESOLVED

    assert trail(sessions, incident_id) == [
        ("detect", None, "detected", "detector"), ("dispatch", "detected", "dispatched", "router"),
        ("accept", "dispatched", "accepted", "w-day"), ("resolve", "accepted", "resolved", "w-day")]
    assert incident(sessions, incident_id).resolved_at == at + timedelta(minutes=20)
    (key1, accepted), (key2, resolved) = updates(sessions)
    assert key1 == key2 == "worker.w-day"
    assert (accepted.action, accepted.from_status, accepted.status) == (Action.ACCEPT, Status.DISPATCHED,
                                                                         Status.ACCEPTED)
    assert accepted.due_by is not None and accepted.due_by.resolve == DAYTIME + timedelta(minutes=RESOLVE_MIN)
    assert accepted.at.utcoffset() == timedelta(hours=8), "times read in the site's zone"
    assert (resolved.note, resolved.due_by, resolved.escalated_to) == ("bikes moved", None, None)
    assert resolved.kind_label_zh == "非机动车乱停放" and resolved.camera_name == "东街口 1 号"


def test_a_refused_action_writes_nothing(sessions: sessionmaker[Session]) -> None:
    loop, incident_id = make_loop(TOPOLOGY), dispatched(sessions)
    with pytest.raises(TransitionRefused):
        act(sessions, loop, incident_id, Action.VERIFY, DAYTIME)
    assert incident(sessions, incident_id).status is Status.DISPATCHED
    assert len(trail(sessions, incident_id)) == 2 and updates(sessions) == []


def test_escalation_walks_the_grid_chain_once_per_level(sessions: sessionmaker[Session]) -> None:
    loop, incident_id = make_loop(TOPOLOGY), dispatched(sessions)
    at = DAYTIME + timedelta(minutes=ACCEPT_MIN)
    targets = []
    for step in range(3):
        with sessions() as session, session.begin():
            targets.append(loop.escalate(session, get(session, incident_id), "accept limit missed",
                                         at + timedelta(minutes=ACCEPT_MIN * step)))
    assert targets == ["leader-east", "street-centre", None]
    row = incident(sessions, incident_id)
    assert row.escalation_level == 2 and row.status is Status.DISPATCHED
    assert row.accept_due == at + timedelta(minutes=2 * ACCEPT_MIN), "each escalation restarts the accept clock"
    sent = updates(sessions)
    assert [(key, u.escalated_to, u.escalation_level) for key, u in sent] == [
        ("escalation.leader-east", "leader-east", 1), ("escalation.street-centre", "street-centre", 2)]
    assert sent[0][1].note == "accept limit missed; escalated to leader-east (level 1)"


def test_deadline_watcher_escalates_a_missed_accept_exactly_once(sessions: sessionmaker[Session]) -> None:
    loop = make_loop(TOPOLOGY)
    late, prompt = dispatched(sessions), dispatched(sessions, 8)
    act(sessions, loop, prompt, Action.ACCEPT, DAYTIME + timedelta(minutes=5))
    clock = Clock(DAYTIME + timedelta(minutes=ACCEPT_MIN - 1))
    woken: list[int] = []
    watcher = DeadlineWatcher(sessions, loop, stop=None, clock=clock, wake=lambda: woken.append(1))  # type: ignore[arg-type]
    assert watcher.check_once() == 0

    clock.now = DAYTIME + timedelta(minutes=ACCEPT_MIN, seconds=1)
    assert watcher.check_once() == 1
    assert watcher.check_once() == 0, "one miss, one escalation"
    assert [(u.incident_id, key) for key, u in updates(sessions) if u.action is Action.ESCALATE] == [
        (late, "escalation.leader-east")]
    assert woken == [1]

    clock.now = DAYTIME + timedelta(minutes=RESOLVE_MIN, seconds=1)  # the accepted one misses its resolve
    assert watcher.check_once() == 2  # and the late one its second accept window
    escalations = {(u.incident_id, u.escalated_to, (u.note or "").split(" (")[0]) for _, u in updates(sessions)
                   if u.action is Action.ESCALATE}
    assert escalations == {(late, "leader-east", "accept limit missed"), (late, "street-centre", "accept limit missed"),
                           (prompt, "leader-east", "resolve limit missed")}
    clock.now += timedelta(days=1)
    watcher.check_once()
    assert incident(sessions, late).escalation_level == 2, "the chain is spent: no further level"


def test_reopen_tells_the_worker_and_the_next_level_and_restarts_the_clock(sessions: sessionmaker[Session]) -> None:
    loop, incident_id = make_loop(TOPOLOGY), dispatched(sessions)
    act(sessions, loop, incident_id, Action.RESOLVE, DAYTIME + timedelta(minutes=10))
    reopened_at = DAYTIME + timedelta(minutes=12)
    act(sessions, loop, incident_id, Action.REOPEN, reopened_at, actor="verifier", note="still there")
    row = incident(sessions, incident_id)
    assert row.status is Status.REOPENED and row.escalation_level == 1
    assert row.accept_due == reopened_at + timedelta(minutes=ACCEPT_MIN)
    assert row.resolve_due == reopened_at + timedelta(minutes=RESOLVE_MIN)
    assert [(key, u.action, u.status) for key, u in updates(sessions)][1:] == [
        ("worker.w-day", Action.REOPEN, Status.REOPENED), ("escalation.leader-east", Action.ESCALATE, Status.REOPENED)]
    assert trail(sessions, incident_id)[-2:] == [("reopen", "resolved", "reopened", "verifier"),
                                                 ("escalate", "reopened", "reopened", "verifier")]
    assert act(sessions, loop, incident_id, Action.ACCEPT, reopened_at) is Status.ACCEPTED


def result(incident_id: str, verdict: Verdict, frames: int = 5, present: int = 0) -> PresenceResult:
    return PresenceResult(incident_id, "cam-01", verdict, frames, present, 30.0)


def verdict(sessions: sessionmaker[Session], loop: ClosedLoop, incident_id: str, outcome: PresenceResult,
            at: datetime, policy: VerificationPolicy = DEFAULT_POLICY) -> IncidentStatus:
    with sessions() as session, session.begin():
        return record_verdict(session, loop, get(session, incident_id), outcome, policy, at)


def test_verdicts_verify_reopen_or_defer(sessions: sessionmaker[Session]) -> None:
    loop = make_loop(TOPOLOGY)
    gone, there, dark = (dispatched(sessions, i) for i in (1, 2, 3))
    resolved_at = DAYTIME + timedelta(minutes=5)
    for incident_id in (gone, there, dark):
        act(sessions, loop, incident_id, Action.RESOLVE, resolved_at)
    at = resolved_at + timedelta(minutes=2)
    policy = VerificationPolicy(retry_s=600)

    assert verdict(sessions, loop, gone, result(gone, Verdict.GONE), at) is Status.VERIFIED
    assert verdict(sessions, loop, there, result(there, Verdict.STILL_THERE, present=5), at) is Status.REOPENED
    assert verdict(sessions, loop, dark, result(dark, Verdict.NO_VIEW, frames=0), at, policy) \
        is Status.VERIFICATION_PENDING
    assert verdict(sessions, loop, dark, result(dark, Verdict.NO_VIEW, frames=1), at + timedelta(minutes=10),
                   policy) is Status.VERIFICATION_PENDING
    pending = incident(sessions, dark)
    assert pending.verification_attempts == 2 and pending.next_check_at == at + timedelta(minutes=20)
    assert [a for a, *_ in trail(sessions, dark)].count("defer_verification") == 1, "audited once, retried quietly"
    assert "object present in 0 of 5 frames" in (trail_notes(sessions, gone)[-1] or "")
    assert verdict(sessions, loop, gone, result(gone, Verdict.STILL_THERE), at) is Status.VERIFIED, \
        "a late verdict changes nothing"

    with sessions() as session:
        assert [i.id for i in checks_due(session, ["cam-01"], at + timedelta(minutes=19))] == []
        assert [i.id for i in checks_due(session, ["cam-01"], at + timedelta(minutes=20))] == [dark]
        assert checks_due(session, ["cam-02"], at + timedelta(days=1)) == []


def trail_notes(sessions: sessionmaker[Session], incident_id: str) -> list[str | None]:
    with sessions() as session:
        return list(session.scalars(select(IncidentEvent.note).where(IncidentEvent.incident_id == incident_id)
                                    .order_by(IncidentEvent.id)))


def test_presence_check_looks_where_the_object_stood(sessions: sessionmaker[Session]) -> None:
    loop, incident_id = make_loop(TOPOLOGY), dispatched(sessions)
    resolved_at = DAYTIME + timedelta(minutes=5)
    act(sessions, loop, incident_id, Action.RESOLVE, resolved_at)
    now = resolved_at + timedelta(seconds=3)
    policy = VerificationPolicy(look_s=20, give_up_s=90)
    check = presence_check(incident(sessions, incident_id), policy, now)
    # violation(): bbox (10, 20.5, 110, 220) in a 1920 x 1080 frame
    assert check.box == pytest.approx((10 / 1920, 20.5 / 1080, 110 / 1920, 220 / 1080))
    assert check.object_kinds == {"non_motor_vehicle"} and check.camera_id == "cam-01"
    assert check.not_before_ts == resolved_at.timestamp(), "frames from the resolve on"
    assert check.give_up_ts == (now + timedelta(seconds=90)).timestamp() and check.look is policy


def test_updates_are_valid_json_contract(sessions: sessionmaker[Session]) -> None:
    loop, incident_id = make_loop(TOPOLOGY), dispatched(sessions)
    act(sessions, loop, incident_id, Action.ACCEPT, DAYTIME)
    with sessions() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.message_type == MessageType.INCIDENT_UPDATE)
                              ).one()
        total = session.scalar(select(func.count()).select_from(OutboxMessage))
    body = json.loads(row.body)
    assert body["schema_version"] == 1 and body["update_id"] == row.message_id
    assert row.headers == {"schema_version": 1, "kind": "non_motor_parking", "incident_id": incident_id,
                           "action": "accept"}
    assert total == 2  # the alert and this update
