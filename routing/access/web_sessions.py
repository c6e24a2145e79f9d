"""Sign-in sessions of the workbench: a random token in the browser's cookie, its sha256 in the
database, a CSRF token beside it; they end when idle too long, when too old, or when the user is disabled."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, CursorResult, delete, or_
from sqlalchemy.orm import Session

from routing.access.access_tables import User, WebSession

# Touching last_seen_at on every request would make each page view a write; a minute is precise enough.
TOUCH_EVERY = timedelta(minutes=1)


def token_id(token: str) -> str:
    """The stored id of a session token: its sha256, so the table alone signs nobody in.

    >>> token_id("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, user: User, at: datetime, address: str | None) -> tuple[str, str]:
    """A new session for `user`: (token for the cookie, CSRF token for the pages' forms)."""
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(WebSession(id=token_id(token), user_id=user.id, csrf_token=csrf_token, created_at=at,
                           last_seen_at=at, address=address))
    return token, csrf_token


def find_session(session: Session, token: str, at: datetime, idle: timedelta,
                 absolute: timedelta) -> tuple[WebSession, User] | None:
    """The live session of `token` and its user, or None when unknown, idle for `idle` or longer, opened
    `absolute` or longer ago, or its user disabled; a session found ended is deleted."""
    row = session.get(WebSession, token_id(token))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled or _expired(row, at, idle, absolute):
        session.delete(row)
        return None
    if at - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = at
    return row, user


def _expired(row: WebSession, at: datetime, idle: timedelta, absolute: timedelta) -> bool:
    return at - row.last_seen_at >= idle or at - row.created_at >= absolute


def close_session(session: Session, token: str) -> None:
    """Sign out: the session of `token` ends (nothing happens when there is none)."""
    _delete_where(session, WebSession.id == token_id(token))


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every session of a user (a new password, disabled); how many there were."""
    return _delete_where(session, WebSession.user_id == user_id)


def purge_expired(session: Session, at: datetime, idle: timedelta, absolute: timedelta) -> int:
    """Delete the sessions that have ended by `at` and nobody came back to; how many."""
    return _delete_where(session, or_(WebSession.last_seen_at <= at - idle, WebSession.created_at <= at - absolute))


def _delete_where(session: Session, condition: ColumnElement[bool]) -> int:
    result = session.execute(delete(WebSession).where(condition))
    assert isinstance(result, CursorResult)  # a DML statement's result is a cursor's
    return result.rowcount
