"""Escalations of risky signals and their append-only history (migration 0006).

An escalation is keyed (``key``) by its scope, account, bucket and the first unit that raised
it, so routing the same signals twice does not escalate twice. Functions take a session and
never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from themecoder.storage.tables import Base, JSONType, UTCDateTime, utc_now

STATUSES = ("open", "acknowledged", "closed")


class EscalationRecord(Base):
    """A risky signal routed to the owner of its bucket, with evidence quotes."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String, unique=True)
    account_id: Mapped[str | None] = mapped_column(String, index=True)
    bucket: Mapped[str] = mapped_column(String)
    owner: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String, index=True)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class EscalationEventRecord(Base):
    """One change of an escalation: who, when, what, before and after (append-only)."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("escalations.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    actor: Mapped[str] = mapped_column(String)
    action: Mapped[str] = mapped_column(String)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    comment: Mapped[str | None] = mapped_column(Text)


def existing_keys(session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` are stored already."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        stmt = select(EscalationRecord.key).where(
            EscalationRecord.key.in_(keys[start : start + 500])
        )
        found.update(session.scalars(stmt))
    return found


def add_escalation(session: Session, row: Mapping[str, Any], actor: str) -> EscalationRecord:
    """Store a new escalation and its "created" event."""
    now = utc_now()
    record = EscalationRecord(**dict(row), status="open", created_at=now, updated_at=now)
    session.add(record)
    session.flush()
    add_event(session, record.id, actor, "created", None, {"status": "open"})
    return record


def add_event(
    session: Session,
    escalation_id: int,
    actor: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    comment: str | None = None,
) -> None:
    session.add(
        EscalationEventRecord(
            escalation_id=escalation_id,
            at=utc_now(),
            actor=actor,
            action=action,
            before=before,
            after=after,
            comment=comment,
        )
    )
    session.flush()


def list_escalations(
    session: Session, project_id: int | None, status: str | None = None
) -> list[EscalationRecord]:
    """Escalations of the scope (``None``: every one), newest first."""
    stmt = select(EscalationRecord)
    if project_id is not None:
        stmt = stmt.where(EscalationRecord.project_id == project_id)
    if status is not None:
        stmt = stmt.where(EscalationRecord.status == status)
    return list(session.scalars(stmt.order_by(EscalationRecord.score.desc(), EscalationRecord.id)))


def events_of(session: Session, escalation_id: int) -> list[EscalationEventRecord]:
    stmt = select(EscalationEventRecord).where(EscalationEventRecord.escalation_id == escalation_id)
    return list(session.scalars(stmt.order_by(EscalationEventRecord.id)))
