"""The command centre's actions on both database backends: reassign, extend, false alarm and escalate
change the incident, write their audit row and queue the messages each person's queue needs; what
cannot be done is refused with nothing written. Then a reassignment end to end through RabbitMQ:
the old worker's client drops the incident, the new one's shows it, and only the new one may accept."""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel as Channel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aibrain.live.verifier_role import VerificationCoordinator
from aibrain.worker.client import WorkerClient
from aibrain.worker.inbox import WorkerInbox
from detector.presence import PresenceResult, Verdict, Verifier
from routing.broker.feedback_consumer import REASON_HEADER, Outcome
from routing.broker.topology import declare_topology, delete_topology
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.deadline_watcher import DeadlineWatcher
from routing.incidents.dispatch import dispatch_id_for
from routing.incidents.false_alarms import FalseAlarmReason
from routing.incidents.interventions import InterventionRefused, Interventions
from routing.incidents.lifecycle import TRANSITIONS, TransitionRefused, next_status
from routing.incidents.tables import IncidentAction, IncidentEvent, IncidentStatus, MessageType, OutboxMessage
from routing.incidents.verification import VerificationPolicy, checks_due
from routing.messages.alert import AlertMessage
from routing.messages.feedback import FeedbackAction
from routing.messages.update import IncidentUpdate
from tests.conftest import AMQP_URL
from tests.routing.helpers import DAYTIME, make_dispatcher, make_loop, make_roster, make_topology, violation, wait_until
from tests.routing.test_closed_loop import Clock, act, dispatched, get, incident, trail
from tests.routing.test_feedback_consumer import Pipeline, dead_letters, feedback, publish, status

Action, Status = IncidentAction, IncidentStatus
TOPOLOGY = make_topology("t")  # as test_closed_loop's `dispatched` uses
ACCEPT_MIN, RESOLVE_MIN = 15, 120  # the default limits for non-motor parking
LATER = DAYTIME + timedelta(minutes=40)  # when the centre steps in


def centre(sessions: sessionmaker[Session], loop: ClosedLoop | None = None) -> Interventions:
    loop = loop or make_loop(TOPOLOGY)
    return Interventions(loop, make_roster(), make_dispatcher(sessions, loop.topology).alerts)


