"""Risk routing and escalations: score signals, escalate, push reviews ahead, act, audit.

Every change is an escalation event (``escalation_events``, append-only by convention: only
inserted) and, for a project's escalation, also an event in the project's audit trail.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlalchemy.orm import Session

from themecoder.analytics import risk
from themecoder.codebook.model import Codebook
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.services import audit
from themecoder.services.analytics import load_frames
from themecoder.services.projects import Principal
from themecoder.storage import escalations as store
from themecoder.storage.review import SuggestionRecord
from themecoder.storage.tables import utc_now

QUOTES = 3
#: The action a status change is, and the statuses it may start from.
TRANSITIONS = {"acknowledged": ("open",), "closed": ("open", "acknowledged")}


def scored(
    session: Session, project_id: int | None, params: risk.RiskParams | None = None
) -> pd.DataFrame:
    """Every signal of the scope with its risk components, score and route."""
    data = load_frames(session, project_id)
    return risk.score(risk.signals(data.items, data.codes), params)


def route(
    session: Session,
    book: Codebook,
    project_id: int | None,
    who: Principal | None = None,
    params: risk.RiskParams | None = None,
) -> dict[str, Any]:
    """Route every signal: escalate (owner from the codebook), review ahead, or tag.

    One escalation per account (or conversation without one) and bucket, whatever made it:
    signals over the threshold (reason ``threshold``), a repeat in 2+ conversations (reason
    ``repeat``) or both (``threshold+repeat``); keyed by its first unit, so routing twice
    escalates nothing new. Pending suggestions of units routed to review get priority
    ``1 + score``, ahead of every unrouted one.

    Returns:
        ``routes`` (signals per route), ``escalations`` (new ones, as views),
        ``review_ahead`` (suggestions moved up) and ``repeat_escalations`` (new ones a repeat
        made, alone or with the threshold).
    """
    p = params or risk.RiskParams()
    sig = scored(session, project_id, p)
    scope = "all" if project_id is None else f"p{project_id}"
    high = sig[sig["route"] == "escalate"]
    high = high.assign(
        owner_key=high["account_id"].fillna("conversation " + high["conversation"].astype(str)),
        why="threshold",
    )
    rep = risk.repeats(sig, p)
    rep = rep.assign(owner_key=rep["account_id"], why="repeat")
    both = pd.concat([high, rep.drop(columns="episode")], ignore_index=True)
    groups = []
    for _, g in both.groupby(["owner_key", "bucket"], sort=True):
        reason = "+".join(r for r in ("threshold", "repeat") if r in set(g["why"]))
        groups.append((reason, g.drop_duplicates("unit_id")))
    keys = [_key(scope, g) for _, g in groups]
    known = store.existing_keys(session, keys)
    created = []
    for key, (reason, g) in zip(keys, groups, strict=True):
        if key in known:
            continue
        known.add(key)
        bucket = str(g["bucket"].iloc[0])
        account = g["account_id"].dropna()
        row = {
            "project_id": project_id,
            "key": key,
            "account_id": None if account.empty else str(account.iloc[0]),
            "bucket": bucket,
            "owner": _owner(book, bucket),
            "reason": reason,
            "score": round(float(g["score"].max()), 4),
            "evidence": _evidence(g),
        }
        record = store.add_escalation(session, row, _actor(who))
        _audit(session, who, record, "escalation.create", None, {"status": "open"})
        created.append(view(record))
    ahead = _review_ahead(session, project_id, sig[sig["route"] == "review"])
    return {
        "routes": {r: int((sig["route"] == r).sum()) for r in risk.ROUTES},
        "escalations": created,
        "repeat_escalations": sum(1 for e in created if "repeat" in e["reason"]),
        "review_ahead": ahead,
    }


def list_escalations(
    session: Session, project_id: int | None, status: str | None = None
) -> list[dict[str, Any]]:
    """Escalations of the scope, highest score first."""
    if status is not None and status not in store.STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(store.STATUSES)}, got {status!r}", field="status"
        )
    return [view(r) for r in store.list_escalations(session, project_id, status)]


def set_status(
    session: Session,
    project_id: int | None,
    escalation_id: int,
    status: str,
    who: Principal | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """Acknowledge or close an escalation; audited.

    Raises:
        NotFound: No such escalation in the scope.
        Conflict: The escalation is not in a status this change starts from.
    """
    if status not in TRANSITIONS:
        raise InvalidInput(f"status must be one of {list(TRANSITIONS)}, got {status!r}")
    record = session.get(store.EscalationRecord, escalation_id)
    if record is None or (project_id is not None and record.project_id != project_id):
        raise NotFound(f"escalation {escalation_id} not found", escalation_id=escalation_id)
    if record.status not in TRANSITIONS[status]:
        raise Conflict(f"escalation {escalation_id} is {record.status}; cannot make it {status}")
    before = {"status": record.status}
    record.status = status
    record.updated_at = utc_now()
    store.add_event(session, record.id, _actor(who), status, before, {"status": status}, comment)
    _audit(session, who, record, f"escalation.{status}", before, {"status": status}, comment)
    return view(record)


def history(session: Session, project_id: int | None, escalation_id: int) -> list[dict[str, Any]]:
    """The escalation's events, oldest first."""
    record = session.get(store.EscalationRecord, escalation_id)
    if record is None or (project_id is not None and record.project_id != project_id):
        raise NotFound(f"escalation {escalation_id} not found", escalation_id=escalation_id)
    return [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "before": e.before,
            "after": e.after,
            "comment": e.comment,
        }
        for e in store.events_of(session, escalation_id)
    ]


