"""Leased jobs: an owner, a heartbeat and a lease expiry, the job's input and its checkpoint.

A worker claims a queued job (or a running one whose lease expired: its owner died) with a
conditional UPDATE, renews the lease while it works and records the last finished chunk, so a
job taken over resumes where its dead owner stopped.

Revision ID: 0009_jobs
Revises: 0008_interop
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_jobs"
down_revision: str | None = "0008_interop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the lease, checkpoint and payload columns; jobs of the old in-process runner that
    were left queued or running have no payload to run from, so they are marked failed."""
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("owner", sa.String(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", TS, nullable=True))
        batch.add_column(sa.Column("lease_expires_at", TS, nullable=True))
        batch.add_column(sa.Column("checkpoint", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("payload", JSON, nullable=True))
        batch.create_index(op.f("ix_jobs_state"), ["state"])
    op.execute(
        "UPDATE jobs SET state = 'failed', error = 'interrupted: the service stopped', "
        "finished_at = CURRENT_TIMESTAMP WHERE state IN ('queued', 'running')"
    )


def downgrade() -> None:
    """Drop the columns again."""
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index(op.f("ix_jobs_state"))
        for column in (
            "payload",
            "attempts",
            "checkpoint",
            "lease_expires_at",
            "heartbeat_at",
            "owner",
        ):
            batch.drop_column(column)
