"""The append-only audit trail: one event per action, in the caller's transaction.

The database refuses UPDATE and DELETE on ``audit_events`` (migration 0004), so events can only
be added and read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from themecoder.errors import InvalidInput
from themecoder.storage.review import AuditEventRecord
from themecoder.storage.tables import utc_now

if TYPE_CHECKING:  # projects writes audit events, so audit only names its Principal
    from themecoder.services.projects import Principal

MAX_PAGE = 500


def record(
    session: Session,
    who: Principal | None,
    project_id: int,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    model_version: str | None = None,
    codebook_version: int | None = None,
    comment: str | None = None,
) -> None:
    """Add one event; ``who`` is ``None`` for the command line (recorded as actor "cli")."""
    session.add(
        AuditEventRecord(
            project_id=project_id,
            at=utc_now(),
            actor_id=who.key_id if who else None,
            actor=who.name if who else "cli",
            role=who.role if who else "admin",
            action=action,
            subject=subject,
            before=before,
            after=after,
            model_version=model_version,
            codebook_version=codebook_version,
            comment=comment,
        )
    )
    session.flush()


def trail(
    session: Session,
    project_id: int,
    *,
    subject: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Events of the project, oldest first, optionally for one subject (``suggestion:12``)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be in 1..{MAX_PAGE}, got {limit}", field="limit")
    stmt = select(AuditEventRecord).where(AuditEventRecord.project_id == project_id)
    if subject:
        stmt = stmt.where(AuditEventRecord.subject == subject)
    rows = session.scalars(stmt.order_by(AuditEventRecord.id).limit(limit).offset(max(0, offset)))
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "actor_id": e.actor_id,
            "role": e.role,
            "action": e.action,
            "subject": e.subject,
            "before": e.before,
            "after": e.after,
            "model_version": e.model_version,
            "codebook_version": e.codebook_version,
            "comment": e.comment,
        }
        for e in rows
    ]
