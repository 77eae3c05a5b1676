"""Results as plain records: the output contract of the CLI, the files and the DataFrame API."""

from __future__ import annotations

from typing import Any

from themecoder.domain import BUCKETS, BucketCode, ItemResult, Unit, UnitResult


def bucket_record(code: BucketCode) -> dict[str, Any]:
    return {
        "polarity": code.polarity,
        "confidence": code.confidence,
        "polarity_confidence": code.polarity_confidence,
        "evidence": code.evidence,
        "reasons": [{"text": n.text, "similarity": n.similarity} for n in code.neighbors],
    }


def theme_refs(unit: UnitResult) -> dict[str, Any]:
    """``{"themes": [{"id", "label", "score"}]}`` if the unit's project has themes, else ``{}``."""
    if unit.themes is None:
        return {}
    return {"themes": [{"id": t.id, "label": t.label, "score": t.score} for t in unit.themes]}


def item_record(res: ItemResult, model_version: str, with_text: bool = False) -> dict[str, Any]:
    """One record per input item (``--level item``); ``with_text`` adds the item's text
    (the text coded, so masked where redaction is on), which unit offsets index."""
    return {
        "id": res.item.id,
        **({"text": res.item.text} if with_text else {}),
        "buckets": {c.bucket: bucket_record(c) for c in res.buckets},
        "sentiment": {"label": res.sentiment, "score": res.sentiment_score},
        "expression": res.expression,
        "units": [
            {
                "index": u.unit.index,
                "start": u.unit.start,
                "end": u.unit.end,
                "buckets": {c.bucket: c.polarity for c in u.buckets},
                "language": u.language,
                **theme_refs(u),
            }
            for u in res.units
        ],
        "language": res.language,
        "speaker": res.item.speaker,
        "coded": res.item.coded,
        "metadata": res.item.metadata,
        "warnings": res.warnings,
        "model_version": model_version,
    }


def unit_record(res: ItemResult, unit: UnitResult, model_version: str) -> dict[str, Any]:
    """One record per coding unit (``--level unit``), with offsets into the item text; an item
    kept but not coded is one such record (see ``records``)."""
    return {
        "item_id": res.item.id,
        "unit": unit.unit.index,
        "start": unit.unit.start,
        "end": unit.unit.end,
        "text": unit.unit.text,
        "buckets": {c.bucket: bucket_record(c) for c in unit.buckets},
        "sentiment": {"label": unit.sentiment, "score": unit.sentiment_score},
        "expression": unit.expression,
        "language": unit.language,
        **theme_refs(unit),
        "speaker": res.item.speaker,
        "coded": res.item.coded,
        "metadata": res.item.metadata,
        "model_version": model_version,
    }


def records(
    results: list[ItemResult], level: str, model_version: str, with_text: bool = False
) -> list[dict[str, Any]]:
    """Records of ``level`` (``item`` or ``unit``); unit records always hold their text.

    At ``unit`` level an item kept but not coded (an interviewer turn) has no units; it is one
    record of its whole text with no buckets, so the answers keep the questions they follow.
    """
    if level != "unit":
        return [item_record(r, model_version, with_text) for r in results]
    themed = any(u.themes is not None for r in results for u in r.units)
    return [
        unit_record(r, u, model_version)
        for r in results
        for u in (r.units if r.item.coded else [_whole_item(r, themed)])
    ]


def _whole_item(res: ItemResult, themed: bool) -> UnitResult:
    """An uncoded item as one unit, with the item's aggregates and, where the coded units have
    ``themes``, an empty list of them, so that its record has the same keys as theirs."""
    item = res.item
    return UnitResult(
        unit=Unit(item.id, 0, 0, len(item.text), item.text),
        buckets=[],
        sentiment=res.sentiment,
        sentiment_score=res.sentiment_score,
        expression=res.expression,
        language=res.language,
        themes=[] if themed else None,
    )


def flat_row(record: dict[str, Any]) -> dict[str, Any]:
    """A record flattened to one CSV/DataFrame row: a polarity and confidence per bucket."""
    row: dict[str, Any] = {
        k: record[k]
        for k in ("id", "item_id", "unit", "start", "end", "text", "speaker", "coded")
        if k in record
    }
    row["sentiment"] = record["sentiment"]["label"]
    row["sentiment_score"] = record["sentiment"]["score"]
    row["expression"] = record["expression"]
    for bucket in BUCKETS:
        code = record["buckets"].get(bucket)
        row[bucket] = code["polarity"] if code else None
        row[f"{bucket}_confidence"] = code["confidence"] if code else None
        row[f"{bucket}_evidence"] = code["evidence"]["text"] if code else None
    if "units" in record:
        row["n_units"] = len(record["units"])
        themes = {t["label"]: None for u in record["units"] for t in u.get("themes", [])}
        if any("themes" in u for u in record["units"]):
            row["themes"] = "; ".join(themes)
    elif "themes" in record:
        row["themes"] = "; ".join(t["label"] for t in record["themes"])
    row["model_version"] = record["model_version"]
    for key, value in (record.get("metadata") or {}).items():
        row.setdefault(key, value)
    return row
