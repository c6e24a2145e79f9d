"""Workers' feedback through a real RabbitMQ: accept and resolve move incidents; copies are applied
once; bad messages go to the dead-letter exchange with a reason and disturb nothing else."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel as Channel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from aibrain.worker.client import WorkerClient
from aibrain.worker.inbox import WorkerInbox
from routing.broker.feedback_consumer import REASON_HEADER, FeedbackConsumer, Outcome
from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology, declare_topology, delete_topology
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.tables import Incident, IncidentAction, IncidentEvent, IncidentStatus
from routing.messages.feedback import Feedback, FeedbackAction
from tests.conftest import AMQP_URL
from tests.routing.helpers import make_dispatcher, make_loop, make_topology, violation, wait_until

pytestmark = pytest.mark.integration
Status = IncidentStatus


class Pipeline:
    """The routing side of `aibrain run`: relay and feedback consumer on their threads."""

    def __init__(self, sessions: sessionmaker[Session], topology: Topology, loop: ClosedLoop,
                 trusted: frozenset[str]) -> None:
        self.stop = threading.Event()
        self.changes: list[tuple[str, Status]] = []
        self.relay = OutboxRelay(AMQP_URL, sessions, topology, self.stop, poll_interval_s=0.2)
        self.consumer = FeedbackConsumer(AMQP_URL, sessions, loop, topology, self.stop, trusted_users=trusted,
                                         on_change=lambda i, s: self.changes.append((i, s)))
        self.dispatcher = make_dispatcher(sessions, topology, wake=self.relay.wake)
        self.relay.start()
        self.consumer.start()

    def close(self) -> None:
        self.stop.set()
        self.relay.join(5)
        self.consumer.join(5)


@pytest.fixture
def pipeline_factory(sessions: sessionmaker[Session], amqp_channel: Channel) -> Iterator[Callable[..., Pipeline]]:
    made: list[tuple[Pipeline, Topology]] = []

    def make(trusted: frozenset[str] = frozenset({"guest"}), loop_type: type[ClosedLoop] = ClosedLoop,
             delivery_limit: int = 20) -> Pipeline:
        topology = make_topology(f"fb-{uuid.uuid4().hex[:8]}")
        topology = Topology(topology.prefix, topology.worker_ids, delivery_limit=delivery_limit,
                            escalation_targets=topology.escalation_targets)
        declare_topology(amqp_channel, topology)
        base = make_loop(topology)
        pipeline = Pipeline(sessions, topology, loop_type(topology, base.limits, base.chains, base.tz), trusted)
        made.append((pipeline, topology))
        return pipeline

    yield make
    for pipeline, topology in made:
        pipeline.close()
        delete_topology(amqp_channel, topology)


def status(sessions: sessionmaker[Session], incident_id: str) -> IncidentStatus | None:
    with sessions() as session:
        found = session.get(Incident, incident_id)
        return found.status if found else None


def publish(channel: Channel, topology: Topology, body: bytes, message_id: str | None = None,
            user_id: str | None = "guest", worker: str = "w-day") -> str | None:
    properties = pika.BasicProperties(message_id=message_id, user_id=user_id, delivery_mode=2,
                                      content_type="application/json")
    channel.basic_publish(topology.feedback_exchange, topology.worker_routing_key(worker), body, properties)
    return message_id


def feedback(incident_id: str, action: FeedbackAction = FeedbackAction.ACCEPT, worker: str = "w-day") -> bytes:
    return Feedback(incident_id=incident_id, worker_id=worker, action=action, note="on my way",
                    at=datetime.now(UTC)).to_json().encode()


def dead_letters(channel: Channel, topology: Topology, count: int) -> list[pika.BasicProperties]:
    got: list[pika.BasicProperties] = []

    def take_one() -> bool:
        method, properties, _ = channel.basic_get(topology.dead_letter_queue, auto_ack=True)
        if method is not None:
            got.append(properties)
        return len(got) >= count

    assert wait_until(take_one, timeout=20), f"{len(got)} dead letters"
    return got


def test_worker_accepts_and_resolves_through_the_broker(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], tmp_path: Path) -> None:
    pipeline = pipeline_factory()
    topology = pipeline.consumer._topology
    incident_id = pipeline.dispatcher.dispatch(violation()).incident_id
    worker = WorkerClient(AMQP_URL, topology, "w-day")
    inbox = WorkerInbox.load(tmp_path / "inbox.json")
    assert wait_until(lambda: worker.sync(inbox) > 0 or bool(inbox.entries))
    [entry] = inbox.pending()
    assert entry.incident_id == incident_id and entry.alert.kind_label_zh == "非机动车乱停放"

    worker.send(inbox.find("1"), FeedbackAction.ACCEPT)
    assert wait_until(lambda: status(sessions, incident_id) is Status.ACCEPTED)
    worker.send(inbox.find(incident_id[:8]), FeedbackAction.RESOLVE, "moved both bikes to the rack")
    assert wait_until(lambda: status(sessions, incident_id) is Status.RESOLVED)
    assert wait_until(lambda: len(pipeline.changes) == 2), "on_change runs just after the commit"
    assert pipeline.changes == [(incident_id, Status.ACCEPTED), (incident_id, Status.RESOLVED)]

    assert wait_until(lambda: worker.sync(inbox) >= 0 and inbox.entries[incident_id].status == "resolved")
    history = inbox.entries[incident_id].history
    assert [(h.action, h.actor) for h in history] == [("accept", "w-day"), ("resolve", "w-day")]
    assert WorkerInbox.load(tmp_path / "inbox.json").entries[incident_id].status == "resolved", "saved"
    with sessions() as session:
        notes = session.scalars(select(IncidentEvent.note).where(IncidentEvent.action == "resolve")).all()
    assert notes == ["moved both bikes to the rack"]


def test_copies_of_a_message_are_applied_once_and_a_repeat_changes_nothing(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], amqp_channel: Channel) -> None:
    pipeline = pipeline_factory()
    topology = pipeline.consumer._topology
    incident_id = pipeline.dispatcher.dispatch(violation()).incident_id
    body, message_id = feedback(incident_id), str(uuid.uuid4())
    for _ in range(3):
        publish(amqp_channel, topology, body, message_id)  # the same message, redelivered by a flaky network
    publish(amqp_channel, topology, feedback(incident_id), str(uuid.uuid4()))  # the worker pressed twice
    outcomes = pipeline.consumer.stats.outcomes
    assert wait_until(lambda: sum(outcomes.values()) == 4)
    assert outcomes == {Outcome.APPLIED: 1, Outcome.DUPLICATE: 2, Outcome.NO_CHANGE: 1}
    with sessions() as session:
        accepts = session.scalars(select(IncidentEvent).where(IncidentEvent.action == "accept")).all()
    assert len(accepts) == 1


def test_bad_feedback_is_dead_lettered_with_its_reason_and_disturbs_nothing(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], amqp_channel: Channel) -> None:
    pipeline = pipeline_factory()
    topology = pipeline.consumer._topology
    mine = pipeline.dispatcher.dispatch(violation()).incident_id
    bad = [
        (b"not json at all", "not a valid feedback message"),
        (json.dumps({"incident_id": mine, "action": "accept"}).encode(), "worker_id: Field required"),
        (feedback(mine).replace(b'"accept"', b'"delete"'), "action: Input should be 'accept' or 'resolve'"),
        (feedback(str(uuid.uuid4())), "unknown incident"),
        (feedback(mine, worker="w-night"), f"incident {mine} is assigned to w-day, not w-night"),
        (feedback(mine, FeedbackAction.ACCEPT).replace(b'"w-day"', b'"w day"'), "worker_id"),
    ]
    for body, _ in bad:
        publish(amqp_channel, topology, body, str(uuid.uuid4()))
    publish(amqp_channel, topology, feedback(mine), message_id=None)  # cannot be de-duplicated
    publish(amqp_channel, topology, feedback(mine), str(uuid.uuid4()))  # and a good one after them all

    letters = dead_letters(amqp_channel, topology, len(bad) + 1)
    reasons = [p.headers[REASON_HEADER] for p in letters]
    for (_, expected), reason in zip(bad, reasons, strict=False):
        assert expected in reason, reasons
    assert "no message_id" in reasons[-1]
    assert all(p.headers["x-aibrain-queue"] == topology.feedback_queue for p in letters)
    assert wait_until(lambda: status(sessions, mine) is Status.ACCEPTED)
    stats = pipeline.consumer.stats
    assert stats.outcomes[Outcome.REJECTED] == len(bad) + 1 and stats.outcomes[Outcome.APPLIED] == 1
    assert stats.rejected == {"invalid": 4, "unknown_incident": 1, "wrong_worker": 1, "no_message_id": 1}
    assert wait_until(lambda: pipeline.consumer.stats.dead_letter_depth is not None, timeout=5)


def test_feedback_from_a_sender_who_is_not_the_worker_is_refused(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], amqp_channel: Channel) -> None:
    pipeline = pipeline_factory(trusted=frozenset())  # guest is nobody's worker user here
    topology = pipeline.consumer._topology
    incident_id = pipeline.dispatcher.dispatch(violation()).incident_id
    publish(amqp_channel, topology, feedback(incident_id), str(uuid.uuid4()))
    publish(amqp_channel, topology, feedback(incident_id), str(uuid.uuid4()), user_id=None)
    reasons = [p.headers[REASON_HEADER] for p in dead_letters(amqp_channel, topology, 2)]
    assert reasons == ["sender guest may not act for worker w-day",
                       "sender (no user_id) may not act for worker w-day"]
    assert status(sessions, incident_id) is Status.DISPATCHED


class CrashingLoop(ClosedLoop):
    """A closed loop with a bug that only one incident's feedback triggers."""

    poison: set[str] = set()

    def act(self, session: Session, incident: Incident, *args: Any, **kwargs: Any) -> IncidentStatus:
        if incident.id in self.poison:
            raise RuntimeError("bug triggered by this message")
        return super().act(session, incident, *args, **kwargs)


