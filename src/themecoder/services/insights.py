"""The insight repository: hypothesis cards that link quotes, themes, codes, accounts and a
metric linkage figure, with a status (proposed / testing / supported / refuted) and its history.

Every write is audited in the project's trail (subject ``insight:ID``); an insight of another
project is "not found". ``who`` is the API caller, ``None`` on the command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from themecoder.codebook.model import Codebook
from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.services import audit
from themecoder.services import outcomes as outcome_service
from themecoder.services.segments import check_codes
from themecoder.storage import insights as store
from themecoder.storage.tables import utc_now

if TYPE_CHECKING:
    from themecoder.services.projects import Principal

STATUSES = ("proposed", "testing", "supported", "refuted")
LINK_KINDS = ("quotes", "themes", "codes", "accounts")
_KIND = {"quotes": "unit", "themes": "theme", "codes": "code", "accounts": "account"}
MAX_PAGE = 200
MAX_TITLE = 200
MAX_STATEMENT = 5000
#: What a metric snapshot keeps of a linkage row.
METRIC_FIELDS = (
    "n_with", "events_with", "n_without", "events_without", "rate_with", "rate_without",
    "difference", "difference_low", "difference_high", "risk_ratio", "rr_low", "rr_high",
    "small_cell", "expected", "observed",
)  # fmt: skip


def _actor(who: Principal | None) -> str:
    return who.name if who is not None else "cli"


def _text(value: str, field: str, most: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > most:
        raise InvalidInput(f"{field} must have 1..{most} characters", field=field)
    return value


def _status(value: str) -> str:
    if value not in STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(STATUSES)}, not {value!r}", field="status"
        )
    return value


def _held(session: Session, project_id: int, insight_id: int) -> store.InsightRecord:
    found = store.get_insight(session, project_id, insight_id)
    if found is None:
        raise NotFound(f"insight {insight_id} not found", insight_id=insight_id)
    return found


def create_insight(
    session: Session,
    project_id: int,
    title: str,
    statement: str,
    *,
    status: str = "proposed",
    who: Principal | None = None,
) -> dict[str, Any]:
    """Add an insight card; its first status starts the history (audited).

    Raises:
        InvalidInput: An empty or over-long title or statement, or an unknown status.
    """
    record = store.InsightRecord(
        project_id=project_id,
        title=_text(title, "title", MAX_TITLE),
        statement=_text(statement, "statement", MAX_STATEMENT),
        status=_status(status),
        created_by=_actor(who),
    )
    session.add(record)
    session.flush()
    session.add(store.InsightStatusRecord(insight_id=record.id, to_status=status, by=_actor(who)))
    session.flush()
    audit.record(
        session, who, project_id, "insight_create", f"insight:{record.id}", None,
        {"title": record.title, "status": status},
    )  # fmt: skip
    return get_insight(session, project_id, record.id)


def get_insight(session: Session, project_id: int, insight_id: int) -> dict[str, Any]:
    """The card with its links (quotes with their text), metric snapshot and status history.

    Raises:
        NotFound: No such insight in the project.
    """
    record = _held(session, project_id, insight_id)
    links = store.links_of(session, [record.id]).get(record.id, [])
    card = _summary(record, links)
    quotes = store.unit_quotes(session, [int(r) for r in card["quotes"]])
    card["quotes"] = [{"unit_id": int(r), **quotes.get(int(r), {})} for r in card["quotes"]]
    card["history"] = [
        {"at": h.at, "from_status": h.from_status, "to_status": h.to_status, "by": h.by,
         "note": h.note}
        for h in store.history_of(session, record.id)
    ]  # fmt: skip
    return card


def _summary(record: store.InsightRecord, links: list[store.InsightLinkRecord]) -> dict[str, Any]:
    by_kind: dict[str, list[str]] = {k: [] for k in _KIND.values()}
    for link in links:
        by_kind[link.kind].append(link.ref)
    return {
        "id": record.id,
        "title": record.title,
        "statement": record.statement,
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "created_by": record.created_by,
        "quotes": by_kind["unit"],
        "themes": [int(t) for t in by_kind["theme"]],
        "codes": by_kind["code"],
        "accounts": by_kind["account"],
        "metric": record.metric,
    }


def list_insights(
    session: Session,
    project_id: int,
    *,
    status: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """The project's insights, newest first; ``query`` keeps those whose title or statement
    holds every word of it (case-insensitive). Returns ``{"total", "insights"}``.

    Raises:
        InvalidInput: An unknown status, ``limit`` outside 1..200 or a negative ``offset``.
    """
    if status is not None:
        _status(status)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if offset < 0:
        raise InvalidInput("offset must not be negative", field="offset")
    words = (query or "").split()
    total, page = store.find_insights(
        session, project_id, status=status, words=words, limit=limit, offset=offset
    )
    links = store.links_of(session, [r.id for r in page])
    return {"total": total, "insights": [_summary(r, links.get(r.id, [])) for r in page]}


def link_insight(
    session: Session,
    project_id: int,
    insight_id: int,
    *,
    quotes: Sequence[int] = (),
    themes: Sequence[int] = (),
    codes: Sequence[str] = (),
    accounts: Sequence[str] = (),
    custom: Sequence[str] = (),
    who: Principal | None = None,
) -> dict[str, Any]:
    """Link quotes (unit ids), themes, codes and accounts; links held already are kept once
    (audited with what was new).

    A code is one a quote search filter could name: a bucket (``bucket:polarity``), one of
    ``custom`` (the codebook's custom codes) or a code the project's units carry, or
    ``theme:ID`` of a theme of the project.

    Raises:
        NotFound: No such insight, or a quote or theme (also as ``theme:ID``) outside the
            project.
        InvalidInput: Nothing to link, or an unknown or malformed code, or a malformed
            account.
    """
    record = _held(session, project_id, insight_id)
    if not any((quotes, themes, codes, accounts)):
        raise InvalidInput("name at least one quote, theme, code or account to link")
    missing = sorted(set(quotes) - store.project_units(session, project_id, list(quotes)))
    if missing:
        raise NotFound(f"unit(s) {missing[:20]} not found in the project", unit_ids=missing[:20])
    for code in codes:
        _check_code(code)
    codes = [c.strip() for c in codes]
    # a typo'd code would be linked silently and match nothing: refuse it as search does
    check_codes(session, project_id, [c for c in codes if not c.startswith("theme:")], custom)
    named = {int(c.partition(":")[2]) for c in codes if c.startswith("theme:")}
    missing = sorted(
        (set(themes) | named) - store.project_themes(session, project_id, [*themes, *named])
    )
    if missing:
        raise NotFound(f"theme(s) {missing[:20]} not found in the project", theme_ids=missing[:20])
    for account in accounts:
        _text(account, "accounts", 200)
    wanted = {
        "unit": [str(int(q)) for q in quotes],
        "theme": [str(int(t)) for t in themes],
        "code": [c.strip() for c in codes],
        "account": [a.strip() for a in accounts],
    }
    added = {
        kind: store.add_links(session, record.id, kind, refs, _actor(who))
        for kind, refs in wanted.items()
        if refs
    }
    new = {k: v for k, v in added.items() if v}
    if new:  # links the card held already change nothing: no event
        record.updated_at = utc_now()
        audit.record(session, who, project_id, "insight_link", f"insight:{record.id}", None, new)
    return get_insight(session, project_id, record.id)


def _check_code(code: str) -> None:
    """``bucket:polarity`` of a known bucket and polarity, ``theme:ID``, or a custom code id."""
    code = _text(code, "codes", 200)
    head, sep, tail = code.partition(":")
    if head == "theme":
        if not (tail.isascii() and tail.isdigit()):
            raise InvalidInput(f"code {code!r}: theme codes are theme:ID", field="codes")
    elif sep and head in BUCKETS and tail not in POLARITIES:
        raise InvalidInput(
            f"code {code!r}: polarity must be one of {', '.join(POLARITIES)}", field="codes"
        )


def set_status(
    session: Session,
    project_id: int,
    insight_id: int,
    status: str,
    *,
    note: str | None = None,
    who: Principal | None = None,
) -> dict[str, Any]:
    """Move the insight to ``status``, adding to its history (audited with before and after).

    Raises:
        NotFound: No such insight in the project.
        InvalidInput: An unknown status.
        Conflict: The insight has that status already.
    """
    record = _held(session, project_id, insight_id)
    _status(status)
    if record.status == status:
        raise Conflict(f"insight {insight_id} is {status} already")
    before = record.status
    record.status, record.updated_at = status, utc_now()
    session.add(
        store.InsightStatusRecord(
            insight_id=record.id, from_status=before, to_status=status, by=_actor(who), note=note
        )
    )
    session.flush()
    audit.record(
        session, who, project_id, "insight_status", f"insight:{record.id}",
        {"status": before}, {"status": status}, comment=note,
    )  # fmt: skip
    return get_insight(session, project_id, record.id)


def attach_metric(
    session: Session,
    project_id: int,
    insight_id: int,
    book: Codebook,
    *,
    signal: str,
    outcome: str = "renewed",
    n_boot: int = 1000,
    who: Principal | None = None,
) -> dict[str, Any]:
    """Snapshot the linkage of ``signal`` (``bucket:polarity`` or ``theme:ID``) to ``outcome``:
    outcome rate with and without the signal, difference and risk ratio with bootstrap 95% CIs
    and the counts behind them, as computed now (audited). The signal is linked as a code.

    Raises:
        NotFound: No such insight, or no ``outcome`` imported.
        InvalidInput: A signal the linkage table has no row for, or a non-binary outcome.
    """
    record = _held(session, project_id, insight_id)
    _check_code(signal)
    themed = signal.startswith("theme:")
    table = outcome_service.linkage(
        session, book, project_id=project_id, outcome=outcome, themes=themed, n_boot=n_boot
    )
    rows = table["table"]
    match = rows[rows["signal"].map(lambda s: s == signal or s.startswith(signal + " "))]
    if match.empty:
        raise InvalidInput(f"no linkage figure for signal {signal!r}", field="signal")
    row = match.iloc[0].to_dict()
    snapshot = {
        "signal": signal,
        "outcome": outcome,
        "metric": table["metric"],
        "accounts": table["accounts"],
        "outcome_rate": table["outcome_rate"],
        **{k: _plain(row.get(k)) for k in METRIC_FIELDS},
        "n_boot": n_boot,
        "computed_at": utc_now().isoformat(),
    }
    before = record.metric
    record.metric, record.updated_at = snapshot, utc_now()
    store.add_links(session, record.id, "code", [signal], _actor(who))
    session.flush()
    audit.record(
        session, who, project_id, "insight_metric", f"insight:{record.id}",
        None if before is None else {"metric": before}, {"metric": snapshot},
    )  # fmt: skip
    return get_insight(session, project_id, record.id)


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: NumPy numbers as Python ones, NaN as ``None``."""
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
