"""Two pipeline nodes consume the feedback queue; two copies of one message reach both at once. The
second node's record of the message id is refused as a duplicate key (IntegrityError) once the first
commits: it must count as a duplicate, not be dead-lettered as refused data (real PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.feedback_consumer import FeedbackConsumer, Outcome
from routing.broker.topology import declare_topology, delete_topology
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.tables import Incident, IncidentAction, IncidentStatus
from tests.conftest import AMQP_URL
from tests.routing.helpers import (
    CHAINS,
    LIMITS,
    SHANGHAI,
    make_dispatcher,
    make_topology,
    migrated_sessions,
    violation,
    wait_until,
)
from tests.routing.test_feedback_consumer import feedback, publish

pytestmark = pytest.mark.integration


class HeldLoop(ClosedLoop):
    """Holds the first transaction that gets this far open until the test releases it."""

    def __init__(self, *args: Any, entered: threading.Event, release: threading.Event) -> None:
        super().__init__(*args)
        self.entered, self.release = entered, release

    def act(self, session: Session, incident: Incident, action: IncidentAction, actor: str, at: datetime,
            note: str | None = None) -> IncidentStatus:
        self.entered.set()
        self.release.wait(20)
        return super().act(session, incident, action, actor, at, note)


@pytest.fixture
def pg_sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(pg_url)


def lock_waiters(sessions: sessionmaker[Session]) -> int:
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    with sessions() as session:
        return int(session.scalar(query) or 0)


def test_copies_consumed_at_once_by_two_nodes_are_applied_once_and_none_is_dead_lettered(
        pg_sessions: sessionmaker[Session], amqp_channel: BlockingChannel) -> None:
    topology = make_topology(f"fb-copies-{uuid.uuid4().hex[:8]}")
    declare_topology(amqp_channel, topology)
    incident_id = make_dispatcher(pg_sessions, topology).dispatch(violation()).incident_id
    stop, entered, release = threading.Event(), threading.Event(), threading.Event()
    nodes = [FeedbackConsumer(AMQP_URL, pg_sessions, HeldLoop(topology, LIMITS, CHAINS, SHANGHAI, entered=entered,
                                                              release=release),
                              topology, stop, trusted_users=frozenset({"guest"}), prefetch=1) for _ in range(2)]
    for node in nodes:
        node.start()
    try:
        assert wait_until(lambda: amqp_channel.queue_declare(topology.feedback_queue, passive=True)
                          .method.consumer_count == 2)
        body, message_id = feedback(incident_id), str(uuid.uuid4())
        publish(amqp_channel, topology, body, message_id)
        publish(amqp_channel, topology, body, message_id)  # the same message again (a client's retry)
        assert entered.wait(15), "one node applies the message and holds its transaction"
        assert wait_until(lambda: lock_waiters(pg_sessions) == 1), "the other waits on the message id's key"
        release.set()

        def outcomes() -> Counter[str]:
            return nodes[0].stats.outcomes + nodes[1].stats.outcomes

        assert wait_until(lambda: outcomes().total() == 2)
        assert outcomes() == {Outcome.APPLIED: 1, Outcome.DUPLICATE: 1}
        assert amqp_channel.queue_declare(topology.dead_letter_queue, passive=True).method.message_count == 0
    finally:
        release.set()
        stop.set()
        for node in nodes:
            node.join(10)
        delete_topology(amqp_channel, topology)
