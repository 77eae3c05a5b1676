"""Analytics: escalations with their append-only history, imported accounts and outcomes.

Revision ID: 0006_analytics
Revises: 0005_trust
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_analytics"
# The integrator re-chains this after another branch's 0005.
down_revision: str | None = "0005_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"],
        ["projects.id"],
        name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create escalations, escalation_events, accounts and outcomes."""
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("bucket", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _project_fk("escalations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("key", name=op.f("uq_escalations_key")),
    )
    op.create_index(op.f("ix_escalations_project_id"), "escalations", ["project_id"])
    op.create_index(op.f("ix_escalations_account_id"), "escalations", ["account_id"])
    op.create_index(op.f("ix_escalations_status"), "escalations", ["status"])
    op.create_table(
        "escalation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_escalation_events_escalation_id_escalations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation_events")),
    )
    op.create_index(
        op.f("ix_escalation_events_escalation_id"), "escalation_events", ["escalation_id"]
    )
    for table, extra in (
        ("accounts", [sa.Column("attributes", JSON, nullable=False)]),
        (
            "outcomes",
            [
                sa.Column("name", sa.String(), nullable=False),
                sa.Column("value", sa.Float(), nullable=False),
                sa.Column("at", TS, nullable=False),
            ],
        ),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("project_id", sa.Integer(), nullable=True),
            sa.Column("account_id", sa.String(), nullable=False),
            *extra,
            sa.Column("imported_at", TS, nullable=False),
            _project_fk(table),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )
        op.create_index(op.f(f"ix_{table}_project_id"), table, ["project_id"])
        op.create_index(op.f(f"ix_{table}_account_id"), table, ["account_id"])


def downgrade() -> None:
    """Drop the analytics tables."""
    for table in ("outcomes", "accounts", "escalation_events", "escalations"):
        op.drop_table(table)
