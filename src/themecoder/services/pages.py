"""Use cases behind the web pages: a review unit with everything a reviewer needs at once,
a unit's decisions in one go, and documents with their coded spans.

Decisions go through :func:`themecoder.services.review.act` and ``add_code``, so the pages and
the API share one path (versions, 409s, audit). Each decision runs in its own savepoint: a
stale one is reported back and never undoes the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.services import review
from themecoder.services.agreement import complete_units
from themecoder.services.projects import Principal
from themecoder.storage import views
from themecoder.storage.review import SuggestionRecord
from themecoder.storage.tables import ItemRecord, UnitRecord
from themecoder.storage.views import LIVE_STATES, UnitFilter

__all__ = [
    "LIVE_STATES",
    "UnitDecision",
    "UnitFilter",
    "decide_unit",
    "document_view",
    "documents_page",
    "neighbours",
    "principal_for_key",
    "progress",
    "review_order",
    "unit_view",
]
CONTEXT_TURNS = 2
DOCUMENTS_PER_PAGE = 100


@dataclass(frozen=True)
class UnitDecision:
    """A reviewer's decision on one suggestion of a unit, on the version they saw."""

    suggestion_id: int
    version: int
    action: str
    polarity: str | None = None
    bucket: str | None = None


def principal_for_key(session: Session, key_id: int) -> Principal | None:
    """The principal of a live key by id (a signed-in session names its key by id)."""
    found = views.live_key(session, key_id)
    if found is None:
        return None
    key, slug = found
    return Principal(key.project_id, slug, key.id, key.name, key.role)


def check_filter(flt: UnitFilter) -> None:
    """Raise :class:`InvalidInput` naming the first bad field."""
    review.QueueFilter(bucket=flt.bucket, band=flt.band).check()


def review_order(
    session: Session, principal: Principal, flt: UnitFilter
) -> list[tuple[int, float]]:
    """``(unit id, key)`` of units with pending suggestions matching ``flt``, in queue order."""
    check_filter(flt)
    return views.pending_units(
        session, principal.project_id, flt, complete=complete_units(principal.project_id)
    )


def neighbours(session: Session, order: Sequence[tuple[int, float]], unit_id: int) -> dict:
    """Previous and next pending unit around ``unit_id`` in ``order`` (``(unit, key)`` pairs
    from :func:`review_order`); a decided unit, gone from ``order``, keeps its place by key."""
    key = views.unit_key(session, unit_id)
    rank = (-key, unit_id)
    before = [u for u, k in order if (-k, u) < rank]
    after = [u for u, k in order if (-k, u) > rank]
    return {
        "prev": before[-1] if before else None,
        "next": after[0] if after else None,
        "position": len(before) + 1,
        "total": len(order),
    }


def _suggestion(s: SuggestionRecord, reasons: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "id": s.id,
        "version": s.version,
        "state": s.state,
        "origin": s.origin,
        "bucket": s.final_bucket or s.bucket,
        "model_bucket": s.bucket,
        "polarity": s.final_polarity or s.polarity,
        "model_polarity": s.polarity,
        "confidence": round(float(s.confidence), 3),
        "band": s.band,
        "reason": reasons.get(s.bucket, [])[:3] if s.origin == "model" else [],
        "comment": s.comment,
    }


