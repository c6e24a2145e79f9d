"""The incident store's tables: incidents, their audit trail, the outbox, and camera health."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from streams.health import CameraState

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no 64-bit SERIAL; its INTEGER PRIMARY KEY is the rowid and autoincrements.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC and returned as aware UTC on every backend.

    PostgreSQL keeps the offset itself (timestamptz); SQLite stores naive text, so the UTC zone
    is put back on read. Naive datetimes are refused: an instant without a zone is a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; give it a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IncidentStatus(StrEnum):
    """The closed loop: detected -> dispatched -> accepted -> resolved -> verified (or reopened).

    `verification_pending`: resolved, but the camera could not look again yet; retried, never closed
    silently. `false_alarm` (误报): closed by the command centre as no violation at all; an end like
    verified, counted apart. `routing.incidents.lifecycle.TRANSITIONS` says which action leads from
    which status to which.
    """

    DETECTED = "detected"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    VERIFICATION_PENDING = "verification_pending"
    VERIFIED = "verified"
    REOPENED = "reopened"
    FALSE_ALARM = "false_alarm"


class IncidentAction(StrEnum):
    """What moved an incident: the verb of an audit row and of an incident update message."""

    DETECT = "detect"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RESOLVE = "resolve"
    VERIFY = "verify"
    REOPEN = "reopen"
    DEFER_VERIFICATION = "defer_verification"
    ESCALATE = "escalate"
    # The command centre's actions (routing.incidents.interventions).
    REASSIGN = "reassign"
    EXTEND = "extend"
    FALSE_ALARM = "false_alarm"
    # A grid worker asks for more time (延期申请); a leader approves it (an EXTEND by the approver) or
    # refuses it. Both keep the status (routing.incidents.extension_requests).
    REQUEST_EXTENSION = "request_extension"
    REFUSE_EXTENSION = "refuse_extension"


class MessageType(StrEnum):
    """The AMQP `type` of what the pipeline publishes: consumers tell the bodies apart by it."""

    ALERT = "alert"
    INCIDENT_UPDATE = "incident_update"


def str_enum(enum: type[StrEnum], name: str, length: int = 24) -> Enum:
    """A column type for a StrEnum (routing.access's tables use it too): a VARCHAR holding the value,
    no CHECK or native type, so adding a state needs no ALTER TYPE."""
    return Enum(enum, name=name, native_enum=False, create_constraint=False, length=length,
                values_callable=lambda members: [m.value for m in members])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Incident(Base):
    """One violation of one object, followed from detection until verified."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # a code of the taxonomy
    kind_label: Mapped[str] = mapped_column(String(64), server_default="")  # its 中文 label when detected
    status: Mapped[IncidentStatus] = mapped_column(str_enum(IncidentStatus, "incident_status"))
    camera_id: Mapped[str] = mapped_column(String(64))
    camera_name: Mapped[str] = mapped_column(String(255))
    zone: Mapped[str] = mapped_column(String(64))
    grid_id: Mapped[str | None] = mapped_column(String(64))
    worker_id: Mapped[str | None] = mapped_column(String(64))
    object_kind: Mapped[str] = mapped_column(String(64))
    class_name: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int] = mapped_column(BigInteger)
    confidence: Mapped[float] = mapped_column(Float)
    bbox: Mapped[list[float]] = mapped_column(JSON)
    frame_size: Mapped[list[int]] = mapped_column(JSON)
    first_seen: Mapped[datetime]
    confirmed_at: Mapped[datetime]
    snapshot: Mapped[str | None] = mapped_column(String(1024))
    # The same frame clean (no drawing), beside the snapshot with its detections' sidecar: training data.
    frame: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime]
    # The closed loop. Due times are the escalation clock: they move on when a limit is missed
    # (escalation), the incident reopens or is reassigned, or a deadline is extended.
    accept_due: Mapped[datetime | None]
    resolve_due: Mapped[datetime | None]
    # The deadlines promised at dispatch, which on-time figures are measured against: moved only
    # by an approved extension, never by escalation, reopening or reassignment.
    accept_by: Mapped[datetime | None]
    resolve_by: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolved_at: Mapped[datetime | None]
    verification_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_check_at: Mapped[datetime | None]  # when a pending verification is tried again
    # Why it was closed as a false alarm: a routing.incidents.false_alarms.FalseAlarmReason code.
    false_alarm_reason: Mapped[str | None] = mapped_column(String(32))

    # The incident list filters on one of these columns and sorts by confirmed_at: each index serves
    # both (and the column's lookups alone, as its leading column).
    __table_args__ = (
        Index("ix_incidents_confirmed_at", "confirmed_at"),
        Index("ix_incidents_created_at", "created_at"),  # assessment periods are by dispatch time
        Index("ix_incidents_camera_id_confirmed_at", "camera_id", "confirmed_at"),
        Index("ix_incidents_status_confirmed_at", "status", "confirmed_at"),
        Index("ix_incidents_grid_id_confirmed_at", "grid_id", "confirmed_at"),
        Index("ix_incidents_worker_id_confirmed_at", "worker_id", "confirmed_at"),
        Index("ix_incidents_kind_confirmed_at", "kind", "confirmed_at"),
    )


class IncidentEvent(Base):
    """Audit row: one state transition of an incident, who made it and when."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    action: Mapped[IncidentAction] = mapped_column(str_enum(IncidentAction, "incident_action"))
    from_status: Mapped[IncidentStatus | None] = mapped_column(str_enum(IncidentStatus, "incident_status"))
    to_status: Mapped[IncidentStatus] = mapped_column(str_enum(IncidentStatus, "incident_status"))
    actor: Mapped[str] = mapped_column(String(80))  # a worker id, a role, or "user:<username>" from the web
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
    # A reassignment's worker before it: their phone is told the incident left them, and an action they
    # queued offline is refused as "reassigned" rather than "not found".
    from_worker_id: Mapped[str | None] = mapped_column(String(64))

    # Assessment counts actions (reopened, extended, false alarms...) over a period.
    __table_args__ = (Index("ix_incident_events_action_at", "action", "at"),)


class OutboxMessage(Base):
    """A message to publish, written in the same transaction as the change it announces.

    The relay publishes rows whose `sent_at` is NULL, oldest first, and sets `sent_at` only
    after the broker confirms; `message_id` travels as the AMQP message id for de-duplication.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    message_type: Mapped[MessageType] = mapped_column(str_enum(MessageType, "message_type"),
                                                      server_default=MessageType.ALERT.value)
    exchange: Mapped[str] = mapped_column(String(255))
    routing_key: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)

    # Partial index: the relay's scan touches only unsent rows, however large the sent history.
    __table_args__ = (
        Index("ix_outbox_messages_unsent", "id",
              postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    )


class ProcessedMessage(Base):
    """A consumed message whose effect is committed: redelivered copies are acknowledged, not
    applied again (consumers de-duplicate by `message_id` in the same transaction as the effect)."""

    __tablename__ = "processed_messages"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(32))
    processed_at: Mapped[datetime]


class CameraEvent(Base):
    """A camera's health changed (online, stalled, offline...), as reported by its source."""

    __tablename__ = "camera_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[CameraState] = mapped_column(str_enum(CameraState, "camera_state", 16))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (Index("ix_camera_events_camera_id_at", "camera_id", "at"),)
