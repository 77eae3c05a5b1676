"""Trust: reviewer-added codes unique per unit, bucket and polarity; themes scoped to a project;
model paths relative to the model store; rollbacks of promoted models.

Duplicate reviewer-added codes (the same unit, bucket and polarity, possible before this
revision) are removed, the oldest kept, before the partial unique index is created.

Revision ID: 0005_trust
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

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
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True))
    _store_relative("projects", "model_path")
    _store_relative("model_versions", "path")


def _store_relative(table: str, column: str) -> None:
    """Rewrite stored model paths (``<store>/<slug>/<stamp>``, relative to the old working
    directory or absolute) as ``<slug>/<stamp>``, relative to the model store."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"))
    for row_id, path in rows.fetchall():
        relative = "/".join(PurePath(path).parts[-2:])
        if relative != path:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :p WHERE id = :i"),
                {"p": relative, "i": row_id},
            )


def downgrade() -> None:
    """Drop rollbacks, the theme project and the reviewer-code index (paths stay relative)."""
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("rolled_back_at")
    with op.batch_alter_table("themes") as batch:
        batch.drop_index(op.f("ix_themes_project_id"))
        batch.drop_constraint(op.f("fk_themes_project_id_projects"), type_="foreignkey")
        batch.drop_column("project_id")
    op.drop_index("uq_suggestions_reviewer_code", table_name="suggestions")
