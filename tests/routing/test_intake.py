"""The routing intake on both databases: what was detected before a stop is still committed; a
value the database refuses is parked, not retried for ever; what the database was away for at the
stop is spooled and stored once at the next start."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from routing.broker.relay import OutboxRelay
from routing.broker.topology import Topology
from routing.incidents.database import make_engine, session_factory
from routing.incidents.intake import IntakeItem, RoutingIntake
from routing.incidents.migrate import upgrade_to_head
from routing.incidents.spool import Spool, decode
from routing.incidents.store import pending_count
from routing.incidents.tables import CameraEvent, Incident, IncidentEvent, OutboxMessage
from streams.health import CameraState, HealthEvent
from tests.conftest import AMQP_URL
from tests.helpers.services import PrivatePostgres, private_service
from tests.routing.helpers import DAYTIME, make_dispatcher, make_topology, violation, wait_until

TOPOLOGY = make_topology("t")


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


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.integration)], indirect=True)
def test_values_the_database_refuses_are_parked_and_the_items_behind_them_stored(
        sessions: sessionmaker[Session], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL refuses NUL in text, the alert contract a kind that is no code: each such item is
    parked with its reason, loudly, and the good violation behind them is stored at once."""
    spool = Spool(tmp_path / "spool")
    stop = threading.Event()
    intake = RoutingIntake(make_dispatcher(sessions, TOPOLOGY), stop, spool=spool)
    nul_zone = violation(zone="side\x00walk", track_id=1)
    refused: list[IntakeItem] = [nul_zone, dataclasses.replace(violation(track_id=2), class_name="bi\x00cycle"),
                                 violation(kind="Not A Kind", track_id=3),
                                 HealthEvent("cam-01", CameraState.OFFLINE, DAYTIME.timestamp(), "lost\x00")]
    good = violation("cam-02", track_id=4)
    for item in (*refused, good):
        intake.submit(item)
    with caplog.at_level(logging.ERROR, logger="routing.incidents.intake"):
        intake.start()
        try:
            assert wait_until(lambda: count(sessions, Incident) == 1), "the good violation waits behind a refused one"
        finally:
            stop.set()
            intake.join(10)

    with sessions() as session:
        assert session.get(Incident, good.id) is not None
    assert count(sessions, CameraEvent) == 0 and count(sessions, OutboxMessage) == 1
    assert intake.stats.parked == 4 and intake.stats.incidents == 1
    lines = [json.loads(line) for line in spool.parked_path.read_text(encoding="utf-8").splitlines()]
    assert [decode(json.dumps(line)) for line in lines] == refused
    assert all(line["reason"] for line in lines)
    assert "NUL" in lines[0]["reason"] and "kind" in lines[2]["reason"]
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 4
    assert f"violation {nul_zone.id} (camera cam-01 zone 'side\\x00walk' kind non_motor_parking)" in errors[0]
    assert "camera event (camera cam-01 state offline)" in errors[3]
    assert all(str(spool.parked_path) in error for error in errors)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    yield from private_service(PrivatePostgres, "a private PostgreSQL cluster")


@pytest.mark.integration
def test_what_the_database_was_away_for_at_stop_is_spooled_and_stored_once_at_the_next_start(
        private_postgres: PrivatePostgres, tmp_path: Path) -> None:
    upgrade_to_head(private_postgres.url)
    engine = make_engine(private_postgres.url)
    sessions = session_factory(engine)
    spool = Spool(tmp_path / "spool")

    def run_intake() -> tuple[RoutingIntake, threading.Event]:
        stop = threading.Event()
        intake = RoutingIntake(make_dispatcher(sessions, TOPOLOGY), stop, spool=spool)
        intake.start()
        return intake, stop

    intake, stop = run_intake()
    intake.submit(violation(track_id=1))
    assert wait_until(lambda: count(sessions, Incident) == 1)
    private_postgres.stop()
    unstored: list[IntakeItem] = [violation(track_id=2),
                                  HealthEvent("cam-01", CameraState.OFFLINE, DAYTIME.timestamp(), "gone"),
                                  violation(track_id=3)]
    for item in unstored:
        intake.submit(item)
    assert wait_until(lambda: intake.stats.write_retries >= 1), "the first item is in hand, its writes failing"
    stop.set()
    assert not intake.join(0.5), "with the database away, the intake never gives an incident up by itself"
    assert intake.spool_remaining() == 3
    assert intake.join(10), "once spooled, the intake ends"
    assert spool.load() == unstored

    private_postgres.start()
    for replay in ("first start", "a start after a crash mid-replay"):
        intake, stop = run_intake()
        assert intake.stats.replayed == 3, replay
        assert wait_until(lambda: not spool.path.exists()), f"{replay}: the spool is spent once all is stored"
        stop.set()
        assert intake.join(10) and intake.spool_remaining() == 0
        assert [count(sessions, model) for model in (Incident, IncidentEvent, OutboxMessage, CameraEvent)] == [
            3, 6, 3, 1], replay
        spool.save(unstored)  # as if the process died after storing, before the spool was cleared
    engine.dispose()
