"""attempt (campaign_id, claimed_at, category): the live campaign page's calls per minute

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-06 02:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_attempt_campaign_claimed",
        "attempt",
        ["campaign_id", "claimed_at", "category"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_attempt_campaign_claimed", table_name="attempt")