def view(r: store.EscalationRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "account_id": r.account_id,
        "bucket": r.bucket,
        "owner": r.owner,
        "reason": r.reason,
        "score": r.score,
        "status": r.status,
        "evidence": r.evidence,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


def _key(scope: str, g: pd.DataFrame) -> str:
    return f"{scope}|{g['owner_key'].iloc[0]}|{g['bucket'].iloc[0]}|{int(g['unit_id'].min())}"


def _owner(book: Codebook, bucket: str) -> str | None:
    return book.owner_of(bucket) if bucket in book.ids() else None


def _evidence(g: pd.DataFrame) -> list[dict[str, Any]]:
    top = g.sort_values(["score", "at"], ascending=[False, True]).drop_duplicates("unit_id")
    # the same feedback stored in two scopes (the command line's store and a project, as
    # ``themecoder demo`` does) is one quote, not two of the three
    top = top.drop_duplicates(["external_id", "unit_text"])
    return [
        {
            "item": str(r.external_id),
            "unit_id": int(r.unit_id),
            "at": None if pd.isna(r.at) else pd.Timestamp(r.at).isoformat(),
            "text": str(r.unit_text),
            "score": round(float(r.score), 4),
        }
        for r in top.head(QUOTES).itertuples()
    ]


def _review_ahead(session: Session, project_id: int | None, rows: pd.DataFrame) -> int:
    if project_id is None or rows.empty:
        return 0
    moved = 0
    for r in rows.itertuples():
        result = session.execute(
            update(SuggestionRecord)
            .where(
                SuggestionRecord.project_id == project_id,
                SuggestionRecord.unit_id == int(r.unit_id),
                SuggestionRecord.bucket == str(r.bucket),
                SuggestionRecord.state == "pending",
                SuggestionRecord.priority < 1.0,
            )
            .values(priority=1.0 + float(r.score))
        )
        moved += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return moved


def _actor(who: Principal | None) -> str:
    return who.name if who else "cli"


def _audit(
    session: Session,
    who: Principal | None,
    record: store.EscalationRecord,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    comment: str | None = None,
) -> None:
    if record.project_id is not None:
        audit.record(
            session,
            who,
            record.project_id,
            action,
            f"escalation:{record.id}",
            before,
            after,
            comment=comment,
        )


def top_accounts(sig: pd.DataFrame) -> pd.DataFrame:
    """Per account: highest score, its bucket and quote, and signals per route, worst first."""
    known = sig[sig["account_id"].notna()]
    if known.empty:
        return pd.DataFrame(columns=["account_id", "max_score", "bucket", "quote", *risk.ROUTES])
    worst = known.sort_values("score", ascending=False).drop_duplicates("account_id")
    routes = pd.crosstab(known["account_id"], known["route"]).reindex(
        columns=list(risk.ROUTES), fill_value=0
    )
    out = worst.set_index("account_id")[["score", "bucket", "unit_text"]].join(routes)
    out = out.rename(columns={"score": "max_score", "unit_text": "quote"})
    return out.sort_values(["max_score", "escalate"], ascending=False).reset_index()