def outbox(sessions: sessionmaker[Session]) -> list[tuple[str, MessageType, str]]:
    """(routing key, type, body) of every queued message, oldest first."""
    with sessions() as session:
        return [(row.routing_key, row.message_type, row.body)
                for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def last_note(sessions: sessionmaker[Session], incident_id: str) -> str | None:
    with sessions() as session:
        return session.scalars(select(IncidentEvent.note).where(IncidentEvent.incident_id == incident_id)
                               .order_by(IncidentEvent.id.desc()).limit(1)).one()


def test_the_centre_actions_in_the_state_machine() -> None:
    assert next_status(Status.ACCEPTED, Action.REASSIGN) is Status.DISPATCHED, "the new worker accepts again"
    assert next_status(Status.REOPENED, Action.REASSIGN) is Status.REOPENED
    assert {next_status(s, Action.EXTEND) for s in (Status.DISPATCHED, Status.REOPENED)} == {
        Status.DISPATCHED, Status.REOPENED}
    assert {s for (s, a), after in TRANSITIONS.items() if a is Action.FALSE_ALARM and after is Status.FALSE_ALARM} \
        == {Status.DISPATCHED, Status.ACCEPTED, Status.REOPENED, Status.RESOLVED, Status.VERIFICATION_PENDING}
    assert not [key for key in TRANSITIONS if key[0] is Status.FALSE_ALARM], "a false alarm is an end"
    for action in (Action.REASSIGN, Action.EXTEND, Action.ESCALATE):
        with pytest.raises(TransitionRefused, match=f"cannot {action.value} an incident that is resolved"):
            next_status(Status.RESOLVED, action)
    with pytest.raises(TransitionRefused, match="cannot false_alarm an incident that is verified"):
        next_status(Status.VERIFIED, Action.FALSE_ALARM)


def test_reassign_tells_the_old_worker_and_alerts_the_new_one(sessions: sessionmaker[Session]) -> None:
    interventions, incident_id = centre(sessions), dispatched(sessions)
    act(sessions, make_loop(TOPOLOGY), incident_id, Action.ACCEPT, DAYTIME + timedelta(minutes=3))
    with sessions() as session, session.begin():
        interventions.reassign(session, get(session, incident_id), "w-night", "user:wang", LATER, "  张三 is ill ")

    row = incident(sessions, incident_id)
    assert (row.status, row.worker_id) == (Status.DISPATCHED, "w-night")
    assert (row.accept_due, row.resolve_due) == (LATER + timedelta(minutes=ACCEPT_MIN),
                                                 LATER + timedelta(minutes=RESOLVE_MIN)), "the clock starts again"
    assert (row.accept_by, row.resolve_by) == (DAYTIME + timedelta(minutes=ACCEPT_MIN),
                                               DAYTIME + timedelta(minutes=RESOLVE_MIN)), "the promise stays"
    assert trail(sessions, incident_id)[-1] == ("reassign", "accepted", "dispatched", "user:wang")
    assert last_note(sessions, incident_id) == "from w-day to w-night (李四): 张三 is ill"

    first, _accepted, (old_key, update_type, update_body), (new_key, alert_type, alert_body) = outbox(sessions)
    assert (old_key, update_type, new_key, alert_type) == ("worker.w-day", MessageType.INCIDENT_UPDATE,
                                                           "worker.w-night", MessageType.ALERT)
    update = IncidentUpdate.model_validate_json(update_body)
    assert (update.action, update.from_status, update.status, update.worker_id, update.actor) == (
        Action.REASSIGN, Status.ACCEPTED, Status.DISPATCHED, "w-night", "user:wang")
    original, alert = AlertMessage.model_validate_json(first[2]), AlertMessage.model_validate_json(alert_body)
    assert alert.dispatch_id not in (original.dispatch_id, dispatch_id_for(incident_id)), "a fresh message id"
    assert (alert.worker_id, alert.worker_name) == ("w-night", "李四")
    assert alert.due_by.accept == LATER + timedelta(minutes=ACCEPT_MIN) and alert.due_by.accept.utcoffset() == \
        timedelta(hours=8), "due from now, in the site's zone"
    same = {"dispatch_id", "worker_id", "worker_name", "due_by"}
    assert alert.model_dump(exclude=same) == original.model_dump(exclude=same), "the same incident, built alike"
    assert alert.grid_name == "东街网格" and alert.location is not None


def test_a_reassignment_that_cannot_be_done_writes_nothing(sessions: sessionmaker[Session]) -> None:
    interventions, incident_id = centre(sessions), dispatched(sessions)
    refusals: list[tuple[str, str | None, type[Exception], str]] = [
        ("w-day", None, InterventionRefused, "is assigned to w-day already"),
        ("w-ghost", None, InterventionRefused, "no worker 'w-ghost' in the roster"),
        ("w-night", "x" * 2001, InterventionRefused, "at most 2000 characters, not 2001"),
    ]
    for worker_id, note, refusal, message in refusals:
        with sessions() as session, session.begin(), pytest.raises(refusal, match=message):
            interventions.reassign(session, get(session, incident_id), worker_id, "user:wang", LATER, note)
    act(sessions, make_loop(TOPOLOGY), incident_id, Action.RESOLVE, LATER)
    with sessions() as session, session.begin(), pytest.raises(TransitionRefused, match="that is resolved"):
        interventions.reassign(session, get(session, incident_id), "w-night", "user:wang", LATER, None)
    assert incident(sessions, incident_id).worker_id == "w-day"
    assert [a for a, *_ in trail(sessions, incident_id)] == ["detect", "dispatch", "resolve"]
    assert [key for key, *_ in outbox(sessions)] == ["worker.w-day", "worker.w-day"], "the alert and the resolve"


def test_extension_moves_the_deadline_in_force_and_its_escalation_clock(sessions: sessionmaker[Session]) -> None:
    loop = make_loop(TOPOLOGY)
    interventions, incident_id = centre(sessions, loop), dispatched(sessions)
    with sessions() as session, session.begin():
        interventions.extend(session, get(session, incident_id), 30, "road works at the gate", "user:leader", LATER)
    row = incident(sessions, incident_id)
    accept_by = DAYTIME + timedelta(minutes=ACCEPT_MIN + 30)
    assert (row.status, row.accept_by, row.accept_due) == (Status.DISPATCHED, accept_by, accept_by)
    assert row.resolve_by == row.resolve_due == DAYTIME + timedelta(minutes=RESOLVE_MIN), "not in force yet"
    assert trail(sessions, incident_id)[-1] == ("extend", "dispatched", "dispatched", "user:leader")
    assert last_note(sessions, incident_id) == \
        "road works at the gate; accept by 2024-06-03T10:15+08:00 -> 2024-06-03T10:45+08:00"
    key, kind, body = outbox(sessions)[-1]
    update = IncidentUpdate.model_validate_json(body)
    assert (key, kind, update.action) == ("worker.w-day", MessageType.INCIDENT_UPDATE, Action.EXTEND)
    assert update.due_by is not None and update.due_by.accept == accept_by, "the worker sees the new deadline"

    watcher = DeadlineWatcher(sessions, loop, threading.Event(), clock=Clock(accept_by - timedelta(seconds=1)))
    assert watcher.check_once() == 0, "the old deadline passed, the extended one not yet"

    # Accepted, then late to resolve and escalated: the clock and the promise part; an extension moves both.
    act(sessions, loop, incident_id, Action.ACCEPT, LATER)
    escalated_at = DAYTIME + timedelta(minutes=RESOLVE_MIN, seconds=1)
    watcher = DeadlineWatcher(sessions, loop, threading.Event(), clock=Clock(escalated_at))
    assert watcher.check_once() == 1
    with sessions() as session, session.begin():
        interventions.extend(session, get(session, incident_id), 90, "waiting for the owner", "user:leader",
                             escalated_at)
    row = incident(sessions, incident_id)
    assert row.resolve_by == DAYTIME + timedelta(minutes=RESOLVE_MIN + 90)
    assert row.resolve_due == escalated_at + timedelta(minutes=RESOLVE_MIN + 90)
    assert row.accept_by == accept_by and row.status is Status.ACCEPTED


def test_an_extension_out_of_bounds_or_without_a_reason_is_refused(sessions: sessionmaker[Session]) -> None:
    interventions, incident_id = centre(sessions), dispatched(sessions)
    refusals = [(0, "rain", "more than 0 and at most 30 days, not 0 minutes"), (-5, "rain", "not -5 minutes"),
                (30 * 24 * 60 + 1, "rain", "at most 30 days"), (math.nan, "rain", "not nan minutes"),
                (10, "  ", "an extension needs a reason")]
    for minutes, reason, message in refusals:
        with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match=message):
            interventions.extend(session, get(session, incident_id), minutes, reason, "user:leader", LATER)
    assert incident(sessions, incident_id).accept_by == DAYTIME + timedelta(minutes=ACCEPT_MIN)
    with sessions() as session, session.begin():
        interventions.extend(session, get(session, incident_id), 30 * 24 * 60, "the longest", "user:leader", LATER)
    assert incident(sessions, incident_id).accept_by == DAYTIME + timedelta(days=30, minutes=ACCEPT_MIN)


