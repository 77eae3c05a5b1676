"""Queries that feed analytics: stored items, codes, review decisions and themes as DataFrames.

Every function takes a session and an optional project scope and returns a plain DataFrame;
the arithmetic lives in :mod:`themecoder.analytics`. ``project_id=None`` reads every item
(CLI runs and all projects); a number reads only that project's items.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from themecoder.storage.review import ProjectRecord, SuggestionRecord
from themecoder.storage.tables import CodeRecord, ItemRecord, RunRecord, UnitRecord
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

ITEM_COLUMNS = [
    "item_id",
    "external_id",
    "project_id",
    "project",
    "at",
    "run_at",
    "account_id",
    "source",
    "text",
    "coded",
    "sentiment",
    "sentiment_score",
    "expression",
    "meta",
]
CODE_COLUMNS = [
    "code_id",
    "unit_id",
    "item_id",
    "bucket",
    "polarity",
    "confidence",
    "unit_text",
    "unit_sentiment_score",
]
SUGGESTION_COLUMNS = [
    "suggestion_id",
    "unit_id",
    "item_id",
    "origin",
    "bucket",
    "polarity",
    "state",
    "final_bucket",
    "final_polarity",
    "decided_at",
    "unit_text",
    "unit_sentiment_score",
]


def _scoped(stmt: Select[Any], project_id: int | None) -> Select[Any]:
    return stmt if project_id is None else stmt.where(ItemRecord.project_id == project_id)


def _frame(session: Session, stmt: Select[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in session.execute(stmt)], columns=columns)


def items_frame(session: Session, project_id: int | None = None) -> pd.DataFrame:
    """One row per stored item: ids, project slug ("cli" for CLI runs), its ``created_at``
    (``at``) and its run's (``run_at``), account, source, text, labels, metadata."""
    stmt = (
        select(
            ItemRecord.id,
            ItemRecord.external_id,
            ItemRecord.project_id,
            func.coalesce(ProjectRecord.slug, "cli"),
            ItemRecord.created_at,
            RunRecord.created_at,
            ItemRecord.account_id,
            ItemRecord.source,
            ItemRecord.text,
            ItemRecord.coded,
            ItemRecord.sentiment,
            ItemRecord.sentiment_score,
            ItemRecord.expression,
            ItemRecord.meta,
        )
        .join(RunRecord, RunRecord.id == ItemRecord.run_id)
        .outerjoin(ProjectRecord, ProjectRecord.id == ItemRecord.project_id)
        .order_by(ItemRecord.id)
    )
    return _frame(session, _scoped(stmt, project_id), ITEM_COLUMNS)


def codes_frame(session: Session, project_id: int | None = None) -> pd.DataFrame:
    """Every unit-level model code with its unit's text and sentiment score."""
    stmt = (
        select(
            CodeRecord.id,
            CodeRecord.unit_id,
            CodeRecord.item_id,
            CodeRecord.bucket,
            CodeRecord.polarity,
            CodeRecord.confidence,
            UnitRecord.text,
            UnitRecord.sentiment_score,
        )
        .join(UnitRecord, UnitRecord.id == CodeRecord.unit_id)
        .join(ItemRecord, ItemRecord.id == CodeRecord.item_id)
        .order_by(CodeRecord.id)
    )
    return _frame(session, _scoped(stmt, project_id), CODE_COLUMNS)


def suggestions_frame(session: Session, project_id: int | None = None) -> pd.DataFrame:
    """Review suggestions with their state, the reviewer's final bucket and polarity, and their
    unit's text and sentiment score (a code a reviewer adds may be on a unit with no model code)."""
    stmt = (
        select(
            SuggestionRecord.id,
            SuggestionRecord.unit_id,
            SuggestionRecord.item_id,
            SuggestionRecord.origin,
            SuggestionRecord.bucket,
            SuggestionRecord.polarity,
            SuggestionRecord.state,
            SuggestionRecord.final_bucket,
            SuggestionRecord.final_polarity,
            SuggestionRecord.decided_at,
            UnitRecord.text,
            UnitRecord.sentiment_score,
        )
        .outerjoin(UnitRecord, UnitRecord.id == SuggestionRecord.unit_id)
        .order_by(SuggestionRecord.id)
    )
    if project_id is not None:
        stmt = stmt.where(SuggestionRecord.project_id == project_id)
    return _frame(session, stmt, SUGGESTION_COLUMNS)


def unit_themes_frame(session: Session, project_id: int | None = None) -> pd.DataFrame:
    """``unit_id``, ``item_id``, ``theme_id``, ``label``, ``rank`` and the unit's text."""
    stmt = (
        select(
            UnitThemeRecord.unit_id,
            UnitRecord.item_id,
            UnitThemeRecord.theme_id,
            ThemeRecord.label,
            UnitThemeRecord.rank,
            UnitRecord.text,
        )
        .join(UnitRecord, UnitRecord.id == UnitThemeRecord.unit_id)
        .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        .join(ThemeRecord, ThemeRecord.id == UnitThemeRecord.theme_id)
        .order_by(UnitThemeRecord.unit_id, UnitThemeRecord.rank)
    )
    columns = ["unit_id", "item_id", "theme_id", "label", "rank", "unit_text"]
    return _frame(session, _scoped(stmt, project_id), columns)


def theme_labels(session: Session) -> dict[int, str]:
    """Label of every theme by id."""
    return {
        int(i): str(label)
        for i, label in session.execute(select(ThemeRecord.id, ThemeRecord.label))
    }
