"""Incident store writes and reads. Each takes a session and never commits: the caller owns the
unit of work, so an incident, its audit rows and its outbox message commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.incidents.tables import (
    CameraEvent,
    Incident,
    IncidentAction,
    IncidentEvent,
    IncidentStatus,
    MessageType,
    OutboxMessage,
    ProcessedMessage,
)
from streams.health import CameraState


def add_incident(session: Session, incident: Incident) -> Incident:
    session.add(incident)
    return incident


def add_transition(session: Session, incident_id: str, action: IncidentAction, from_status: IncidentStatus | None,
                   to_status: IncidentStatus, actor: str, at: datetime, note: str | None = None,
                   from_worker_id: str | None = None) -> None:
    """Record one step of an incident (the audit trail): what was done, by whom, when, from, to
    (`from_worker_id`: a reassignment's worker before it)."""
    session.add(IncidentEvent(incident_id=incident_id, action=action, from_status=from_status,
                              to_status=to_status, actor=actor, at=at, note=note, from_worker_id=from_worker_id))


def add_outbox_message(session: Session, message_id: str, exchange: str, routing_key: str, body: str,
                       headers: dict[str, Any], created_at: datetime,
                       message_type: MessageType = MessageType.ALERT) -> None:
    session.add(OutboxMessage(message_id=message_id, message_type=message_type, exchange=exchange,
                              routing_key=routing_key, body=body, headers=headers, created_at=created_at,
                              attempts=0))


def mark_processed(session: Session, message_id: str, consumer: str, at: datetime) -> bool:
    """Record a consumed message in the caller's transaction; False if it was processed before.

    The caller applies the message's effect only when this returns True, and commits both together.
    """
    if session.get(ProcessedMessage, message_id) is not None:
        return False
    session.add(ProcessedMessage(message_id=message_id, consumer=consumer, processed_at=at))
    return True


def add_camera_event(session: Session, camera_id: str, state: CameraState, at: datetime, reason: str) -> bool:
    """Record a camera's state change; False if it is stored already.

    A change is its camera, state and instant: the same one handed over again (a retry after a
    commit whose reply was lost, a replay of the intake's spool) is kept once.
    """
    stored = select(CameraEvent.id).where(CameraEvent.camera_id == camera_id, CameraEvent.state == state,
                                          CameraEvent.at == at).limit(1)
    if session.scalar(stored) is not None:
        return False
    session.add(CameraEvent(camera_id=camera_id, state=state, at=at, reason=reason))
    return True


def unsent_messages(session: Session, limit: int, skip_ids: Collection[int] = ()) -> list[OutboxMessage]:
    """The oldest unsent outbox rows but those of `skip_ids`, locked for this transaction where the
    backend can.

    On PostgreSQL, `SKIP LOCKED` lets relays on several nodes share one outbox without
    publishing a row twice; SQLite serialises writers anyway and ignores the clause.
    """
    query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    if skip_ids:
        query = query.where(OutboxMessage.id.not_in(skip_ids))
    query = query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    return list(session.scalars(query))


def pending_count(session: Session) -> int:
    """How many outbox messages still wait for the broker (a health metric)."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    return session.scalar(query) or 0
