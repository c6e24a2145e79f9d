"""Kinds as data: an incident keeps its kind's 中文 label (kinds come from the taxonomy file now,
and a site can add its own).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The kinds incidents could have before this revision, with their labels.
EARLIER_LABELS = {
    "non_motor_parking": "非机动车乱停放", "motor_parking": "机动车乱停放", "street_vending": "乱摆卖",
    "out_of_store": "超门店经营", "piling": "乱堆放", "posting": "乱张贴", "hanging": "乱拉挂",
    "illegal_structure": "乱搭建",
}


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("kind_label", sa.String(64), server_default="", nullable=False))
    incidents = sa.table("incidents", sa.column("kind", sa.String), sa.column("kind_label", sa.String))
    for kind, label in EARLIER_LABELS.items():
        op.execute(incidents.update().where(incidents.c.kind == kind).values(kind_label=label))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("kind_label")
