"""Before the relay publishes, the queue a message is addressed to must exist and be bound.

The command centre's queue is bound with `#`, so every alert is routable and `mandatory` never
fires for a worker's, an escalation target's or the fallback queue deleted by hand: the message
would reach the command centre alone and its row be marked sent. So the relay checks the queue
first and recreates it, loudly, when it is gone.
"""

from __future__ import annotations

import logging

import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from routing.broker.topology import Topology

log = logging.getLogger(__name__)

NOT_FOUND = 404  # AMQP reply code of a passive declare of a missing queue


class DestinationRefused(Exception):
    """The broker refused to check, recreate or bind a message's queue (e.g. 403 ACCESS_REFUSED)."""


class DestinationQueues:
    """Makes sure the queue bound with a message's routing key exists, on one connection.

    Checks run on a channel of their own: a passive declare of a missing queue closes its channel,
    and the relay's publishing channel (in confirm mode) must outlive that. Every check also
    re-binds the queue (idempotent), so a binding removed by hand comes back as well.

    >>> queues = DestinationQueues(connection, Topology(worker_ids=("w1",)))  # doctest: +SKIP
    >>> queues.ensure("aibrain.alerts", "worker.w1")  # True: it was missing and is recreated  # doctest: +SKIP
    True
    """

    def __init__(self, connection: BlockingConnection, topology: Topology) -> None:
        self._connection = connection
        self._topology = topology
        # routing key -> queue; the command centre's `#` is no one destination
        self._queues = {key: queue for queue, key in topology.alert_bindings()
                        if queue != topology.command_centre_queue}
        self._channel: BlockingChannel | None = None

    def queue_for(self, exchange: str, routing_key: str) -> str | None:
        """The topology's queue for this routing key on its alerts exchange; None for anything else."""
        return self._queues.get(routing_key) if exchange == self._topology.exchange else None

    def ensure(self, exchange: str, routing_key: str) -> bool:
        """Check (and bind) the message's queue; True when it was missing and has been recreated.

        Raises `DestinationRefused` when the broker refuses the check, the declare or the bind (e.g.
        403), and `ChannelClosedByBroker` (404) when the exchange itself is gone.
        """
        queue = self.queue_for(exchange, routing_key)
        if queue is None:
            return False
        recreated = False
        try:
            try:
                self._open_channel().queue_declare(queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != NOT_FOUND:
                    raise
                self._open_channel().queue_declare(queue, durable=True, arguments=self._topology.queue_arguments)
                recreated = True
            self._open_channel().queue_bind(queue, exchange, routing_key=routing_key)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == NOT_FOUND:
                raise  # the exchange is gone: a transient error, the relay reconnects and declares the topology
            raise DestinationRefused(f"queue {queue}: {exc.reply_code} {exc.reply_text}") from None
        if recreated:
            log.error("queue %s was missing (deleted by hand?): recreated and bound with %s, so its messages "
                      "land again; whatever it held before is lost (the command centre's queue has a copy)",
                      queue, routing_key)
        return recreated

    def _open_channel(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self._channel = self._connection.channel()
        return self._channel