def test_a_false_alarm_ends_the_incident_and_nothing_escalates_or_verifies_it(sessions: sessionmaker[Session]) -> None:
    loop = make_loop(TOPOLOGY)
    interventions = centre(sessions, loop)
    open_one, resolved_one = dispatched(sessions), dispatched(sessions, 8)
    with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="needs a reason"):
        interventions.false_alarm(session, get(session, open_one), "", "user:centre", LATER)
    with sessions() as session, session.begin():
        interventions.false_alarm(session, get(session, open_one), "a delivery tricycle, loading", "user:centre",
                                  LATER)
    assert incident(sessions, open_one).status is Status.FALSE_ALARM
    assert trail(sessions, open_one)[-1] == ("false_alarm", "dispatched", "false_alarm", "user:centre")
    assert last_note(sessions, open_one) == "其他 (other): a delivery tricycle, loading", "words only: reason other"
    assert incident(sessions, open_one).false_alarm_reason == "other"
    key, _, body = outbox(sessions)[-1]
    update = IncidentUpdate.model_validate_json(body)
    assert (key, update.status, update.due_by) == ("worker.w-day", Status.FALSE_ALARM, None)

    watcher = DeadlineWatcher(sessions, loop, threading.Event(), clock=Clock(DAYTIME + timedelta(days=2)))
    assert watcher.check_once() == 1, "the other one only"
    assert incident(sessions, open_one).escalation_level == 0, "a false alarm never escalates"
    for refused in (lambda s, i: interventions.escalate(s, i, "by hand", "user:centre", LATER),
                    lambda s, i: interventions.false_alarm(s, i, "again", "user:centre", LATER),
                    lambda s, i: interventions.extend(s, i, 10, "more time", "user:centre", LATER)):
        with sessions() as session, session.begin(), pytest.raises(TransitionRefused, match="that is false_alarm"):
            refused(session, get(session, open_one))

    # Resolved and being looked at by the camera when the centre calls it a false alarm: the verdict
    # that comes afterwards is recorded as changing nothing, and no new look starts.
    act(sessions, loop, resolved_one, Action.RESOLVE, LATER)
    verifier = Verifier()
    coordinator = VerificationCoordinator(sessions, loop, verifier, ["cam-01"], VerificationPolicy(),
                                          threading.Event(), clock=Clock(LATER + timedelta(seconds=5)))
    coordinator.start_due_looks()
    assert verifier.watching("cam-01")
    with sessions() as session, session.begin():
        interventions.false_alarm(session, get(session, resolved_one), "", "user:centre", LATER + timedelta(seconds=10),
                                  FalseAlarmReason.WRONG_OBJECT)
    assert incident(sessions, resolved_one).false_alarm_reason == "wrong_object"
    assert last_note(sessions, resolved_one) == "识别错误 (wrong_object)", "words optional but for other"
    coordinator.on_verdict(PresenceResult(resolved_one, "cam-01", Verdict.STILL_THERE, 5, 5, 30.0))
    coordinator.record_verdicts()
    assert coordinator.recorded == 1 and incident(sessions, resolved_one).status is Status.FALSE_ALARM
    assert trail(sessions, resolved_one)[-1][0] == "false_alarm", "no reopen after the false alarm"
    with sessions() as session:
        assert checks_due(session, ["cam-01"], LATER + timedelta(days=1)) == []


