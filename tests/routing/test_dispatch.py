from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from common.backoff import Backoff
from routing.broker.topology import Topology
from routing.incidents.dispatch import Dispatcher
from routing.incidents.intake import RoutingIntake
from routing.incidents.store import pending_count
from routing.incidents.tables import CameraEvent, Incident, IncidentEvent, IncidentStatus, OutboxMessage
from routing.messages.alert import AlertMessage
from streams.health import CameraState, HealthEvent
from tests.routing.helpers import (
    CAMERAS,
    DAYTIME,
    LIMITS,
    NIGHT,
    SHANGHAI,
    make_dispatcher,
    make_grids,
    make_roster,
    violation,
    wait_until,
)

TOPOLOGY = Topology(prefix="t", worker_ids=("w-day", "w-night"))


def counts(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return [session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Incident, IncidentEvent, OutboxMessage)]


def test_dispatch_writes_incident_audit_and_outbox_together(sessions: sessionmaker[Session]) -> None:
    woken: list[int] = []
    dispatcher = make_dispatcher(sessions, TOPOLOGY, wake=lambda: woken.append(1))

    result = dispatcher.dispatch(violation("cam-01", confirmed_at=DAYTIME, kind="motor_parking"))

    assert (result.grid_id, result.worker_id) == ("g-east", "w-day")
    assert woken == [1]
    with sessions() as session:
        incident = session.get_one(Incident, result.incident_id)
        assert incident.status is IncidentStatus.DISPATCHED
        assert (incident.grid_id, incident.worker_id) == ("g-east", "w-day")
        assert incident.camera_name == "东街口 1 号"
        assert incident.confirmed_at == DAYTIME and incident.confirmed_at.tzinfo == UTC
        assert incident.bbox == [10.0, 20.5, 110.0, 220.0] and incident.frame_size == [1920, 1080]
        assert incident.snapshot == "evidence/cam-01/7.jpg"
        events = session.scalars(select(IncidentEvent).order_by(IncidentEvent.id)).all()
        assert [(e.from_status, e.to_status, e.actor) for e in events] == [
            (None, IncidentStatus.DETECTED, "detector"),
            (IncidentStatus.DETECTED, IncidentStatus.DISPATCHED, "router"),
        ]
        outbox = session.scalars(select(OutboxMessage)).one()
        assert (outbox.message_id, outbox.exchange, outbox.routing_key) == (
            result.dispatch_id, "t.alerts", "worker.w-day")
        assert outbox.sent_at is None and outbox.attempts == 0
        assert pending_count(session) == 1

    alert = AlertMessage.model_validate_json(outbox.body)
    assert alert.incident_id == result.incident_id and alert.dispatch_id == result.dispatch_id
    assert alert.kind == "motor_parking" and alert.kind_label_zh == "机动车乱停放"
    assert '"kind_label_zh":"机动车乱停放"' in outbox.body  # UTF-8, not \u escapes
    body = json.loads(outbox.body)
    # Site-local times with their offset; due-by from the per-kind limits (5 / 30 minutes).
    assert body["confirmed_at"] == "2024-06-03T10:00:00+08:00"
    assert body["due_by"] == {"accept": "2024-06-03T10:05:00+08:00", "resolve": "2024-06-03T10:30:00+08:00"}
    assert body["location"] == {"lon": 121.005, "lat": 31.005}
    assert body["worker_name"] == "张三" and body["grid_name"] == "东街网格"
    assert body["schema_version"] == 1


def test_zone_grid_wins_and_nobody_on_duty_goes_to_fallback(sessions: sessionmaker[Session]) -> None:
    dispatcher = make_dispatcher(sessions, TOPOLOGY)
    by_zone = dispatcher.dispatch(violation("cam-02", "sidewalk", confirmed_at=NIGHT))
    assert (by_zone.grid_id, by_zone.worker_id) == ("g-west", "w-night")
    nobody = dispatcher.dispatch(violation("cam-01", confirmed_at=NIGHT))
    assert (nobody.grid_id, nobody.worker_id) == ("g-east", None)
    no_grid = dispatcher.dispatch(violation("cam-03"))
    assert (no_grid.grid_id, no_grid.worker_id) == (None, None)
    with sessions() as session:
        keys = {m.message_id: m.routing_key for m in session.scalars(select(OutboxMessage))}
    assert keys == {by_zone.dispatch_id: "worker.w-night", nobody.dispatch_id: "unassigned",
                    no_grid.dispatch_id: "unassigned"}


