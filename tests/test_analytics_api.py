"""The /v1/analytics routes on both databases, without the model: fixture items stored
directly for project acme."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from analytics_fixtures import store
from themecoder.config import Settings
from themecoder.services import projects
from themecoder.storage import init_db, make_engine, session_factory
from themecoder_api import create_app

SUPPORT = [("support_friction", "risk")]
ROWS = [
    ("A-1", "2026-08-31T09:00:00Z", "A", -0.6, SUPPORT, {"plan": "team"}),
    ("A-2", "2026-09-02T09:00:00Z", "A", -0.6, SUPPORT, {"plan": "team"}),
    (
        "B-1",
        "2026-09-03T09:00:00Z",
        "B",
        0.8,
        [("value_realization", "positive")],
        {"plan": "business"},
    ),
]
CSV = (
    "account_id,segment,renewed,renewal_date\nA,smb,no,2026-10-01\nB,smb,yes,2026-10-01\n"
    "Q,smb,yes,2026-10-01\n"
)


@pytest.fixture
def client(db_url: str, tmp_path: Path):
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        keys = {r: projects.create_key(session, acme.id, r, r)[1] for r in projects.ROLES}
        store(session, ROWS, project_id=acme.id)
        other = projects.create_project(session, "other")
        keys["other"] = projects.create_key(session, other.id, "admin", "o")[1]
    engine.dispose()
    s = Settings(db_url=db_url, results_dir=tmp_path / "results", cache_dir=tmp_path / "c")
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        c.keys = keys  # type: ignore[attr-defined]
        yield c


def _h(c, role: str = "analyst") -> dict[str, str]:
    return {"X-API-Key": c.keys[role]}


def test_timeseries_route_and_errors(client) -> None:
    r = client.get(
        "/v1/analytics/timeseries",
        headers=_h(client),
        params={"freq": "week", "by": "plan", "series": "support_friction:risk"},
    )
    assert r.status_code == 200, r.text
    rows = [x for x in r.json()["rows"] if x["count"]]
    assert [(x["period"], x["groups"]["plan"], x["count"]) for x in rows] == [
        ("2026-W36", "team", 2)
    ]
    bad = client.get("/v1/analytics/timeseries", headers=_h(client), params={"where": "plann=x"})
    assert bad.status_code == 422 and "known columns" in bad.json()["error"]["message"]
    assert client.get("/v1/analytics/timeseries").status_code == 401
    assert client.get("/v1/analytics/timeseries", headers=_h(client, "ingest")).status_code == 403
    other = client.get("/v1/analytics/timeseries", headers=_h(client, "other"))
    assert all(x["count"] == 0 for x in other.json()["rows"])


def test_route_escalations_digest_linkage(client) -> None:
    done = client.post("/v1/analytics/route", headers=_h(client), json={})
    assert done.status_code == 200, done.text
    assert done.json()["repeat_escalations"] == 1
    listed = client.get("/v1/analytics/escalations", headers=_h(client)).json()["escalations"]
    assert {e["owner"] for e in listed} == {"Support Operations"}
    eid = listed[0]["id"]
    path = f"/v1/analytics/escalations/{eid}"
    assert client.post(f"{path}/close", headers=_h(client, "reviewer"), json={}).status_code == 200
    assert client.post(f"{path}/acknowledge", headers=_h(client), json={}).status_code == 409
    assert (
        client.post("/v1/analytics/escalations/999/close", headers=_h(client), json={}).status_code
        == 404
    )
    assert client.post(f"{path}/close", headers=_h(client, "other"), json={}).status_code == 404
    digest = client.get("/v1/analytics/digest", headers=_h(client), params={"week": "2026-W36"})
    assert [a["account_id"] for a in digest.json()["accounts"]] == ["A", "B"]
    assert "# Weekly digest 2026-W36" in digest.json()["markdown"]
    health = client.get("/v1/analytics/health", headers=_h(client)).json()["accounts"]
    assert health[0] == {
        "account_id": "A",
        "health": "red",
        "signals": 2,
        "risk": 2,
        "positive": 0,
        "reason": "2 of 2 polar signals are risk",
    }
    assert client.get("/v1/analytics/linkage", headers=_h(client)).status_code == 404
    imported = client.post("/v1/analytics/outcomes", headers=_h(client), json={"csv": CSV})
    assert imported.json()["outcomes"] == 2 and imported.json()["errors"][0]["line"] == 4
    link = client.get("/v1/analytics/linkage", headers=_h(client), params={"themes": False})
    row = next(x for x in link.json()["rows"] if x["signal"] == "support_friction:risk")
    assert (row["n_with"], row["events_with"], row["n_without"]) == (1, 0, 1)
    cov = client.get("/v1/analytics/coverage", headers=_h(client), params={"by": "segment"})
    assert cov.json()["rows"][0]["accounts"] == 2
    anomalies = client.get("/v1/analytics/anomalies", headers=_h(client))
    assert anomalies.status_code == 200 and anomalies.json()["alerts"] == []
    audit = client.get("/v1/audit", headers=_h(client), params={"subject": f"escalation:{eid}"})
    assert [e["action"] for e in audit.json()["events"]] == [
        "escalation.create",
        "escalation.closed",
    ]


def test_bad_outcome_rows_unknown_columns_weighted_and_user_linkage(client) -> None:
    csv = (
        "account_id,segment,renewed,renewal_date\nA,smb,no,2026-10-01\nB,ent,yes,2026-10-01\n"
        "NOPE,ent,yes,2026-10-01\nB,ent,twice,2026-10-01\nA,smb,yes,\n"
    )
    done = client.post("/v1/analytics/outcomes", headers=_h(client), json={"csv": csv}).json()
    assert (done["level"], done["accounts"], done["outcomes"]) == ("account", 2, 2)
    assert [(e["line"], e["account_id"]) for e in done["errors"]] == [
        (4, "NOPE"),
        (5, "B"),
        (6, "A"),
    ]
    kinds = ("unknown account", "neither a number", "missing or invalid")
    assert all(k in e["message"] for k, e in zip(kinds, done["errors"], strict=True))
    by = client.get("/v1/analytics/timeseries", headers=_h(client), params={"by": "plann"})
    assert by.status_code == 422 and "known columns" in by.json()["error"]["message"]
    assert "plan" in by.json()["error"]["message"]
    params = {"themes": False, "weighted": True}
    weighted = client.get("/v1/analytics/linkage", headers=_h(client), params=params)
    assert weighted.status_code == 200 and weighted.json()["weighted_by"] == ["segment"]
    both = client.get(
        "/v1/analytics/linkage", headers=_h(client), params={**params, "adjust_for": "segment"}
    )
    assert both.status_code == 422 and "exclusive" in both.json()["error"]["message"]
    unknown = client.get("/v1/analytics/linkage", headers=_h(client), params={"adjust_for": "x"})
    assert unknown.status_code == 422 and "segment" in unknown.json()["error"]["message"]
    assert (
        client.get(
            "/v1/analytics/linkage", headers=_h(client), params={"level": "user"}
        ).status_code
        == 404
    )
    users = "user_id,renewed,renewal_date\nU-1,yes,2026-10-01\n"
    per_user = client.post(
        "/v1/analytics/outcomes",
        headers=_h(client),
        json={"csv": users, "user_column": "user_id", "allow_unknown": True},
    ).json()
    assert (per_user["level"], per_user["users"], per_user["outcomes"]) == ("user", 1, 1)


def test_risk_lists_a_reviewer_code_on_a_unit_the_model_left_uncoded(client, db_url: str) -> None:
    """A code a reviewer adds to a unit with no model code carries its unit's text (the risk
    list answered 500: the text came from the model's codes only, so it was missing)."""
    engine = make_engine(db_url)
    with session_factory(engine).begin() as session:
        acme = projects.get_project(session, "acme")
        store(session, [("C-1", "2026-09-04T09:00:00Z", "C", -0.7, [], {})], project_id=acme.id)
    engine.dispose()
    item = client.get("/v1/items/C-1", headers=_h(client, "reviewer"))
    assert item.status_code == 200, item.text
    unit = item.json()["units"][0]
    added = client.post(
        f"/v1/units/{unit['id']}/codes",
        headers=_h(client, "reviewer"),
        json={"bucket": "renewal_likelihood", "polarity": "risk"},
    )
    assert added.status_code in (200, 201), added.text
    r = client.get("/v1/analytics/risk", headers=_h(client))
    assert r.status_code == 200, r.text
    mine = [s for s in r.json()["signals"] if s["item"] == "C-1"]
    assert [(s["bucket"], s["text"]) for s in mine] == [("renewal_likelihood", unit["text"])]


