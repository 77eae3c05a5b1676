"""Codebook versions and lineage; codes record the codebook version that produced them.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add ``codes.codebook_version`` and the two codebook tables."""
    with op.batch_alter_table("codes") as batch:
        batch.add_column(sa.Column("codebook_version", sa.Integer(), nullable=True))
    op.create_table(
        "codebook_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codebook_versions")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_codebook_versions_name")),
    )
    op.create_table(
        "lineage_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("codebook", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("sources", JSON, nullable=False),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_events")),
    )
    op.create_index(op.f("ix_lineage_events_codebook"), "lineage_events", ["codebook"])


def downgrade() -> None:
    """Drop the codebook tables and the column."""
    op.drop_index(op.f("ix_lineage_events_codebook"), table_name="lineage_events")
    op.drop_table("lineage_events")
    op.drop_table("codebook_versions")
    with op.batch_alter_table("codes") as batch:
        batch.drop_column("codebook_version")
