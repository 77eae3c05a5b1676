"""Webhook secrets and deliveries. Functions take a session and never commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from themecoder.storage.interop import WebhookDeliveryRecord, WebhookSecretRecord
from themecoder.storage.repository import insert_or_ignore
from themecoder.storage.review import ProjectRecord
from themecoder.storage.tables import utc_now


def set_secret(session: Session, project_id: int, secret: str) -> None:
    record = session.get(WebhookSecretRecord, project_id)
    if record is None:
        session.add(WebhookSecretRecord(project_id=project_id, secret=secret, created_at=utc_now()))
    else:
        record.secret, record.created_at = secret, utc_now()
    session.flush()


def secret_of(session: Session, slug: str) -> tuple[int | None, str | None]:
    """``(project id, secret)`` of the project ``slug``; ``None`` parts when absent."""
    row = session.execute(
        select(ProjectRecord.id, WebhookSecretRecord.secret)
        .outerjoin(WebhookSecretRecord, WebhookSecretRecord.project_id == ProjectRecord.id)
        .where(ProjectRecord.slug == slug)
    ).first()
    return (None, None) if row is None else (int(row[0]), row[1])


def record_delivery(session: Session, project_id: int, signature: str, ticket_id: str) -> bool:
    """Store a delivery's signature; ``False`` if the project received it before (a replay)."""
    stmt = (
        insert_or_ignore(session, WebhookDeliveryRecord)
        .values(
            project_id=project_id, signature=signature, ticket_id=ticket_id, received_at=utc_now()
        )
        .on_conflict_do_nothing(index_elements=["project_id", "signature"])
        .returning(WebhookDeliveryRecord.id)
    )
    return session.execute(stmt).scalar() is not None
