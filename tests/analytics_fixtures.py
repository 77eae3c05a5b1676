"""Hand-built coded items for analytics tests, stored without the model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from themecoder.domain import BucketCode, Item, ItemResult, Unit, UnitResult
from themecoder.storage import save_results

#: (id, created_at, account, sentiment score, [(bucket, polarity), ...], extra metadata)
Row = tuple[str, str, str | None, float, list[tuple[str, str]], dict[str, Any]]


def result(row: Row) -> ItemResult:
    item_id, at, account, score, codes, extra = row
    text = f"{item_id}: " + "; ".join(f"{b} {p}" for b, p in codes) if codes else f"{item_id}."
    meta = {"created_at": at, **({"account_id": account} if account else {}), **extra}
    unit = UnitResult(
        unit=Unit(item_id=item_id, index=0, start=0, end=len(text), text=text),
        buckets=[BucketCode(b, p, 0.9, evidence={}) for b, p in codes],
        sentiment="negative" if score < -0.05 else "positive" if score > 0.05 else "neutral",
        sentiment_score=score,
        expression="frustration" if score < 0 else "none",
    )
    return ItemResult(
        item=Item(id=item_id, text=text, metadata=meta, source=extra.get("source", "t.csv")),
        units=[unit],
        buckets=[],
        sentiment=unit.sentiment,
        sentiment_score=score,
        expression=unit.expression,
    )


def store(session: Any, rows: Sequence[Row], project_id: int | None = None) -> int:
    run = save_results(
        session,
        [result(r) for r in rows],
        source="fixture",
        model_version="m-test",
        level="item",
        settings={},
        project_id=project_id,
    )
    session.flush()
    return run