def test_route_with_an_empty_body_keeps_the_documented_weights(db_url: str, tmp_path: Path) -> None:
    """``POST /route {}`` scores as the CLI does (0.25 / 0.35 / 0.40): a lone, very negative
    pricing risk goes to review ahead (0.25 + 0.40 * 0.8 = 0.57), it does not escalate (the
    body's defaults were once the old 0.35 / 0.25, which scored it 0.67)."""
    engine = make_engine(db_url)
    init_db(engine)
    with session_factory(engine).begin() as session:
        acme = projects.create_project(session, "acme")
        key = projects.create_key(session, acme.id, "analyst", "a")[1]
        store(
            session,
            [("P-1", "2026-09-01T09:00:00Z", "P", -1.0, [("pricing_perception", "risk")], {})],
            project_id=acme.id,
        )
    engine.dispose()
    s = Settings(db_url=db_url, results_dir=tmp_path / "results", cache_dir=tmp_path / "c")
    with TestClient(create_app(s), raise_server_exceptions=False) as c:
        done = c.post("/v1/analytics/route", headers={"X-API-Key": key}, json={})
    assert done.status_code == 200, done.text
    assert done.json()["routes"] == {"escalate": 0, "review": 1, "tag": 0}
    assert done.json()["escalations"] == []
