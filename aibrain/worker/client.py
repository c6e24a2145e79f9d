"""A grid worker's connection to the broker: take what their queue holds into the local inbox, and
send accept / resolve feedback (as their own RabbitMQ user, which RabbitMQ checks)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pika

from aibrain.worker.inbox import InboxError, WorkerInbox
from routing.broker.connection import TlsFiles, connection_parameters
from routing.broker.topology import Topology
from routing.messages.feedback import Feedback, FeedbackAction

log = logging.getLogger(__name__)


class WorkerClient:
    """Short-lived connections: one per command, so a phone-like client holds nothing open.

    >>> client = WorkerClient("amqp://aibrain-worker-w-001:pw@mq/%2F", topology, "w-001")  # doctest: +SKIP
    >>> client.sync(inbox); client.send(incident_id, FeedbackAction.ACCEPT)                  # doctest: +SKIP
    """

    def __init__(self, amqp_url: str, topology: Topology, worker_id: str, tls: TlsFiles | None = None,
                 timeout_s: float = 10.0) -> None:
        self.url = amqp_url
        self.tls = tls
        self.topology = topology
        self.worker_id = worker_id
        self.timeout_s = timeout_s
        self.user = pika.URLParameters(amqp_url).credentials.username

    def _connect(self) -> pika.BlockingConnection:
        return pika.BlockingConnection(connection_parameters(self.url, tls=self.tls, timeout_s=self.timeout_s))

    def sync(self, inbox: WorkerInbox, idle_s: float = 1.0) -> int:
        """Take every message waiting on the worker's queue; returns how many were new.

        The inbox is saved before the messages are acknowledged: a crash in between delivers them
        again, and the inbox skips the copies. A message it cannot read is rejected, which sends
        it to the dead-letter queue instead of blocking the worker's queue.
        """
        connection = self._connect()
        try:
            channel = connection.channel()
            channel.basic_qos(prefetch_count=200)
            new, last_tag = 0, None
            for method, properties, body in channel.consume(self.topology.worker_queue(self.worker_id),
                                                            inactivity_timeout=idle_s):
                if method is None:
                    break
                try:
                    new += inbox.apply(properties.type, properties.message_id, body)
                except InboxError as exc:
                    log.warning("message %s on the worker queue rejected: %s", properties.message_id, exc)
                    channel.basic_reject(method.delivery_tag, requeue=False)
                    continue
                last_tag = method.delivery_tag
            inbox.save()
            if last_tag is not None:
                channel.basic_ack(last_tag, multiple=True)
            channel.cancel()
            return new
        finally:
            connection.close()

    def send(self, incident_id: str, action: FeedbackAction, note: str | None = None) -> str:
        """Publish one feedback message with publisher confirms; returns its message id."""
        feedback = Feedback(incident_id=incident_id, worker_id=self.worker_id, action=action, note=note,
                            at=datetime.now(UTC))
        message_id = str(uuid.uuid4())
        properties = pika.BasicProperties(
            message_id=message_id, user_id=self.user, type="feedback", content_type="application/json",
            content_encoding="utf-8", delivery_mode=pika.DeliveryMode.Persistent, app_id="aibrain-worker")
        connection = self._connect()
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish(self.topology.feedback_exchange, self.topology.worker_routing_key(self.worker_id),
                                  feedback.to_json().encode("utf-8"), properties=properties, mandatory=True)
        finally:
            connection.close()
        return message_id
