"""Trust: reviewer-added codes unique per unit, bucket and polarity; themes scoped to a project.

Duplicate reviewer-added codes (the same unit, bucket and polarity, possible before this
revision) are removed, the oldest kept, before the partial unique index is created.

Revision ID: 0005_trust
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_trust"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REVIEWER = sa.text("origin = 'reviewer'")


def upgrade() -> None:
    """Deduplicate and index reviewer codes, give themes a project."""
    op.execute(
        "DELETE FROM suggestions WHERE origin = 'reviewer' AND id NOT IN ("
        "SELECT MIN(id) FROM suggestions WHERE origin = 'reviewer' "
        "GROUP BY unit_id, bucket, polarity)"
    )
    op.create_index(
        "uq_suggestions_reviewer_code",
        "suggestions",
        ["unit_id", "bucket", "polarity"],
        unique=True,
        sqlite_where=_REVIEWER,
        postgresql_where=_REVIEWER,
    )
    with op.batch_alter_table("themes") as batch:
        batch.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_themes_project_id_projects"),
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_themes_project_id"), ["project_id"])


def downgrade() -> None:
    """Drop the theme project and the reviewer-code index."""
    with op.batch_alter_table("themes") as batch:
        batch.drop_index(op.f("ix_themes_project_id"))
        batch.drop_constraint(op.f("fk_themes_project_id_projects"), type_="foreignkey")
        batch.drop_column("project_id")
    op.drop_index("uq_suggestions_reviewer_code", table_name="suggestions")
