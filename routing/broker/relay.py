"""The outbox relay: publishes committed outbox rows to RabbitMQ with publisher confirms.

It runs on its own thread with its own pika connection (pika connections are not thread-safe).
A row is marked sent only after the broker confirms it, so a broker outage or a crash can cause
a message to be published twice (consumers de-duplicate on `message_id`), never lost. Before each
publish the row's queue is checked and, if deleted by hand, recreated (see `routing.broker.destinations`).
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

from common.durations import DurationHistogram
from common.redact import describe
from common.stage_cpu import Stage, stage_cpu
from routing.broker.connection import TlsFiles
from routing.broker.destinations import DestinationQueues, DestinationRefused
from routing.broker.reconnecting_client import TRANSIENT_ERRORS, BrokerClient
from routing.broker.topology import Topology, declare_topology
from routing.incidents import store
from routing.incidents.tables import OutboxMessage

log = logging.getLogger(__name__)

_STOP_CHECK_S = 0.2  # how often an idle relay looks at the stop event

# Bucket bounds, seconds, of a row's wait for the broker's confirm: ms when the relay is woken by the commit,
# up to the minutes (or a restart) a broker outage keeps rows in the outbox.
CONFIRM_BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class OutboxRelay(BrokerClient):
    """Drains the outbox into the broker, oldest row first, and keeps trying while the broker is away.

    `wake()` (the dispatcher calls it after each commit) publishes at once instead of after
    `poll_interval_s`. Connection failures back off exponentially up to `backoff_max_s` (see
    `BrokerClient`). On stop, rows not yet confirmed stay in the outbox for the next start.
    A row the broker refuses (unroutable, nacked, its queue not recreatable) keeps its error and is
    tried again only after `refused_retry_s`, so that a head of refused rows never holds back the
    rows behind it. A worker's, escalation or fallback queue found missing is recreated before
    the publish, logged as an error and counted in `queues_recreated`.

    >>> relay = OutboxRelay("amqp://aibrain:secret@mq:5672/%2F", sessions, topology, stop)  # doctest: +SKIP
    >>> relay.start(); dispatcher = Dispatcher(..., wake=relay.wake)  # doctest: +SKIP
    """

    role = "outbox relay"
    thread_name = "outbox-relay"

    def __init__(
        self,
        amqp_url: str,
        session_factory: sessionmaker[Session],
        topology: Topology,
        stop: threading.Event,
        *,
        tls: TlsFiles | None = None,
        poll_interval_s: float = 0.5,
        batch: int = 100,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        heartbeat_s: int = 30,
        refused_retry_s: float = 60.0,
    ) -> None:
        if batch < 1 or poll_interval_s <= 0:
            raise ValueError("batch must be >= 1 and poll_interval_s > 0")
        super().__init__(amqp_url, stop, tls=tls, backoff_initial_s=backoff_initial_s, backoff_max_s=backoff_max_s,
                         connect_timeout_s=connect_timeout_s, heartbeat_s=heartbeat_s,
                         database_backoff_max_s=backoff_max_s)
        self._sessions = session_factory
        self._topology = topology
        self._poll_interval_s = poll_interval_s
        self._batch = batch
        self._wake = threading.Event()
        self._refused_retry_s = refused_retry_s
        self._refused_until: dict[int, float] = {}  # outbox row id -> monotonic time to try it again
        self.published = 0  # messages confirmed by the broker since start
        self.queues_recreated = 0  # destination queues found deleted and declared again since start
        # Per message confirmed: its row's `created_at` (the dispatcher's clock, in the transaction that
        # committed it) to the broker's confirm.
        self.confirm_latency = DurationHistogram(CONFIRM_BOUNDS_S)

    def use_topology(self, topology: Topology) -> None:
        """Publish under `topology` from now on (a site reload added workers or escalation targets):
        the relay's thread declares it on its connection before its next batch."""
        self._topology = topology
        self._wake.set()

    def wake(self) -> None:
        """Publish now: called by the dispatcher after it committed an outbox row (thread-safe)."""
        self._wake.set()

    def serve(self, connection: BlockingConnection) -> None:
        """Declare the topology, then drain the outbox until stopped.

        While the database is away the broker connection is kept (heartbeats go on) and reading
        the outbox is retried with backoff: a database outage costs no broker reconnects.
        """
        channel = connection.channel()
        channel.confirm_delivery()
        declared = self._topology
        declare_topology(channel, declared)
        destinations = DestinationQueues(connection, declared)
        while not self._stop.is_set():
            if self._topology is not declared:  # changed by `use_topology`
                declared = self._topology
                declare_topology(channel, declared)
                destinations = DestinationQueues(connection, declared)
            # Clear before reading: a wake() during the read is kept for the wait below.
            self._wake.clear()
            try:
                with stage_cpu(Stage.STORAGE):
                    published = self._publish_batch(channel, destinations)
            except SQLAlchemyError as exc:
                self._wait_for_database(connection, exc, "outbox relay")
                continue
            self._db_backoff.reset()
            if published < self._batch:
                self._wait_for_work()
            connection.process_data_events(time_limit=0)  # heartbeats while idle
        log.info("outbox relay: %d published since start", self.published)

    def _wait_for_work(self) -> None:
        """Until woken or the poll interval ends; in short slices, so `stop` is seen promptly too."""
        deadline = time.monotonic() + self._poll_interval_s
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake.wait(min(remaining, _STOP_CHECK_S)):
                return

    def _publish_batch(self, channel: BlockingChannel, destinations: DestinationQueues) -> int:
        """Publish up to `batch` unsent rows; what the broker confirmed is committed even if one fails."""
        confirmed = 0
        now = time.monotonic()
        self._refused_until = {row_id: until for row_id, until in self._refused_until.items() if until > now}
        with self._sessions() as session:
            rows = store.unsent_messages(session, self._batch, skip_ids=self._refused_until.keys())
            try:
                for row in rows:
                    row.attempts += 1
                    try:
                        if destinations.ensure(row.exchange, row.routing_key):
                            self.queues_recreated += 1
                        self._publish(channel, row)
                    except (pika.exceptions.UnroutableError, pika.exceptions.NackError, DestinationRefused) as exc:
                        # The broker is up but refused this one: note it and go on with the others.
                        row.last_error = describe(exc)
                        self._refused_until[row.id] = now + self._refused_retry_s
                        log.error("outbox message %s to %s refused by the broker: %s; trying it again in %.0f s",
                                  row.message_id, row.routing_key, row.last_error, self._refused_retry_s)
                        continue
                    except TRANSIENT_ERRORS as exc:
                        row.last_error = describe(exc)
                        raise
                    row.sent_at = datetime.now(UTC)
                    row.last_error = None
                    confirmed += 1
                    self.published += 1
                    self.confirm_latency.observe((row.sent_at - row.created_at).total_seconds())
            finally:
                session.commit()
        return confirmed

    @staticmethod
    def _publish(channel: BlockingChannel, row: OutboxMessage) -> None:
        # With confirm_delivery(), basic_publish blocks until the broker acks (or raises).
        properties = pika.BasicProperties(
            message_id=row.message_id,
            type=row.message_type.value,
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="application/json",
            content_encoding="utf-8",
            headers=row.headers,
            timestamp=int(row.created_at.timestamp()),
            app_id="aibrain",
        )
        channel.basic_publish(row.exchange, row.routing_key, row.body.encode("utf-8"),
                              properties=properties, mandatory=True)
