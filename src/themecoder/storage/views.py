"""Read queries behind the web pages: review units, a unit with its codes, documents.

Every query filters on ``project_id``, so a page of one project never shows another's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from themecoder.storage.review import ApiKeyRecord, ProjectRecord, SuggestionRecord
from themecoder.storage.tables import CodeRecord, ItemRecord, UnitRecord
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

#: States whose code the unit carries (a rejected suggestion is not a code).
LIVE_STATES = ("pending", "auto_accepted", "approved", "overridden")
MAX_UNITS = 5000


@dataclass(frozen=True)
class UnitFilter:
    """Which units a review queue holds; ``None`` means any."""

    bucket: str | None = None
    band: str | None = None
    account_id: str | None = None
    theme_id: int | None = None
    source: str | None = None


def live_key(session: Session, key_id: int) -> tuple[ApiKeyRecord, str] | None:
    """A key that is not revoked, with its project's slug."""
    row = session.execute(
        select(ApiKeyRecord, ProjectRecord.slug)
        .join(ProjectRecord, ProjectRecord.id == ApiKeyRecord.project_id)
        .where(ApiKeyRecord.id == key_id, ApiKeyRecord.revoked_at.is_(None))
    ).first()
    return None if row is None else (row[0], row[1])


def pending_units(
    session: Session, project_id: int, flt: UnitFilter, *, complete: Select[Any]
) -> list[tuple[int, float]]:
    """``(unit id, key)`` of units with a pending suggestion that matches ``flt``, in queue order.

    The order is fixed per unit (its highest model priority, then id), so a unit's neighbours
    stay its neighbours while others are decided. ``complete`` selects the double-coded units
    whose blind coders are both done; other double-coded units stay out.
    """
    key = (
        select(SuggestionRecord.unit_id, func.max(SuggestionRecord.priority).label("key"))
        .where(SuggestionRecord.project_id == project_id)
        .group_by(SuggestionRecord.unit_id)
        .subquery()
    )
    matching = (
        select(SuggestionRecord.unit_id)
        .join(ItemRecord, ItemRecord.id == SuggestionRecord.item_id)
        .where(
            SuggestionRecord.project_id == project_id,
            SuggestionRecord.state == "pending",
            or_(SuggestionRecord.double_coded.is_(False), SuggestionRecord.unit_id.in_(complete)),
        )
    )
    if flt.bucket:
        matching = matching.where(SuggestionRecord.bucket == flt.bucket)
    if flt.band:
        matching = matching.where(SuggestionRecord.band == flt.band)
    if flt.account_id:
        matching = matching.where(ItemRecord.account_id == flt.account_id)
    if flt.source:
        matching = matching.where(ItemRecord.source == flt.source)
    if flt.theme_id is not None:
        matching = matching.where(
            SuggestionRecord.unit_id.in_(
                select(UnitThemeRecord.unit_id).where(UnitThemeRecord.theme_id == flt.theme_id)
            )
        )
    rows = session.execute(
        select(key.c.unit_id, key.c.key)
        .where(key.c.unit_id.in_(matching))
        .order_by(key.c.key.desc(), key.c.unit_id)
        .limit(MAX_UNITS)
    )
    return [(int(u), float(k)) for u, k in rows]


def unit_key(session: Session, unit_id: int) -> float:
    """A unit's place in every queue: the highest priority among its suggestions."""
    value = session.scalar(
        select(func.max(SuggestionRecord.priority)).where(SuggestionRecord.unit_id == unit_id)
    )
    return float(value or 0.0)


def unit_rows(
    session: Session, project_id: int, unit_id: int
) -> tuple[UnitRecord, ItemRecord] | None:
    """A unit of the project with its item."""
    row = session.execute(
        select(UnitRecord, ItemRecord)
        .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        .where(UnitRecord.id == unit_id, ItemRecord.project_id == project_id)
    ).first()
    return None if row is None else (row[0], row[1])


def unit_suggestions(session: Session, unit_ids: Sequence[int]) -> list[SuggestionRecord]:
    """Every suggestion of the units, by id."""
    if not unit_ids:
        return []
    return list(
        session.scalars(
            select(SuggestionRecord)
            .where(SuggestionRecord.unit_id.in_(list(unit_ids)))
            .order_by(SuggestionRecord.id)
        )
    )


def unit_reasons(session: Session, unit_id: int) -> dict[str, list[dict[str, Any]]]:
    """The model's nearest training examples per bucket of a unit (its reason)."""
    rows = session.execute(
        select(CodeRecord.bucket, CodeRecord.neighbors).where(CodeRecord.unit_id == unit_id)
    )
    return {bucket: list(neighbors or []) for bucket, neighbors in rows}


