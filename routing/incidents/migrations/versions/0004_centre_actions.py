"""The command centre's actions: the deadlines promised at dispatch on each incident (moved only by
an extension), audit actors long enough for "user:<username>" (usernames have up to 64 characters),
and indexes for the incident list and assessment.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

aware = sa.DateTime(timezone=True)
# Column indexes of 0001 that the (column, confirmed_at) indexes below make redundant.
SINGLE_COLUMN = ("status", "grid_id", "worker_id")
# The incident list filters on one of these and sorts by confirmed_at (0001 indexed camera_id so).
LIST_FILTERS = ("status", "grid_id", "worker_id", "kind")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("accept_by", aware, nullable=True))
        batch.add_column(sa.Column("resolve_by", aware, nullable=True))
    # Earlier incidents kept no promised deadline: their escalation clock is the best there is (the
    # dispatch's own unless an escalation or reopening moved it since).
    incidents = sa.table("incidents", *(sa.column(name, aware) for name in
                                        ("accept_due", "resolve_due", "accept_by", "resolve_by")))
    op.execute(incidents.update().values(accept_by=incidents.c.accept_due, resolve_by=incidents.c.resolve_due))

    with op.batch_alter_table("incident_events") as batch:
        batch.alter_column("actor", type_=sa.String(80), existing_type=sa.String(64), existing_nullable=False)

    for column in SINGLE_COLUMN:
        op.drop_index(f"ix_incidents_{column}", table_name="incidents")
    op.create_index("ix_incidents_confirmed_at", "incidents", ["confirmed_at"])
    op.create_index("ix_incidents_created_at", "incidents", ["created_at"])
    for column in LIST_FILTERS:
        op.create_index(f"ix_incidents_{column}_confirmed_at", "incidents", [column, "confirmed_at"])
    op.create_index("ix_incident_events_action_at", "incident_events", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_incident_events_action_at", table_name="incident_events")
    for column in LIST_FILTERS:
        op.drop_index(f"ix_incidents_{column}_confirmed_at", table_name="incidents")
    op.drop_index("ix_incidents_confirmed_at", table_name="incidents")
    op.drop_index("ix_incidents_created_at", table_name="incidents")
    for column in SINGLE_COLUMN:
        op.create_index(f"ix_incidents_{column}", "incidents", [column])
    with op.batch_alter_table("incident_events") as batch:
        batch.alter_column("actor", type_=sa.String(64), existing_type=sa.String(80), existing_nullable=False)
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("resolve_by")
        batch.drop_column("accept_by")
