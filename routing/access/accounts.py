"""Accounts: adding users, changing passwords, disabling, signing in, and the first admin.

Functions take the caller's session and never commit; the caller audits the change in the same
transaction (`routing.access.audit.record`).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from routing.access.access_tables import DISPLAY_NAME_LENGTH, USERNAME_LENGTH, User
from routing.access.passwords import generate_password, hash_password, needs_rehash, verify_nobody, verify_password
from routing.access.roles import Role, scope_problem
from routing.access.web_sessions import end_user_sessions
from routing.assign.organisation import Level

USERNAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.@-]{{0,{USERNAME_LENGTH - 1}}}")
MIN_PASSWORD_LENGTH = 10
FIRST_ADMIN = "admin"


class AccountError(ValueError):
    """A refused change, naming the field at fault (username, password, role, scope, worker_id) so a
    command line or a form can point at it.

    >>> str(AccountError("scope", "no such street", value="street:外滩街"))
    'scope street:外滩街: no such street'
    """

    def __init__(self, field: str, reason: str, value: str | None = None) -> None:
        self.field, self.reason, self.value = field, reason, value
        super().__init__(f"{field} {value}: {reason}" if value is not None else f"{field}: {reason}")


def add_user(session: Session, username: str, password: str, role: Role | str, scope: str, at: datetime,
             worker_id: str | None = None, display_name: str | None = None) -> User:
    """A new, enabled user; AccountError when a field is refused or the username is taken (`check_new_user`)."""
    role = check_new_user(session, username, role, scope, worker_id, display_name)
    _check_password(username, password)
    user = User(username=username, display_name=display_name or username, role=role, scope=scope,
                worker_id=worker_id, password_hash=hash_password(password), created_at=at,
                password_changed_at=at, last_login_at=None, disabled_at=None)
    session.add(user)
    session.flush()  # the id, for sessions opened in the same transaction
    return user


def check_new_user(session: Session, username: str, role: Role | str, scope: str, worker_id: str | None,
                   display_name: str | None = None) -> Role:
    """The role, when a user with these fields can be added; else AccountError naming the first field at fault.

    A worker user must name their worker id (the roster's); other roles must not. Whether the scope's
    street, community or grid and the worker exist is the site's to say: the caller checks them.
    """
    if not USERNAME.fullmatch(username):
        raise AccountError("username", "use 1 to 64 letters, digits and _ . @ -, starting with a letter or digit",
                           value=repr(username))
    try:
        role = Role(role)
    except ValueError:
        raise AccountError("role", f"not a role; roles: {', '.join(Role)}", value=repr(role)) from None
    if (problem := scope_problem(role, scope)) is not None:
        raise AccountError("scope", problem, value=scope)
    if role is Role.WORKER and not worker_id:
        raise AccountError("worker_id", "a worker user needs the worker id they act as")
    if role is not Role.WORKER and worker_id:
        raise AccountError("worker_id", f"only worker users act as a worker, not a {role.value}", value=worker_id)
    if display_name is not None and len(display_name) > DISPLAY_NAME_LENGTH:
        raise AccountError("display_name", f"longer than {DISPLAY_NAME_LENGTH} characters")
    if session.scalar(select(exists().where(User.username == username))):
        raise AccountError("username", "already taken", value=username)
    return role


def set_password(session: Session, username: str, password: str, at: datetime) -> User:
    """A new password for `username`; every browser signed in as them is signed out."""
    user = find_user(session, username)
    _check_password(username, password)
    user.password_hash = hash_password(password)
    user.password_changed_at = at
    end_user_sessions(session, user.id)
    return user


def disable_user(session: Session, username: str, at: datetime) -> User:
    """`username` can no longer sign in, and is signed out everywhere; their rows stay (audit, incidents)."""
    user = find_user(session, username)
    if user.disabled_at is None:
        user.disabled_at = at
    end_user_sessions(session, user.id)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def authenticate(session: Session, username: str, password: str, at: datetime) -> User | None:
    """The user when the password is theirs and they are enabled, else None (one answer for all three, in
    about the same time: an unknown username costs a verification too). Notes the sign-in time and moves
    a hash made with older parameters to today's."""
    user = _user_named(session, username)
    if user is None:
        verify_nobody(password)
        return None
    if not verify_password(user.password_hash, password) or user.disabled:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = at
    return user


def ensure_first_admin(session: Session, at: datetime) -> str | None:
    """With no user at all, add "admin" (the admin role, the whole district) with a generated password and
    return that password, to be shown once; None when users exist."""
    if session.scalar(select(User.id).limit(1)) is not None:
        return None
    password = generate_password()
    add_user(session, FIRST_ADMIN, password, Role.ADMIN, Level.DISTRICT.value, at)
    return password


def find_user(session: Session, username: str) -> User:
    """The user named `username`; AccountError when there is none."""
    user = _user_named(session, username)
    if user is None:
        raise AccountError("username", "no such user", value=username)
    return user


def _user_named(session: Session, username: str) -> User | None:
    # A name no user can have is not looked up: typed into the sign-in form it may hold a NUL, which
    # PostgreSQL refuses with an error rather than finding nothing.
    if not USERNAME.fullmatch(username):
        return None
    return session.scalar(select(User).where(User.username == username))


def _check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"too short; use at least {MIN_PASSWORD_LENGTH} characters")
    if password.casefold() == username.casefold():
        raise AccountError("password", "must not be the username")
