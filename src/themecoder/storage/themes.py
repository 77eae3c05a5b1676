"""Tables and repository functions of discovered themes.

A theme's id is stable for its whole life; creations and edits (merge, split, archive) are
lineage events stored beside the codebooks' (``lineage_events`` under :data:`LINEAGE_NAME`),
with theme ids written as code ids (``"theme:12"``), so historical counts re-map through the
codebook's lineage mechanism (the services build it). Functions take a session and never
commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, delete, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from themecoder.storage.codebooks import lineage_rows
from themecoder.storage.repository import EMBEDDING_DTYPE
from themecoder.storage.tables import (
    Base,
    CodeRecord,
    ItemRecord,
    JSONType,
    LineageEventRecord,
    RunRecord,
    UnitRecord,
    UTCDateTime,
    utc_now,
)

STATUSES = ("active", "proposed", "archived", "merged")
#: The codebook name theme lineage is stored under in ``lineage_events`` (reserved for themes).
LINEAGE_NAME = "themecoder:themes"


class ThemeRecord(Base):
    """A theme: a readable label, keywords, quotes (``[{"unit_id", "text"}]``) and centroid.

    ``centroid`` holds little-endian float32 bytes of the L2-normalised mean embedding of
    the theme's units. ``bucket`` is the bucket the theme was discovered in (``None``:
    global). ``version`` is the lineage version of the theme's last change. ``project_id`` is
    the project whose units the theme was discovered in (``None``: the CLI's store, no
    project); the API only ever shows or accepts a theme of the caller's project.
    """

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String)
    keywords: Mapped[list[str]] = mapped_column(JSONType)
    quotes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    centroid: Mapped[bytes] = mapped_column(LargeBinary)
    bucket: Mapped[str | None] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    version: Mapped[int] = mapped_column(Integer)

    @property
    def code(self) -> str:
        return code_id(self.id)

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.centroid, dtype=EMBEDDING_DTYPE).astype(np.float32)


class UnitThemeRecord(Base):
    """A theme carried by a unit: ``rank`` 1 is its first theme, ``score`` a cosine."""

    __tablename__ = "unit_themes"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer)


def code_id(theme_id: int) -> str:
    """The lineage code id of a theme: ``12`` -> ``"theme:12"``."""
    return f"theme:{theme_id}"


def theme_of(code: str) -> int:
    """The theme id of a lineage code id: ``"theme:12"`` -> ``12``."""
    return int(code.split(":", 1)[1])


def centroid_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=EMBEDDING_DTYPE).reshape(-1).tobytes()


def theme_lineage(session: Session) -> list[dict[str, Any]]:
    """Stored lineage events of the theme set in order, as ``Lineage.from_json`` rows."""
    return lineage_rows(session, LINEAGE_NAME)


def append_lineage(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store lineage events (``Lineage.to_json`` rows) after the stored ones; the caller
    checks them with a ``Lineage`` first."""
    seq = session.scalar(
        select(func.count(LineageEventRecord.id)).where(LineageEventRecord.codebook == LINEAGE_NAME)
    )
    for offset, row in enumerate(rows):
        session.add(
            LineageEventRecord(
                codebook=LINEAGE_NAME,
                seq=int(seq or 0) + offset,
                kind=row["kind"],
                sources=list(row["sources"]),
                targets=list(row["targets"]),
                version=int(row["version"]),
                at=row.get("at"),
            )
        )


def themes_in(
    session: Session,
    bucket: str | None,
    statuses: Sequence[str] = STATUSES,
    project_id: int | None = None,
) -> list[ThemeRecord]:
    """Themes of one scope (a bucket, or ``None`` for global themes) of one project
    (``None``: the CLI's themes, of no project), by id."""
    scope = ThemeRecord.bucket.is_(None) if bucket is None else ThemeRecord.bucket == bucket
    stmt = select(ThemeRecord).where(
        scope, ThemeRecord.status.in_(statuses), _of_project(ThemeRecord.project_id, project_id)
    )
    return list(session.scalars(stmt.order_by(ThemeRecord.id)))


def project_theme(session: Session, project_id: int, theme_id: int) -> ThemeRecord | None:
    """The theme ``theme_id`` if it belongs to ``project_id``, else ``None``."""
    theme = session.get(ThemeRecord, theme_id)
    return theme if theme is not None and theme.project_id == project_id else None


def _of_project(column: Any, project_id: int | None) -> Any:
    return column.is_(None) if project_id is None else column == project_id