def test_a_poison_message_is_dead_lettered_after_the_delivery_limit(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], amqp_channel: Channel) -> None:
    pipeline = pipeline_factory(loop_type=CrashingLoop, delivery_limit=3)
    topology = pipeline.consumer._topology
    poisoned = pipeline.dispatcher.dispatch(violation(track_id=1)).incident_id
    healthy = pipeline.dispatcher.dispatch(violation(track_id=2)).incident_id
    CrashingLoop.poison = {poisoned}
    message_id = publish(amqp_channel, topology, feedback(poisoned), str(uuid.uuid4()))
    publish(amqp_channel, topology, feedback(healthy), str(uuid.uuid4()))

    [letter] = dead_letters(amqp_channel, topology, 1)
    assert letter.message_id == message_id
    assert letter.headers["x-death"][0]["reason"] == "delivery_limit"
    assert wait_until(lambda: status(sessions, healthy) is Status.ACCEPTED)
    assert status(sessions, poisoned) is Status.DISPATCHED
    assert pipeline.consumer.stats.requeued >= 3


def raw_feedback(incident_id: str, **fields: object) -> bytes:
    """A feedback body written by hand, as a client other than ours could send it."""
    message = {"schema_version": 1, "incident_id": incident_id, "worker_id": "w-day", "action": "accept",
               "note": None, "at": datetime.now(UTC).isoformat()}
    return json.dumps(message | fields).encode()


