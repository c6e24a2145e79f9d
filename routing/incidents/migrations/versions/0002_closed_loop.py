"""The closed loop: due times, escalation level and verification on incidents; an action on
every audit row; the type of each outbox message; consumed-message ids for de-duplication.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

aware = sa.DateTime(timezone=True)
# "verification_pending" is longer than the 16 characters 0001 gave statuses.
STATUS = sa.String(24)


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("status", type_=STATUS, existing_type=sa.String(16), existing_nullable=False)
        batch.add_column(sa.Column("accept_due", aware, nullable=True))
        batch.add_column(sa.Column("resolve_due", aware, nullable=True))
        batch.add_column(sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("resolved_at", aware, nullable=True))
        batch.add_column(sa.Column("verification_attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("next_check_at", aware, nullable=True))

    with op.batch_alter_table("incident_events") as batch:
        batch.alter_column("from_status", type_=STATUS, existing_type=sa.String(16), existing_nullable=True)
        batch.alter_column("to_status", type_=STATUS, existing_type=sa.String(16), existing_nullable=False)
        batch.add_column(sa.Column("action", STATUS, nullable=True))
    # Rows of 0001 knew two transitions only: into detected, and detected -> dispatched.
    op.execute("UPDATE incident_events SET action = CASE to_status WHEN 'detected' THEN 'detect' "
               "ELSE 'dispatch' END")
    with op.batch_alter_table("incident_events") as batch:
        batch.alter_column("action", existing_type=STATUS, nullable=False)

    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("message_type", STATUS, server_default="alert", nullable=False))

    op.create_table(
        "processed_messages",
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(32), nullable=False),
        sa.Column("processed_at", aware, nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_processed_messages"),
    )


def downgrade() -> None:
    op.drop_table("processed_messages")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("message_type")
    with op.batch_alter_table("incident_events") as batch:
        batch.drop_column("action")
    with op.batch_alter_table("incidents") as batch:
        for column in ("next_check_at", "verification_attempts", "resolved_at", "escalation_level",
                       "resolve_due", "accept_due"):
            batch.drop_column(column)
