"""contact region and operator from the numbering plan

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-06 02:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("operator", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("operator")
        batch_op.drop_column("region")
