"""RabbitMQ names and their idempotent, durable declaration: exchanges, queues, bindings, users.

    <prefix>.alerts             topic exchange: alerts, incident updates and escalations
    <prefix>.worker.<id>        one quorum queue per grid worker, bound with `worker.<id>`
    <prefix>.escalation.<id>    one quorum queue per escalation target (grid leader, community,
                                street centre...), bound with `escalation.<id>`
    <prefix>.unassigned         fallback queue (name configurable), bound with `unassigned`
    <prefix>.command-centre     bound with `#`: sees every alert, update and escalation
    <prefix>.feedback           topic exchange for workers' accept / resolve, keyed `worker.<id>`
    <prefix>.pipeline.feedback  quorum queue bound to it with `worker.#` (an id may hold dots, and
                                `*` matches one word only), consumed by the pipeline (a name apart
                                from the exchange's, so permissions can tell them apart)
    <prefix>.dead-letter        fanout exchange + queue: messages redelivered too often, and
                                feedback the pipeline rejected (header `x-aibrain-reason`)

Each worker connects as their own RabbitMQ user, `<prefix>-worker-<id>` (see `worker_user`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

# No `*`/`#`: they would be wildcards in a binding. A dot splits a routing key into words; bindings
# with a whole id match it exactly, and each worker's topic permission allows only their own key.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_SAFE_ID = re.compile(ID_PATTERN)
FALLBACK_ROUTING_KEY = "unassigned"
FEEDBACK_BINDING = "worker.#"  # every worker's key, `worker.<id>`, dotted ids included


@dataclass(frozen=True, slots=True)
class Topology:
    """Exchange, queue and user names under one prefix, for the workers and escalation targets.

    Quorum queues: durable, replicated on a cluster, and they count redeliveries, so a message
    that keeps crashing its consumer goes to the dead-letter queue after `delivery_limit` tries.

    >>> Topology(worker_ids=("w1",)).worker_queue("w1")
    'aibrain.worker.w1'
    """

    prefix: str = "aibrain"
    worker_ids: tuple[str, ...] = ()
    fallback_queue_name: str | None = None  # default: <prefix>.unassigned
    delivery_limit: int = 20
    escalation_targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (*self.worker_ids, *self.escalation_targets):
            _check_id(name)

    @property
    def queue_arguments(self) -> dict[str, Any]:
        # Must be identical on every declaration: RabbitMQ refuses a redeclare with other arguments.
        return {"x-queue-type": "quorum", "x-delivery-limit": self.delivery_limit,
                "x-dead-letter-exchange": self.dead_letter_exchange}

    @property
    def exchange(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def feedback_exchange(self) -> str:
        return f"{self.prefix}.feedback"

    @property
    def feedback_queue(self) -> str:
        return f"{self.prefix}.pipeline.feedback"

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

    def worker_user(self, worker_id: str) -> str:
        """The RabbitMQ user a worker connects as; feedback must carry it as `user_id`."""
        return f"{self.prefix}-worker-{_check_id(worker_id)}"

    @staticmethod
    def worker_routing_key(worker_id: str) -> str:
        return f"worker.{_check_id(worker_id)}"

    def escalation_queue(self, target: str) -> str:
        return f"{self.prefix}.escalation.{_check_id(target)}"

    @staticmethod
    def escalation_routing_key(target: str) -> str:
        return f"escalation.{_check_id(target)}"

    def routing_key(self, worker_id: str | None) -> str:
        """Where an alert goes: the worker's key, or the fallback key when nobody is on duty."""
        return FALLBACK_ROUTING_KEY if worker_id is None else self.worker_routing_key(worker_id)

    def alert_bindings(self) -> list[tuple[str, str]]:
        """(queue, routing key) of every queue bound to the alerts exchange."""
        bindings = [(self.worker_queue(w), self.worker_routing_key(w)) for w in self.worker_ids]
        bindings += [(self.escalation_queue(t), self.escalation_routing_key(t)) for t in self.escalation_targets]
        return [*bindings, (self.fallback_queue, FALLBACK_ROUTING_KEY), (self.command_centre_queue, "#")]

    def queues(self) -> list[str]:
        """Every queue this topology declares (the dead-letter queue excluded)."""
        return [*(queue for queue, _ in self.alert_bindings()), self.feedback_queue]


def _check_id(name: str) -> str:
    if not _SAFE_ID.fullmatch(name):  # not match: its `$` would let a trailing newline through
        raise ValueError(f"id {name!r} cannot name a queue: use letters, digits and _ . : -")
    return name


def declare_topology(channel: BlockingChannel, topology: Topology) -> None:
    """Declare exchanges, queues and bindings; safe to repeat (same names, same arguments)."""
    channel.exchange_declare(topology.dead_letter_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(topology.dead_letter_queue, topology.dead_letter_exchange)

    channel.exchange_declare(topology.exchange, exchange_type="topic", durable=True)
    for queue, key in topology.alert_bindings():
        channel.queue_declare(queue, durable=True, arguments=topology.queue_arguments)
        channel.queue_bind(queue, topology.exchange, routing_key=key)

    channel.exchange_declare(topology.feedback_exchange, exchange_type="topic", durable=True)
    channel.queue_declare(topology.feedback_queue, durable=True, arguments=topology.queue_arguments)
    channel.queue_bind(topology.feedback_queue, topology.feedback_exchange, routing_key=FEEDBACK_BINDING)


def delete_topology(channel: BlockingChannel, topology: Topology) -> None:
    """Remove everything `declare_topology` made (tests and decommissioning); messages are lost."""
    for queue in [*topology.queues(), topology.dead_letter_queue]:
        channel.queue_delete(queue)
    for exchange in (topology.exchange, topology.feedback_exchange, topology.dead_letter_exchange):
        channel.exchange_delete(exchange)
