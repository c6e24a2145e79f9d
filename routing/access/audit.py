"""The audit log: one row per action a person takes, written in the action's own transaction."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from routing.access.access_tables import ACTOR_LENGTH, TARGET_LENGTH, AuditEntry


class AuditAction(StrEnum):
    """What was done, as the audit log's `action` names it; the web's actions on incidents and cameras add
    theirs here."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    PASSWORD_CHANGED = "password_changed"


def record(session: Session, at: datetime, username: str, action: AuditAction | str, target: str,
           detail: str | None = None, address: str | None = None) -> AuditEntry:
    """Add an audit row (the caller commits it with the action). What was typed (a failed sign-in's name can
    be anything) is stored, never refused: cut to its column, a NUL (which PostgreSQL refuses) replaced."""
    entry = AuditEntry(at=at, username=_storable(username)[:ACTOR_LENGTH], action=str(action),
                       target=_storable(target)[:TARGET_LENGTH],
                       detail=None if detail is None else _storable(detail), address=address)
    session.add(entry)
    return entry


def _storable(text: str) -> str:
    return text.replace("\x00", "\N{REPLACEMENT CHARACTER}")
