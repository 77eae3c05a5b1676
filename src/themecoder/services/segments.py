"""Coded-segment retrieval: the quotes behind a code, and a code x document matrix.

A segment is a coded unit (its codes as the project's review left them: rejected suggestions
out, overrides applied) or a segment imported from a QDA tool. Filters combine with AND:

* ``code``: ``bucket:polarity`` (``pricing_perception:risk``), a bucket (any polarity),
  ``theme:12``, or an imported code by its path (``parent:child``; a themecoder export's
  bucket codes come back as ``bucket:polarity``); a code finds the codes below it as well
  (``value_realization`` its three polarities, ``a:b`` ``a:b:c``). A code the project does
  not know is refused as quote search refuses it (``search.check_code``), never an empty
  answer;
* ``account``, ``theme`` (a theme id), ``source`` (the file a unit came from, e.g.
  ``interview_03.txt``, or an imported source's name).

Each quote comes with its source, position (offsets in its item and where the item starts
in its source file), speaker, context (the text around it) and who decided each code.
The matrix counts segments per code and per source (or account), as MAXQDA's Code Matrix
Browser does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from themecoder.errors import InvalidInput
from themecoder.services.search import check_code, known_codes
from themecoder.services.theme_store import live_themes, unit_live_themes
from themecoder.storage import interop_queries as q

MATRIX_BY = ("source", "account")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class SegmentFilter:
    """What to retrieve; ``None`` fields do not filter."""

    code: str | None = None
    account: str | None = None
    theme: int | None = None
    source: str | None = None


def _segments(session: Session, project_id: int | None) -> Iterator[dict[str, Any]]:
    items = {i["id"]: i for i in q.project_items(session, project_id)}
    units = q.project_units(session, project_id)
    codes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in q.unit_codes(session, project_id):
        codes[c["unit_id"]].append(c)
    themes: dict[int, list[int]] = defaultdict(list)
    live = live_themes(session)  # a merged theme's units are the theme it went into
    for t in unit_live_themes(session, [u["id"] for u in units], live):
        themes[t["unit_id"]].append(int(t["theme_id"]))
    for unit in units:
        mine, theirs = codes.get(unit["id"], []), list(themes.get(unit["id"], []))
        for c in mine:
            theme = live.get(int(c["theme_id"]), int(c["theme_id"])) if c["theme_id"] else None
            if theme is not None and theme not in theirs:
                theirs.append(theme)
        if not mine and not theirs:
            continue
        yield _row(
            "unit",
            unit["id"],
            items[unit["item_id"]],
            unit["start_char"],
            unit["end_char"],
            unit["text"],
            codes=[f"{c['bucket']}:{c['polarity']}" for c in mine] + [f"theme:{t}" for t in theirs],
            themes=theirs,
            decided_by=[c["decided_by"] or f"model {c['model_version']}" for c in mine],
            state=[c["state"] for c in mine],
        )
    for seg in q.coded_segments(session, project_id):
        yield _row(
            "segment",
            seg["id"],
            items[seg["item_id"]],
            seg["start_char"],
            seg["end_char"],
            seg["text"],
            codes=[seg["label"]],
            themes=[],
            decided_by=[seg["coder"] or "unknown coder"],
            state=["imported"],
        )


def _row(
    kind: str, row_id: int, item: dict[str, Any], start: int, end: int, text: str, **rest: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": row_id,
        "item_id": item["id"],
        "external_id": item["external_id"],
        "source": item["source"],
        "account_id": item["account_id"],
        "speaker": item["speaker"],
        "start": start,
        "end": end,
        "source_offset": item["source_offset"],
        "text": text,
        "_item_text": item["text"],
        **rest,
    }


def _matches(row: dict[str, Any], f: SegmentFilter) -> bool:
    if f.account is not None and row["account_id"] != f.account:
        return False
    if f.source is not None and row["source"] != f.source:
        return False
    if f.theme is not None and f.theme not in row["themes"]:
        return False
    if f.code is not None:  # the code itself, or any code below it in its path
        return any(c == f.code or c.startswith(f"{f.code}:") for c in row["codes"])
    return True


def _check_filter(
    rows: list[dict[str, Any]],
    where: SegmentFilter,
    custom: Sequence[str],
    *,
    field: str = "code",
    label: str = "code filter",
) -> None:
    """Refuse a code filter naming no code of the scope, with quote search's check
    (:func:`themecoder.services.search.check_code`): the six buckets, the codebook's custom
    codes and the codes the segments carry are known, with their polarities, ``theme:ID``,
    and every code of an imported path and the codes above it (``a``, ``a:b`` of ``a:b:c``)."""
    if where.code is None:
        return
    held = {i: r["codes"] for i, r in enumerate(rows)}
    paths = set()
    for code in {c for r in rows for c in r["codes"] if not c.startswith("theme:")}:
        parts = code.split(":")
        paths.update(":".join(parts[:n]) for n in range(1, len(parts) + 1))
    check_code(where.code, known_codes(held, custom), paths, field=field, label=label)


def check_codes(
    session: Session,
    project_id: int | None,
    codes: Sequence[str],
    custom: Sequence[str] = (),
    *,
    field: str = "codes",
) -> None:
    """Refuse any of ``codes`` the scope does not know, as a code filter is refused (an
    insight links only codes a filter could find).

    Raises:
        InvalidInput: An unknown code or polarity (the message lists the valid ones).
    """
    if not codes:
        return
    rows = list(_segments(session, project_id))
    for code in codes:
        _check_filter(rows, SegmentFilter(code=code), custom, field=field, label="code")


def _context(text: str, start: int, end: int, chars: int) -> str:
    lo, hi = max(0, start - chars), min(len(text), end + chars)
    return ("..." if lo else "") + text[lo:hi] + ("..." if hi < len(text) else "")


def find_segments(
    session: Session,
    project_id: int | None,
    where: SegmentFilter,
    *,
    limit: int = 100,
    offset: int = 0,
    context_chars: int = 150,
    custom: Sequence[str] = (),
) -> dict[str, Any]:
    """The segments matching ``where``, in source order: ``{"total", "segments"}``.

    ``custom``: the codebook's custom codes, which the code filter may name besides the six
    buckets and the codes the segments carry.

    Raises:
        InvalidInput: ``limit`` outside 1..1000, a negative ``offset``, or a code filter
            naming an unknown code or polarity (the message lists the valid ones).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    rows = list(_segments(session, project_id))
    _check_filter(rows, where, custom)
    found = [r for r in rows if _matches(r, where)]
    page = []
    for r in found[offset : offset + limit]:
        text = r.pop("_item_text")
        page.append({**r, "context": _context(text, r["start"], r["end"], context_chars)})
    return {"total": len(found), "segments": page}


def code_matrix(
    session: Session,
    project_id: int | None,
    *,
    by: str = "source",
    where: SegmentFilter | None = None,
    custom: Sequence[str] = (),
) -> dict[str, Any]:
    """Segments per code (rows) and per source or account (columns), with totals.

    Raises:
        InvalidInput: ``by`` is not ``source`` or ``account``, or a code filter naming an
            unknown code or polarity (as :func:`find_segments`).
    """
    if by not in MATRIX_BY:
        raise InvalidInput(f"by must be one of {', '.join(MATRIX_BY)}, not {by!r}", field="by")
    rows = list(_segments(session, project_id))
    if where is not None:
        _check_filter(rows, where, custom)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    columns: set[str] = set()
    for r in rows:
        if where is not None and not _matches(r, where):
            continue
        column = (r["source"] if by == "source" else r["account_id"]) or "(none)"
        columns.add(column)
        for code in dict.fromkeys(r["codes"]):
            counts[code][column] += 1
    ordered = sorted(columns)
    rows = [
        {
            "code": code,
            "counts": {c: counts[code].get(c, 0) for c in ordered},
            "total": sum(counts[code].values()),
        }
        for code in sorted(counts)
    ]
    return {"by": by, "columns": ordered, "rows": rows}
