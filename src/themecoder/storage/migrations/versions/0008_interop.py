"""Interop: REFI-QDA imports and their coded segments, webhook secrets and deliveries.

Revision ID: 0008_interop
Revises: 0007_pii
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_interop"
down_revision: str | None = "0007_pii"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the four tables."""
    op.create_table(
        "qda_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("codebook", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("codes", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("qda_imports", "project_id", "projects"),
        _fk("qda_imports", "run_id", "runs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qda_imports")),
    )
    op.create_index(op.f("ix_qda_imports_project_id"), "qda_imports", ["project_id"])
    op.create_table(
        "coded_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("start_char", sa.Integer(), nullable=False),
        sa.Column("end_char", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("coder", sa.String(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        _fk("coded_segments", "import_id", "qda_imports"),
        _fk("coded_segments", "item_id", "items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coded_segments")),
    )
    for column in ("import_id", "item_id", "code"):
        op.create_index(op.f(f"ix_coded_segments_{column}"), "coded_segments", [column])
    op.create_table(
        "webhook_secrets",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _fk("webhook_secrets", "project_id", "projects"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_webhook_secrets")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.Column("ticket_id", sa.String(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        _fk("webhook_deliveries", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "project_id", "signature", name=op.f("uq_webhook_deliveries_project_id")
        ),
    )


def downgrade() -> None:
    for table in ("webhook_deliveries", "webhook_secrets", "coded_segments", "qda_imports"):
        op.drop_table(table)
