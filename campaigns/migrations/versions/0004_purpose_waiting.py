"""campaign purpose and caps, contact waiting reason

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=16), server_default="informing", nullable=False)
        )
        batch.add_column(
            sa.Column(
                "caps",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("waiting_reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("waiting_reason")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("caps")
        batch.drop_column("purpose")
