"""Accounts, passwords, web sessions and the audit log on each database backend."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.access.access_tables import AuditEntry, User, WebSession
from routing.access.accounts import (
    AccountError,
    add_user,
    authenticate,
    disable_user,
    ensure_first_admin,
    list_users,
    set_password,
)
from routing.access.audit import AuditAction, record
from routing.access.passwords import hash_password, needs_rehash, verify_password
from routing.access.roles import Role
from routing.access.web_sessions import close_session, find_session, open_session, purge_expired, token_id

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=12)
PASSWORD = "correct horse battery"


def add_centre(session: Session, username: str = "zhang.wei") -> User:
    return add_user(session, username, PASSWORD, Role.CENTRE, "street:外滩街道", T0, display_name="张伟")


def test_password_hashes_are_argon2id_and_verify_only_their_password() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert stored != hash_password(PASSWORD)  # salted afresh
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + " ")
    assert not verify_password("not a hash", PASSWORD) and not verify_password("", PASSWORD)
    assert not needs_rehash(stored)
    assert needs_rehash(PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD))
    assert needs_rehash("not a hash")


@pytest.mark.parametrize(("role", "scope", "worker_id"), [
    (Role.WORKER, "grid:G-01", "w-001"),
    (Role.WORKER, "community:外滩街道/中山社区", "w-001"),
    (Role.LEADER, "grid:G-01", None),
    (Role.LEADER, "community:外滩街道/中山社区", None),
    (Role.CENTRE, "street:外滩街道", None),
    (Role.CENTRE, "district", None),
    (Role.ADMIN, "district", None),
])
def test_each_role_is_added_at_the_levels_it_may_hold(sessions: sessionmaker[Session], role: Role, scope: str,
                                                       worker_id: str | None) -> None:
    with sessions() as session, session.begin():
        add_user(session, "u1", PASSWORD, role.value, scope, T0, worker_id=worker_id)
    with sessions() as session:
        [user] = list_users(session)
        assert (user.username, user.display_name, user.role, user.scope, user.worker_id) == \
            ("u1", "u1", role, scope, worker_id)
        assert user.created_at == user.password_changed_at == T0
        assert user.last_login_at is None and not user.disabled
        assert verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize(("username", "password", "role", "scope", "worker_id", "field", "message"), [
    ("", PASSWORD, "centre", "district", None, "username", "username '': use 1 to 64 letters"),
    ("-x", PASSWORD, "centre", "district", None, "username", "starting with a letter or digit"),
    ("a" * 65, PASSWORD, "centre", "district", None, "username", "1 to 64"),
    ("张伟", PASSWORD, "centre", "district", None, "username", "letters, digits"),
    ("bob", "short", "centre", "district", None, "password", "password: too short; use at least 10"),
    ("bob.the.builder", "Bob.The.Builder", "centre", "district", None, "password", "must not be the username"),
    ("bob", PASSWORD, "boss", "district", None, "role", "role 'boss': not a role; roles: worker, leader, centre"),
    ("bob", PASSWORD, "centre", "grid:G-01", None, "scope",
     "scope grid:G-01: a centre user is scoped to a street or district, not a grid"),
    ("bob", PASSWORD, "admin", "street:外滩街道", None, "scope", "scoped to a district, not a street"),
    ("bob", PASSWORD, "leader", "district", None, "scope", "scoped to a grid or community, not a district"),
    ("bob", PASSWORD, "leader", "community:外滩街道", None, "scope", "not a scope; give"),
    ("bob", PASSWORD, "leader", "grid:", None, "scope", "not a scope"),
    ("bob", PASSWORD, "centre", "town:x", None, "scope", "not a scope"),
    ("bob", PASSWORD, "worker", "grid:G-01", None, "worker_id", "needs the worker id"),
    ("bob", PASSWORD, "leader", "grid:G-01", "w-001", "worker_id", "only worker users act as a worker"),
])
def test_a_refused_user_names_the_field(sessions: sessionmaker[Session], username: str, password: str, role: str,
                                        scope: str, worker_id: str | None, field: str, message: str) -> None:
    with sessions() as session, session.begin():
        with pytest.raises(AccountError, match=message) as refused:
            add_user(session, username, password, role, scope, T0, worker_id=worker_id)
        assert refused.value.field == field
        assert list_users(session) == []


def test_a_username_is_taken_once(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        add_centre(session)
    with sessions() as session, session.begin(), pytest.raises(AccountError, match="zhang.wei: already taken"):
        add_centre(session)


def test_authenticate_signs_in_only_an_enabled_user_with_their_password(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        add_centre(session)
        add_centre(session, "li.si")
    later = T0 + timedelta(hours=1)
    with sessions() as session, session.begin():
        assert authenticate(session, "zhang.wei", "wrong password", later) is None
        assert authenticate(session, "nobody", PASSWORD, later) is None
        assert authenticate(session, "Zhang.Wei", PASSWORD, later) is None  # usernames are exact
        assert authenticate(session, "zhang\x00wei", PASSWORD, later) is None  # PostgreSQL refuses a NUL
        user = authenticate(session, "zhang.wei", PASSWORD, later)
        assert user is not None and user.username == "zhang.wei"
        disable_user(session, "li.si", later)
    with sessions() as session, session.begin():
        assert {u.username: u.last_login_at for u in list_users(session)} == {"li.si": None, "zhang.wei": later}
        assert authenticate(session, "li.si", PASSWORD, later) is None
        assert session.scalars(select(User.username).where(User.disabled)).all() == ["li.si"]


def test_a_hash_with_older_parameters_is_replaced_at_sign_in(sessions: sessionmaker[Session]) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with sessions() as session, session.begin():
        add_centre(session).password_hash = weak
    with sessions() as session, session.begin():
        assert authenticate(session, "zhang.wei", PASSWORD, T0) is not None
    with sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
        assert stored != weak and not needs_rehash(stored) and verify_password(stored, PASSWORD)


def test_set_password_checks_it_and_ends_the_users_sessions(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        token, _ = open_session(session, add_centre(session), T0, "10.0.0.1")
        other, _ = open_session(session, add_centre(session, "li.si"), T0, "10.0.0.2")
    with sessions() as session, session.begin():
        with pytest.raises(AccountError, match="too short"):
            set_password(session, "zhang.wei", "123", T0)
        with pytest.raises(AccountError, match="username nobody: no such user"):
            set_password(session, "nobody", PASSWORD, T0)
        set_password(session, "zhang.wei", "a new passphrase", T0 + timedelta(minutes=5))
    with sessions() as session, session.begin():
        assert find_session(session, token, T0 + timedelta(minutes=6), IDLE, ABSOLUTE) is None
        assert find_session(session, other, T0 + timedelta(minutes=6), IDLE, ABSOLUTE) is not None
        assert authenticate(session, "zhang.wei", PASSWORD, T0) is None
        user = authenticate(session, "zhang.wei", "a new passphrase", T0)
        assert user is not None and user.password_changed_at == T0 + timedelta(minutes=5)


def test_a_disabled_user_is_signed_out_everywhere(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        user = add_centre(session)
        tokens = [open_session(session, user, T0, None)[0] for _ in range(2)]
    with sessions() as session, session.begin():
        disable_user(session, "zhang.wei", T0 + timedelta(minutes=1))
        disable_user(session, "zhang.wei", T0 + timedelta(minutes=2))  # again: still disabled since the first
    with sessions() as session, session.begin():
        assert all(find_session(session, t, T0 + timedelta(minutes=3), IDLE, ABSOLUTE) is None for t in tokens)
        assert session.scalars(select(WebSession)).all() == []
        assert list_users(session)[0].disabled_at == T0 + timedelta(minutes=1)


def test_a_session_stores_only_its_tokens_hash_and_is_found_by_the_token(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        user = add_centre(session)
        token, csrf = open_session(session, user, T0, "192.0.2.7")
        second, second_csrf = open_session(session, user, T0, "192.0.2.7")
    assert len(token) >= 43 and len(csrf) >= 43 and len({token, csrf, second, second_csrf}) == 4
    with sessions() as session, session.begin():
        rows = session.scalars(select(WebSession)).all()
        assert hashlib.sha256(token.encode()).hexdigest() in {row.id for row in rows}
        assert not any(token in (row.id, row.csrf_token) or second == row.id for row in rows)
        found = find_session(session, token, T0 + timedelta(minutes=10), IDLE, ABSOLUTE)
        assert found is not None
        row, found_user = found
        assert (found_user.username, row.csrf_token, row.address) == ("zhang.wei", csrf, "192.0.2.7")
        assert find_session(session, token + "x", T0, IDLE, ABSOLUTE) is None
        assert find_session(session, "", T0, IDLE, ABSOLUTE) is None


def test_a_session_ends_when_idle_and_at_its_absolute_limit(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        user = add_centre(session)
        idle, _ = open_session(session, user, T0, None)
        busy, _ = open_session(session, user, T0, None)
    # `busy` is used every 20 minutes: never idle for 30, yet it ends 12 hours after it opened.
    at = T0
    while at + timedelta(minutes=20) < T0 + ABSOLUTE:
        at += timedelta(minutes=20)
        with sessions() as session, session.begin():
            assert find_session(session, busy, at, IDLE, ABSOLUTE) is not None, at
    with sessions() as session, session.begin():
        assert find_session(session, busy, T0 + ABSOLUTE, IDLE, ABSOLUTE) is None
        assert find_session(session, idle, T0 + IDLE, IDLE, ABSOLUTE) is None
    with sessions() as session:
        assert session.scalars(select(WebSession)).all() == []  # both deleted when found ended


def test_last_seen_is_written_at_most_once_a_minute(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        token, _ = open_session(session, add_centre(session), T0, None)
    for seconds in (30, 59, 61, 90):
        with sessions() as session, session.begin():
            find_session(session, token, T0 + timedelta(seconds=seconds), IDLE, ABSOLUTE)
        with sessions() as session:
            last_seen = session.scalars(select(WebSession.last_seen_at)).one()
            assert last_seen == (T0 if seconds < 60 else T0 + timedelta(seconds=61)), seconds


def test_close_session_and_purge_expired(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        user = add_centre(session)
        closed, _ = open_session(session, user, T0, None)
        open_session(session, user, T0, None)  # idle by T0 + IDLE
        old_but_busy, _ = open_session(session, user, T0 - ABSOLUTE, None)
        fresh, _ = open_session(session, user, T0 + IDLE, None)
    with sessions() as session, session.begin():
        busy = session.get(WebSession, token_id(old_but_busy))
        assert busy is not None
        busy.last_seen_at = T0 + IDLE  # in use, yet past its 12 hours
        close_session(session, closed)
        close_session(session, "never issued")
    with sessions() as session, session.begin():
        assert purge_expired(session, T0 + IDLE, IDLE, ABSOLUTE) == 2
        assert purge_expired(session, T0 + IDLE, IDLE, ABSOLUTE) == 0
    with sessions() as session:
        assert session.scalars(select(WebSession.id)).all() == [token_id(fresh)]


def test_audit_rows_record_who_did_what(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        record(session, T0, "cli:root", AuditAction.USER_ADDED, "zhang.wei", "role centre, scope district")
        record(session, T0 + timedelta(seconds=1), "x" * 500, AuditAction.LOGIN_FAILED, "y" * 500,
               address="2001:db8::1")
        record(session, T0 + timedelta(seconds=2), "a\x00b", "login_throttled", "user:a\x00b", "c\x00")
    with sessions() as session:
        added, failed, throttled = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert (added.at, added.username, added.action, added.target, added.detail, added.address) == \
            (T0, "cli:root", "user_added", "zhang.wei", "role centre, scope district", None)
        assert (len(failed.username), len(failed.target), failed.action, failed.address) == \
            (128, 255, "login_failed", "2001:db8::1")
        assert (throttled.username, throttled.action, throttled.target, throttled.detail) == \
            ("a\ufffdb", "login_throttled", "user:a\ufffdb", "c\ufffd")


def test_the_first_admin_is_made_once_with_a_generated_password(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        password = ensure_first_admin(session, T0)
    assert password is not None and len(password) >= 20
    with sessions() as session, session.begin():
        assert ensure_first_admin(session, T0) is None
        admin = authenticate(session, "admin", password, T0)
        assert admin is not None and (admin.role, admin.scope) == (Role.ADMIN, "district")
        assert len(list_users(session)) == 1
