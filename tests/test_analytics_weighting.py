"""Post-stratification (--weighted) on the time series and the linkage, and outcomes per
user: a planted under-heard group moves the weighted figure to the customer base's mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics_fixtures import store
from themecoder.analytics.coverage import subject_weights
from themecoder.analytics.linkage import linkage_table
from themecoder.errors import InvalidInput, NotFound
from themecoder.services import analytics as svc
from themecoder.services import outcomes
from themecoder.services.codebook import load
from themecoder.storage import init_db, make_engine, session_factory

RISK = [("support_friction", "risk")]
GOOD = [("value_realization", "positive")]


def _rows() -> list:
    """Nine enterprise items (one support risk) and one smb item (a support risk): the smb
    half of the base is under-heard (10% of the items)."""
    rows = [("S-1", "2026-03-02T00:00:00Z", "S1", -0.6, RISK, {})]
    rows.append(("E-0", "2026-03-02T00:00:00Z", "E0", -0.6, RISK, {}))
    rows += [(f"E-{i}", "2026-03-03T00:00:00Z", f"E{i}", 0.6, GOOD, {}) for i in range(1, 9)]
    return rows


ACCOUNTS = "account_id,segment,renewed,renewal_date\n" + "".join(
    [f"S{i},smb,pending,\n" for i in range(1, 10)]
    + [f"E{i},enterprise,pending,\n" for i in range(9)]
)


def test_weighted_time_series_speaks_for_the_base(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        store(session, _rows())
        outcomes.import_outcomes(session, ACCOUNTS, allow_unknown=True)
    with session_factory(engine)() as session:
        book = load()
        weights = outcomes.item_weights(session, by=["segment"])
        plain = svc.timeseries(session, book, series=["support_friction:risk"])
        weighted = svc.timeseries(session, book, series=["support_friction:risk"], weights=weights)
    engine.dispose()
    # unweighted: 2 of 10 items; the base is half smb (every smb item a risk) and half
    # enterprise (1 in 9): 0.5 x 1 + 0.5 x 1/9
    assert plain["share"].iloc[0] == pytest.approx(0.2)
    assert weighted["share"].iloc[0] == pytest.approx(0.5 + 0.5 / 9)
    assert weighted["total"].iloc[0] == pytest.approx(10)  # weights keep the item total


def test_weighted_linkage_moves_to_the_base_mix() -> None:
    # 16 enterprise accounts in the table (all renew), 4 smb (none renews); the base is
    # half smb: smb is under-heard among the accounts with an outcome
    ids = [f"e{i}" for i in range(16)] + [f"s{i}" for i in range(4)]
    exposed = pd.DataFrame({"sig": [i % 2 == 0 for i in range(20)]}, index=ids)
    values = [1.0] * 16 + [0.0] * 4
    outcome = pd.DataFrame({"account_id": ids, "value": values})
    base = pd.DataFrame(
        {
            "account_id": ids + [f"s{i}" for i in range(4, 16)],
            "segment": ["ent"] * 16 + ["smb"] * 16,
        }
    )
    weights = subject_weights(base, pd.Series(ids, index=ids), ["segment"])
    assert weights["e0"] == pytest.approx(0.5 / 0.8) and weights["s0"] == pytest.approx(0.5 / 0.2)
    plain = linkage_table(exposed, outcome, n_boot=200).iloc[0]
    table = linkage_table(exposed, outcome, weights=weights, n_boot=200).iloc[0]
    assert plain["rate_with"] == pytest.approx(0.8) and plain["rate_without"] == pytest.approx(0.8)
    assert table["rate_with"] == pytest.approx(0.5) and table["rate_without"] == pytest.approx(0.5)
    assert (
        (table["n_with"], table["events_with"])
        == (plain["n_with"], plain["events_with"])
        == (
            10,
            8,
        )
    )
    assert table["difference_low"] <= 0 <= table["difference_high"]


def test_weighted_linkage_on_the_store_and_exclusive_with_adjustment(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    rows = [(f"E-{i}", "2026-01-05T00:00:00Z", f"E{i}", -0.6, RISK, {}) for i in range(0, 8, 2)]
    rows += [(f"S-{i}", "2026-01-05T00:00:00Z", f"S{i}", -0.6, RISK, {}) for i in (0,)]
    csv = "account_id,segment,renewed,renewal_date\n" + "".join(
        [f"E{i},enterprise,yes,2026-03-01\n" for i in range(8)]
        + [f"S{i},smb,no,2026-03-01\n" for i in range(2)]
        + [f"S{i},smb,pending,\n" for i in range(2, 8)]
    )
    with session_factory(engine).begin() as session:
        store(session, rows)
        outcomes.import_outcomes(session, csv, allow_unknown=True)
    with session_factory(engine)() as session:
        kw = {"outcome": "renewed", "themes": False, "n_boot": 200}
        plain = outcomes.linkage(session, load(), **kw)
        weighted = outcomes.linkage(session, load(), weighted=True, **kw)
        with pytest.raises(InvalidInput, match="exclusive"):
            outcomes.linkage(session, load(), weighted=True, adjust_for=["segment"], **kw)
        with pytest.raises(InvalidInput, match="account columns"):
            outcomes.linkage(session, load(), weighted=True, weight_by=["tier"], **kw)
    engine.dispose()
    risk = plain["table"].set_index("signal").loc["support_friction:risk"]
    wrisk = weighted["table"].set_index("signal").loc["support_friction:risk"]
    # exposed: E0 E2 E4 E6 renew, S0 does not: 4/5; smb is 2 of the 10 decided, 8 of 16 in
    # the base: weighted (4 x 0.625) / (4 x 0.625 + 2.5) = 0.5
    assert risk["rate_with"] == pytest.approx(0.8) and wrisk["rate_with"] == pytest.approx(0.5)
    assert plain["outcome_rate"] == pytest.approx(0.8)
    assert weighted["outcome_rate"] == pytest.approx(0.5)
    assert weighted["weighted_by"] == ["segment"] and plain["weighted_by"] == []


def test_outcomes_per_user_link_per_user(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    rows = [
        ("T-1", "2026-01-05T00:00:00Z", "A", -0.6, RISK, {"user_id": "A-u1"}),
        ("T-2", "2026-01-06T00:00:00Z", "A", 0.6, GOOD, {"user_id": "A-u2"}),
        ("T-3", "2026-01-07T00:00:00Z", "B", 0.6, GOOD, {"user_id": "B-u1"}),
        ("T-4", "2026-01-08T00:00:00Z", "B", -0.6, RISK, {"user_id": "B-u2"}),
    ]
    csv = (
        "user_id,churned,churn_date\nA-u1,yes,2026-02-01\nA-u2,no,2026-02-01\n"
        "B-u1,no,2026-02-01\nB-u2,yes,2026-02-01\nNOBODY,yes,2026-02-01\n"
        "B-u1,often,2026-02-01\nA-u1,yes,\n"
    )
    with session_factory(engine).begin() as session:
        store(session, rows)
        done = outcomes.import_outcomes(
            session, csv, outcome="churned", date_column="churn_date", user_column="user_id"
        )
    assert (done["level"], done["users"], done["accounts"], done["outcomes"]) == (
        "user",
        4,
        0,
        4,
    )
    assert [(e["line"], e["account_id"]) for e in done["errors"]] == [
        (6, "NOBODY"),
        (7, "B-u1"),
        (8, "A-u1"),
    ]
    assert "unknown user" in done["errors"][0]["message"]
    with session_factory(engine)() as session:
        found = outcomes.linkage(
            session, load(), outcome="churned", level="user", themes=False, n_boot=100
        )
        with pytest.raises(NotFound, match="per account"):
            outcomes.linkage(session, load(), outcome="churned", themes=False)
    engine.dispose()
    table = found["table"].set_index("signal")
    # per account both A and B had a support risk; per user only A-u1 and B-u2, who churned
    risk = table.loc["support_friction:risk"]
    assert (risk["n_with"], risk["events_with"], risk["n_without"], risk["events_without"]) == (
        2,
        2,
        2,
        0,
    )
    assert found["level"] == "user" and found["accounts"] == 4
    assert np.isclose(table.loc["value_realization:positive", "rate_with"], 0.0)
