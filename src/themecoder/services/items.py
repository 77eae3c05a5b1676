"""Stored items of a project as the API shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from themecoder.errors import NotFound
from themecoder.services.projects import Principal
from themecoder.services.review import blind_pending
from themecoder.storage.review import SuggestionRecord
from themecoder.storage.tables import ItemRecord, UnitRecord


def item_view(session: Session, who: Principal, external_id: str) -> dict[str, Any]:
    """A stored item of the caller's project with its units and suggestions.

    A reviewer does not see the suggestions of units still waiting for blind double coding.

    Raises:
        NotFound: The project holds no item with this external id.
    """
    item = session.scalar(
        select(ItemRecord).where(
            ItemRecord.project_id == who.project_id, ItemRecord.external_id == external_id
        )
    )
    if item is None:
        raise NotFound(f"item {external_id!r} not found")
    suggestions = list(
        session.scalars(
            select(SuggestionRecord)
            .where(SuggestionRecord.item_id == item.id)
            .order_by(SuggestionRecord.id)
        )
    )
    if who.role == "reviewer":  # blind coders must not see the model's answer first
        hidden = blind_pending(session, sorted({s.unit_id for s in suggestions}))
        suggestions = [s for s in suggestions if s.unit_id not in hidden]
    units = session.scalars(
        select(UnitRecord).where(UnitRecord.item_id == item.id).order_by(UnitRecord.idx)
    )
    return {
        "id": item.id,
        "external_id": item.external_id,
        "text": item.text,
        "metadata": item.meta,
        "sentiment": {"label": item.sentiment, "score": item.sentiment_score},
        "expression": item.expression,
        "units": [
            {"id": u.id, "index": u.idx, "start": u.start_char, "end": u.end_char, "text": u.text}
            for u in units
        ],
        "suggestions": [
            {
                "id": s.id,
                "unit_id": s.unit_id,
                "bucket": s.bucket,
                "polarity": s.polarity,
                "state": s.state,
                "version": s.version,
            }
            for s in suggestions
        ],
    }