def test_escalation_by_hand_tells_the_next_level_as_the_person(sessions: sessionmaker[Session]) -> None:
    interventions, incident_id = centre(sessions), dispatched(sessions)
    with sessions() as session, session.begin(), pytest.raises(InterventionRefused, match="an escalation needs"):
        interventions.escalate(session, get(session, incident_id), " ", "user:centre", LATER)
    targets = []
    for _ in range(3):
        with sessions() as session, session.begin():
            targets.append(interventions.escalate(session, get(session, incident_id), "nobody answers the phone",
                                                  "user:centre", LATER))
    assert targets == ["leader-east", "street-centre", None], "None once the chain is spent"
    assert trail(sessions, incident_id)[-2:] == [("escalate", "dispatched", "dispatched", "user:centre")] * 2
    assert last_note(sessions, incident_id) == "nobody answers the phone; escalated to street-centre (level 2)"
    assert [key for key, *_ in outbox(sessions)][1:] == ["escalation.leader-east", "escalation.street-centre"]


def test_a_web_user_fits_the_audit_actor(sessions: sessionmaker[Session]) -> None:
    """Usernames have up to 64 characters; the actor is "user:" and the name."""
    interventions, incident_id = centre(sessions), dispatched(sessions)
    actor = "user:" + "王" * 64
    with sessions() as session, session.begin():
        interventions.false_alarm(session, get(session, incident_id), "not a violation", actor, LATER)
    assert trail(sessions, incident_id)[-1][3] == actor


@pytest.fixture
def pipeline(sessions: sessionmaker[Session], amqp_channel: Channel) -> Iterator[Pipeline]:
    """Relay and feedback consumer on a topology of their own; guest may act for any worker."""
    topology = make_topology(f"iv-{uuid.uuid4().hex[:8]}")
    declare_topology(amqp_channel, topology)
    running = Pipeline(sessions, topology, make_loop(topology), frozenset({"guest"}))
    try:
        yield running
    finally:
        running.close()
        delete_topology(amqp_channel, topology)


@pytest.mark.integration
def test_reassigned_through_the_broker_only_the_new_worker_may_accept(
        sessions: sessionmaker[Session], pipeline: Pipeline, amqp_channel: Channel, tmp_path: Path) -> None:
    topology = pipeline.consumer._topology
    incident_id = pipeline.dispatcher.dispatch(violation()).incident_id
    day, night = WorkerClient(AMQP_URL, topology, "w-day"), WorkerClient(AMQP_URL, topology, "w-night")
    day_inbox, night_inbox = WorkerInbox.load(tmp_path / "day.json"), WorkerInbox.load(tmp_path / "night.json")
    assert wait_until(lambda: day.sync(day_inbox) > 0 or bool(day_inbox.pending()))

    interventions = Interventions(make_loop(topology), make_roster(), pipeline.dispatcher.alerts)
    with sessions() as session, session.begin():
        interventions.reassign(session, get(session, incident_id), "w-night", "user:wang", LATER, "张三 is ill")
    pipeline.relay.wake()

    assert wait_until(lambda: day.sync(day_inbox) >= 0 and not day_inbox.pending()), "gone from the old list"
    entry = day_inbox.entries[incident_id]
    assert entry.reassigned_to == "w-night" and entry.history[-1].action is Action.REASSIGN
    assert wait_until(lambda: night.sync(night_inbox) >= 0 and bool(night_inbox.pending()))
    [mine] = night_inbox.pending()
    assert (mine.incident_id, mine.alert.worker_name) == (incident_id, "李四")

    publish(amqp_channel, topology, feedback(incident_id), str(uuid.uuid4()))  # w-day, too late
    [letter] = dead_letters(amqp_channel, topology, 1)
    assert letter.headers[REASON_HEADER] == f"incident {incident_id} is assigned to w-night, not w-day"
    night.send(night_inbox.find("1"), FeedbackAction.ACCEPT)
    assert wait_until(lambda: status(sessions, incident_id) is Status.ACCEPTED)
    outcomes = pipeline.consumer.stats.outcomes  # counted just after the commit
    assert wait_until(lambda: outcomes == {Outcome.REJECTED: 1, Outcome.APPLIED: 1}), outcomes
    assert wait_until(lambda: night.sync(night_inbox) >= 0 and night_inbox.entries[incident_id].status == "accepted")
    assert trail(sessions, incident_id)[-1] == ("accept", "dispatched", "accepted", "w-night")
