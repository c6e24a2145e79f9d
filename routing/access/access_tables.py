"""The access tables, on the incident store's metadata (one database, one migration history):
users, their web sessions, and the audit log of what people did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from routing.access.roles import Role
from routing.incidents.tables import Base, BigIntId, str_enum

USERNAME_LENGTH = 64
DISPLAY_NAME_LENGTH = 255
# An audit row's actor: a username, "cli:<os user>" or a service name.
ACTOR_LENGTH = 128
TARGET_LENGTH = 255


class User(Base):
    """A person who signs in to the workbench, with one role and one scope (a node key of the organisation)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(USERNAME_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_LENGTH))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role", 16))
    scope: Mapped[str] = mapped_column(String(255))
    worker_id: Mapped[str | None] = mapped_column(String(64))  # the roster's id; the worker role only
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]

    @hybrid_property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @disabled.inplace.expression
    @classmethod
    def _disabled_expression(cls) -> ColumnElement[bool]:
        return cls.disabled_at.is_not(None)


class WebSession(Base):
    """A signed-in browser. The id is the sha256 of the cookie's token: a copy of the table signs nobody in."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    address: Mapped[str | None] = mapped_column(String(64))  # the client's IP address


class AuditEntry(Base):
    """One action a person took: signing in (or failing to), a user added, an incident reassigned..."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(32))  # an `routing.access.audit.AuditAction`
    target: Mapped[str] = mapped_column(String(TARGET_LENGTH))
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_username_at", "username", "at"),)