def scope_units(
    session: Session,
    bucket: str | None,
    project_id: int | None = None,
    *,
    sources: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[int]:
    """Ids of units with an embedding in a scope: every customer unit of the project
    (``None``: of no project, the CLI's), or those coded with ``bucket``.

    A study narrows the scope: ``sources`` (file names, e.g. ``interview_03.txt``) and a
    period ``since <= date < until``, the date being the item's ``created_at`` when known,
    else its run's. Items not coded (interviewer and agent turns) never count.
    """
    items = select(ItemRecord.id).where(
        _of_project(ItemRecord.project_id, project_id), ItemRecord.coded.is_(True)
    )
    if sources:
        items = items.where(ItemRecord.source.in_(list(sources)))
    if since is not None or until is not None:
        at = func.coalesce(ItemRecord.created_at, RunRecord.created_at)
        items = items.join(RunRecord, RunRecord.id == ItemRecord.run_id)
        items = items.where(at >= since) if since is not None else items
        items = items.where(at < until) if until is not None else items
    stmt = select(UnitRecord.id).where(
        UnitRecord.embedding.is_not(None), UnitRecord.item_id.in_(items)
    )
    if bucket is not None:
        coded = select(CodeRecord.unit_id).where(CodeRecord.bucket == bucket)
        stmt = stmt.where(UnitRecord.id.in_(coded))
    return list(session.scalars(stmt.order_by(UnitRecord.id)))


def known_sources(session: Session, project_id: int | None) -> set[str]:
    """The source file names of the project's items."""
    stmt = select(ItemRecord.source).where(
        _of_project(ItemRecord.project_id, project_id), ItemRecord.source.is_not(None)
    )
    return set(session.scalars(stmt.distinct()))


def unit_texts(session: Session, unit_ids: Sequence[int]) -> list[str]:
    """Texts of ``unit_ids``, in that order."""
    found: dict[int, str] = {}
    for start in range(0, len(unit_ids), 500):
        chunk = list(unit_ids[start : start + 500])
        stmt = select(UnitRecord.id, UnitRecord.text).where(UnitRecord.id.in_(chunk))
        found.update((int(i), t) for i, t in session.execute(stmt))
    return [found[i] for i in unit_ids]


def assigned_units(session: Session, theme_ids: Iterable[int]) -> set[int]:
    """Units carrying any of ``theme_ids``."""
    ids = list(theme_ids)
    out: set[int] = set()
    for start in range(0, len(ids), 500):
        stmt = select(UnitThemeRecord.unit_id).where(
            UnitThemeRecord.theme_id.in_(ids[start : start + 500])
        )
        out.update(session.scalars(stmt))
    return out


def add_assignments(
    session: Session, unit_ids: Sequence[int], picks: Sequence[Sequence[tuple[int, float]]]
) -> int:
    """Store ``picks[i]`` (``(theme id, score)`` best first) for ``unit_ids[i]``; rows added."""
    rows = [
        {"unit_id": int(u), "theme_id": int(t), "score": float(s), "rank": r}
        for u, pick in zip(unit_ids, picks, strict=True)
        for r, (t, s) in enumerate(pick, start=1)
    ]
    return insert_rows(session, rows)


def insert_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Bulk-insert unit-theme rows (``unit_id``, ``theme_id``, ``score``, ``rank``)."""
    if rows:
        session.execute(insert(UnitThemeRecord), [dict(r) for r in rows])
    return len(rows)


def theme_rows(session: Session, theme_ids: Sequence[int]) -> list[tuple[int, int, float, int]]:
    """``(unit_id, theme_id, score, rank)`` of ``theme_ids``, ordered by unit and rank."""
    stmt = (
        select(
            UnitThemeRecord.unit_id,
            UnitThemeRecord.theme_id,
            UnitThemeRecord.score,
            UnitThemeRecord.rank,
        )
        .where(UnitThemeRecord.theme_id.in_(list(theme_ids)))
        .order_by(UnitThemeRecord.unit_id, UnitThemeRecord.rank)
    )
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def dated_rows(session: Session, theme_ids: Sequence[int]) -> list[tuple[datetime, int]]:
    """``(date, theme id)`` of every unit-theme row of ``theme_ids``.

    The date is the item's ``created_at`` when known, else its run's (as for stored codes).
    """
    stmt = (
        select(func.coalesce(ItemRecord.created_at, RunRecord.created_at), UnitThemeRecord.theme_id)
        .join(UnitRecord, UnitRecord.id == UnitThemeRecord.unit_id)
        .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        .join(RunRecord, RunRecord.id == ItemRecord.run_id)
        .where(UnitThemeRecord.theme_id.in_(list(theme_ids)))
    )
    return [tuple(r) for r in session.execute(stmt)]  # type: ignore[misc]


def row_counts(session: Session) -> dict[int, int]:
    """Unit-theme rows per theme id."""
    stmt = select(UnitThemeRecord.theme_id, func.count()).group_by(UnitThemeRecord.theme_id)
    return {int(t): int(n) for t, n in session.execute(stmt)}


def delete_rows(session: Session, theme_ids: Sequence[int]) -> None:
    """Drop every unit-theme row of ``theme_ids``."""
    session.execute(delete(UnitThemeRecord).where(UnitThemeRecord.theme_id.in_(list(theme_ids))))
