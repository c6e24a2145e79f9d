"""What each RabbitMQ user of a topology may do: permission regexes for the pipeline and workers.

RabbitMQ grants per virtual host three regexes matched against exchange and queue names alike:
`configure` (declare, delete), `write` (publish to an exchange; bind a queue, as its destination)
and `read` (consume or get from a queue; bind, as the source exchange; declare a queue that has a
dead-letter exchange, together with write on that exchange). Topic permissions narrow the routing
keys a user may publish with on a topic exchange. The default exchange is checked as `amq.default`.

A worker may read its own queue and publish to the feedback exchange with its own routing key,
nothing else; the broker also checks that feedback's `user_id` is the worker's user. The pipeline
may declare the topology, publish to the alerts and dead-letter exchanges and consume the
pipeline's feedback queue; it cannot publish feedback (the feedback exchange is outside its write)
nor use the default exchange.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from routing.broker.topology import Topology

NOTHING = "^$"  # matches no exchange or queue: the default exchange is `amq.default` to permissions


@dataclass(frozen=True, slots=True)
class Permissions:
    configure: str
    write: str
    read: str


@dataclass(frozen=True, slots=True)
class TopicPermission:
    exchange: str
    write: str  # routing keys the user may publish with
    read: str


@dataclass(frozen=True, slots=True)
class UserGrant:
    """One user's permissions on the topology's virtual host."""

    user: str
    permissions: Permissions
    topic: TopicPermission | None = None


def names_regex(*names: str, families: tuple[str, ...] = ()) -> str:
    """A regex matching exactly `names`, and any name that starts with one of `families`.

    >>> names_regex("a.alerts", families=("a.worker.",))
    '^(?:a\\\\.alerts|a\\\\.worker\\\\..+)$'
    """
    alternatives = [re.escape(name) for name in dict.fromkeys(names)]  # dead-letter: exchange and queue
    alternatives += [re.escape(family) + ".+" for family in families]
    return "^(?:" + "|".join(alternatives) + ")$"


def family(name_of: Callable[[str], str]) -> str:
    """The start shared by every name `name_of` makes: `<prefix>.worker.` for `Topology.worker_queue`."""
    return name_of("x")[:-1]


def worker_grant(topology: Topology, worker_id: str) -> UserGrant:
    """Consume the worker's own queue; publish feedback keyed `worker.<id>`; declare nothing."""
    return UserGrant(
        user=topology.worker_user(worker_id),
        permissions=Permissions(configure=NOTHING, write=names_regex(topology.feedback_exchange),
                                read=names_regex(topology.worker_queue(worker_id))),
        topic=TopicPermission(topology.feedback_exchange, write=names_regex(topology.worker_routing_key(worker_id)),
                              read=NOTHING))


def pipeline_grant(topology: Topology, user: str) -> UserGrant:
    """Declare and bind the topology, publish alerts and dead letters, consume the feedback queue.

    Worker and escalation queues are matched as families (`<prefix>.worker.` + anything), so a
    worker or escalation target added later needs no new grant for the pipeline.
    """
    families = (family(topology.worker_queue), family(topology.escalation_queue))
    queues = (topology.fallback_queue, topology.command_centre_queue, topology.feedback_queue,
              topology.dead_letter_queue)
    exchanges = (topology.exchange, topology.feedback_exchange, topology.dead_letter_exchange)
    return UserGrant(user=user, permissions=Permissions(
        configure=names_regex(*exchanges, *queues, families=families),
        # queues as binding destinations; of the exchanges only alerts and dead-letter, never feedback
        write=names_regex(topology.exchange, topology.dead_letter_exchange, *queues, families=families),
        # exchanges as binding sources; queues to consume, and to declare them with a dead-letter exchange
        read=names_regex(*exchanges, *queues, families=families)))
