"""Initial tables: incidents, incident_events, outbox_messages, camera_events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite autoincrements only an INTEGER PRIMARY KEY (its rowid).
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
aware = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("camera_name", sa.String(255), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("grid_id", sa.String(64), nullable=True),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("object_kind", sa.String(64), nullable=False),
        sa.Column("class_name", sa.String(64), nullable=False),
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("bbox", sa.JSON(), nullable=False),
        sa.Column("frame_size", sa.JSON(), nullable=False),
        sa.Column("first_seen", aware, nullable=False),
        sa.Column("confirmed_at", aware, nullable=False),
        sa.Column("snapshot", sa.String(1024), nullable=True),
        sa.Column("created_at", aware, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_grid_id", "incidents", ["grid_id"])
    op.create_index("ix_incidents_worker_id", "incidents", ["worker_id"])
    op.create_index("ix_incidents_camera_id_confirmed_at", "incidents", ["camera_id", "confirmed_at"])

    op.create_table(
        "incident_events",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", aware, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_incident_events"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name="fk_incident_events_incident_id_incidents"),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id"])

    op.create_table(
        "outbox_messages",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("exchange", sa.String(255), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("created_at", aware, nullable=False),
        sa.Column("sent_at", aware, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
        sa.UniqueConstraint("message_id", name="uq_outbox_messages_message_id"),
    )
    op.create_index("ix_outbox_messages_unsent", "outbox_messages", ["id"],
                    postgresql_where=sa.text("sent_at IS NULL"), sqlite_where=sa.text("sent_at IS NULL"))

    op.create_table(
        "camera_events",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", aware, nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_camera_events"),
    )
    op.create_index("ix_camera_events_camera_id_at", "camera_events", ["camera_id", "at"])


def downgrade() -> None:
    op.drop_table("camera_events")
    op.drop_table("outbox_messages")
    op.drop_table("incident_events")
    op.drop_table("incidents")
