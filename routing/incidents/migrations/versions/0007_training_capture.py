"""Training capture: the clean frame kept beside an incident's snapshot, and why an incident was closed
as a false alarm (the reason's code, which decides whether it becomes a hard negative).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("frame", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("false_alarm_reason", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("false_alarm_reason")
        batch.drop_column("frame")
