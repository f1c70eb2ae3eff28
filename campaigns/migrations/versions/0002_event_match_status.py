"""event match status: webhook events that contradict the attempt they name

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 02:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CONFLICT = sa.text("match_status = 'conflict'")


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("match_reason", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_event_conflict",
            ["id"],
            unique=False,
            sqlite_where=_CONFLICT,
            postgresql_where=_CONFLICT,
        )


def downgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_conflict", sqlite_where=_CONFLICT, postgresql_where=_CONFLICT)
        batch_op.drop_column("match_reason")
        batch_op.drop_column("match_status")
