"""Import accounts and their outcomes, relate signals to outcomes, measure sampling coverage.

Outcomes import from a CSV with an account column, an outcome column and a date column
(the sample corpus's ``accounts.csv``: ``renewed`` dated ``renewal_date``). Every other
column is stored as account attributes (plan, segment, region, seats, ...). Outcomes may be
per user instead (``user_column``: the items' ``user_id`` metadata names the users); then no
account attributes are stored and the linkage is per user. Bad rows are reported with their
line and reason; good rows are imported.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from themecoder.analytics.coverage import coverage_table, post_strat_weights, subject_weights
from themecoder.analytics.linkage import N_BOOT, exposure, linkage_table
from themecoder.analytics.risk import signals
from themecoder.codebook.glossary import load_glossary
from themecoder.codebook.model import Codebook
from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import InvalidInput, MissingColumn, NotFound
from themecoder.services.analytics import load_frames
from themecoder.storage import outcomes as store
from themecoder.storage.repository import _parse_datetime

TRUE = {"yes", "y", "true", "1", "renewed", "churned"}
FALSE = {"no", "n", "false", "0"}
PENDING = {"", "pending", "unknown", "n/a", "na"}
LEVELS = ("account", "user")
#: Default attributes of coverage (those the accounts carry).
COVERAGE_BY = ("plan", "segment", "region")
#: The item metadata key that names a user.
USER_KEY = "user_id"
#: Outcome name -> glossary metric, for the expected direction.
OUTCOME_METRICS = {
    "renewed": "renewal_rate",
    "churned": "churn_risk_indicators",
    "nps": "nps",
    "nps_latest": "nps",
    "expanded": "expansion_revenue",
}


def has_outcomes(
    session: Any, project_id: int | None, outcome: str, level: str = "account"
) -> bool:
    """Whether any outcome named ``outcome`` is stored at ``level`` (for the project)."""
    return not store.outcomes_frame(session, project_id, outcome, level).empty


def import_outcomes(
    session: Session,
    text: str,
    *,
    project_id: int | None = None,
    outcome: str = "renewed",
    date_column: str = "renewal_date",
    account_column: str = "account_id",
    user_column: str | None = None,
    allow_unknown: bool = False,
) -> dict[str, Any]:
    """Import accounts (every row with an account id) and outcome ``outcome`` (rows with a
    value and a date). ``yes``/``true``/``1`` read as 1, ``no``/``false``/``0`` as 0, numbers
    as themselves, ``pending`` or empty as not decided yet (attributes kept, no outcome, and
    an outcome stored for it before is removed: a mistaken ``yes`` can be taken back).
    With ``user_column`` the outcomes are per user (ids the items' ``user_id`` metadata
    names) and no accounts are stored.

    Returns:
        ``level``, ``accounts`` and ``users`` imported, ``outcomes``, ``pending`` rows, and
        ``errors`` (``line``, ``account_id``: the row's account or user id, ``message``) for
        rows left out.

    Raises:
        MissingColumn: A named column is not in the header (the message lists the header).
    """
    level = "user" if user_column else "account"
    id_column = user_column or account_column
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = reader.fieldnames or []
        rows = [(row, reader.line_num) for row in reader]
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: not a readable CSV row ({exc})") from exc
    for column in (id_column, outcome, date_column):
        if column not in header:
            raise MissingColumn(
                f"column {column!r} not found; columns: {', '.join(header)}", column=column
            )
    if level == "user":
        known = store.known_users(session, project_id)
        unknown = f"unknown user (no stored item's {USER_KEY} names it)"
    else:
        known = store.known_accounts(session, project_id)
        unknown = "unknown account (no stored item or account names it)"
    accounts, results, errors, pending = [], [], [], 0
    cleared: list[str] = []
    first_line: dict[str, int] = {}
    for row, line in rows:
        account = (row.get(id_column) or "").strip()
        if not account:
            errors.append({"line": line, "account_id": None, "message": f"no {level} id"})
            continue
        if known and account not in known and not allow_unknown:
            errors.append({"line": line, "account_id": account, "message": unknown})
            continue
        attributes = {k: v for k, v in row.items() if k not in (id_column, outcome) and k}
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
        if account in first_line:
            # A second good row for the same subject would store it twice (counted twice by
            # linkage and coverage, with two outcomes): the first one imported wins.
            errors.append(
                {
                    "line": line,
                    "account_id": account,
                    "message": f"duplicate {level} id (imported from line {first_line[account]})",
                }
            )
            continue
        first_line[account] = line
        accounts.append({"account_id": account, "attributes": attributes})
        if value is None:
            pending += 1
            cleared.append(account)
        else:
            results.append({"account_id": account, "value": value, "at": at})
    if level == "account":
        store.replace_accounts(session, project_id, accounts)
    # A subject now pending loses the outcome stored before (a mistaken "yes" corrected).
    store.replace_outcomes(session, project_id, outcome, results, level, cleared)
    return {
        "level": level,
        "accounts": len(accounts) if level == "account" else 0,
        "users": len(accounts) if level == "user" else 0,
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
        value = float(raw)
    except ValueError:
        return None
    # "nan" and "inf" parse as floats but are no outcome (NaN cannot even be stored).
    return value if math.isfinite(value) else None


def linkage(
    session: Session,
    book: Codebook,
    *,
    project_id: int | None = None,
    outcome: str = "renewed",
    level: str = "account",
    adjust_for: Sequence[str] = (),
    weighted: bool = False,
    weight_by: Sequence[str] = ("segment",),
    metric: str | None = None,
    themes: bool = True,
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """Outcome rate with and without each bucket x polarity (and theme) before the outcome
    date, difference and risk ratio with bootstrap 95% CIs, counts beside every figure.

    Args:
        level: "account", or "user" for outcomes imported per user (a user's signals are
            those of the items whose ``user_id`` names them).
        adjust_for: Account attributes to stratify by (Mantel-Haenszel); a user takes the
            attributes of the account its items name.
        weighted: Post-stratify the subjects to the imported base's mix of ``weight_by``
            cells (exclusive with ``adjust_for``).

    Raises:
        NotFound: No outcome ``outcome`` is imported at ``level``, or weighting or
            adjustment without imported accounts.
        InvalidInput: The outcome is not binary, an adjustment or weighting column is
            unknown, or both are asked for.
    """
    if level not in LEVELS:
        raise InvalidInput(f"level must be one of {LEVELS}, got {level!r}", field="level")
    if weighted and adjust_for:
        raise InvalidInput(
            "--weighted and --adjust-for are exclusive: weighting standardises to the "
            "customer base's mix, adjustment compares within strata",
            field="weighted",
        )
    outcomes = store.outcomes_frame(session, project_id, outcome, level)
    if outcomes.empty:
        raise NotFound(
            f"no {outcome!r} outcomes imported per {level}; run analytics import-outcomes"
        )
    if not outcomes["value"].isin([0.0, 1.0]).all():
        raise InvalidInput(f"outcome {outcome!r} is not binary (0/1, yes/no)", field="outcome")
    data = load_frames(session, project_id)
    items = _with_subject(data.items, level)
    sig = signals(
        items.drop(columns="account_id").rename(columns={"subject": "account_id"}), data.codes
    )
    sig = sig.assign(signal=sig["bucket"] + ":" + sig["polarity"])
    names = [f"{b}:{p}" for b in BUCKETS for p in POLARITIES]
    if themes:
        ut = data.unit_themes.merge(items[["item_id", "subject", "at"]], on="item_id")
        ut = ut.rename(columns={"subject": "account_id"})
        labels = ut["theme_id"].map(lambda t: f"theme:{t} {data.theme_labels.get(int(t), '')}")
        sig = pd.concat([sig, ut.assign(signal=labels)], ignore_index=True)
        names += sorted(set(labels))
    strata = weights = None
    if adjust_for or weighted:
        accounts = store.accounts_frame(session, project_id)
        if accounts.empty:
            raise NotFound("no accounts imported; run analytics import-outcomes first")
        columns = list(adjust_for or weight_by)
        missing = [c for c in columns if c not in accounts.columns]
        if missing:
            raise InvalidInput(
                f"unknown account column(s) {missing}; account columns: "
                f"{', '.join(map(str, accounts.columns))}",
                field="adjust_for" if adjust_for else "weight_by",
            )
        account_of = _account_of(items, outcomes["account_id"], level)
        if adjust_for:
            cells = accounts.set_index("account_id")[columns].astype(str).agg("/".join, axis=1)
            strata = account_of.map(cells)
        else:
            weights = subject_weights(accounts, account_of, columns)
    expected = _expected(book, outcome, metric, names)
    table = linkage_table(
        exposure(sig, outcomes),
        outcomes,
        strata=strata,
        weights=weights,
        expected=expected,
        signals=names,
        n_boot=n_boot,
    )
    return {
        "outcome": outcome,
        "level": level,
        "metric": metric or OUTCOME_METRICS.get(outcome),
        "adjusted_for": list(adjust_for),
        "weighted_by": list(weight_by) if weighted else [],
        "accounts": len(outcomes),
        "outcome_rate": _rate(outcomes, weights),
        "table": table,
    }


def _rate(outcomes: pd.DataFrame, weights: pd.Series | None) -> float:
    """The outcome rate over the subjects, weighted when weights are given."""
    w = None if weights is None else weights.reindex(outcomes["account_id"]).fillna(1.0)
    return float(np.average(outcomes["value"], weights=w))


def _with_subject(items: pd.DataFrame, level: str) -> pd.DataFrame:
    """Items with ``subject``: their account id, or their user id at the user level."""
    if level == "account":
        return items.assign(subject=items["account_id"])
    if USER_KEY not in items.columns:
        raise InvalidInput(
            f"no stored item carries {USER_KEY!r} metadata, so outcomes per user link to nothing",
            field="level",
        )
    return items.assign(subject=items[USER_KEY].astype("string"))


def _account_of(items: pd.DataFrame, subjects: pd.Series, level: str) -> pd.Series:
    """Account id of each subject (itself for accounts; for a user, the account its first
    item names), indexed by subject id."""
    ids = pd.Index(subjects.astype(str).unique())
    if level == "account":
        return pd.Series(ids, index=ids)
    named = items.dropna(subset=["subject", "account_id"]).drop_duplicates("subject")
    return named.set_index("subject")["account_id"].reindex(ids)


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
    by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Who gave feedback against the imported customer base, per attribute and group.

    ``by`` None: those of plan, segment and region the accounts carry.

    Raises:
        NotFound: No accounts imported.
        InvalidInput: A named attribute is not an account column (the message lists them).
    """
    accounts = store.accounts_frame(session, project_id)
    if accounts.empty:
        raise NotFound("no accounts imported; run analytics import-outcomes first")
    if by is None:
        by = [c for c in COVERAGE_BY if c in accounts.columns]
    missing = [c for c in by if c not in accounts.columns]
    if missing:
        raise InvalidInput(
            f"unknown account column(s) {missing}; account columns: "
            f"{', '.join(map(str, accounts.columns))}",
            field="by",
        )
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