def test_unknown_zone_grid_is_refused_at_construction(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="g-nowhere"):
        Dispatcher(sessions, make_roster(), {("cam-02", "x"): "g-nowhere"}, make_grids(), CAMERAS, LIMITS,
                   TOPOLOGY, SHANGHAI)


def _fail_outbox_inserts(sessions: sessionmaker[Session]) -> None:
    """A real database failure on the transaction's last write, by trigger (no mocks)."""
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox_messages "
                                 "BEGIN SELECT RAISE(ABORT, 'outbox is down'); END"))
        else:
            session.execute(text("CREATE FUNCTION outbox_down() RETURNS trigger LANGUAGE plpgsql AS "
                                 "$$ BEGIN RAISE EXCEPTION 'outbox is down'; END $$"))
            session.execute(text("CREATE TRIGGER outbox_down BEFORE INSERT ON outbox_messages "
                                 "FOR EACH ROW EXECUTE FUNCTION outbox_down()"))


def test_a_failing_commit_leaves_neither_incident_nor_message(sessions: sessionmaker[Session]) -> None:
    woken: list[int] = []
    dispatcher = make_dispatcher(sessions, TOPOLOGY, wake=lambda: woken.append(1))
    _fail_outbox_inserts(sessions)

    with pytest.raises(DBAPIError, match="outbox is down"):
        dispatcher.dispatch(violation())

    assert counts(sessions) == [0, 0, 0]
    assert woken == []  # the relay is not woken for what was never committed


def test_camera_events_are_kept_without_credentials(sessions: sessionmaker[Session]) -> None:
    dispatcher = make_dispatcher(sessions, TOPOLOGY)
    dispatcher.record_camera_event(HealthEvent("cam-01", CameraState.OFFLINE, 1_717_380_000.0,
                                               "cannot open rtsp://admin:hunter2@10.0.0.7/live"))
    with sessions() as session:
        event = session.scalars(select(CameraEvent)).one()
    assert event.state is CameraState.OFFLINE
    assert event.at == datetime.fromtimestamp(1_717_380_000.0, UTC)
    assert "hunter2" not in event.reason and "rtsp://***@10.0.0.7/live" in event.reason


def test_dispatching_a_violation_again_stores_it_once(sessions: sessionmaker[Session]) -> None:
    """A retry after an ambiguous commit, or a replay of the spool, hands the same violation over
    again: one incident (with the violation's id), one outbox row, the same result."""
    dispatcher = make_dispatcher(sessions, TOPOLOGY)
    confirmed = violation()

    first = dispatcher.dispatch(confirmed)
    again = dispatcher.dispatch(confirmed)

    assert again == first
    assert first.incident_id == confirmed.id
    assert counts(sessions) == [1, 2, 1]
    other = dispatcher.dispatch(violation())
    assert other.incident_id != first.incident_id and other.dispatch_id != first.dispatch_id
    assert counts(sessions) == [2, 4, 2]


def test_a_commit_that_succeeded_but_reported_an_error_is_retried_into_one_incident(
        sessions: sessionmaker[Session]) -> None:
    """The database committed, then the client saw an error (the connection dropped before the reply):
    the intake retries, and the retry must find the incident rather than make a second one."""
    failures: list[str] = []

    def fail_once_after_commit(_session: Session) -> None:
        if not failures:
            failures.append("reported")
            raise OperationalError("COMMIT", None, ConnectionResetError("connection lost after commit"))

    event.listen(sessions, "after_commit", fail_once_after_commit)
    stop = threading.Event()
    intake = RoutingIntake(make_dispatcher(sessions, TOPOLOGY), stop, backoff=Backoff(initial=1.0, maximum=1.0))
    intake.submit(violation())
    intake.start()
    try:
        assert wait_until(lambda: intake.stats.incidents == 1)
    finally:
        stop.set()
        intake.join(10)

    assert failures == ["reported"] and intake.stats.write_retries == 1
    assert counts(sessions) == [1, 2, 1]


def test_a_camera_event_handed_over_again_is_kept_once(sessions: sessionmaker[Session]) -> None:
    dispatcher = make_dispatcher(sessions, TOPOLOGY)
    offline = HealthEvent("cam-01", CameraState.OFFLINE, 1_717_380_000.25, "stream ended")
    dispatcher.record_camera_event(offline)
    dispatcher.record_camera_event(offline)
    dispatcher.record_camera_event(HealthEvent("cam-01", CameraState.ONLINE, 1_717_380_000.25, ""))
    dispatcher.record_camera_event(HealthEvent("cam-02", CameraState.OFFLINE, 1_717_380_000.25, "stream ended"))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CameraEvent)) == 3
