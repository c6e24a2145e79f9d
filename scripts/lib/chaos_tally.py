"""The chaos run's verdict: is every violation the detector confirmed exactly one incident and
exactly one alert in its worker's queue?

Violations come from the run's log (the intake's `violation <id> confirmed: …` line), incidents
from the database (an incident's id is its violation's id), alerts from the queues (read after the
outbox has drained). A worker's queue may hold one alert twice under the same message id (the
relay publishes at least once; consumers de-duplicate by message id): that is a redelivery, not a
duplicate. A duplicate is a second alert with another message id, an incident no violation line
names, or an alert for no known incident.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pika
from sqlalchemy import select

from routing.broker.topology import Topology
from routing.incidents.database import make_engine
from routing.incidents.tables import Incident, MessageType

from .chaos_site import QUEUE_PREFIX, WORKERS

VIOLATION_LINE = re.compile(r"violation (?P<id>[0-9a-f-]{36}) confirmed: camera (?P<camera>\S+) zone (?P<zone>\S+)")


@dataclass(frozen=True)
class Alert:
    """One alert message found in a queue."""

    queue: str
    message_id: str
    incident_id: str


def confirmed_violations(log_text: str) -> dict[str, str]:
    """Violation id -> camera, from the intake's log lines (a violation logged twice counts once)."""
    return {match["id"]: match["camera"] for match in VIOLATION_LINE.finditer(log_text)}


def stored_incidents(database: str) -> dict[str, str | None]:
    """Incident id -> the worker it was dispatched to (None: the fallback queue)."""
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            return {row.id: row.worker_id for row in connection.execute(select(Incident.id, Incident.worker_id))}
    finally:
        engine.dispose()


def queued_alerts(broker: str, queues: list[str]) -> list[Alert]:
    """Every alert waiting in `queues`, taken off them (other message types are left out)."""
    connection = pika.BlockingConnection(pika.URLParameters(broker))
    try:
        channel = connection.channel()
        alerts = []
        for queue in queues:
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    break
                if properties.type == MessageType.ALERT.value:
                    alerts.append(Alert(queue, str(properties.message_id), json.loads(body)["incident_id"]))
        return alerts
    finally:
        connection.close()


@dataclass
class Tally:
    """The figures of the verdict, with a line naming each loss and each duplicate."""

    violations: int = 0
    incidents: int = 0
    alerts: Counter[str] = field(default_factory=Counter)  # queue -> alerts (distinct message ids)
    redelivered: int = 0  # copies of an alert under a message id already counted
    lost: list[str] = field(default_factory=list)  # one line per loss
    duplicated: list[str] = field(default_factory=list)  # one line per duplicate
    command_centre: int = 0  # distinct alerts in the command centre's queue, which sees them all


def check(log_text: str, database: str, broker: str) -> Tally:
    """The run's violations against the incidents in `database` and the alerts in `broker`'s queues
    (taken off them)."""
    topology = Topology(prefix=QUEUE_PREFIX, worker_ids=tuple(WORKERS))
    queues = [*(topology.worker_queue(worker) for worker in WORKERS), topology.fallback_queue]
    alerts = queued_alerts(broker, [*queues, topology.command_centre_queue])
    result = tally(confirmed_violations(log_text), stored_incidents(database),
                   [alert for alert in alerts if alert.queue in queues], topology)
    result.command_centre = len({a.message_id for a in alerts if a.queue == topology.command_centre_queue})
    return result


def tally(violations: dict[str, str], incidents: dict[str, str | None], alerts: list[Alert],
          topology: Topology) -> Tally:
    """Each violation against its incident and against the alerts in the worker queues and the
    fallback queue (the command centre's copy of every alert is counted apart by the caller)."""
    result = Tally(violations=len(violations), incidents=len(incidents))
    message_ids: dict[str, set[tuple[str, str]]] = defaultdict(set)  # incident -> {(queue, message id)}
    seen: set[tuple[str, str]] = set()
    for alert in alerts:
        key = (alert.queue, alert.message_id)
        if key in seen:
            result.redelivered += 1
            continue
        seen.add(key)
        result.alerts[alert.queue] += 1
        message_ids[alert.incident_id].add(key)
    for violation_id, camera in sorted(violations.items()):
        if violation_id not in incidents:
            result.lost.append(f"violation {violation_id} (camera {camera}): no incident")
            continue
        worker = incidents[violation_id]
        queue = topology.worker_queue(worker) if worker else topology.fallback_queue
        sent = message_ids.pop(violation_id, set())
        in_place = sorted(key for key in sent if key[0] == queue)[:1]
        others = sorted(sent - set(in_place))
        if not in_place:
            result.lost.append(f"violation {violation_id} (camera {camera}): no alert in {queue}"
                               + (f", one in {others[0][0]}" if others else ""))
            others = others[1:]  # a misrouted alert is the loss above; only the ones after it are extra
        result.duplicated += [f"violation {violation_id}: another alert, {message_id} in {q}"
                              for q, message_id in others]
    unnamed = [incident for incident in incidents if incident not in violations]
    result.duplicated += [f"incident {incident} named by no violation line" for incident in unnamed]
    result.duplicated += [f"alert {message_id} in {queue} for unknown incident {incident}"
                          for incident, sent in message_ids.items() if incident not in incidents
                          for queue, message_id in sorted(sent)]
    return result
