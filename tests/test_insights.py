"""The insight repository through the API (both databases) and the CLI, without the model:
fixture items stored directly for project acme."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from analytics_fixtures import store
from themecoder.cli import app as cli
from themecoder.config import Settings
from themecoder.services import audit, projects
from themecoder.storage import UnitRecord, init_db, make_engine, session_factory
from themecoder_api import create_app

SUPPORT = [("support_friction", "risk")]
ROWS = [
    ("A-1", "2026-08-31T09:00:00Z", "A", -0.6, SUPPORT, {}),
    ("A-2", "2026-09-02T09:00:00Z", "A", -0.6, SUPPORT, {}),
    ("B-1", "2026-09-03T09:00:00Z", "B", 0.8, [("value_realization", "positive")], {}),
]
CSV = "account_id,renewed,renewal_date\nA,no,2026-10-01\nB,yes,2026-10-01\n"


@pytest.fixture
def client(db_url: str, tmp_path: Path):
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        keys = {r: projects.create_key(session, acme.id, r, f"{r} key")[1] for r in projects.ROLES}
        store(session, ROWS, project_id=acme.id)
        other = projects.create_project(session, "other")
        keys["other"] = projects.create_key(session, other.id, "admin", "o")[1]
        store(session, [("O-1", "2026-09-01T09:00:00Z", "Z", 0.0, SUPPORT, {})], other.id)
    units = {}
    with session_factory(engine)() as session:
        for u in session.scalars(select(UnitRecord)):
            units[u.text.split(":")[0].rstrip(".")] = u.id
    s = Settings(db_url=db_url, results_dir=tmp_path / "results", cache_dir=tmp_path / "c")
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        c.keys, c.units, c.engine = keys, units, engine  # type: ignore[attr-defined]
        yield c
    engine.dispose()


def _h(c, role: str = "analyst") -> dict[str, str]:
    return {"X-API-Key": c.keys[role]}


def test_insight_lifecycle_through_the_api(client) -> None:
    body = {"title": "Support friction costs renewals", "statement": "Accounts that wait on "
            "support renew less often."}  # fmt: skip
    made = client.post("/v1/insights", headers=_h(client), json=body)
    assert made.status_code == 201, made.text
    card = made.json()
    iid, path = card["id"], f"/v1/insights/{card['id']}"
    assert card["status"] == "proposed" and [h["to_status"] for h in card["history"]] == [
        "proposed"
    ]
    linked = client.post(
        f"{path}/links",
        headers=_h(client, "reviewer"),
        json={
            "quotes": [client.units["A-1"], client.units["A-2"]],
            "codes": ["support_friction:risk"],
            "accounts": ["A"],
        },
    )
    assert linked.status_code == 200, linked.text
    got = linked.json()
    assert [q["unit_id"] for q in got["quotes"]] == [client.units["A-1"], client.units["A-2"]]
    assert got["quotes"][0]["text"].startswith("A-1") and got["accounts"] == ["A"]
    again = client.post(f"{path}/links", headers=_h(client), json={"accounts": ["A"]}).json()
    assert again["accounts"] == ["A"]  # linked once
    foreign = client.post(
        f"{path}/links", headers=_h(client), json={"quotes": [client.units["O-1"]]}
    )
    assert foreign.status_code == 404
    assert client.post(f"{path}/links", headers=_h(client), json={}).status_code == 422
    bad = client.post(f"{path}/links", headers=_h(client), json={"codes": ["support_friction:x"]})
    assert bad.status_code == 422
    signal = {"signal": "support_friction:risk"}
    assert client.post(f"{path}/metric", headers=_h(client), json=signal).status_code == 404
    imported = client.post("/v1/analytics/outcomes", headers=_h(client), json={"csv": CSV})
    assert imported.status_code == 200, imported.text
    metric = client.post(
        f"{path}/metric", headers=_h(client), json={"signal": "support_friction:risk"}
    )
    assert metric.status_code == 200, metric.text
    m = metric.json()["metric"]
    assert (m["signal"], m["outcome"], m["n_with"], m["events_with"], m["n_without"]) == (
        "support_friction:risk", "renewed", 1, 0, 1,
    )  # fmt: skip
    assert m["difference"] == -1.0 and "computed_at" in m
    for status in ("testing", "supported"):
        r = client.post(f"{path}/status", headers=_h(client), json={"status": status, "note": "n"})
        assert r.status_code == 200, r.text
    history = client.get(path, headers=_h(client)).json()["history"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "proposed"), ("proposed", "testing"), ("testing", "supported"),
    ]  # fmt: skip
    same = client.post(f"{path}/status", headers=_h(client), json={"status": "supported"})
    assert same.status_code == 409
    maybe = client.post(f"{path}/status", headers=_h(client), json={"status": "maybe"})
    assert maybe.status_code == 422
    second = {"title": "Pricing page", "statement": "Unclear tiers."}
    assert client.post("/v1/insights", headers=_h(client), json=second).status_code == 201
    found = client.get("/v1/insights", headers=_h(client), params={"q": "SUPPORT renew"}).json()
    assert [c["id"] for c in found["insights"]] == [iid] and found["total"] == 1
    assert client.get("/v1/insights", headers=_h(client)).json()["total"] == 2
    by_status = client.get("/v1/insights", headers=_h(client), params={"status": "supported"})
    assert [c["id"] for c in by_status.json()["insights"]] == [iid]
    assert client.get("/v1/insights", headers=_h(client), params={"q": "50%_"}).json()["total"] == 0
    assert client.get(path, headers=_h(client, "other")).status_code == 404
    theirs = client.post(f"{path}/status", headers=_h(client, "other"), json={"status": "refuted"})
    assert theirs.status_code == 404
    assert client.get("/v1/insights", headers=_h(client, "other")).json()["total"] == 0
    assert client.get("/v1/insights/999", headers=_h(client)).status_code == 404
    assert client.post("/v1/insights", headers=_h(client, "ingest"), json=body).status_code == 403
    with session_factory(client.engine)() as session:
        acme = projects.get_project(session, "acme").id
        trail = audit.trail(session, acme, subject=f"insight:{iid}")
    assert [e["action"] for e in trail] == [  # the repeated link changed nothing: no event
        "insight_create", "insight_link", "insight_metric", "insight_status", "insight_status",
    ]  # fmt: skip
    assert trail[-1]["before"] == {"status": "testing"} and trail[-1]["actor"] == "analyst key"


def test_insights_through_the_cli(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(db)
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        store(session, ROWS, project_id=acme.id)
    with session_factory(engine)() as session:
        unit = session.scalars(select(UnitRecord.id).order_by(UnitRecord.id)).first()
    run = CliRunner()

    def ok(*args: str) -> str:
        done = run.invoke(cli, [*args, "--db", db])
        assert done.exit_code == 0, done.output
        return done.output

    shown = ok("insights", "add", "SSO friction", "-s", "SSO setup delays activation", "-p", "acme")
    assert "#1 [proposed] SSO friction" in shown
    shown = ok("insights", "link", "1", "-p", "acme", "--quote", str(unit), "--account", "A")
    assert f"quote {unit}:" in shown and "accounts: A" in shown
    assert "proposed -> testing by cli (pilot)" in ok(
        "insights", "status", "1", "testing", "-p", "acme", "--note", "pilot"
    )
    assert "#1 [testing]" in ok("insights", "list", "-p", "acme", "--status", "testing")
    assert "1 insights match" in ok("insights", "search", "sso ACTIVATION", "-p", "acme")
    assert "0 insights match" in ok("insights", "search", "pricing", "-p", "acme")
    assert "- -> proposed by cli" in ok("insights", "show", "1", "-p", "acme")
    missing = run.invoke(cli, ["insights", "show", "7", "-p", "acme", "--db", db])
    assert missing.exit_code == 2 and "not found" in missing.output
    with session_factory(engine)() as session:
        actions = [e["action"] for e in audit.trail(session, acme.id, subject="insight:1")]
    engine.dispose()
    assert actions == ["insight_create", "insight_link", "insight_status"]