def unit_themes(session: Session, unit_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """``{unit id: [(theme id, label)]}`` by rank."""
    out: dict[int, list[tuple[int, str]]] = {}
    if not unit_ids:
        return out
    rows = session.execute(
        select(UnitThemeRecord.unit_id, ThemeRecord.id, ThemeRecord.label)
        .join(ThemeRecord, ThemeRecord.id == UnitThemeRecord.theme_id)
        .where(UnitThemeRecord.unit_id.in_(list(unit_ids)))
        .order_by(UnitThemeRecord.unit_id, UnitThemeRecord.rank)
    )
    for unit_id, theme_id, label in rows:
        out.setdefault(int(unit_id), []).append((int(theme_id), label))
    return out


def document_items(session: Session, project_id: int, item: ItemRecord) -> list[ItemRecord]:
    """The items of ``item``'s document (its ``source``) in order, or just ``item``."""
    if not item.source:
        return [item]
    return list(
        session.scalars(
            select(ItemRecord)
            .where(ItemRecord.project_id == project_id, ItemRecord.source == item.source)
            .order_by(ItemRecord.source_offset, ItemRecord.id)
        )
    )


def item_of(session: Session, project_id: int, item_id: int) -> ItemRecord | None:
    """An item of the project."""
    item = session.get(ItemRecord, item_id)
    return item if item is not None and item.project_id == project_id else None


def units_of(session: Session, item_ids: Sequence[int]) -> list[UnitRecord]:
    """The units of the items, in item and position order."""
    if not item_ids:
        return []
    return list(
        session.scalars(
            select(UnitRecord)
            .where(UnitRecord.item_id.in_(list(item_ids)))
            .order_by(UnitRecord.item_id, UnitRecord.idx)
        )
    )


def documents(session: Session, project_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """Documents of the project, newest first: one per ``source``, else one per item."""
    first = func.min(ItemRecord.id)
    doc = func.coalesce(ItemRecord.source, ItemRecord.external_id)
    rows = session.execute(
        select(
            first,
            ItemRecord.source,
            func.min(ItemRecord.external_id),
            func.min(ItemRecord.account_id),
            func.count(ItemRecord.id),
        )
        .where(ItemRecord.project_id == project_id)
        .group_by(doc, ItemRecord.source)
        .order_by(first.desc())
        .limit(limit)
    )
    return [
        {
            "item_id": int(i),
            "source": source,
            "title": source or ext,
            "account_id": account,
            "items": int(n),
        }
        for i, source, ext, account, n in rows
    ]


def item_holds(session: Session, project_id: int, column: str, value: str) -> bool:
    """Whether an item of the project has ``value`` in ``column`` (``account_id`` or
    ``source``): the check for a filter value past the capped lists of :func:`filter_choices`."""
    field = {"account_id": ItemRecord.account_id, "source": ItemRecord.source}[column]
    found = select(ItemRecord.id).where(ItemRecord.project_id == project_id, field == value)
    return session.scalar(found.limit(1)) is not None


def filter_choices(session: Session, project_id: int) -> dict[str, list[Any]]:
    """Accounts, sources and themes present in the project, for the queue filters."""
    accounts = session.scalars(
        select(ItemRecord.account_id)
        .where(ItemRecord.project_id == project_id, ItemRecord.account_id.is_not(None))
        .distinct()
        .order_by(ItemRecord.account_id)
        .limit(500)
    )
    sources = session.scalars(
        select(ItemRecord.source)
        .where(ItemRecord.project_id == project_id, ItemRecord.source.is_not(None))
        .distinct()
        .order_by(ItemRecord.source)
        .limit(500)
    )
    themes = session.execute(
        select(ThemeRecord.id, ThemeRecord.label)
        .where(
            ThemeRecord.status == "active",
            ThemeRecord.id.in_(
                select(UnitThemeRecord.theme_id)
                .join(UnitRecord, UnitRecord.id == UnitThemeRecord.unit_id)
                .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
                .where(ItemRecord.project_id == project_id)
            ),
        )
        .order_by(ThemeRecord.id)
    )
    return {
        "accounts": list(accounts),
        "sources": list(sources),
        "themes": [(int(t), label) for t, label in themes],
    }


def state_counts(session: Session, project_id: int) -> dict[str, int]:
    """Suggestions of the project per state."""
    rows = session.execute(
        select(SuggestionRecord.state, func.count())
        .where(SuggestionRecord.project_id == project_id)
        .group_by(SuggestionRecord.state)
    )
    return {state: int(n) for state, n in rows}


def project_themes(session: Session, project_id: int) -> list[tuple[ThemeRecord, int]]:
    """Themes carried by units of the project, with how many of its units carry each.

    Themes are discovered over the whole store; a project sees only those its units carry.
    """
    n = func.count(UnitThemeRecord.unit_id)
    rows = session.execute(
        select(ThemeRecord, n)
        .join(UnitThemeRecord, UnitThemeRecord.theme_id == ThemeRecord.id)
        .join(UnitRecord, UnitRecord.id == UnitThemeRecord.unit_id)
        .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        .where(ItemRecord.project_id == project_id)
        .group_by(ThemeRecord.id)
        .order_by(n.desc(), ThemeRecord.id)
    )
    return [(t, int(k)) for t, k in rows]


def project_unit_ids(session: Session, project_id: int, unit_ids: Sequence[int]) -> set[int]:
    """Those of ``unit_ids`` that belong to the project."""
    if not unit_ids:
        return set()
    rows = session.scalars(
        select(UnitRecord.id)
        .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        .where(ItemRecord.project_id == project_id, UnitRecord.id.in_(list(unit_ids)))
    )
    return set(rows)


def theme_dates(session: Session, project_id: int) -> list[tuple[int, Any]]:
    """``(theme id, item created_at)`` of the project's themed units that have a date."""
    return [
        (int(t), at)
        for t, at in session.execute(
            select(UnitThemeRecord.theme_id, ItemRecord.created_at)
            .join(UnitRecord, UnitRecord.id == UnitThemeRecord.unit_id)
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(ItemRecord.project_id == project_id, ItemRecord.created_at.is_not(None))
        )
    ]
