"""A database that is away is not a message's fault: the feedback consumer waits for it and then
applies the message, where a value the database refuses would be dead-lettered."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.feedback_consumer import FeedbackConsumer, Outcome
from routing.broker.topology import declare_topology, delete_topology
from routing.incidents.tables import Incident, IncidentStatus
from tests.conftest import AMQP_URL
from tests.helpers.services import PrivatePostgres, private_service
from tests.routing.helpers import make_dispatcher, make_loop, make_topology, migrated_sessions, violation, wait_until
from tests.routing.test_feedback_consumer import feedback, publish

pytestmark = pytest.mark.integration


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    yield from private_service(PrivatePostgres, "a private PostgreSQL cluster")


@pytest.fixture
def outage_sessions(private_postgres: PrivatePostgres) -> Iterator[sessionmaker[Session]]:
    yield from migrated_sessions(private_postgres.url)


def test_feedback_waits_for_a_stopped_database_and_is_then_applied(
        private_postgres: PrivatePostgres, outage_sessions: sessionmaker[Session], amqp_channel: BlockingChannel,
        caplog: pytest.LogCaptureFixture) -> None:
    topology = make_topology(f"fb-down-{uuid.uuid4().hex[:8]}")
    declare_topology(amqp_channel, topology)
    incident_id = make_dispatcher(outage_sessions, topology).dispatch(violation()).incident_id
    stop = threading.Event()
    consumer = FeedbackConsumer(AMQP_URL, outage_sessions, make_loop(topology), topology, stop,
                                trusted_users=frozenset({"guest"}))
    consumer.start()
    try:
        private_postgres.stop()
        publish(amqp_channel, topology, feedback(incident_id), str(uuid.uuid4()))
        assert wait_until(lambda: "database unavailable" in caplog.text, timeout=30)
        assert not consumer.stats.outcomes, "nothing decided while the database is away"
        assert amqp_channel.queue_declare(topology.dead_letter_queue, passive=True).method.message_count == 0

        private_postgres.start()
        assert wait_until(lambda: consumer.stats.outcomes[Outcome.APPLIED] == 1, timeout=60)
        with outage_sessions() as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None and incident.status is IncidentStatus.ACCEPTED
        assert consumer.stats.outcomes == {Outcome.APPLIED: 1}
    finally:
        stop.set()
        consumer.join(10)
        delete_topology(amqp_channel, topology)
