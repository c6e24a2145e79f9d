"""Acceptance (a): RabbitMQ stopped for 30 s and started, twice, while 500 incidents flow. Every
incident reaches its worker's queue (and the command centre): none lost, none duplicated once
consumers de-duplicate by message id. A private broker node is restarted, not the machine's own."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pika
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology
from routing.incidents.intake import RoutingIntake
from routing.incidents.store import pending_count
from routing.incidents.tables import Incident, MessageType, OutboxMessage
from tests.helpers.services import PrivateRabbitMQ, private_service
from tests.routing.helpers import DAYTIME, NIGHT, make_dispatcher, make_topology, violation, wait_until

pytestmark = pytest.mark.integration

INCIDENTS = 500
OUTAGE_S = 30
# i % 3 picks where an incident goes: the day worker, the night worker, or (no grid) the fallback queue.
ROUTES = [("cam-01", DAYTIME, "w-day"), ("cam-02", NIGHT, "w-night"), ("cam-03", DAYTIME, None)]


@pytest.fixture
def broker() -> Iterator[PrivateRabbitMQ]:
    yield from private_service(PrivateRabbitMQ, "a private RabbitMQ node")


def drain_all(url: str, topology: Topology) -> dict[str, list[str]]:
    """Message ids on each alert queue, duplicates included, as a consumer would receive them."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    received: dict[str, list[str]] = {}
    for queue, _ in topology.alert_bindings():
        ids = received.setdefault(queue, [])
        while True:
            method, properties, _ = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            ids.append(properties.message_id)
    connection.close()
    return received


def test_broker_stopped_twice_for_30_s_loses_and_duplicates_nothing(
        sessions: sessionmaker[Session], broker: PrivateRabbitMQ) -> None:
    topology = make_topology("outage")
    stop = threading.Event()
    relay = OutboxRelay(broker.url, sessions, topology, stop, backoff_max_s=4.0, poll_interval_s=0.2)
    intake = RoutingIntake(make_dispatcher(sessions, topology, wake=relay.wake), stop)
    relay.start()
    intake.start()

    def detect() -> None:  # a synthetic detector: a steady stream of confirmed violations
        for i in range(INCIDENTS):
            camera, at, _ = ROUTES[i % 3]
            zone = "sidewalk" if camera == "cam-02" else "gate"
            intake.submit(violation(camera, zone=zone, confirmed_at=at, track_id=i))
            time.sleep(0.14)

    def unsent() -> int:
        with sessions() as session:
            return pending_count(session)

    feeder = threading.Thread(target=detect, daemon=True)
    feeder.start()
    held_during_outage = []
    for _ in range(2):
        time.sleep(6)
        broker.stop()
        time.sleep(OUTAGE_S)
        held_during_outage.append(unsent())  # detection went on; the outbox holds what waits
        broker.start()
    feeder.join(120)
    assert wait_until(lambda: intake.pending() == 0 and unsent() == 0, timeout=90), f"{unsent()} unsent"
    stop.set()
    relay.join(10)
    intake.join(10)

    assert all(held > 20 for held in held_during_outage), held_during_outage
    with sessions() as session:
        expected: dict[str, set[str]] = {}
        for incident, message_id in session.execute(
                select(Incident, OutboxMessage.message_id)
                .join(OutboxMessage, OutboxMessage.headers["incident_id"].as_string() == Incident.id)
                .where(OutboxMessage.message_type == MessageType.ALERT)):
            queue = topology.worker_queue(incident.worker_id) if incident.worker_id else topology.fallback_queue
            expected.setdefault(queue, set()).add(message_id)
            expected.setdefault(topology.command_centre_queue, set()).add(message_id)
    assert sum(len(ids) for queue, ids in expected.items() if queue != topology.command_centre_queue) == INCIDENTS
    assert len(expected) == 4  # both workers, the fallback queue and the command centre

    received = drain_all(broker.url, topology)
    for queue, wanted in expected.items():
        got = received[queue]
        duplicates = sum(count - 1 for count in Counter(got).values())
        assert set(got) == wanted, f"{queue}: lost {len(wanted - set(got))}, unexpected {len(set(got) - wanted)}"
        print(f"{queue}: {len(wanted)} alerts, {duplicates} duplicate deliveries removed by message id")
    assert received[topology.worker_queue("w-day")] and received[topology.worker_queue("w-night")]
