"""Themes and the themes each unit carries; theme lineage goes to ``lineage_events``.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create ``themes`` and ``unit_themes`` with their indexes."""
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("quotes", JSON, nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("bucket", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
    )
    op.create_index(op.f("ix_themes_bucket"), "themes", ["bucket"])
    op.create_index(op.f("ix_themes_status"), "themes", ["status"])
    op.create_table(
        "unit_themes",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_themes_unit_id_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["theme_id"],
            ["themes.id"],
            name=op.f("fk_unit_themes_theme_id_themes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "theme_id", name=op.f("pk_unit_themes")),
    )
    op.create_index(op.f("ix_unit_themes_theme_id"), "unit_themes", ["theme_id"])


def downgrade() -> None:
    """Drop both tables, children first."""
    op.drop_index(op.f("ix_unit_themes_theme_id"), table_name="unit_themes")
    op.drop_table("unit_themes")
    op.drop_index(op.f("ix_themes_status"), table_name="themes")
    op.drop_index(op.f("ix_themes_bucket"), table_name="themes")
    op.drop_table("themes")
