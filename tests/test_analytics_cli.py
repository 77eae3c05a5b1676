"""The analytics commands end to end on a small stored fixture (no model)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from analytics_fixtures import store
from themecoder.cli import app
from themecoder.storage import init_db, make_engine, session_factory

runner = CliRunner(env={"COLUMNS": "200"})
ROWS = [
    ("T-1", "2026-01-05T09:00:00Z", "A", -0.6, [("support_friction", "risk")], {"plan": "team"}),
    ("T-2", "2026-01-09T09:00:00Z", "A", -0.6, [("support_friction", "risk")], {"plan": "team"}),
    (
        "T-3",
        "2026-03-01T09:00:00Z",
        "B",
        0.7,
        [("value_realization", "positive")],
        {"plan": "business"},
    ),
]


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = make_engine(url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        store(session, ROWS)
    engine.dispose()
    return url


def test_timeseries_files_chart_and_bad_column(tmp_path: Path) -> None:
    db = _db(tmp_path)
    args = ["analytics", "timeseries", "--db", db, "--by", "plan"]
    for suffix in ("csv", "parquet", "json"):
        r = runner.invoke(app, [*args, "--out", str(tmp_path / f"ts.{suffix}")])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, [*args, "--chart", str(tmp_path / "ts.svg")])
    assert r.exit_code == 0 and (tmp_path / "ts.svg").read_text().startswith("<?xml")
    ts = pd.read_parquet(tmp_path / "ts.parquet")
    assert ts["period"].nunique() == 3 and ts["count"].sum() == 3  # Jan, Feb (zeros), Mar
    jan = ts[(ts["period"] == "2026-01") & (ts["plan"] == "team")]
    assert jan.set_index("series").loc["support_friction:risk", "count"] == 2
    bad = runner.invoke(app, ["analytics", "timeseries", "--db", db, "--where", "plann=x"])
    assert bad.exit_code == 2 and "known columns" in bad.output and "plan" in bad.output


def test_route_digest_outcomes(tmp_path: Path) -> None:
    db = _db(tmp_path)
    r = runner.invoke(app, ["analytics", "route", "--db", db])
    assert r.exit_code == 0 and "1 for repeats" in r.output
    r = runner.invoke(app, ["analytics", "acknowledge", "1", "--db", db])
    assert r.exit_code == 0 and "acknowledged" in r.output
    r = runner.invoke(
        app, ["digest", "--week", "2026-W02", "--db", db, "--out", str(tmp_path / "d.md")]
    )
    assert r.exit_code == 0 and "## A:" in (tmp_path / "d.md").read_text()
    csv = tmp_path / "acc.csv"
    csv.write_text(
        "account_id,plan,renewed,renewal_date\nA,team,no,2026-06-01\n"
        "B,business,yes,2026-06-01\nB,business,maybe,2026-06-01\n"
    )
    r = runner.invoke(app, ["analytics", "import-outcomes", str(csv), "--db", db])
    assert r.exit_code == 0 and "line 4" in r.output and "2 renewed outcomes" in r.output
    r = runner.invoke(app, ["analytics", "linkage", "--db", db, "--no-themes"])
    assert r.exit_code == 0 and "0.00 (0/1)" in r.output


def test_story_prints_trend_risks_and_linkage(tmp_path: Path) -> None:
    db = _db(tmp_path)
    csv = tmp_path / "acc.csv"
    csv.write_text(
        "account_id,plan,renewed,renewal_date\nA,team,no,2026-06-01\nB,business,yes,2026-06-01\n"
    )
    r = runner.invoke(
        app, ["analytics", "story", "--db", db, "--accounts", str(csv), "--end", "2026-03-31"]
    )
    assert r.exit_code == 0, r.output
    assert "imported 2 accounts, 2 outcomes" in r.output
    assert "1. monthly share" in r.output and "2026-02" in r.output  # the empty month, a zero
    assert "2. top risks by account" in r.output and "A " in r.output
    assert "3. renewed: 2 accounts decided, rate 0.50" in r.output
    # names are never cut, every figure has its count, the notes are explained
    assert "support_friction:risk" in r.output and "0.00 (0/1)" in r.output
    assert "no CI: fewer than 5 accounts" in r.output


def test_linkage_weighted_and_bad_outcome_rows(tmp_path: Path) -> None:
    db = _db(tmp_path)
    csv = tmp_path / "acc.csv"
    csv.write_text(
        "account_id,segment,renewed,renewal_date\nA,smb,no,2026-06-01\nB,ent,yes,2026-06-01\n"
        "NOPE,ent,yes,2026-06-01\nB,ent,twice,2026-06-01\nA,smb,yes,\n"
    )
    r = runner.invoke(app, ["analytics", "import-outcomes", str(csv), "--db", db])
    assert r.exit_code == 0, r.output
    assert "line 4 (NOPE): unknown account" in r.output
    assert "line 5 (B): renewed 'twice' is neither a number nor yes/no" in r.output
    assert "line 6 (A): missing or invalid renewal_date" in r.output
    assert "imported 2 accounts, 2 renewed outcomes (0 pending, 3 rows with errors)" in r.output
    r = runner.invoke(app, ["analytics", "linkage", "--db", db, "--no-themes", "--weighted"])
    assert r.exit_code == 0 and "weighted by segment" in r.output, r.output
    r = runner.invoke(
        app, ["analytics", "linkage", "--db", db, "--weighted", "--adjust-for", "segment"]
    )
    assert r.exit_code == 2 and "exclusive" in r.output
    r = runner.invoke(app, ["analytics", "linkage", "--db", db, "--adjust-for", "tier"])
    assert r.exit_code == 2 and "account columns: " in r.output and "segment" in r.output
    bad = runner.invoke(app, ["analytics", "timeseries", "--db", db, "--by", "plann"])
    assert bad.exit_code == 2 and "known columns" in bad.output and "plan" in bad.output


def test_story_reads_project_demo_not_the_corpus_twice(tmp_path: Path) -> None:
    """`make demo` stores the corpus in the command line's store and in project demo; the
    story read both, so every item and per-account signal counted twice."""
    from themecoder.services import projects

    db = _db(tmp_path)  # the command line's copy
    engine = make_engine(db)
    with session_factory(engine).begin() as session:
        demo = projects.create_project(session, "demo")
        store(session, ROWS, project_id=demo.id)  # the project's copy
    engine.dispose()
    csv = tmp_path / "acc.csv"
    csv.write_text(
        "account_id,plan,renewed,renewal_date\nA,team,no,2026-06-01\nB,business,yes,2026-06-01\n"
    )
    args = ["analytics", "story", "--db", db, "--accounts", str(csv), "--end", "2026-03-31"]
    r = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "scope: project 'demo'" in r.output
    january = next(line for line in r.output.splitlines() if "2026-01" in line)
    assert january.rstrip(" │").split("│")[-1].strip() == "2"  # items: T-1 and T-2, once each
    assert "3. renewed: 2 accounts decided" in r.output