def _context(
    session: Session, principal: Principal, item: ItemRecord
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The turns before and after ``item`` in its document (none for a lone ticket)."""
    items = views.document_items(session, principal.project_id, item)
    at = next(i for i, it in enumerate(items) if it.id == item.id)

    def turn(it: ItemRecord) -> dict[str, Any]:
        return {"item_id": it.id, "speaker": it.speaker, "text": it.text}

    return (
        [turn(it) for it in items[max(0, at - CONTEXT_TURNS) : at]],
        [turn(it) for it in items[at + 1 : at + 1 + CONTEXT_TURNS]],
    )


def unit_view(session: Session, principal: Principal, unit_id: int) -> dict[str, Any]:
    """A unit as the review screen shows it: its text in context with the evidence span, every
    bucket with its suggestion (if any), polarity, confidence, reason, and its themes.

    Each row holds the suggestions whose code is now in its bucket (``suggestions``) and,
    apart, the live ones a reviewer moved from it to another bucket (``moved``).

    Raises:
        NotFound: No such unit in the caller's project.
        Conflict: A reviewer asks for a unit still waiting for blind double coding.
    """
    found = views.unit_rows(session, principal.project_id, unit_id)
    if found is None:
        raise NotFound(f"unit {unit_id} not found")
    unit, item = found
    if principal.role == "reviewer" and review.blind_pending(session, [unit_id]):
        raise Conflict(f"unit {unit_id} waits for blind double coding; code it blind first")
    reasons = views.unit_reasons(session, unit_id)
    suggestions = [_suggestion(s, reasons) for s in views.unit_suggestions(session, [unit_id])]
    rows = []
    for bucket in BUCKETS:
        # A code a reviewer moved to another bucket belongs to that bucket's row only; the
        # model's bucket lists it as moved away (the unit no longer carries it there).
        mine = [s for s in suggestions if s["bucket"] == bucket]
        moved = [
            s
            for s in suggestions
            if s["model_bucket"] == bucket and s["bucket"] != bucket and s["state"] in LIVE_STATES
        ]
        rows.append({"bucket": bucket, "suggestions": mine, "moved": moved})
    before, after = _context(session, principal, item)
    return {
        "unit": {
            "id": unit.id,
            "text": unit.text,
            "sentiment": unit.sentiment,
            "expression": unit.expression,
        },
        "item": {
            "id": item.id,
            "external_id": item.external_id,
            "account_id": item.account_id,
            "source": item.source,
            "speaker": item.speaker,
            "before": item.text[: unit.start_char],
            "span": item.text[unit.start_char : unit.end_char],
            "after": item.text[unit.end_char :],
        },
        "context_before": before,
        "context_after": after,
        "rows": rows,
        "themes": [
            {"id": t, "label": label}
            for t, label in views.unit_themes(session, [unit_id]).get(unit_id, [])
        ],
        "pending": sum(s["state"] == "pending" for s in suggestions),
    }


def decide_unit(
    session: Session,
    principal: Principal,
    unit_id: int,
    decisions: Sequence[UnitDecision],
    add: Sequence[tuple[str, str]] = (),
    *,
    codebook_version: int | None = None,
) -> dict[str, Any]:
    """Apply a reviewer's decisions on one unit; each in its own savepoint.

    Returns:
        ``{"results": [...], "added": [...]}``: per decision ``status`` "ok" with the
        suggestion as it now is, or "conflict" with the message and the current suggestion,
        so the page can show a stale decision next to what won.

    Raises:
        NotFound: No such unit in the caller's project.
        InvalidInput: A decision names a suggestion of another unit, or a bad code.
    """
    if views.unit_rows(session, principal.project_id, unit_id) is None:
        raise NotFound(f"unit {unit_id} not found")
    own = {s.id for s in views.unit_suggestions(session, [unit_id])}
    for i, d in enumerate(decisions):
        if d.suggestion_id not in own:
            raise InvalidInput(
                f"suggestion {d.suggestion_id} is not a suggestion of unit {unit_id}",
                field=f"decisions.{i}.suggestion_id",
            )
    for i, (bucket, polarity) in enumerate(add):
        if bucket not in BUCKETS or polarity not in POLARITIES:
            raise InvalidInput(f"unknown code {bucket}/{polarity}", field=f"add.{i}")
    results = []
    for d in decisions:
        kw: dict[str, Any] = {}
        if d.action == "override":
            kw = {"polarity": d.polarity, "bucket": d.bucket}
        try:
            with session.begin_nested():
                out = review.act(session, principal, d.suggestion_id, d.action, d.version, **kw)
            results.append({"id": d.suggestion_id, "status": "ok", "suggestion": out["suggestion"]})
        except Conflict as err:
            current = review.get(session, principal.project_id, d.suggestion_id)
            results.append(
                {
                    "id": d.suggestion_id,
                    "status": "conflict",
                    "message": err.message,
                    "mine": {"action": d.action, "polarity": d.polarity, "version": d.version},
                    "suggestion": current,
                }
            )
    added = []
    for bucket, polarity in add:
        with session.begin_nested():
            code, _ = review.add_code(
                session, principal, unit_id, bucket, polarity, codebook_version=codebook_version
            )
            added.append(code)
    return {"results": results, "added": added}


def _spans(
    units: Sequence[UnitRecord],
    codes: dict[int, list[dict[str, Any]]],
    text: str,
    bucket: str | None,
) -> list[dict[str, Any]]:
    """``text`` cut into plain pieces and coded spans (one per unit with a matching code)."""
    pieces, at = [], 0
    for u in units:
        mine = [c for c in codes.get(u.id, []) if bucket is None or c["bucket"] == bucket]
        if not mine or u.start_char < at:
            continue
        if u.start_char > at:
            pieces.append({"text": text[at : u.start_char], "codes": []})
        pieces.append({"text": text[u.start_char : u.end_char], "codes": mine, "unit_id": u.id})
        at = u.end_char
    if at < len(text):
        pieces.append({"text": text[at:], "codes": []})
    return pieces


def document_view(
    session: Session, principal: Principal, item_id: int, bucket: str | None = None
) -> dict[str, Any]:
    """A document (a transcript's turns, or one ticket) with its coded spans in place.

    Args:
        bucket: Show only spans of this bucket.

    Raises:
        NotFound: No such item in the caller's project.
        InvalidInput: An unknown bucket.
    """
    if bucket is not None and bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}", field="bucket")
    item = views.item_of(session, principal.project_id, item_id)
    if item is None:
        raise NotFound(f"document {item_id} not found")
    items = views.document_items(session, principal.project_id, item)
    units = views.units_of(session, [it.id for it in items])
    hidden = review.blind_pending(session, [u.id for u in units])
    codes: dict[int, list[dict[str, Any]]] = {}
    for s in views.unit_suggestions(session, [u.id for u in units]):
        if s.state in LIVE_STATES and not (s.unit_id in hidden and principal.role == "reviewer"):
            codes.setdefault(s.unit_id, []).append(
                {
                    "bucket": s.final_bucket or s.bucket,
                    "polarity": s.final_polarity or s.polarity,
                    "state": s.state,
                }
            )
    by_item: dict[int, list[UnitRecord]] = {}
    for u in units:
        by_item.setdefault(u.item_id, []).append(u)
    counts: dict[str, int] = {b: 0 for b in BUCKETS}
    for unit_codes in codes.values():
        for c in unit_codes:
            counts[c["bucket"]] = counts.get(c["bucket"], 0) + 1
    return {
        "title": item.source or item.external_id,
        "account_id": item.account_id,
        "item_id": item.id,
        "turns": [
            {
                "item_id": it.id,
                "speaker": it.speaker,
                "external_id": it.external_id,
                "pieces": _spans(by_item.get(it.id, []), codes, it.text, bucket),
            }
            for it in items
        ],
        "counts": counts,
    }


def documents_page(
    session: Session, principal: Principal, page: int = 1, per_page: int | None = None
) -> dict[str, Any]:
    """Page ``page`` (from 1) of the project's documents, newest first, and whether an older
    page follows, so every document can be reached from the list."""
    per_page = per_page or DOCUMENTS_PER_PAGE
    found = views.documents(session, principal.project_id, limit=page * per_page + 1)
    start = (page - 1) * per_page
    return {
        "docs": found[start : start + per_page],
        "page": page,
        "more": len(found) > page * per_page,
    }


def progress(session: Session, principal: Principal) -> dict[str, int]:
    """Suggestions per state, and how many are decided."""
    counts = views.state_counts(session, principal.project_id)
    decided = sum(counts.get(s, 0) for s in ("approved", "overridden", "rejected"))
    return {**counts, "decided": decided, "total": sum(counts.values())}


def themes(session: Session, principal: Principal, months: int = 12) -> list[dict[str, Any]]:
    """Themes of the project's units: label, keywords, size in the project, the project's own
    quotes only, and units per month over the last ``months`` months with a date."""
    found = views.project_themes(session, principal.project_id)
    quoted = [q["unit_id"] for t, _ in found for q in t.quotes if "unit_id" in q]
    mine = views.project_unit_ids(session, principal.project_id, quoted)
    per_month: dict[int, dict[str, int]] = {}
    stamps = views.theme_dates(session, principal.project_id)
    for theme_id, at in stamps:
        key = at.strftime("%Y-%m")
        per_month.setdefault(theme_id, {})[key] = per_month.get(theme_id, {}).get(key, 0) + 1
    axis = sorted({at.strftime("%Y-%m") for _, at in stamps})[-months:]
    return [
        {
            "id": t.id,
            "label": t.label,
            "keywords": list(t.keywords)[:8],
            "bucket": t.bucket,
            "status": t.status,
            "size": n,
            "quotes": [q["text"] for q in t.quotes if q.get("unit_id") in mine][:3],
            "trend": [per_month.get(t.id, {}).get(m, 0) for m in axis],
            "months": axis,
        }
        for t, n in found
    ]
