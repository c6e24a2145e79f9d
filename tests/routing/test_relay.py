"""The outbox relay against a real RabbitMQ, over SQLite and PostgreSQL outboxes."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel as Channel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology, declare_topology
from routing.incidents.store import add_outbox_message, pending_count
from routing.incidents.tables import OutboxMessage
from routing.messages.alert import AlertMessage
from tests.conftest import AMQP_URL
from tests.routing.helpers import DAYTIME, NIGHT, make_dispatcher, take, violation, wait_until

pytestmark = pytest.mark.integration
SECRET = "s3cr3t-Pa55"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url_with(password: str | None = None, port: int | None = None) -> str:
    params = pika.URLParameters(AMQP_URL)
    user = params.credentials.username
    secret = password or params.credentials.password
    return f"amqp://{user}:{secret}@{params.host}:{port or params.port}/%2F"


class RelayRunner:
    """Starts relays and makes sure each one is stopped and joined at the end of the test."""

    def __init__(self) -> None:
        self._running: list[tuple[OutboxRelay, threading.Event, threading.Thread]] = []

    def start(self, url: str, sessions: sessionmaker[Session], topology: Topology,
              **options: Any) -> OutboxRelay:
        stop = threading.Event()
        relay = OutboxRelay(url, sessions, topology, stop, **options)
        self._running.append((relay, stop, relay.start()))
        return relay

    def stop(self, relay: OutboxRelay, within_s: float = 3.0) -> None:
        for item in self._running:
            if item[0] is relay:
                item[1].set()
                item[2].join(within_s)
                assert not item[2].is_alive(), f"relay still running {within_s} s after stop"

    def stop_all(self) -> None:
        for relay, _, _ in self._running:
            self.stop(relay)


@pytest.fixture
def relays() -> Iterator[RelayRunner]:
    runner = RelayRunner()
    yield runner
    runner.stop_all()


def unsent(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return pending_count(session)


def test_dispatched_violations_reach_the_worker_and_the_command_centre(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner) -> None:
    relay = relays.start(AMQP_URL, sessions, topology)
    dispatcher = make_dispatcher(sessions, topology, wake=relay.wake)
    n = 5
    results = [dispatcher.dispatch(violation("cam-01", track_id=i)) for i in range(n)]
    assert wait_until(lambda: unsent(sessions) == 0)

    worker_messages = take(amqp_channel, topology.worker_queue("w-day"), n)
    take(amqp_channel, topology.command_centre_queue, n)
    take(amqp_channel, topology.worker_queue("w-night"), 0)
    take(amqp_channel, topology.fallback_queue, 0)

    # Oldest first, one message per dispatch, every property the contract names.
    assert [p.message_id for p, _ in worker_messages] == [r.dispatch_id for r in results]
    for (properties, body), result in zip(worker_messages, results, strict=True):
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
        assert properties.content_encoding == "utf-8"
        assert properties.headers is not None  # the quorum queue adds x-delivery-count
        assert {k: properties.headers[k] for k in ("schema_version", "kind", "incident_id")} == {
            "schema_version": 1, "kind": "non_motor_parking", "incident_id": result.incident_id}
        alert = AlertMessage.model_validate(body)  # every contract field, strictly
        assert (alert.incident_id, alert.worker_id, alert.grid_id) == (result.incident_id, "w-day", "g-east")
        assert alert.kind_label_zh == "非机动车乱停放" and alert.camera_name == "东街口 1 号"
        assert alert.confirmed_at == DAYTIME
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    assert all(row.sent_at is not None and row.attempts == 1 and row.last_error is None for row in rows)
    assert relay.published == n


def test_nobody_on_duty_goes_to_the_fallback_queue(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner) -> None:
    relay = relays.start(AMQP_URL, sessions, topology)
    dispatcher = make_dispatcher(sessions, topology, wake=relay.wake)
    result = dispatcher.dispatch(violation("cam-01", confirmed_at=NIGHT))
    assert result.worker_id is None
    assert wait_until(lambda: unsent(sessions) == 0)

    [(properties, body)] = take(amqp_channel, topology.fallback_queue, 1)
    assert properties.message_id == result.dispatch_id
    assert body["worker_id"] is None and body["grid_id"] == "g-east"
    take(amqp_channel, topology.command_centre_queue, 1)
    take(amqp_channel, topology.worker_queue("w-day"), 0)


def test_relay_started_late_drains_what_the_outbox_holds(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner) -> None:
    dispatcher = make_dispatcher(sessions, topology)  # no relay yet, nothing to wake
    n = 12
    for i in range(n):
        dispatcher.dispatch(violation("cam-02", confirmed_at=NIGHT, track_id=i))
    assert unsent(sessions) == n

    relays.start(AMQP_URL, sessions, topology, batch=5)  # several batches
    assert wait_until(lambda: unsent(sessions) == 0)
    take(amqp_channel, topology.worker_queue("w-night"), n)
    take(amqp_channel, topology.command_centre_queue, n)


def test_refused_rows_keep_their_error_and_do_not_hold_back_the_rows_behind_them(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner) -> None:
    dead_end = f"{topology.prefix}.dead-end"  # an exchange with no queue bound: every message unroutable
    amqp_channel.exchange_declare(dead_end, "direct", auto_delete=False)
    try:
        dispatcher = make_dispatcher(sessions, topology)
        batch = 3
        for i in range(batch):  # a whole batch of refused rows at the head of the outbox
            dispatcher.dispatch(violation("cam-02", confirmed_at=NIGHT, track_id=i))
        with sessions() as session:
            for row in session.scalars(select(OutboxMessage)):
                row.exchange = dead_end
            session.commit()
        good = [dispatcher.dispatch(violation("cam-02", confirmed_at=NIGHT, track_id=batch + i)) for i in range(2)]

        relays.start(AMQP_URL, sessions, topology, batch=batch, poll_interval_s=0.1)
        assert wait_until(lambda: unsent(sessions) == batch), "the rows behind the refused ones were published"
        delivered = take(amqp_channel, topology.worker_queue("w-night"), 2)
        assert [p.message_id for p, _ in delivered] == [r.dispatch_id for r in good]
        time.sleep(1.0)  # ten more polls: the refused rows wait out refused_retry_s, they are not retried now
        with sessions() as session:
            refused = session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))).all()
        assert len(refused) == batch
        assert all(row.attempts == 1 and row.last_error and "unroutable" in row.last_error for row in refused), \
            [(row.attempts, row.last_error) for row in refused]
    finally:
        amqp_channel.exchange_delete(dead_end)


def test_unreachable_broker_keeps_rows_then_a_restarted_relay_drains_them(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    stray = relays.start(url_with(SECRET, closed_port()), sessions, topology,
                         backoff_initial_s=1.0, backoff_max_s=2.0, poll_interval_s=0.1)
    dispatcher = make_dispatcher(sessions, topology, wake=stray.wake)
    n = 3
    for i in range(n):
        dispatcher.dispatch(violation(track_id=i))
    assert wait_until(lambda: caplog.text.count("retrying in") >= 2, timeout=10)
    assert unsent(sessions) == n
    relays.stop(stray)  # prompt, even while backing off
    assert stray.published == 0

    assert SECRET not in caplog.text
    assert "amqp://***@127.0.0.1" in caplog.text

    relays.start(AMQP_URL, sessions, topology)
    assert wait_until(lambda: unsent(sessions) == 0)
    take(amqp_channel, topology.worker_queue("w-day"), n)


def test_wrong_password_is_retried_and_never_logged(
        sessions: sessionmaker[Session], topology: Topology, relays: RelayRunner,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # pika's own debug lines included
    relay = relays.start(url_with(SECRET), sessions, topology, backoff_initial_s=1.0)
    make_dispatcher(sessions, topology, wake=relay.wake).dispatch(violation())
    assert wait_until(lambda: "retrying in" in caplog.text, timeout=10)
    relays.stop(relay)
    assert unsent(sessions) == 1
    assert "ProbableAccessDeniedError" in caplog.text or "AuthenticationError" in caplog.text
    assert SECRET not in caplog.text


def test_topology_declares_quorum_queues_idempotently(topology: Topology, amqp_channel: Channel) -> None:
    declare_topology(amqp_channel, topology)
    declare_topology(amqp_channel, topology)  # same arguments: accepted again
    for queue in topology.queues():
        assert amqp_channel.queue_declare(queue, passive=True).method.message_count == 0
    with pytest.raises(ValueError, match="cannot name a queue"):
        Topology(worker_ids=("w#1",))


def test_relay_recovers_when_the_broker_closes_its_channel(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner) -> None:
    relay = relays.start(AMQP_URL, sessions, topology, backoff_initial_s=1.0)
    dispatcher = make_dispatcher(sessions, topology, wake=relay.wake)
    first = dispatcher.dispatch(violation(track_id=1))
    assert wait_until(lambda: unsent(sessions) == 0)
    # Publishing to a deleted exchange makes the broker close the relay's channel (404).
    amqp_channel.exchange_delete(topology.exchange)
    second = dispatcher.dispatch(violation(track_id=2))

    assert wait_until(lambda: unsent(sessions) == 0)  # reconnected, redeclared, republished
    with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.message_id == second.dispatch_id)
        row = session.scalars(query).one()
    assert row.attempts == 2 and row.last_error is None
    got = take(amqp_channel, topology.worker_queue("w-day"), 2)
    assert [p.message_id for p, _ in got] == [first.dispatch_id, second.dispatch_id]


def test_wake_publishes_at_once_and_stop_is_prompt_with_a_long_poll_interval(
        sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner) -> None:
    relay = relays.start(AMQP_URL, sessions, topology, poll_interval_s=60.0)
    time.sleep(0.5)  # let it connect and go idle: the wake must cut the 60 s wait short
    dispatcher = make_dispatcher(sessions, topology, wake=relay.wake)
    started = time.monotonic()
    dispatcher.dispatch(violation())
    assert wait_until(lambda: unsent(sessions) == 0, timeout=30)
    assert time.monotonic() - started < 30  # not after the 60 s poll interval (slack for a loaded machine)
    take(amqp_channel, topology.worker_queue("w-day"), 1)
    relays.stop(relay, within_s=1.5)


def queue_depth(channel: Channel, queue: str) -> int | None:
    """Messages in `queue`, or None when it does not exist (asked on a channel of its own, which a
    missing queue closes)."""
    probe = channel.connection.channel()
    try:
        return int(probe.queue_declare(queue, passive=True).method.message_count)
    except pika.exceptions.ChannelClosedByBroker as exc:
        assert exc.reply_code == 404, exc
        return None
    finally:
        if probe.is_open:
            probe.close()


@pytest.mark.parametrize("destination", ["worker", "escalation", "fallback"])
def test_a_queue_deleted_by_hand_is_recreated_and_gets_its_alert(
        destination: str, sessions: sessionmaker[Session], topology: Topology, amqp_channel: Channel,
        relays: RelayRunner, caplog: pytest.LogCaptureFixture) -> None:
    """The command centre's `#` binding makes every alert routable, so `mandatory` alone cannot
    notice a missing worker, escalation or fallback queue: the relay must."""
    key, queue = {"worker": ("worker.w-day", topology.worker_queue("w-day")),
                  "escalation": ("escalation.leader-east", topology.escalation_queue("leader-east")),
                  "fallback": ("unassigned", topology.fallback_queue)}[destination]
    relay = relays.start(AMQP_URL, sessions, topology, poll_interval_s=0.1)

    def queue_message(message_id: str) -> None:
        with sessions() as session, session.begin():
            add_outbox_message(session, message_id=message_id, exchange=topology.exchange, routing_key=key,
                               body='{"probe": true}', headers={}, created_at=DAYTIME)
        relay.wake()

    queue_message("before")
    assert wait_until(lambda: unsent(sessions) == 0)  # the relay is up and has declared the topology
    amqp_channel.queue_delete(queue)  # by hand: the message in it goes too
    assert queue_depth(amqp_channel, queue) is None

    with caplog.at_level(logging.ERROR, logger="routing"):
        queue_message("after")
        assert wait_until(lambda: unsent(sessions) == 0)
    assert queue_depth(amqp_channel, queue) == 1, f"{queue} is gone and its message was marked sent"
    [(properties, _)] = take(amqp_channel, queue, 1)
    assert properties.message_id == "after"
    assert relay.queues_recreated == 1
    assert any(queue in r.getMessage() and "recreated" in r.getMessage() for r in caplog.records), caplog.text
    take(amqp_channel, topology.command_centre_queue, 2)
