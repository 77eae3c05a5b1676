"""Reads behind interchange and segment retrieval: a project's items, units, codes, themes
and imported segments as plain rows, and the lock an import holds while it checks and writes.
Functions take a session and never commit.

``project_id=None`` means the command line's store (items stored without a project).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Select, cast, func, select
from sqlalchemy.orm import Session

from themecoder.storage.interop import CodedSegmentRecord, QdaImportRecord
from themecoder.storage.review import ApiKeyRecord, SuggestionRecord
from themecoder.storage.tables import CodeRecord, ItemRecord, UnitRecord
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

_CHUNK = 500
#: First key of the PostgreSQL advisory lock an import holds ("qdpx"); the second is the project.
_IMPORT_LOCK = 0x71647078


def _in_project(stmt: Select[Any], project_id: int | None) -> Select[Any]:
    if project_id is None:
        return stmt.where(ItemRecord.project_id.is_(None))
    return stmt.where(ItemRecord.project_id == project_id)


def project_items(session: Session, project_id: int | None) -> list[dict[str, Any]]:
    """The project's items in source order (source, offset, id)."""
    stmt = _in_project(select(ItemRecord), project_id).order_by(
        ItemRecord.source, ItemRecord.source_offset, ItemRecord.id
    )
    return [
        {
            "id": r.id,
            "external_id": r.external_id,
            "text": r.text,
            "speaker": r.speaker,
            "coded": r.coded,
            "source": r.source,
            "source_offset": r.source_offset,
            "meta": dict(r.meta or {}),
            "account_id": r.account_id,
            "created_at": r.created_at,
        }
        for r in session.scalars(stmt)
    ]


def project_units(session: Session, project_id: int | None) -> list[dict[str, Any]]:
    """Every unit of the project's items: id, item id, index, offsets, text."""
    stmt = _in_project(
        select(
            UnitRecord.id,
            UnitRecord.item_id,
            UnitRecord.idx,
            UnitRecord.start_char,
            UnitRecord.end_char,
            UnitRecord.text,
        ).join(ItemRecord, ItemRecord.id == UnitRecord.item_id),
        project_id,
    ).order_by(UnitRecord.item_id, UnitRecord.idx)
    return [dict(r._mapping) for r in session.execute(stmt)]


def unit_codes(session: Session, project_id: int | None) -> list[dict[str, Any]]:
    """The codes units carry, one row per code, with who decided it.

    In a project the suggestions are the truth: rejected ones are left out, overridden ones
    carry the reviewer's bucket and polarity, ``decided_by`` names the reviewer's key. In the
    command line's store the model's codes are all there is. ``neighbors`` are the reasons the
    model gave for the same unit and bucket, when it gave the code.
    """
    reasons = {
        (r.unit_id, r.bucket): r
        for r in session.scalars(
            _in_project(
                select(CodeRecord).join(ItemRecord, ItemRecord.id == CodeRecord.item_id), project_id
            )
        )
    }
    if project_id is None:
        return [
            {
                "unit_id": r.unit_id,
                "item_id": r.item_id,
                "bucket": r.bucket,
                "polarity": r.polarity,
                "confidence": r.confidence,
                "state": "model",
                "origin": "model",
                "decided_by": None,
                "decided_at": None,
                "model_version": r.model_version,
                "theme_id": None,
                "neighbors": list(r.neighbors or []),
            }
            for r in reasons.values()
        ]
    rows = session.execute(
        select(SuggestionRecord, ApiKeyRecord.name)
        .outerjoin(ApiKeyRecord, ApiKeyRecord.id == SuggestionRecord.decided_by)
        .where(SuggestionRecord.project_id == project_id, SuggestionRecord.state != "rejected")
        .order_by(SuggestionRecord.id)
    )
    out = []
    for s, reviewer in rows:
        code = reasons.get((s.unit_id, s.bucket))
        out.append(
            {
                "unit_id": s.unit_id,
                "item_id": s.item_id,
                "bucket": s.final_bucket or s.bucket,
                "polarity": s.final_polarity or s.polarity,
                "confidence": s.confidence,
                "state": s.state,
                "origin": s.origin,
                "decided_by": reviewer,
                "decided_at": s.decided_at,
                "model_version": s.model_version,
                "theme_id": s.final_theme_id,
                "neighbors": list(code.neighbors or [])
                if code is not None and s.origin == "model"
                else [],
            }
        )
    return out


