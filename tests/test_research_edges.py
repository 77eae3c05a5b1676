"""Edges of quote search, insights, escalations and digests as a user meets them: mixed date
bounds, typo'd codes on an insight, blank searches, unwritable digest paths. No model: units
are stored with hashed embeddings or without any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from analytics_fixtures import store as store_rows
from test_search import EMBED, _search
from test_search import store as store  # noqa: F401 (the fixture)
from themecoder.cli import app as cli
from themecoder.config import Settings
from themecoder.errors import InvalidInput
from themecoder.services import audit, projects
from themecoder.services.search import IndexCache, SearchFilter
from themecoder.storage import UnitRecord, init_db, make_engine, session_factory
from themecoder_api import create_app

SUPPORT = [("support_friction", "risk")]
ROWS = [
    ("A-1", "2026-08-31T09:00:00Z", "A", -0.6, SUPPORT, {}),
    ("A-2", "2026-09-02T09:00:00Z", "A", -0.6, SUPPORT, {}),
    ("B-1", "2026-09-03T09:00:00Z", "B", 0.8, [("value_realization", "positive")], {}),
]


def _said(output: str) -> str:
    return " ".join(output.split())  # the console wraps long lines


def test_search_takes_naive_and_aware_date_bounds_together(store, tmp_path: Path) -> None:  # noqa: F811
    """Before: ``since=2026-03-01&until=2026-05-01T00:00:00Z`` was a 500 (comparing a naive
    with an aware datetime)."""
    factory, _ = store
    cache = IndexCache(tmp_path / "idx", 10_000)
    bounds = SearchFilter(since=datetime(2026, 3, 1), until=datetime(2026, 5, 1))
    naive = _search(factory, cache, "sso", bounds)
    mixed = SearchFilter(since=datetime(2026, 3, 1), until=datetime(2026, 5, 1, tzinfo=UTC))
    assert _search(factory, cache, "sso", mixed)["candidates"] == naive["candidates"] > 0
    # an offset is honoured: midnight at +02:00 is 22:00 UTC the day before
    plus2 = timezone(timedelta(hours=2))
    shifted = SearchFilter(since=datetime(2026, 3, 1, 2, tzinfo=plus2), until=datetime(2026, 5, 1))
    assert _search(factory, cache, "sso", shifted)["candidates"] == naive["candidates"]
    same = SearchFilter(since=datetime(2026, 5, 1), until=datetime(2026, 5, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="since must be before until"):
        _search(factory, cache, "sso", same)


@pytest.fixture
def acme(db_url: str):
    """Project acme (each database) with three coded items and an insight; ``(db url, keys,
    unit id)``."""
    db = db_url
    engine = make_engine(db)
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        keys = {r: projects.create_key(session, acme.id, r, f"{r} key")[1] for r in projects.ROLES}
        store_rows(session, ROWS, project_id=acme.id)
    with session_factory(engine)() as session:
        unit = session.scalars(select(UnitRecord.id).order_by(UnitRecord.id)).first()
    engine.dispose()
    done = CliRunner().invoke(cli, ["insights", "add", "Waits", "-s", "Waits cost renewals",
                                    "-p", "acme", "--db", db])  # fmt: skip
    assert done.exit_code == 0, done.output
    return db, keys, unit


def test_api_insight_links_refuse_a_code_no_search_could_find(acme, tmp_path: Path) -> None:
    """Before: ``codes: ["suport_friction"]`` or ``["theme:999"]`` were linked silently (200),
    so the card pointed at nothing."""
    db, keys, _ = acme
    s = Settings(db_url=db, results_dir=tmp_path / "results", cache_dir=tmp_path / "c")
    with TestClient(create_app(s), raise_server_exceptions=False) as c:

        def link(*codes: str):
            return c.post("/v1/insights/1/links", headers={"X-API-Key": keys["analyst"]},
                          json={"codes": list(codes)})  # fmt: skip

        r = link("suport_friction")
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert "unknown code 'suport_friction'" in err["message"]
        assert "valid codes: renewal_likelihood" in err["message"]
        assert [f["field"] for f in err["fields"]] == ["codes"]
        r = link("support_friction:bad")
        assert r.status_code == 422 and "polarity must be one of" in r.json()["error"]["message"]
        assert link("theme:999").status_code == 404
        assert link("support_friction:risk", "renewal_likelihood").status_code == 200
        card = c.get("/v1/insights/1", headers={"X-API-Key": keys["analyst"]}).json()
    assert card["codes"] == ["support_friction:risk", "renewal_likelihood"]
    engine = make_engine(db)
    with session_factory(engine)() as session:
        pid = projects.get_project(session, "acme").id
        links = [e for e in audit.trail(session, pid, subject="insight:1") if "link" in e["action"]]
    engine.dispose()
    assert len(links) == 1  # the refused links left no audit event


def test_cli_insight_links_refuse_an_unknown_code_with_exit_2(acme) -> None:
    db, _, unit = acme
    run = CliRunner()
    bad = run.invoke(cli, ["insights", "link", "1", "-p", "acme", "--code", "bogus",
                           "--quote", str(unit), "--db", db])  # fmt: skip
    assert bad.exit_code == 2 and "unknown code 'bogus'" in _said(bad.output), bad.output
    shown = run.invoke(cli, ["insights", "show", "1", "-p", "acme", "--db", db]).output
    assert "bogus" not in shown and f"quote {unit}" not in shown  # nothing half-linked
    ok = run.invoke(cli, ["insights", "link", "1", "-p", "acme", "--code",
                          "support_friction:risk", "--db", db])  # fmt: skip
    assert ok.exit_code == 0 and "codes: support_friction:risk" in ok.output, ok.output


def test_cli_insight_search_refuses_a_blank_query(acme) -> None:
    """Before: ``insights search ""`` listed every insight as a match."""
    db, _, _ = acme
    for query in ("", "   "):
        done = CliRunner().invoke(cli, ["insights", "search", query, "-p", "acme", "--db", db])
        assert done.exit_code == 2 and "at least one word" in done.output, done.output
        assert "insights match" not in done.output


def test_cli_digest_defaults_the_week_and_says_when_out_cannot_be_written(
    acme, tmp_path: Path
) -> None:
    """Before: ``--out`` into a missing folder was a traceback (exit 1), and ``--week`` was
    required on the command line though the API defaults it to the latest week."""
    db, _, _ = acme
    run = CliRunner()
    bad = run.invoke(cli, ["digest", "--week", "2026-W36", "-p", "acme", "--db", db,
                           "--out", str(tmp_path / "missing" / "d.md")])  # fmt: skip
    assert bad.exit_code == 2, bad.output
    assert "cannot write" in _said(bad.output) and "Traceback" not in bad.output
    latest = run.invoke(cli, ["digest", "-p", "acme", "--db", db])
    assert latest.exit_code == 0 and "Weekly digest 2026-W36" in latest.output, latest.output


def test_cli_escalation_status_filter_lists_the_statuses_plainly(acme) -> None:
    db, _, _ = acme
    done = CliRunner().invoke(cli, ["analytics", "escalations", "--status", "bogus", "-p",
                                    "acme", "--db", db])  # fmt: skip
    said = _said(done.output)
    assert done.exit_code == 2 and "one of open, acknowledged, closed, got 'bogus'" in said, said


def test_cli_search_says_why_there_are_no_hits(store, monkeypatch) -> None:  # noqa: F811
    """Before: a filter matching nothing printed only "0 of 0 units searched"."""
    factory, _ = store
    db = factory.kw["bind"].url.render_as_string(hide_password=False)
    monkeypatch.setattr("themecoder.cli_research._embed", lambda s: EMBED.encode)
    run = CliRunner()
    done = run.invoke(cli, ["search", "sso", "--account", "NOPE", "--db", db])
    assert done.exit_code == 0, done.output
    assert "the filters leave none of the 300 coded units" in _said(done.output)
    found = run.invoke(cli, ["search", "sso", "-k", "2", "--db", db])
    assert found.exit_code == 0 and "2 of 300 units searched" in found.output, found.output
    assert "no hits" not in found.output


def test_unscoped_routing_quotes_feedback_stored_in_two_scopes_once(tmp_path: Path) -> None:
    """Before: after ``themecoder demo`` (which stores the corpus in the command line's store
    and in project demo) ``analytics route`` without ``-p`` gave escalations whose evidence
    showed the same item twice."""
    from themecoder.services import escalations
    from themecoder.services.codebook import load

    renewal = [("renewal_likelihood", "risk")]
    rows = [
        ("R-1", "2026-09-01T09:00:00Z", "A", -0.9, renewal, {}),
        ("R-2", "2026-09-05T09:00:00Z", "A", -0.8, renewal, {}),
    ]
    engine = make_engine(f"sqlite:///{tmp_path / 'e.db'}")
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        store_rows(session, rows)
        store_rows(session, rows, project_id=acme.id)
    with session_factory(engine).begin() as session:
        done = escalations.route(session, load(), None)
    engine.dispose()
    assert done["escalations"], done
    for e in done["escalations"]:
        items = [q["item"] for q in e["evidence"]]
        assert sorted(items) == sorted(set(items)) == ["R-1", "R-2"], e["evidence"]