def test_values_the_database_would_refuse_are_dead_lettered_and_what_follows_is_applied(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], amqp_channel: Channel) -> None:
    """PostgreSQL refuses a message_id longer than its column and a NUL in text; each such message
    must be refused on its own, not taken for a database outage that blocks every message after it."""
    pipeline = pipeline_factory()
    topology = pipeline.consumer._topology
    mine = pipeline.dispatcher.dispatch(violation()).incident_id
    control = "note: Value error, holds control character"
    poisoned = [
        (raw_feedback(mine), "m" * 65, "message_id"),
        (raw_feedback(mine, note="on my\x00way"), str(uuid.uuid4()), f"{control} U+0000"),
        (raw_feedback(mine[:35] + "\x00"), str(uuid.uuid4()), "incident_id"),
        (raw_feedback(mine, note="\x1b[2Jcleared"), str(uuid.uuid4()), f"{control} U+001B"),
    ]
    for body, message_id, _ in poisoned:
        publish(amqp_channel, topology, body, message_id)
    publish(amqp_channel, topology, raw_feedback(mine, note="two bikes\nmoved"), str(uuid.uuid4()))

    letters = dead_letters(amqp_channel, topology, len(poisoned))
    for (_, message_id, expected), letter in zip(poisoned, letters, strict=True):
        assert letter.message_id == message_id and expected in letter.headers[REASON_HEADER]
    assert wait_until(lambda: status(sessions, mine) is Status.ACCEPTED)
    assert pipeline.consumer.stats.rejected == {"bad_message_id": 1, "invalid": 3}


class RefusedWriteLoop(ClosedLoop):
    """A closed loop that, for one incident, writes a row the database refuses as data: a fault no
    check of the message can foresee."""

    poison: set[str] = set()
    bad_row: dict[str, Any] = {}

    def act(self, session: Session, incident: Incident, action: IncidentAction, actor: str, at: datetime,
            note: str | None = None) -> IncidentStatus:
        if incident.id in self.poison:
            row = {"incident_id": incident.id, "action": action, "to_status": incident.status, "actor": actor,
                   "at": at}
            session.add(IncidentEvent(**(row | self.bad_row)))
        return super().act(session, incident, action, actor, at, note)


@pytest.mark.parametrize("bad_row", [{"to_status": None}, {"actor": "x" * 81}], ids=["not-null", "too-long"])
def test_a_write_the_database_refuses_is_dead_lettered_and_what_follows_is_applied(
        sessions: sessionmaker[Session], pipeline_factory: Callable[..., Pipeline], amqp_channel: Channel,
        bad_row: dict[str, Any]) -> None:
    if "actor" in bad_row and sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    pipeline = pipeline_factory(loop_type=RefusedWriteLoop)
    topology = pipeline.consumer._topology
    poisoned = pipeline.dispatcher.dispatch(violation(track_id=1)).incident_id
    healthy = pipeline.dispatcher.dispatch(violation(track_id=2)).incident_id
    RefusedWriteLoop.poison, RefusedWriteLoop.bad_row = {poisoned}, bad_row
    message_id = publish(amqp_channel, topology, feedback(poisoned), str(uuid.uuid4()))
    publish(amqp_channel, topology, feedback(healthy), str(uuid.uuid4()))

    [letter] = dead_letters(amqp_channel, topology, 1)
    assert letter.message_id == message_id
    assert letter.headers[REASON_HEADER].startswith("the database refused it: ")
    assert wait_until(lambda: status(sessions, healthy) is Status.ACCEPTED)
    assert status(sessions, poisoned) is Status.DISPATCHED
    stats = pipeline.consumer.stats
    assert stats.rejected == {"refused_by_database": 1} and stats.requeued == 0
