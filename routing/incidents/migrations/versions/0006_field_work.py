"""Field work: grid workers' photos of the result and requests for more time, and the worker a
reassignment took an incident from.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite autoincrements only an INTEGER PRIMARY KEY (its rowid).
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
aware = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("incident_events") as batch:
        batch.add_column(sa.Column("from_worker_id", sa.String(64), nullable=True))

    op.create_table(
        "incident_photos",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("sent_by", sa.String(64), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=True),
        sa.Column("at", aware, nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_photos"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name="fk_incident_photos_incident_id_incidents"),
    )
    op.create_index("ix_incident_photos_incident_id", "incident_photos", ["incident_id"])

    op.create_table(
        "extension_requests",
        sa.Column("id", big_id, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", aware, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", aware, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_extension_requests"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE",
                                name="fk_extension_requests_incident_id_incidents"),
    )
    op.create_index("ix_extension_requests_incident_id", "extension_requests", ["incident_id"])
    op.create_index("ix_extension_requests_status_at", "extension_requests", ["status", "at"])


def downgrade() -> None:
    op.drop_table("extension_requests")
    op.drop_table("incident_photos")
    with op.batch_alter_table("incident_events") as batch:
        batch.drop_column("from_worker_id")
