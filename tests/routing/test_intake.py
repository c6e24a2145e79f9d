"""The routing intake on both databases: what was detected before a stop is still committed."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from routing.intake import RoutingIntake
from routing.relay import OutboxRelay
from routing.schema import CameraEvent, Incident, OutboxMessage
from routing.store import pending_count
from routing.topology import Topology
from streams.health import CameraState, HealthEvent
from tests.conftest import AMQP_URL
from tests.routing.helpers import DAYTIME, make_dispatcher, violation


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_stop_commits_every_incident_already_handed_over(sessions: sessionmaker[Session],
                                                         topology: Topology) -> None:
    """SIGTERM sets `stop` for every role at once: the intake still writes what is queued, and the
    outbox keeps whatever the relay had not published, for the next start."""
    stop = threading.Event()
    relay = OutboxRelay(AMQP_URL, sessions, topology, stop, poll_interval_s=0.1)
    intake = RoutingIntake(make_dispatcher(sessions, topology, wake=relay.wake), stop)
    for i in range(40):
        intake.submit(violation(track_id=i))
    intake.submit(HealthEvent("cam-01", CameraState.OFFLINE, DAYTIME.timestamp(), "stream ended"))
    relay.start()
    intake.start()
    stop.set()  # at once: most of the queue is still in memory
    intake.join(60)
    relay.join(10)

    assert intake.pending() == 0
    assert count(sessions, Incident) == 40 and count(sessions, CameraEvent) == 1
    with sessions() as session:
        unsent = pending_count(session)
    assert count(sessions, OutboxMessage) == 40
    assert relay.published + unsent == 40, "each alert published or still in the outbox, none lost"
