"""What grid workers send from the street besides a status: photos of the result (处置后照片) and requests
for more time (延期申请), each a row beside its incident."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from routing.incidents.tables import Base, BigIntId, str_enum


class IncidentPhoto(Base):
    """A photo a worker sent with an action, stored as a re-encoded JPEG beside the evidence."""

    __tablename__ = "incident_photos"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1024))  # relative to the site file's folder, as snapshots are
    sent_by: Mapped[str] = mapped_column(String(64))  # the user name
    worker_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ExtensionRequest(Base):
    """A worker's request for more time on one incident, and the leader's decision on it."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(64))  # the user name
    minutes: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "request_status", 16))
    decided_by: Mapped[str | None] = mapped_column(String(80))  # the approver's actor
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    # The workbench lists pending requests, newest first.
    __table_args__ = (Index("ix_extension_requests_status_at", "status", "at"),)
