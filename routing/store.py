"""Incident store writes and reads. Each takes a session and never commits: the caller owns the
unit of work, so an incident, its audit rows and its outbox message commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.schema import CameraEvent, Incident, IncidentEvent, IncidentStatus, OutboxMessage
from streams.health import CameraState


def add_incident(session: Session, incident: Incident) -> Incident:
    session.add(incident)
    return incident


def add_transition(session: Session, incident_id: str, from_status: IncidentStatus | None,
                   to_status: IncidentStatus, actor: str, at: datetime, note: str | None = None) -> None:
    """Record one state change of an incident (the audit trail)."""
    session.add(IncidentEvent(incident_id=incident_id, from_status=from_status, to_status=to_status,
                              actor=actor, at=at, note=note))


def add_outbox_message(session: Session, message_id: str, exchange: str, routing_key: str, body: str,
                       headers: dict[str, Any], created_at: datetime) -> None:
    session.add(OutboxMessage(message_id=message_id, exchange=exchange, routing_key=routing_key,
                              body=body, headers=headers, created_at=created_at, attempts=0))


def add_camera_event(session: Session, camera_id: str, state: CameraState, at: datetime, reason: str) -> None:
    session.add(CameraEvent(camera_id=camera_id, state=state, at=at, reason=reason))


def unsent_messages(session: Session, limit: int) -> list[OutboxMessage]:
    """The oldest unsent outbox rows, locked for this transaction where the backend can.

    On PostgreSQL, `SKIP LOCKED` lets relays on several nodes share one outbox without
    publishing a row twice; SQLite serialises writers anyway and ignores the clause.
    """
    query = (select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
             .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True))
    return list(session.scalars(query))


def pending_count(session: Session) -> int:
    """How many outbox messages still wait for the broker (a health metric)."""
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    return session.scalar(query) or 0
