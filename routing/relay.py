"""The outbox relay: publishes committed outbox rows to RabbitMQ with publisher confirms.

It runs on its own thread with its own pika connection (pika connections are not thread-safe).
A row is marked sent only after the broker confirms it, so a broker outage or a crash can cause
a message to be published twice (consumers de-duplicate on `message_id`), never lost.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from routing import store
from routing.schema import OutboxMessage
from routing.topology import Topology, declare_topology
from streams.backoff import Backoff
from streams.redact import redact_url

log = logging.getLogger(__name__)

# Errors that mean "try again later": broker gone or refusing, socket trouble, database away.
_TRANSIENT = (pika.exceptions.AMQPError, OSError, SQLAlchemyError)
_STOP_CHECK_S = 0.2  # how often an idle relay looks at the stop event


class OutboxRelay:
    """Drains the outbox into the broker, oldest row first, and keeps trying while the broker is away.

    `wake()` (the dispatcher calls it after each commit) publishes at once instead of after
    `poll_interval_s`. Connection failures back off exponentially up to `backoff_max_s` and
    the backoff resets once a connection works again. Every blocking call has a timeout, so
    `stop.set()` ends the thread within a fraction of a second (a connect in progress may
    take up to its timeout).

    >>> relay = OutboxRelay("amqp://aibrain:secret@mq:5672/%2F", sessions, topology, stop)  # doctest: +SKIP
    >>> relay.start(); dispatcher = Dispatcher(..., wake=relay.wake)  # doctest: +SKIP
    """

    def __init__(
        self,
        amqp_url: str,
        session_factory: sessionmaker[Session],
        topology: Topology,
        stop: threading.Event,
        *,
        poll_interval_s: float = 0.5,
        batch: int = 100,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        heartbeat_s: int = 30,
    ) -> None:
        if batch < 1 or poll_interval_s <= 0:
            raise ValueError("batch must be >= 1 and poll_interval_s > 0")
        self._url = amqp_url
        self._safe_url = redact_url(amqp_url)
        self._sessions = session_factory
        self._topology = topology
        self._stop = stop
        self._poll_interval_s = poll_interval_s
        self._batch = batch
        self._backoff = Backoff(initial=backoff_initial_s, maximum=backoff_max_s)
        self._connect_timeout_s = connect_timeout_s
        self._heartbeat_s = heartbeat_s
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: BlockingConnection | None = None
        self.published = 0  # messages confirmed by the broker since start

    def wake(self) -> None:
        """Publish now: called by the dispatcher after it committed an outbox row (thread-safe)."""
        self._wake.set()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Connect, declare the topology, drain the outbox; on trouble back off and reconnect."""
        while not self._stop.is_set():
            try:
                channel = self._connect()
                self._backoff.reset()
                self._drain_until_stopped(channel)
            except _TRANSIENT as exc:
                self._close()
                delay = self._backoff.next_delay()
                what = "database" if isinstance(exc, SQLAlchemyError) else f"broker {self._safe_url}"
                log.warning("outbox relay: %s unavailable (%s); retrying in %.1f s",
                            what, redact_url(_describe(exc)), delay)
                self._stop.wait(delay)
        self._close()
        log.info("outbox relay stopped (%d published)", self.published)

    def _connect(self) -> BlockingChannel:
        params = pika.URLParameters(self._url)
        params.socket_timeout = self._connect_timeout_s
        params.stack_timeout = self._connect_timeout_s * 2
        params.blocked_connection_timeout = 60  # a broker in memory alarm must not hang the relay
        params.heartbeat = self._heartbeat_s  # detects a dead peer while waiting for a confirm
        params.connection_attempts = 1  # retries are ours, with backoff and a stop check
        self._connection = pika.BlockingConnection(params)
        channel = self._connection.channel()
        channel.confirm_delivery()
        declare_topology(channel, self._topology)
        log.info("outbox relay connected to %s", self._safe_url)
        return channel

    def _drain_until_stopped(self, channel: BlockingChannel) -> None:
        assert self._connection is not None
        while not self._stop.is_set():
            # Clear before reading: a wake() during the read is kept for the wait below.
            self._wake.clear()
            if self._publish_batch(channel) < self._batch:
                self._wait_for_work()
            self._connection.process_data_events(time_limit=0)  # heartbeats while idle

    def _wait_for_work(self) -> None:
        """Until woken or the poll interval ends; in short slices, so `stop` is seen promptly too."""
        deadline = time.monotonic() + self._poll_interval_s
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake.wait(min(remaining, _STOP_CHECK_S)):
                return

    def _publish_batch(self, channel: BlockingChannel) -> int:
        """Publish up to `batch` unsent rows; what the broker confirmed is committed even if one fails."""
        confirmed = 0
        with self._sessions() as session:
            rows = store.unsent_messages(session, self._batch)
            try:
                for row in rows:
                    row.attempts += 1
                    try:
                        self._publish(channel, row)
                    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
                        # The broker is up but refused this one: note it and go on with the others.
                        row.last_error = _describe(exc)
                        log.error("outbox message %s to %s refused by the broker: %s",
                                  row.message_id, row.routing_key, row.last_error)
                        continue
                    except _TRANSIENT as exc:
                        row.last_error = redact_url(_describe(exc))
                        raise
                    row.sent_at = datetime.now(UTC)
                    row.last_error = None
                    confirmed += 1
                    self.published += 1
            finally:
                session.commit()
        return confirmed

    @staticmethod
    def _publish(channel: BlockingChannel, row: OutboxMessage) -> None:
        # With confirm_delivery(), basic_publish blocks until the broker acks (or raises).
        properties = pika.BasicProperties(
            message_id=row.message_id,
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="application/json",
            content_encoding="utf-8",
            headers=row.headers,
            timestamp=int(row.created_at.timestamp()),
            app_id="aibrain",
        )
        channel.basic_publish(row.exchange, row.routing_key, row.body.encode("utf-8"),
                              properties=properties, mandatory=True)

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except _TRANSIENT as exc:  # already broken: nothing more to release
                log.debug("outbox relay: closing a broken connection: %s", redact_url(_describe(exc)))


def _describe(exc: BaseException) -> str:
    # pika's connection errors often have an empty str() and the cause in their args.
    detail = str(exc) or "; ".join(str(arg) or repr(arg) for arg in exc.args)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
