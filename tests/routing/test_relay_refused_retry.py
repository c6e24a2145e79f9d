"""A row the broker refused is really sent again after `refused_retry_s`, once its cause is fixed, against
a real RabbitMQ over SQLite and PostgreSQL outboxes: refused as unroutable (an exchange with no queue
bound) and refused by a nack (a full queue with `x-overflow: reject-publish`)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from pika.adapters.blocking_connection import BlockingChannel as Channel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology
from routing.incidents.tables import OutboxMessage
from tests.conftest import AMQP_URL
from tests.routing.helpers import make_dispatcher, violation, wait_until

pytestmark = pytest.mark.integration

RETRY_S = 3.0
ROUTING_KEY = "refused"


@dataclass
class Refusal:
    """A destination the broker refuses until `fix()`: `error` is what the row's last_error names."""

    exchange: str
    queue: str
    error: str
    fix: Callable[[], None]


def unroutable(channel: Channel, name: str) -> Refusal:
    """No queue bound to the exchange: publishing with `mandatory` comes back. Fixed by binding one."""
    channel.queue_declare(name, durable=True)
    return Refusal(name, name, "unroutable", lambda: channel.queue_bind(name, name, routing_key=ROUTING_KEY))


def full_queue(channel: Channel, name: str) -> Refusal:
    """A queue at its max-length that rejects new messages: the broker nacks. Fixed by emptying it."""
    channel.queue_declare(name, durable=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    channel.queue_bind(name, name, routing_key=ROUTING_KEY)
    channel.basic_publish(name, ROUTING_KEY, b"{}")
    assert wait_until(lambda: channel.queue_declare(name, passive=True).method.message_count == 1)
    return Refusal(name, name, "nack", lambda: channel.queue_purge(name))


@pytest.fixture(params=[unroutable, full_queue], ids=["unroutable", "nacked"])
def refusal(request: pytest.FixtureRequest, amqp_channel: Channel, topology: Topology) -> Iterator[Refusal]:
    name = f"{topology.prefix}.refusing-{uuid.uuid4().hex[:6]}"
    amqp_channel.exchange_declare(name, "direct", durable=True)
    try:
        yield request.param(amqp_channel, name)
    finally:
        amqp_channel.queue_delete(name)
        amqp_channel.exchange_delete(name)


@contextmanager
def relay_started(sessions: sessionmaker[Session], topology: Topology) -> Iterator[OutboxRelay]:
    stop = threading.Event()
    relay = OutboxRelay(AMQP_URL, sessions, topology, stop, poll_interval_s=0.1, refused_retry_s=RETRY_S)
    thread = relay.start()
    try:
        yield relay
    finally:
        stop.set()
        thread.join(5)


def the_row(sessions: sessionmaker[Session], message_id: str) -> OutboxMessage:
    with sessions() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.message_id == message_id)).one()


def test_refused_row_is_sent_after_refused_retry_s_once_the_cause_is_fixed(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel, refusal: Refusal) -> None:
    dispatcher = make_dispatcher(sessions, topology)
    result = dispatcher.dispatch(violation())
    with sessions() as session:  # the alert's row now goes where the broker refuses it
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.message_id == result.dispatch_id)).one()
        row.exchange, row.routing_key = refusal.exchange, ROUTING_KEY
        session.commit()

    with relay_started(sessions, topology):
        assert wait_until(lambda: the_row(sessions, result.dispatch_id).attempts >= 1, timeout=30), "never tried"
        refused_at = time.monotonic()
        row = the_row(sessions, result.dispatch_id)
        assert row.sent_at is None and row.last_error and refusal.error in row.last_error.lower(), row.last_error

        refusal.fix()
        assert wait_until(lambda: the_row(sessions, result.dispatch_id).sent_at is not None, timeout=60), \
            f"never re-sent: {the_row(sessions, result.dispatch_id).last_error}"
        waited = time.monotonic() - refused_at

    row = the_row(sessions, result.dispatch_id)
    assert row.last_error is None
    # Tried again only once refused_retry_s had passed, not at every poll (0.1 s) meanwhile.
    assert waited >= RETRY_S / 2, waited
    assert row.attempts <= 2 + int(waited / RETRY_S), (row.attempts, waited)
    method, properties, _ = amqp_channel.basic_get(refusal.queue, auto_ack=True)
    assert method is not None and properties.message_id == result.dispatch_id
