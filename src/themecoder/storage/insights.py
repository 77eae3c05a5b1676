"""The insight repository's tables (migration 0010): insight cards, what they link, and the
history of their status. Functions take a session and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from themecoder.storage.tables import Base, ItemRecord, JSONType, UnitRecord, UTCDateTime, utc_now
from themecoder.storage.themes import ThemeRecord


class InsightRecord(Base):
    """An insight or hypothesis card of a project.

    ``metric`` is a snapshot of a linkage figure (signal, outcome, effect and CI, counts,
    when computed): it stays as it was when attached, so the card says what was known then.
    """

    __tablename__ = "insights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String)
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    created_by: Mapped[str] = mapped_column(String)
    metric: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class InsightLinkRecord(Base):
    """One thing an insight links: a quote (unit id), theme (id), code or account."""

    __tablename__ = "insight_links"
    __table_args__ = (
        UniqueConstraint("insight_id", "kind", "ref", name="uq_insight_links_insight_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insight_id: Mapped[int] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String)
    ref: Mapped[str] = mapped_column(String)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    added_by: Mapped[str] = mapped_column(String)


class InsightStatusRecord(Base):
    """One status an insight took: from what, to what, when, by whom, why."""

    __tablename__ = "insight_status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insight_id: Mapped[int] = mapped_column(
        ForeignKey("insights.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    from_status: Mapped[str | None] = mapped_column(String)
    to_status: Mapped[str] = mapped_column(String)
    by: Mapped[str] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)


def get_insight(session: Session, project_id: int, insight_id: int) -> InsightRecord | None:
    """The insight if it belongs to ``project_id``, else ``None``."""
    found = session.get(InsightRecord, insight_id)
    return found if found is not None and found.project_id == project_id else None


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_insights(
    session: Session,
    project_id: int,
    *,
    status: str | None = None,
    words: Sequence[str] = (),
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[InsightRecord]]:
    """``(total, page)`` of the project's insights, newest first: with ``status``, and every
    one of ``words`` in the title or the statement (case-insensitive)."""
    stmt = select(InsightRecord).where(InsightRecord.project_id == project_id)
    if status is not None:
        stmt = stmt.where(InsightRecord.status == status)
    for word in words:
        pattern = _like(word)
        stmt = stmt.where(
            or_(
                InsightRecord.title.ilike(pattern, escape="\\"),
                InsightRecord.statement.ilike(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = session.scalars(stmt.order_by(InsightRecord.id.desc()).limit(limit).offset(offset)).all()
    return int(total), list(page)


def links_of(session: Session, insight_ids: Sequence[int]) -> dict[int, list[InsightLinkRecord]]:
    """Each insight's links, in the order added."""
    out: dict[int, list[InsightLinkRecord]] = defaultdict(list)
    if insight_ids:
        stmt = select(InsightLinkRecord).where(InsightLinkRecord.insight_id.in_(list(insight_ids)))
        for link in session.scalars(stmt.order_by(InsightLinkRecord.id)):
            out[link.insight_id].append(link)
    return out


def history_of(session: Session, insight_id: int) -> list[InsightStatusRecord]:
    """The insight's status changes, oldest first."""
    stmt = select(InsightStatusRecord).where(InsightStatusRecord.insight_id == insight_id)
    return list(session.scalars(stmt.order_by(InsightStatusRecord.id)))


def add_links(
    session: Session, insight_id: int, kind: str, refs: Sequence[str], by: str
) -> list[str]:
    """Link ``refs`` of ``kind``; those already linked are skipped. Returns the new ones."""
    held = set(
        session.scalars(
            select(InsightLinkRecord.ref).where(
                InsightLinkRecord.insight_id == insight_id, InsightLinkRecord.kind == kind
            )
        )
    )
    new = [r for r in dict.fromkeys(refs) if r not in held]
    session.add_all(
        InsightLinkRecord(insight_id=insight_id, kind=kind, ref=r, added_by=by) for r in new
    )
    session.flush()
    return new


def project_units(session: Session, project_id: int, unit_ids: Sequence[int]) -> set[int]:
    """Which of ``unit_ids`` are units of the project's items."""
    found: set[int] = set()
    ids = list(unit_ids)
    for start in range(0, len(ids), 500):
        stmt = (
            select(UnitRecord.id)
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(ItemRecord.project_id == project_id, UnitRecord.id.in_(ids[start : start + 500]))
        )
        found.update(int(i) for i in session.scalars(stmt))
    return found


def project_themes(session: Session, project_id: int, theme_ids: Sequence[int]) -> set[int]:
    """Which of ``theme_ids`` are themes of the project."""
    if not theme_ids:
        return set()
    stmt = select(ThemeRecord.id).where(
        ThemeRecord.project_id == project_id, ThemeRecord.id.in_(list(theme_ids))
    )
    return {int(i) for i in session.scalars(stmt)}


def unit_quotes(session: Session, unit_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Text, item id, source and account of each unit, by id (what a linked quote shows)."""
    out: dict[int, dict[str, Any]] = {}
    ids = list(unit_ids)
    for start in range(0, len(ids), 500):
        stmt = (
            select(
                UnitRecord.id,
                UnitRecord.text,
                ItemRecord.external_id,
                ItemRecord.source,
                ItemRecord.account_id,
            )
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(UnitRecord.id.in_(ids[start : start + 500]))
        )
        for r in session.execute(stmt):
            out[int(r.id)] = {
                "text": r.text,
                "external_id": r.external_id,
                "source": r.source,
                "account_id": r.account_id,
            }
    return out
