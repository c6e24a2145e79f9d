from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.exc import StatementError

import routing.access.access_tables  # noqa: F401 - its tables join Base.metadata
import routing.incidents.field_tables  # noqa: F401 - its tables join Base.metadata
from routing.incidents.database import make_engine, session_factory
from routing.incidents.migrate import alembic_config, upgrade_to_head
from routing.incidents.tables import Base, Incident, IncidentEvent, IncidentStatus

TABLES = {"incidents", "incident_events", "outbox_messages", "camera_events", "processed_messages",
          "users", "web_sessions", "audit_log", "incident_photos", "extension_requests", "alembic_version"}


def test_upgrade_creates_the_tables_and_matches_the_models(db_url: str) -> None:
    upgrade_to_head(db_url)
    upgrade_to_head(db_url)  # idempotent: already at head
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0007"
            indexes = {i["name"] for i in inspect(connection).get_indexes("outbox_messages")}
            assert "ix_outbox_messages_unsent" in indexes
            # What `alembic check` does: autogenerate finds nothing between models and database.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            command.check(alembic_config(connection))
    finally:
        engine.dispose()


def test_sqlite_pragmas(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/p.db", busy_timeout_s=7)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("PRAGMA journal_mode")) == "wal"
            assert connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert connection.scalar(text("PRAGMA busy_timeout")) == 7000
    finally:
        engine.dispose()


def test_plain_postgresql_url_gets_psycopg3() -> None:
    engine = make_engine("postgresql://postgres@127.0.0.1/none")
    assert engine.dialect.driver == "psycopg"
    with pytest.raises(ValueError, match="unsupported database backend"):
        make_engine("mysql://x@y/z")


def test_datetimes_round_trip_timezone_aware_utc(db_url: str) -> None:
    upgrade_to_head(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    shanghai_time = datetime(2024, 6, 3, 10, 0, 0, 123000, tzinfo=timezone(timedelta(hours=8)))
    try:
        with sessions() as session, session.begin():
            session.add(Incident(
                id="i-1", kind="piling", status=IncidentStatus.DETECTED, camera_id="c",
                camera_name="C", zone="z", grid_id=None, worker_id=None, object_kind="o",
                class_name="k", track_id=1, confidence=0.5, bbox=[1, 2, 3, 4], frame_size=[640, 480],
                first_seen=shanghai_time, confirmed_at=shanghai_time, snapshot=None,
                created_at=shanghai_time,
            ))
        with sessions() as session:
            loaded = session.scalars(select(Incident)).one()
            assert loaded.confirmed_at == shanghai_time
            assert loaded.confirmed_at.tzinfo == UTC
            assert loaded.confirmed_at.hour == 2
            assert loaded.kind == "piling" and loaded.status is IncidentStatus.DETECTED
            assert loaded.bbox == [1, 2, 3, 4]
        with sessions() as session, pytest.raises(StatementError, match="naive datetime"):
            session.add(Incident(id="i-2", first_seen=datetime(2024, 6, 3), kind="piling"))
            session.flush()
    finally:
        engine.dispose()


def test_upgrade_creates_a_missing_sqlite_folder(tmp_path: Path) -> None:
    database = tmp_path / "var" / "nested" / "aibrain.db"
    upgrade_to_head(f"sqlite:///{database}")
    assert database.is_file()


def test_rows_of_the_first_schema_carry_over(db_url: str) -> None:
    """An incident stored by revision 0001 reads back under the newest schema: its audit rows get
    their actions, the incident its kind's label."""
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.execute(text(
                "INSERT INTO incidents (id, kind, status, camera_id, camera_name, zone, object_kind, class_name, "
                "track_id, confidence, bbox, frame_size, first_seen, confirmed_at, created_at) VALUES ('i-1', "
                "'motor_parking', 'dispatched', 'c', 'C', 'z', 'motor_vehicle', 'car', 1, 0.9, '[1,2,3,4]', "
                "'[640,480]', :at, :at, :at)"), {"at": datetime(2024, 6, 3, 2, 0)})
            for from_status, to_status in ((None, "detected"), ("detected", "dispatched")):
                connection.execute(text("INSERT INTO incident_events (incident_id, from_status, to_status, actor, at) "
                                        "VALUES ('i-1', :f, :t, 'x', :at)"),
                                   {"f": from_status, "t": to_status, "at": datetime(2024, 6, 3, 2, 0)})
        upgrade_to_head(db_url)
        with session_factory(engine)() as session:
            incident = session.get(Incident, "i-1")
            assert incident is not None and incident.kind_label == "机动车乱停放"
            assert incident.escalation_level == 0 and incident.accept_due is None
            actions = session.scalars(select(IncidentEvent.action).order_by(IncidentEvent.id)).all()
            assert actions == ["detect", "dispatch"]
    finally:
        engine.dispose()


def test_0004_backfills_the_promised_deadlines_and_indexes_the_incident_list(db_url: str) -> None:
    """Deadlines promised start as the due times stored before; the list's filters each get an index
    ending in confirmed_at, which replaces the single-column ones; and 0004 undoes cleanly."""
    engine = make_engine(db_url)
    due = datetime(2024, 6, 3, 2, 15)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0003")
            for incident_id, accept_due in (("i-1", due), ("i-2", None)):
                connection.execute(text(
                    "INSERT INTO incidents (id, kind, status, camera_id, camera_name, zone, object_kind, class_name, "
                    "track_id, confidence, bbox, frame_size, first_seen, confirmed_at, created_at, accept_due, "
                    "resolve_due) VALUES (:id, 'piling', 'dispatched', 'c', 'C', 'z', 'o', 'k', 1, 0.9, '[1,2,3,4]', "
                    "'[640,480]', :at, :at, :at, :accept, :resolve)"),
                    {"id": incident_id, "at": datetime(2024, 6, 3, 2, 0), "accept": accept_due,
                     "resolve": accept_due and accept_due + timedelta(hours=2)})
            command.upgrade(alembic_config(connection), "0004")
            indexes = {tuple(i["column_names"]) for i in inspect(connection).get_indexes("incidents")}
            assert {("confirmed_at",), ("status", "confirmed_at"), ("grid_id", "confirmed_at"),
                    ("worker_id", "confirmed_at"), ("kind", "confirmed_at"), ("camera_id", "confirmed_at")} <= indexes
            assert not {("status",), ("grid_id",), ("worker_id",)} & indexes, "made redundant"
            assert ("action", "at") in {tuple(i["column_names"]) for i in inspect(connection).get_indexes(
                "incident_events")}
            command.downgrade(alembic_config(connection), "0003")
            assert "accept_by" not in {c["name"] for c in inspect(connection).get_columns("incidents")}
        upgrade_to_head(db_url)
        with session_factory(engine)() as session:
            first, second = session.get(Incident, "i-1"), session.get(Incident, "i-2")
            assert first is not None and second is not None
            assert (first.accept_by, first.resolve_by) == (due.replace(tzinfo=UTC),
                                                           due.replace(tzinfo=UTC) + timedelta(hours=2))
            assert (second.accept_by, second.resolve_by) == (None, None)
    finally:
        engine.dispose()


def add_incident_row(connection: Connection, at: datetime, status: str = "dispatched",
                     snapshot: str | None = None) -> None:
    """Incident i-1 as revisions 0003 to 0006 store it (with its kind's label and escalation level)."""
    connection.execute(text(
        "INSERT INTO incidents (id, kind, kind_label, status, camera_id, camera_name, zone, object_kind, "
        "class_name, track_id, confidence, bbox, frame_size, first_seen, confirmed_at, created_at, "
        "escalation_level, snapshot) VALUES ('i-1', 'piling', '堆物', :status, 'c', 'C', 'z', 'o', 'k', 1, 0.9, "
        "'[1,2,3,4]', '[640,480]', :at, :at, :at, 0, :snapshot)"), {"at": at, "status": status, "snapshot": snapshot})


def test_0006_keeps_the_audit_rows_and_undoes_cleanly(db_url: str) -> None:
    """Audit rows stored before 0006 carry over with no previous worker (SQLite rebuilds the table to add
    the column); 0006 undoes cleanly, its tables gone and the rows still there, and applies again."""
    engine = make_engine(db_url)
    at = datetime(2024, 6, 3, 2, 0)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0005")
            add_incident_row(connection, at)
            connection.execute(text("INSERT INTO incident_events (incident_id, action, from_status, to_status, actor, "
                                    "at) VALUES ('i-1', 'reassign', 'dispatched', 'dispatched', 'x', :at)"), {"at": at})
            command.upgrade(alembic_config(connection), "0006")
            assert connection.execute(text("SELECT action, from_worker_id FROM incident_events")).all() == [
                ("reassign", None)]
            command.downgrade(alembic_config(connection), "0005")
            assert not {"incident_photos", "extension_requests"} & set(inspect(connection).get_table_names())
            assert "from_worker_id" not in {c["name"] for c in inspect(connection).get_columns("incident_events")}
            assert connection.scalar(text("SELECT count(*) FROM incident_events")) == 1
        upgrade_to_head(db_url)
    finally:
        engine.dispose()


def test_0007_adds_the_frame_and_the_false_alarm_reason_and_undoes_cleanly(db_url: str) -> None:
    """Incidents stored before 0007 carry over with no clean frame and no reason; the new columns take a
    frame path and a reason's code; 0007 undoes cleanly, the rows still there, and applies again."""
    engine = make_engine(db_url)
    at = datetime(2024, 6, 3, 2, 0)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0006")
            add_incident_row(connection, at, status="false_alarm", snapshot="evidence/c/a.jpg")
            command.upgrade(alembic_config(connection), "0007")
            assert connection.execute(text("SELECT snapshot, frame, false_alarm_reason FROM incidents")).all() == [
                ("evidence/c/a.jpg", None, None)]
            connection.execute(text("UPDATE incidents SET frame = :frame, false_alarm_reason = 'wrong_object'"),
                               {"frame": "evidence/c/a.frame.jpg"})
            command.downgrade(alembic_config(connection), "0006")
            columns = {c["name"] for c in inspect(connection).get_columns("incidents")}
            assert not {"frame", "false_alarm_reason"} & columns and "snapshot" in columns
            assert connection.execute(text("SELECT id, snapshot FROM incidents")).all() == [("i-1", "evidence/c/a.jpg")]
        upgrade_to_head(db_url)
        with session_factory(engine)() as session:
            incident = session.get(Incident, "i-1")
            assert incident is not None and (incident.frame, incident.false_alarm_reason) == (None, None)
    finally:
        engine.dispose()
