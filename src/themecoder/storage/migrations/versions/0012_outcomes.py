"""Outcomes per account or per user: the ``level`` an outcome's subject id is at.

Revision ID: 0012_outcomes
Revises: 0010_insights
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_outcomes"
down_revision: str | None = "0010_insights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``outcomes.level`` ("account" for every stored row)."""
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("level", sa.String(), nullable=False, server_default="account"))


def downgrade() -> None:
    """Drop user outcomes and the column."""
    op.execute("DELETE FROM outcomes WHERE level <> 'account'")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("level")