def unit_themes(
    session: Session, unit_ids: Sequence[int], merged: bool = False
) -> list[dict[str, Any]]:
    """``unit_id, theme_id, label, score, rank, status`` of the units' live themes (with
    ``merged``, also the rows a merge left on the merged themes), best rank first."""
    statuses = ("active", "proposed", "merged") if merged else ("active", "proposed")
    out: list[dict[str, Any]] = []
    ids = list(unit_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                UnitThemeRecord.unit_id,
                UnitThemeRecord.theme_id,
                ThemeRecord.label,
                UnitThemeRecord.score,
                UnitThemeRecord.rank,
                ThemeRecord.status,
            )
            .join(ThemeRecord, ThemeRecord.id == UnitThemeRecord.theme_id)
            .where(
                UnitThemeRecord.unit_id.in_(ids[start : start + _CHUNK]),
                ThemeRecord.status.in_(statuses),
            )
            .order_by(UnitThemeRecord.unit_id, UnitThemeRecord.rank)
        )
        out.extend(dict(r._mapping) for r in rows)
    return out


def theme_labels(session: Session, theme_ids: Sequence[int]) -> dict[int, str]:
    if not theme_ids:
        return {}
    rows = session.execute(
        select(ThemeRecord.id, ThemeRecord.label).where(ThemeRecord.id.in_(list(theme_ids)))
    )
    return {int(i): label for i, label in rows}


def qda_imports(session: Session, project_id: int | None) -> list[QdaImportRecord]:
    stmt = select(QdaImportRecord).order_by(QdaImportRecord.id)
    if project_id is None:
        return list(session.scalars(stmt.where(QdaImportRecord.project_id.is_(None))))
    return list(session.scalars(stmt.where(QdaImportRecord.project_id == project_id)))


def coded_segments(session: Session, project_id: int | None) -> list[dict[str, Any]]:
    """Imported coded segments of the project: item id, code, span, text, coder, note, import.

    ``code`` is the custom code's id in the import's codebook; ``label`` the code's path of
    names as the import recorded it (``bucket:polarity`` for a themecoder bucket's polarity
    sub-code, ``parent:child`` for another tool's), else the id (imports made before paths).
    """
    stmt = _in_project(
        select(
            CodedSegmentRecord.id,
            CodedSegmentRecord.import_id,
            CodedSegmentRecord.item_id,
            CodedSegmentRecord.code,
            CodedSegmentRecord.start_char,
            CodedSegmentRecord.end_char,
            CodedSegmentRecord.text,
            CodedSegmentRecord.coder,
            CodedSegmentRecord.note,
        ).join(ItemRecord, ItemRecord.id == CodedSegmentRecord.item_id),
        project_id,
    ).order_by(CodedSegmentRecord.id)
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    codes = _import_codes(session, {r["import_id"] for r in rows})
    for r in rows:
        info = codes.get(r["import_id"], {}).get(r["code"])
        r["label"] = (info or {}).get("path") or r["code"]
    return rows


def _import_codes(session: Session, import_ids: set[int]) -> dict[int, dict[str, Any]]:
    """``{import id: its codes' recorded GUIDs, colours, paths}`` of the given imports."""
    out: dict[int, dict[str, Any]] = {}
    ids = sorted(import_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(QdaImportRecord.id, QdaImportRecord.codes).where(
                QdaImportRecord.id.in_(ids[start : start + _CHUNK])
            )
        )
        out.update({int(i): dict(codes or {}) for i, codes in rows})
    return out


def lock_imports(session: Session, project_id: int | None) -> None:
    """Hold, until the transaction ends, the lock that makes imports into the project (or the
    command line's store) check for held sources and write one after another.

    The unique constraint on ``(project_id, external_id)`` does not hold where ``project_id``
    is NULL (NULLs are distinct), so a check and the writes after it must not interleave with
    another import's. On PostgreSQL a transaction-scoped advisory lock per project; on SQLite
    the database's write lock, taken before the check (``BEGIN IMMEDIATE``, as the engine
    does before a savepoint) rather than at the first write.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        session.execute(
            select(
                func.pg_advisory_xact_lock(
                    cast(_IMPORT_LOCK, Integer), cast(project_id or 0, Integer)
                )
            )
        )
    elif dialect == "sqlite":
        dbapi = connection.connection.dbapi_connection
        if dbapi is not None and not dbapi.in_transaction:
            dbapi.execute("BEGIN IMMEDIATE")


def held_external_ids(
    session: Session, project_id: int | None, external_ids: Sequence[str]
) -> set[str]:
    """The given external ids the project (``None``: the command line's store) already holds.

    The project is compared NULL-safe (``IS NOT DISTINCT FROM``): items of the command line's
    store, whose ``project_id`` is NULL, are found too.
    """
    held: set[str] = set()
    for start in range(0, len(external_ids), _CHUNK):
        chunk = list(external_ids[start : start + _CHUNK])
        held.update(
            session.scalars(
                select(ItemRecord.external_id).where(
                    ItemRecord.project_id.is_not_distinct_from(project_id),
                    ItemRecord.external_id.in_(chunk),
                )
            )
        )
    return held
