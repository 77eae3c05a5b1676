"""Review service: projects, API keys, suggestions, blind codes, append-only audit, jobs, models.

Also gives ``items`` a ``project_id`` with a unique ``(project_id, external_id)``, which makes
API ingest idempotent, and installs triggers that refuse UPDATE and DELETE on ``audit_events``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
_APPEND_ONLY = "audit trail is append-only"


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"],
        ["projects.id"],
        name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the review tables, scope items by project and lock the audit trail."""
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("model_version", sa.String(), nullable=True),
        sa.Column("model_path", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("slug", name=op.f("uq_projects_slug")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("key_hash", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        _project_fk("api_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_project_id"), "api_keys", ["project_id"])
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_items_project_id_projects"),
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(op.f("uq_items_project_id"), ["project_id", "external_id"])
        batch.create_index(op.f("ix_items_project_id"), ["project_id"])
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("bucket", sa.String(), nullable=False),
        sa.Column("polarity", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("band", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("double_coded", sa.Boolean(), nullable=False),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("codebook_version", sa.Integer(), nullable=True),
        sa.Column("final_bucket", sa.String(), nullable=True),
        sa.Column("final_polarity", sa.String(), nullable=True),
        sa.Column("final_theme_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        _project_fk("suggestions"),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_suggestions_unit_id_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_suggestions_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["api_keys.id"],
            name=op.f("fk_suggestions_decided_by_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
    )
    op.create_index("ix_suggestions_queue", "suggestions", ["project_id", "state", "priority"])
    op.create_index(op.f("ix_suggestions_unit_id"), "suggestions", ["unit_id"])
    op.create_index(op.f("ix_suggestions_item_id"), "suggestions", ["item_id"])
    op.create_index(op.f("ix_suggestions_bucket"), "suggestions", ["bucket"])
    op.create_table(
        "double_coded_units",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        _project_fk("double_coded_units"),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_double_coded_units_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_double_coded_units")),
    )
    op.create_index(op.f("ix_double_coded_units_project_id"), "double_coded_units", ["project_id"])
    op.create_table(
        "blind_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        _project_fk("blind_codes"),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_blind_codes_unit_id_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["api_keys.id"],
            name=op.f("fk_blind_codes_reviewer_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blind_codes")),
        sa.UniqueConstraint("unit_id", "reviewer_id", name="uq_blind_codes_unit_id"),
    )
    op.create_index(op.f("ix_blind_codes_project_id"), "blind_codes", ["project_id"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("model_version", sa.String(), nullable=True),
        sa.Column("codebook_version", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        _project_fk("audit_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_project_id"), "audit_events", ["project_id"])
    op.create_index(op.f("ix_audit_events_subject"), "audit_events", ["subject"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", JSON, nullable=True),
        _project_fk("jobs"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_project_id"), "jobs", ["project_id"])
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("report", JSON, nullable=False),
        _project_fk("model_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
    )
    op.create_index(op.f("ix_model_versions_project_id"), "model_versions", ["project_id"])
    _lock_audit_trail()


def _lock_audit_trail() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION themecoder_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION themecoder_audit_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    """Drop the review tables and the project scope of items."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    for table in (
        "model_versions",
        "jobs",
        "audit_events",
        "blind_codes",
        "double_coded_units",
        "suggestions",
    ):
        op.drop_table(table)
    with op.batch_alter_table("items") as batch:
        batch.drop_index(op.f("ix_items_project_id"))
        batch.drop_constraint(op.f("uq_items_project_id"), type_="unique")
        batch.drop_constraint(op.f("fk_items_project_id_projects"), type_="foreignkey")
        batch.drop_column("project_id")
    op.drop_table("api_keys")
    op.drop_table("projects")
