"""Tables of the review service: projects, API keys, suggestions, blind codes, audit, jobs.

Every row belongs to one project (workspace); the services filter on ``project_id`` in every
query, so a key of one project never reads another's rows. ``audit_events`` is append-only:
migration 0004 installs triggers that abort any UPDATE or DELETE on it, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from themecoder.storage.repository import insert_or_ignore
from themecoder.storage.tables import Base, JSONType, UTCDateTime, utc_now

#: Codes reviewers add are unique per unit, bucket and polarity (a partial unique index).
_REVIEWER_CODE = text("origin = 'reviewer'")


class ProjectRecord(Base):
    """A workspace. ``settings`` holds its review rules (double-coding share, gate threshold).

    ``model_version`` / ``model_path`` name the coder the project uses after a promotion;
    ``None`` means the shipped model.
    """

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    model_version: Mapped[str | None] = mapped_column(String)
    model_path: Mapped[str | None] = mapped_column(String)


class ApiKeyRecord(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` identifies it in listings."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    key_hash: Mapped[str] = mapped_column(String, unique=True)
    prefix: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SuggestionRecord(Base):
    """One suggested code on a unit and where it stands in review.

    ``origin`` is "model" for the coder's suggestions and "reviewer" for codes a reviewer
    added. ``version`` increases with every change; an action names the version it saw, and a
    stale one is refused (optimistic concurrency). ``priority`` is the expected value of review
    at creation (uncertainty x risk), indexed so queues sort in the database.
    """

    __tablename__ = "suggestions"
    __table_args__ = (
        Index("ix_suggestions_queue", "project_id", "state", "priority"),
        Index(
            "uq_suggestions_reviewer_code",
            "unit_id",
            "bucket",
            "polarity",
            unique=True,
            sqlite_where=_REVIEWER_CODE,
            postgresql_where=_REVIEWER_CODE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String)
    bucket: Mapped[str] = mapped_column(String, index=True)
    polarity: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(Float)
    priority: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer)
    double_coded: Mapped[bool] = mapped_column(Boolean)
    model_version: Mapped[str] = mapped_column(String)
    codebook_version: Mapped[int | None] = mapped_column(Integer)
    final_bucket: Mapped[str | None] = mapped_column(String)
    final_polarity: Mapped[str | None] = mapped_column(String)
    final_theme_id: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DoubleCodedUnitRecord(Base):
    """A unit picked for blind double coding; its suggestions wait until two reviewers coded it."""

    __tablename__ = "double_coded_units"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )


class BlindCodeRecord(Base):
    """One reviewer's blind coding of a double-coded unit: a label for every bucket.

    ``labels`` maps each bucket to a polarity or ``None`` (absent). A reviewer codes a unit at
    most once; a unit takes at most two reviewers (the services enforce the second rule).
    """

    __tablename__ = "blind_codes"
    __table_args__ = (UniqueConstraint("unit_id", "reviewer_id", name="uq_blind_codes_unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    labels: Mapped[dict[str, str | None]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class AuditEventRecord(Base):
    """One action, append-only: who, when, on what, the state before and after, and versions."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    subject: Mapped[str] = mapped_column(String, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    model_version: Mapped[str | None] = mapped_column(String)
    codebook_version: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class JobRecord(Base):
    """A background job (bulk coding, retraining): its input, lease, progress and result."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String, index=True)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    #: The final result; while a chunked job runs, its totals so far (kept with the checkpoint).
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: The worker holding the lease, and until when; a lease not renewed in time is taken over.
    owner: Mapped[str | None] = mapped_column(String)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Chunks finished, written in the transaction that stored the chunk.
    checkpoint: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: What the job runs on (the items of a bulk job); dropped when the job ends.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ModelVersionRecord(Base):
    """A model version trained for a project, with its retrain report and whether it won.

    ``path`` is relative to the model store (``settings.project_models_dir``): ``slug/stamp``.
    """

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String)
    path: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    promoted: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: Set when a rollback took the project off this version; it is never rolled back to.
    rolled_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def live_model_code(session: Session, unit_id: int, bucket: str, polarity: str) -> int | None:
    """The id of the unit's first model suggestion that carries ``bucket``/``polarity`` (its
    final code where decided) and was not rejected, else None."""
    return session.scalar(
        select(SuggestionRecord.id)
        .where(
            SuggestionRecord.unit_id == unit_id,
            SuggestionRecord.origin == "model",
            SuggestionRecord.state != "rejected",
            func.coalesce(SuggestionRecord.final_bucket, SuggestionRecord.bucket) == bucket,
            func.coalesce(SuggestionRecord.final_polarity, SuggestionRecord.polarity) == polarity,
        )
        .order_by(SuggestionRecord.id)
        .limit(1)
    )


def insert_reviewer_code(session: Session, row: dict[str, Any]) -> tuple[int, bool]:
    """Store a code a reviewer added unless the unit already has it (same bucket, polarity).

    ``INSERT ... ON CONFLICT DO NOTHING`` on the partial unique index, so concurrent identical
    requests store one row and never fail.

    Returns:
        ``(suggestion id, created)``: the new row's id, or the stored twin's with ``False``.
    """
    stmt = (
        insert_or_ignore(session, SuggestionRecord)
        .on_conflict_do_nothing(
            index_elements=["unit_id", "bucket", "polarity"], index_where=_REVIEWER_CODE
        )
        .returning(SuggestionRecord.id)
    )
    new = session.execute(stmt, [row]).scalar()
    if new is not None:
        return int(new), True
    twin = session.scalar(
        select(SuggestionRecord.id).where(
            SuggestionRecord.unit_id == row["unit_id"],
            SuggestionRecord.bucket == row["bucket"],
            SuggestionRecord.polarity == row["polarity"],
            SuggestionRecord.origin == "reviewer",
        )
    )
    assert twin is not None  # the conflicting row is committed or ours
    return int(twin), False


def revive_reviewer_code(session: Session, sid: int, key_id: int, now: datetime) -> bool:
    """Make a withdrawn (rejected) reviewer code approved again; whether one was."""
    done = session.execute(
        update(SuggestionRecord)
        .where(
            SuggestionRecord.id == sid,
            SuggestionRecord.origin == "reviewer",
            SuggestionRecord.state == "rejected",
        )
        .values(
            state="approved",
            version=SuggestionRecord.version + 1,
            final_bucket=SuggestionRecord.bucket,
            final_polarity=SuggestionRecord.polarity,
            decided_by=key_id,
            decided_at=now,
        )
    )
    return bool(done.rowcount)


def withdraw_reviewer_code(
    session: Session, sid: int, version: int, key_id: int, now: datetime
) -> bool:
    """Withdraw an approved reviewer code seen at ``version``; whether it was (False: stale)."""
    done = session.execute(
        update(SuggestionRecord)
        .where(
            SuggestionRecord.id == sid,
            SuggestionRecord.origin == "reviewer",
            SuggestionRecord.state == "approved",
            SuggestionRecord.version == version,
        )
        .values(
            state="rejected",
            version=SuggestionRecord.version + 1,
            final_bucket=None,
            final_polarity=None,
            decided_by=key_id,
            decided_at=now,
        )
    )
    return bool(done.rowcount)
