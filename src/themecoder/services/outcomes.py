"""Import accounts and their outcomes, relate signals to outcomes, measure sampling coverage.

Outcomes import from a CSV with an account column, an outcome column and a date column
(the sample corpus's ``accounts.csv``: ``renewed`` dated ``renewal_date``). Every other
column is stored as account attributes (plan, segment, region, seats, ...). Bad rows are
reported with their line and reason; good rows are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from themecoder.analytics.coverage import coverage_table, post_strat_weights
from themecoder.analytics.linkage import N_BOOT, exposure, linkage_table
from themecoder.codebook.glossary import load_glossary
from themecoder.codebook.model import Codebook
from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import InvalidInput, MissingColumn, NotFound
from themecoder.services.analytics import load_frames, signal_frame
from themecoder.storage import outcomes as store
from themecoder.storage.repository import _parse_datetime

TRUE = {"yes", "y", "true", "1", "renewed", "churned"}
FALSE = {"no", "n", "false", "0"}
PENDING = {"", "pending", "unknown", "n/a", "na"}
#: Outcome name -> glossary metric, for the expected direction.
OUTCOME_METRICS = {
    "renewed": "renewal_rate",
    "churned": "churn_risk_indicators",
    "nps": "nps",
    "nps_latest": "nps",
    "expanded": "expansion_revenue",
}


def has_outcomes(session: Any, project_id: int | None, outcome: str) -> bool:
    """Whether any account outcome named ``outcome`` is stored (for the project)."""
    return not store.outcomes_frame(session, project_id, outcome).empty


def import_outcomes(
    session: Session,
    text: str,
    *,
    project_id: int | None = None,
    outcome: str = "renewed",
    date_column: str = "renewal_date",
    account_column: str = "account_id",
    allow_unknown: bool = False,
) -> dict[str, Any]:
    """Import accounts (every row with an account id) and outcome ``outcome`` (rows with a
    value and a date). ``yes``/``true``/``1`` read as 1, ``no``/``false``/``0`` as 0, numbers
    as themselves, ``pending`` or empty as not decided yet (attributes kept, no outcome).

    Returns:
        ``accounts`` and ``outcomes`` imported, ``pending`` rows, and ``errors``
        (``line``, ``account_id``, ``message``) for rows left out.

    Raises:
        MissingColumn: A named column is not in the header (the message lists the header).
    """
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
        rows = [(row, reader.line_num) for row in reader]
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: not a readable CSV row ({exc})") from exc
    for column in (account_column, outcome, date_column):
        if column not in header:
            raise MissingColumn(
                f"column {column!r} not found; columns: {', '.join(header)}", column=column
            )
    known = store.known_accounts(session, project_id)
    accounts, results, errors, pending = [], [], [], 0
    for row, line in rows:
        account = (row.get(account_column) or "").strip()
        if not account:
            errors.append({"line": line, "account_id": None, "message": "no account id"})
            continue
        if known and account not in known and not allow_unknown:
            errors.append(
                {
                    "line": line,
                    "account_id": account,
                    "message": "unknown account (no stored item or account names it)",
                }
            )
            continue
        attributes = {k: v for k, v in row.items() if k not in (account_column, outcome) and k}
        raw = (row.get(outcome) or "").strip()
        value = _value(raw)
        if value is None and raw.lower() not in PENDING:
            errors.append(
                {
                    "line": line,
                    "account_id": account,
                    "message": f"{outcome} {raw!r} is neither a number nor yes/no",
                }
            )
            continue
        at = _parse_datetime(row.get(date_column))
        if value is not None and at is None:
            errors.append(
                {
                    "line": line,
                    "account_id": account,
                    "message": f"missing or invalid {date_column} {row.get(date_column)!r}",
                }
            )
            continue
        accounts.append({"account_id": account, "attributes": attributes})
        if value is None:
            pending += 1
        else:
            results.append({"account_id": account, "value": value, "at": at})
    store.replace_accounts(session, project_id, accounts)
    store.replace_outcomes(session, project_id, outcome, results)
    return {
        "accounts": len(accounts),
        "outcomes": len(results),
        "pending": pending,
        "errors": errors,
    }


def _value(raw: str) -> float | None:
    low = raw.lower()
    if low in TRUE:
        return 1.0
    if low in FALSE:
        return 0.0
    try:
        return float(raw)
    except ValueError:
        return None


def linkage(
    session: Session,
    book: Codebook,
    *,
    project_id: int | None = None,
    outcome: str = "renewed",
    adjust_for: Sequence[str] = (),
    metric: str | None = None,
    themes: bool = True,
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """Outcome rate with and without each bucket x polarity (and theme) before the outcome
    date, difference and risk ratio with bootstrap 95% CIs, counts beside every figure.

    Raises:
        NotFound: No outcome ``outcome`` is imported.
        InvalidInput: The outcome is not binary, or an adjustment column is unknown.
    """
    outcomes = store.outcomes_frame(session, project_id, outcome)
    if outcomes.empty:
        raise NotFound(f"no {outcome!r} outcomes imported; run analytics import-outcomes")
    if not outcomes["value"].isin([0.0, 1.0]).all():
        raise InvalidInput(f"outcome {outcome!r} is not binary (0/1, yes/no)", field="outcome")
    sig = signal_frame(session, project_id)
    sig = sig.assign(signal=sig["bucket"] + ":" + sig["polarity"])
    names = [f"{b}:{p}" for b in BUCKETS for p in POLARITIES]
    if themes:
        data = load_frames(session, project_id)
        ut = data.unit_themes.merge(data.items[["item_id", "account_id", "at"]], on="item_id")
        labels = ut["theme_id"].map(lambda t: f"theme:{t} {data.theme_labels.get(int(t), '')}")
        sig = pd.concat([sig, ut.assign(signal=labels)], ignore_index=True)
        names += sorted(set(labels))
    strata = None
    if adjust_for:
        accounts = store.accounts_frame(session, project_id).set_index("account_id")
        missing = [c for c in adjust_for if c not in accounts.columns]
        if missing:
            raise InvalidInput(
                f"unknown adjustment column(s) {missing}; account columns: "
                f"{', '.join(map(str, accounts.columns))}",
                field="adjust_for",
            )
        strata = accounts[list(adjust_for)].astype(str).agg("/".join, axis=1)
    expected = _expected(book, outcome, metric, names)
    table = linkage_table(
        exposure(sig, outcomes),
        outcomes,
        strata=strata,
        expected=expected,
        signals=names,
        n_boot=n_boot,
    )
    return {
        "outcome": outcome,
        "metric": metric or OUTCOME_METRICS.get(outcome),
        "adjusted_for": list(adjust_for),
        "accounts": len(outcomes),
        "outcome_rate": float(outcomes["value"].mean()),
        "table": table,
    }


def _expected(book: Codebook, outcome: str, metric: str | None, names: list[str]) -> dict[str, str]:
    """Expected direction of the outcome per signal, from the glossary metric's direction;
    only signals of a bucket whose codebook metrics include that metric get one."""
    metric = metric or OUTCOME_METRICS.get(outcome)
    glossary = load_glossary()
    if metric is None or metric not in glossary.ids():
        return {}
    better = glossary.get(metric).direction == "higher_is_better"
    out = {}
    for name in names:
        bucket, _, polarity = name.rpartition(":")
        if bucket not in book.ids() or metric not in book.metrics_of(bucket):
            continue
        if polarity == "risk":
            out[name] = "lower" if better else "higher"
        elif polarity == "positive":
            out[name] = "higher" if better else "lower"
    return out


def coverage(
    session: Session,
    project_id: int | None = None,
    by: Sequence[str] = ("plan", "segment", "region"),
) -> pd.DataFrame:
    """Who gave feedback against the imported customer base, per attribute and group."""
    accounts = store.accounts_frame(session, project_id)
    if accounts.empty:
        raise NotFound("no accounts imported; run analytics import-outcomes first")
    items = load_frames(session, project_id).items
    return coverage_table(accounts, items[items["coded"].astype(bool)], by)


def item_weights(
    session: Session, project_id: int | None = None, by: Sequence[str] = ("segment",)
) -> pd.Series:
    """Post-stratification weight per item id over the imported accounts' ``by`` cells."""
    accounts = store.accounts_frame(session, project_id)
    if accounts.empty:
        raise NotFound("no accounts imported; run analytics import-outcomes first")
    items = load_frames(session, project_id).items
    return post_strat_weights(accounts, items[items["coded"].astype(bool)], by)
