"""Reads behind interchange and segment retrieval: a project's items, units, codes, themes
and imported segments as plain rows. Functions take a session and never commit.

``project_id=None`` means the command line's store (items stored without a project).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from themecoder.storage.interop import CodedSegmentRecord, QdaImportRecord
from themecoder.storage.review import ApiKeyRecord, SuggestionRecord
from themecoder.storage.tables import CodeRecord, ItemRecord, UnitRecord
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

_CHUNK = 500


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


def unit_themes(session: Session, unit_ids: Sequence[int]) -> list[dict[str, Any]]:
    """``unit_id, theme_id, label, score, rank`` of the units' live themes."""
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
            )
            .join(ThemeRecord, ThemeRecord.id == UnitThemeRecord.theme_id)
            .where(
                UnitThemeRecord.unit_id.in_(ids[start : start + _CHUNK]),
                ThemeRecord.status.in_(("active", "proposed")),
            )
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
    """Imported coded segments of the project: item id, code, span, text, coder, note, import."""
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
    return [dict(r._mapping) for r in session.execute(stmt)]


def held_external_ids(session: Session, project_id: int, external_ids: Sequence[str]) -> set[str]:
    """The given external ids the project already holds."""
    held: set[str] = set()
    for start in range(0, len(external_ids), _CHUNK):
        chunk = list(external_ids[start : start + _CHUNK])
        held.update(
            session.scalars(
                select(ItemRecord.external_id).where(
                    ItemRecord.project_id == project_id, ItemRecord.external_id.in_(chunk)
                )
            )
        )
    return held
