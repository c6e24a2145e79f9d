"""The feedback consumer: workers' accept / resolve messages move incidents through the closed loop.

Its own thread and pika connection. Each message is applied and recorded as processed in one
database transaction, and acknowledged only after that commit: a redelivered copy is acknowledged
without effect (de-duplication by `message_id`). A message that fails validation or authorisation
is republished to the dead-letter exchange with its reason and acknowledged, and so is one whose
write the database refuses as data (a value too long, a constraint): it must not block the
messages behind it. One that crashes the consumer is requeued, and the quorum queue dead-letters
it after its delivery limit. While the database is away, the message in hand waits (heartbeats
kept), so a database outage neither loses feedback nor burns its delivery count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common.clock import utc_now
from routing.broker.connection import TlsFiles
from routing.broker.reconnecting_client import BrokerClient
from routing.broker.topology import Topology, declare_topology
from routing.incidents import store
from routing.incidents.closed_loop import ClosedLoop
from routing.incidents.database_errors import data_refusal
from routing.incidents.lifecycle import TransitionRefused, already_done
from routing.incidents.tables import Incident, IncidentStatus
from routing.messages.feedback import Feedback, FeedbackRejected, parse_feedback

log = logging.getLogger(__name__)

CONSUMER_NAME = "feedback"
REASON_HEADER = "x-aibrain-reason"
_POLL_S = 0.5  # longest wait for a delivery before looking at `stop` again
_DEAD_LETTER_SAMPLE_S = 30.0


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this message_id was processed before
    NO_CHANGE = "no_change"  # the incident is already where the action leads (pressed twice)
    REJECTED = "rejected"


@dataclass
class FeedbackStats:
    """Counters of the consumer, read by the metrics endpoint."""

    outcomes: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)  # by reason kind
    requeued: int = 0  # crashed deliveries handed back (poison messages dead-letter after the limit)
    dead_letter_depth: int | None = None  # messages waiting in the dead-letter queue, last sampled


class FeedbackConsumer(BrokerClient):
    """Consumes `<prefix>.pipeline.feedback` and applies each message through `ClosedLoop`.

    `on_change(incident_id, status)` runs after each committed change (e.g. to start verification
    when an incident is resolved). `trusted_users` may act for any worker: the pipeline's own user.

    >>> consumer = FeedbackConsumer(url, sessions, loop, topology, stop, trusted_users={"aibrain"})  # doctest: +SKIP
    >>> consumer.start()  # doctest: +SKIP
    """

    role = "feedback consumer"
    thread_name = "feedback-consumer"

    def __init__(self, amqp_url: str, session_factory: sessionmaker[Session], loop: ClosedLoop,
                 topology: Topology, stop: threading.Event, *, tls: TlsFiles | None = None,
                 trusted_users: frozenset[str] = frozenset(),
                 on_change: Callable[[str, IncidentStatus], None] | None = None,
                 clock: Callable[[], datetime] = utc_now, prefetch: int = 16, backoff_max_s: float = 30.0,
                 connect_timeout_s: float = 5.0) -> None:
        super().__init__(amqp_url, stop, tls=tls, backoff_max_s=backoff_max_s, connect_timeout_s=connect_timeout_s,
                         database_backoff_max_s=15.0)
        self._sessions = session_factory
        self._loop = loop
        self._topology = topology
        self._trusted = trusted_users
        self._on_change = on_change
        self._clock = clock
        self._prefetch = prefetch
        self.stats = FeedbackStats()

    def serve(self, connection: BlockingConnection) -> None:
        channel = connection.channel()
        channel.confirm_delivery()  # a rejected message is acked only once the dead-letter copy is safe
        channel.basic_qos(prefetch_count=self._prefetch)
        declare_topology(channel, self._topology)  # idempotent; the relay may not have run yet
        next_sample = 0.0
        for method, properties, body in channel.consume(self._topology.feedback_queue, inactivity_timeout=_POLL_S):
            if self._stop.is_set():
                break
            if method is not None:
                self._handle(connection, channel, method, properties, body)
            now = time.monotonic()
            if now >= next_sample:
                self._sample_dead_letters(channel)
                next_sample = now + _DEAD_LETTER_SAMPLE_S
        channel.cancel()  # unacked deliveries go back to the queue

    def _handle(self, connection: BlockingConnection, channel: BlockingChannel, method: Basic.Deliver,
                properties: pika.BasicProperties, body: bytes) -> None:
        try:
            feedback = parse_feedback(properties, body, self._topology, self._trusted)
            outcome, status = self._apply_until_stored(connection, feedback, properties.message_id)
        except FeedbackRejected as exc:
            self._dead_letter(channel, method, properties, body, exc)
            return
        except SQLAlchemyError:
            raise  # only when stopping mid-retry: the message stays unacked and is delivered again
        except Exception:
            # A bug or a message that breaks us: hand it back; after the queue's delivery limit
            # it is dead-lettered, so it cannot block the queue for ever.
            log.exception("feedback message %s crashed the consumer; requeued", properties.message_id)
            self.stats.requeued += 1
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        channel.basic_ack(method.delivery_tag)
        self.stats.outcomes[outcome] += 1
        log.info("feedback %s: %s %s by %s: %s", properties.message_id, feedback.action.value,
                 feedback.incident_id, feedback.worker_id, outcome.value)
        if status is not None and self._on_change is not None:
            self._on_change(feedback.incident_id, status)

    def _apply_until_stored(self, connection: BlockingConnection, feedback: Feedback,
                            message_id: str) -> tuple[Outcome, IncidentStatus | None]:
        """Apply in one transaction; while the database is away, wait and try again (until stopped).

        A write refused as data is tried once more at once: a copy of this message that another
        consumer committed meanwhile is refused as a duplicate key, and is a duplicate on the second
        try. Refused twice, the message is rejected.
        """
        refused_before = False
        while True:
            try:
                result = self._apply(feedback, message_id)
                self._db_backoff.reset()
                return result
            except SQLAlchemyError as exc:
                refusal = data_refusal(exc)
                if refusal is not None:
                    if refused_before:
                        raise FeedbackRejected("refused_by_database", f"the database refused it: {refusal}") from None
                    refused_before = True
                    continue
                if self._stop.is_set():
                    raise
                self._wait_for_database(connection, exc, f"feedback {message_id}")

    def _apply(self, feedback: Feedback, message_id: str) -> tuple[Outcome, IncidentStatus | None]:
        """The outcome, and the incident's new status when this message changed it."""
        now = self._clock()
        action = feedback.action.incident_action
        with self._sessions() as session, session.begin():
            if not store.mark_processed(session, message_id, CONSUMER_NAME, now):
                return Outcome.DUPLICATE, None
            incident = session.get(Incident, feedback.incident_id, with_for_update=True)
            if incident is None:
                raise FeedbackRejected("unknown_incident", f"unknown incident {feedback.incident_id}")
            if incident.worker_id != feedback.worker_id:
                assignee = incident.worker_id or "nobody"
                raise FeedbackRejected("wrong_worker",
                                       f"incident {incident.id} is assigned to {assignee}, not {feedback.worker_id}")
            if already_done(incident.status, action):
                return Outcome.NO_CHANGE, None
            try:
                status = self._loop.act(session, incident, action, feedback.worker_id, now, feedback.note)
            except TransitionRefused as exc:
                raise FeedbackRejected("refused_transition", str(exc)) from None
        return Outcome.APPLIED, status

    def _dead_letter(self, channel: BlockingChannel, method: Basic.Deliver, properties: pika.BasicProperties,
                     body: bytes, rejection: FeedbackRejected) -> None:
        reason = str(rejection)
        headers = dict(properties.headers or {})
        headers.update({REASON_HEADER: reason, "x-aibrain-queue": self._topology.feedback_queue})
        copy = pika.BasicProperties(message_id=properties.message_id, content_type=properties.content_type,
                                    delivery_mode=pika.DeliveryMode.Persistent, headers=headers,
                                    type=properties.type, timestamp=properties.timestamp)
        channel.basic_publish(self._topology.dead_letter_exchange, "", body, properties=copy)
        channel.basic_ack(method.delivery_tag)
        self.stats.outcomes[Outcome.REJECTED] += 1
        self.stats.rejected[rejection.kind] += 1
        log.warning("feedback %s rejected to the dead-letter exchange: %s", properties.message_id, reason)

    def _sample_dead_letters(self, channel: BlockingChannel) -> None:
        declared = channel.queue_declare(self._topology.dead_letter_queue, passive=True)
        self.stats.dead_letter_depth = declared.method.message_count
