"""Reads behind semantic quote search: a scope's unit embeddings, which units pass the item
filters, and the rows a hit is shown with. Functions take a session and never commit.

``project_id=None`` means the command line's store (items stored without a project).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from themecoder.errors import Conflict
from themecoder.storage.repository import EMBEDDING_DTYPE
from themecoder.storage.tables import ItemRecord, UnitRecord

_CHUNK = 500


def _embedded(stmt: Select[Any], project_id: int | None) -> Select[Any]:
    scope = (
        ItemRecord.project_id.is_(None)
        if project_id is None
        else ItemRecord.project_id == project_id
    )
    return stmt.join(ItemRecord, ItemRecord.id == UnitRecord.item_id).where(
        scope, UnitRecord.embedding.is_not(None)
    )


def embedded_stats(session: Session, project_id: int | None) -> tuple[int, int]:
    """``(count, max_id)`` of the scope's units that have an embedding (``(0, -1)``: none)."""
    count, top = session.execute(
        _embedded(select(func.count(UnitRecord.id), func.max(UnitRecord.id)), project_id)
    ).one()
    return int(count or 0), -1 if top is None else int(top)


def unit_vectors(
    session: Session,
    project_id: int | None,
    *,
    after_id: int = -1,
    unit_ids: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The scope's stored embeddings, ordered by unit id: those with ``id > after_id``, or only
    ``unit_ids``. Returns int64 ids and a float32 matrix (shape ``(0, 0)`` when empty).

    Raises:
        Conflict: The embeddings differ in dimension (units of two embedding models).
    """
    base = _embedded(
        select(UnitRecord.id, UnitRecord.embedding_dim, UnitRecord.embedding), project_id
    ).where(UnitRecord.id > after_id)
    rows: list[tuple[int, int, bytes]] = []
    chunks = (
        [None]
        if unit_ids is None
        else [list(unit_ids[s : s + _CHUNK]) for s in range(0, len(unit_ids), _CHUNK)]
    )
    for chunk in chunks:
        stmt = base if chunk is None else base.where(UnitRecord.id.in_(chunk))
        rows.extend((int(i), int(d), bytes(b or b"")) for i, d, b in session.execute(stmt))
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    rows.sort()
    dims = {d for _, d, _ in rows}
    if len(dims) > 1:
        raise Conflict(f"stored embeddings differ in dimension: {sorted(dims)}")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    flat = np.frombuffer(b"".join(r[2] for r in rows), dtype=EMBEDDING_DTYPE)
    return ids, flat.reshape(len(rows), dims.pop()).astype(np.float32)


def candidate_units(
    session: Session,
    project_id: int | None,
    *,
    account: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[int]:
    """Ids of the scope's embedded units whose item passes the filters (``None``: any).

    ``since`` is inclusive, ``until`` exclusive, both on the item's ``created_at``; an item
    without a date is left out once either is given.
    """
    stmt = _embedded(select(UnitRecord.id), project_id)
    if account is not None:
        stmt = stmt.where(ItemRecord.account_id == account)
    if source is not None:
        stmt = stmt.where(ItemRecord.source == source)
    if since is not None:
        stmt = stmt.where(ItemRecord.created_at >= since)
    if until is not None:
        stmt = stmt.where(ItemRecord.created_at < until)
    return [int(i) for i in session.scalars(stmt.order_by(UnitRecord.id))]


def unit_rows(session: Session, unit_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What a hit shows, by unit id: text, offsets, and its item's id, source, account,
    speaker and date."""
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(unit_ids), _CHUNK):
        stmt = select(
            UnitRecord.id.label("unit_id"),
            UnitRecord.text,
            UnitRecord.start_char.label("start"),
            UnitRecord.end_char.label("end"),
            ItemRecord.id.label("item_id"),
            ItemRecord.external_id,
            ItemRecord.source,
            ItemRecord.account_id,
            ItemRecord.speaker,
            ItemRecord.created_at,
        ).join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        rows = session.execute(
            stmt.where(UnitRecord.id.in_(list(unit_ids[start : start + _CHUNK])))
        )
        out.update((int(r.unit_id), dict(r._mapping)) for r in rows)
    return out


def pgvector_available(session: Session) -> bool:
    """Whether the server offers the pgvector extension (always ``False`` off PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = session.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).first()
    return found is not None
