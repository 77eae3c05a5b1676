"""Outcomes import (row-level errors), linkage on the store, coverage and weights."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics_fixtures import store
from themecoder.analytics.coverage import coverage_table, post_strat_weights
from themecoder.errors import InvalidInput, MissingColumn
from themecoder.services import outcomes
from themecoder.services.codebook import load
from themecoder.storage import init_db, make_engine, session_factory

RISK = [("renewal_likelihood", "risk")]
GOOD = [("value_realization", "positive")]
ROWS = [
    ("T-1", "2026-01-05T00:00:00Z", "A", -0.5, RISK, {}),
    ("T-2", "2026-01-06T00:00:00Z", "B", -0.5, RISK, {}),
    ("T-3", "2026-01-07T00:00:00Z", "C", 0.5, GOOD, {}),
    ("T-4", "2026-01-08T00:00:00Z", "D", 0.5, GOOD, {}),
    ("T-5", "2026-06-01T00:00:00Z", "D", -0.5, RISK, {}),  # after D's outcome date
]
CSV = """account_id,segment,renewed,renewal_date
A,smb,no,2026-03-01
B,smb,yes,2026-03-01
C,enterprise,yes,2026-03-01
D,enterprise,yes,2026-03-01
E,enterprise,pending,2026-12-01
ZZZ,smb,yes,2026-03-01
C2,smb,maybe,2026-03-01
B2,smb,no,
"""


def test_import_reports_bad_rows_and_links(db_url: str) -> None:
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        store(session, ROWS)
        store(
            session,
            [
                ("X", "2026-01-01T00:00:00Z", "E", 0.0, [], {}),
                ("Y", "2026-01-01T00:00:00Z", "C2", 0.0, [], {}),
                ("Z", "2026-01-01T00:00:00Z", "B2", 0.0, [], {}),
            ],
        )
        done = outcomes.import_outcomes(session, CSV)
        with pytest.raises(MissingColumn, match="account_id, segment"):
            outcomes.import_outcomes(session, CSV, date_column="closed_on")
    assert (done["accounts"], done["outcomes"], done["pending"]) == (5, 4, 1)
    assert [(e["line"], e["account_id"]) for e in done["errors"]] == [
        (7, "ZZZ"),
        (8, "C2"),
        (9, "B2"),
    ]
    assert "unknown account" in done["errors"][0]["message"]
    assert "neither a number" in done["errors"][1]["message"]
    assert "missing or invalid renewal_date" in done["errors"][2]["message"]
    with session_factory(engine)() as session:
        found = outcomes.linkage(session, load(), themes=False, n_boot=200)
        cov = outcomes.coverage(session, by=["segment"])
        weights = outcomes.item_weights(session, by=["segment"])
    engine.dispose()
    table = found["table"].set_index("signal")
    risk = table.loc["renewal_likelihood:risk"]  # A (no) and B (yes); D's came after
    assert (risk["n_with"], risk["events_with"], risk["n_without"], risk["events_without"]) == (
        2,
        1,
        2,
        2,
    )
    assert risk["difference"] == pytest.approx(-0.5)
    assert risk["expected"] == "lower" and bool(risk["small_cell"])
    assert table.loc["value_realization:positive", "expected"] == "none stated"
    assert found["accounts"] == 4 and found["outcome_rate"] == 0.75
    assert set(cov["group"]) == {"smb", "enterprise"}
    assert len(weights) == 8


def test_coverage_and_weights_by_hand() -> None:
    accounts = pd.DataFrame(
        {"account_id": ["a", "b", "c", "d"], "plan": ["team", "team", "team", "enterprise"]}
    )
    items = pd.DataFrame({"item_id": [1, 2, 3, 4, 5], "account_id": ["a", "a", "b", "a", "zz"]})
    cov = coverage_table(accounts, items, ["plan"]).set_index("group")
    assert cov.loc["enterprise", "under_heard"] and cov.loc["enterprise", "accounts_heard"] == 0
    assert cov.loc["team", "base_share"] == 0.75 and cov.loc["team", "items"] == 4
    accounts = pd.DataFrame({"account_id": ["a", "b"], "plan": ["team", "enterprise"]})
    items = pd.DataFrame({"item_id": [1, 2, 3, 4], "account_id": ["a", "a", "a", "b"]})
    w = post_strat_weights(accounts, items, ["plan"])
    # base 50/50, items 75/25: team items weigh 0.5/0.75, the enterprise item 0.5/0.25
    assert w.to_dict() == pytest.approx({1: 2 / 3, 2: 2 / 3, 3: 2 / 3, 4: 2.0})
    assert w.sum() == pytest.approx(4)


def test_import_rejects_duplicate_and_non_finite_rows(db_url: str) -> None:
    """A repeated account is a row error (not stored twice, with two outcomes); "nan" and
    "inf" are no outcome values (NaN used to fail the insert with an IntegrityError)."""
    engine = make_engine(db_url)
    init_db(engine)
    text = (
        "account_id,segment,renewed,renewal_date\n"
        "A,smb,no,2026-03-01\n"
        "B,smb,yes,2026-03-01\n"
        "A,enterprise,yes,2026-04-01\n"
        "C,smb,nan,2026-03-01\n"
        "D,smb,inf,2026-03-01\n"
    )
    with session_factory(engine).begin() as session:
        store(session, ROWS)
        done = outcomes.import_outcomes(session, text)
    with session_factory(engine)() as session:
        found = outcomes.linkage(session, load(), themes=False, n_boot=50)
        cov = outcomes.coverage(session, by=["segment"]).set_index("group")
    engine.dispose()
    assert (done["accounts"], done["outcomes"]) == (2, 2)
    assert [(e["line"], e["account_id"]) for e in done["errors"]] == [
        (4, "A"),
        (5, "C"),
        (6, "D"),
    ]
    assert "duplicate account id (imported from line 2)" in done["errors"][0]["message"]
    assert "neither a number" in done["errors"][1]["message"]
    assert found["accounts"] == 2 and found["outcome_rate"] == 0.5
    assert cov["accounts"].to_dict() == {"smb": 2}


def test_coverage_refuses_unknown_attribute(db_url: str) -> None:
    """A named attribute the accounts lack is refused with the known columns, not an empty
    table; the defaults keep those of plan, segment and region the accounts carry."""
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        store(session, ROWS)
        outcomes.import_outcomes(session, CSV)
    with session_factory(engine)() as session:
        with pytest.raises(InvalidInput, match="unknown account column.*'regoin'.*segment"):
            outcomes.coverage(session, by=["regoin"])
        default = outcomes.coverage(session)
    engine.dispose()
    assert set(default["attribute"]) == {"segment"}


def test_a_row_now_pending_takes_back_the_outcome_stored_before(db_url: str) -> None:
    """Re-importing an account as pending kept its earlier "yes" (linkage still counted it)."""
    from themecoder.storage import outcomes as outcome_store

    engine = make_engine(db_url)
    init_db(engine)
    first = "account_id,segment,renewed,renewal_date\nA,smb,yes,2026-03-01\nB,smb,no,2026-03-01\n"
    again = "account_id,segment,renewed,renewal_date\nA,smb,pending,\n"
    with session_factory(engine).begin() as session:
        store(session, ROWS)
        outcomes.import_outcomes(session, first)
    with session_factory(engine).begin() as session:
        done = outcomes.import_outcomes(session, again)
    with session_factory(engine)() as session:
        stored = outcome_store.outcomes_frame(session, None)
    engine.dispose()
    assert done["pending"] == 1
    assert sorted(stored["account_id"]) == ["B"]  # B was not in the file: kept
