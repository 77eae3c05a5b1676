"""Insights: hypothesis cards, their links (quotes, themes, codes, accounts) and status history.

Revision ID: 0010_insights
Revises: 0009_jobs
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_insights"
down_revision: str | None = "0009_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "insights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("metric", JSON, nullable=True),
        _fk("insights", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insights")),
    )
    op.create_index(op.f("ix_insights_project_id"), "insights", ["project_id"])
    op.create_table(
        "insight_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("insight_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", sa.String(), nullable=False),
        _fk("insight_links", "insight_id", "insights"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_links")),
        sa.UniqueConstraint("insight_id", "kind", "ref", name=op.f("uq_insight_links_insight_id")),
    )
    op.create_index(op.f("ix_insight_links_insight_id"), "insight_links", ["insight_id"])
    op.create_table(
        "insight_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("insight_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("from_status", sa.String(), nullable=True),
        sa.Column("to_status", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("insight_status_changes", "insight_id", "insights"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_status_changes")),
    )
    op.create_index(
        op.f("ix_insight_status_changes_insight_id"), "insight_status_changes", ["insight_id"]
    )


def downgrade() -> None:
    for table in ("insight_status_changes", "insight_links", "insights"):
        op.drop_table(table)
