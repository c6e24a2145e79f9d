"""RabbitMQ names and their idempotent, durable declaration: the alert exchange and its queues.

    <prefix>.alerts           topic exchange every alert is published to
    <prefix>.worker.<id>      one quorum queue per grid worker, bound with `worker.<id>`
    <prefix>.unassigned       fallback queue (name configurable), bound with `unassigned`
    <prefix>.command-centre   bound with `#`: sees every alert
    <prefix>.dead-letter      fanout exchange + queue for messages redelivered too often
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")  # no `*`/`#`: they would be wildcards
FALLBACK_ROUTING_KEY = "unassigned"


@dataclass(frozen=True, slots=True)
class Topology:
    """Exchange and queue names under one prefix, and the workers that get a queue.

    Quorum queues: durable, replicated on a cluster, and they count redeliveries, so a message
    that keeps crashing its consumer goes to the dead-letter queue after `delivery_limit` tries.

    >>> Topology(worker_ids=("w1",)).worker_queue("w1")
    'aibrain.worker.w1'
    """

    prefix: str = "aibrain"
    worker_ids: tuple[str, ...] = ()
    fallback_queue_name: str | None = None  # default: <prefix>.unassigned
    delivery_limit: int = 20

    def __post_init__(self) -> None:
        for worker_id in self.worker_ids:
            _check_id(worker_id)

    @property
    def queue_arguments(self) -> dict[str, Any]:
        # Must be identical on every declaration: RabbitMQ refuses a redeclare with other arguments.
        return {"x-queue-type": "quorum", "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dead_letter_exchange}

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dead-letter"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.dead-letter"

    @property
    def command_centre_queue(self) -> str:
        return f"{self.prefix}.command-centre"

    @property
    def fallback_queue(self) -> str:
        return self.fallback_queue_name or f"{self.prefix}.unassigned"

    def worker_queue(self, worker_id: str) -> str:
        return f"{self.prefix}.worker.{_check_id(worker_id)}"

    @staticmethod
    def worker_routing_key(worker_id: str) -> str:
        return f"worker.{_check_id(worker_id)}"

    def routing_key(self, worker_id: str | None) -> str:
        """Where an alert goes: the worker's key, or the fallback key when nobody is on duty."""
        return FALLBACK_ROUTING_KEY if worker_id is None else self.worker_routing_key(worker_id)

    def queues(self) -> list[str]:
        """Every alert queue this topology declares (the dead-letter queue excluded)."""
        return [*(self.worker_queue(w) for w in self.worker_ids), self.fallback_queue,
                self.command_centre_queue]


def _check_id(worker_id: str) -> str:
    if not _SAFE_ID.match(worker_id):
        raise ValueError(f"worker id {worker_id!r} cannot name a queue: use letters, digits and _ . : -")
    return worker_id


def declare_topology(channel: BlockingChannel, topology: Topology) -> None:
    """Declare exchanges, queues and bindings; safe to repeat (same names, same arguments)."""
    channel.exchange_declare(topology.dead_letter_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(topology.dead_letter_queue, topology.dead_letter_exchange)

    channel.exchange_declare(topology.exchange, exchange_type="topic", durable=True)
    bindings = [(topology.worker_queue(w), topology.worker_routing_key(w)) for w in topology.worker_ids]
    bindings += [(topology.fallback_queue, FALLBACK_ROUTING_KEY), (topology.command_centre_queue, "#")]
    for queue, key in bindings:
        channel.queue_declare(queue, durable=True, arguments=topology.queue_arguments)
        channel.queue_bind(queue, topology.exchange, routing_key=key)


def delete_topology(channel: BlockingChannel, topology: Topology) -> None:
    """Remove everything `declare_topology` made (tests and decommissioning); messages are lost."""
    for queue in [*topology.queues(), topology.dead_letter_queue]:
        channel.queue_delete(queue)
    channel.exchange_delete(topology.exchange)
    channel.exchange_delete(topology.dead_letter_exchange)
