"""network spikes: attempt (campaign_id, finished_at, cause) and campaign.network_pauses

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_attempt_campaign_finished",
        "attempt",
        ["campaign_id", "finished_at", "cause"],
        unique=False,
        sqlite_where=sa.text("finished_at IS NOT NULL"),
        postgresql_where=sa.text("finished_at IS NOT NULL"),
    )
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("network_pauses", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("network_pauses")
    op.drop_index("ix_attempt_campaign_finished", table_name="attempt")
