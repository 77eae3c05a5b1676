"""Themes through the API: discover in a period, list, rename, merge, accept/reject states,
the units of a theme, project isolation, roles, the audit trail; and /v1/code's text."""

from __future__ import annotations

import pytest

from theme_corpus import BILLING, DASHBOARD, SMALL_TALK, SSO

pytestmark = pytest.mark.model


def _ingest(api) -> None:
    texts = SSO + BILLING + DASHBOARD + SMALL_TALK
    items = [
        {"external_id": f"T-{i}", "text": t, "metadata": {"created_at": "2026-04-10"}}
        for i, t in enumerate(texts)
    ]
    items += [
        {"external_id": f"L-{i}", "text": t, "metadata": {"created_at": "2026-09-10"}}
        for i, t in enumerate(SSO[:5])
    ]
    api.ingest(items)


def test_themes_are_discovered_listed_edited_and_filtered(api) -> None:
    _ingest(api)
    body = {"since": "2026-04-01T00:00:00Z", "until": "2026-05-01T00:00:00Z"}
    assert (
        api.client.post("/v1/themes/discover", headers=api.h("ingest"), json=body).status_code
        == 403
    )
    r = api.client.post("/v1/themes/discover", headers=api.h("analyst"), json=body)
    assert r.status_code == 201, r.text
    found = r.json()
    assert (found["n_units"], found["n_skipped"], found["min_theme_size"]) == (57, 12, 3)
    assert found["study"] == "from 2026-04-01 until 2026-05-01" and found["message"] is None
    assert len(found["themes"]) >= 2
    assert all(q not in SMALL_TALK for t in found["themes"] for q in t["quotes"])
    again = api.client.post("/v1/themes/discover", headers=api.h("analyst"), json={})
    assert again.status_code == 409 and "residual" in again.json()["error"]["message"]

    listed = api.client.get("/v1/themes", headers=api.h("reviewer")).json()["themes"]
    assert [t["id"] for t in listed] == [t["id"] for t in found["themes"]]
    a, b = listed[0], listed[1]

    r = api.client.post(
        f"/v1/themes/{a['id']}/rename", headers=api.h("reviewer"), json={"label": "SSO"}
    )
    assert r.status_code == 200 and r.json()["label"] == "SSO"
    r = api.client.post(
        "/v1/themes/accept", headers=api.h("reviewer"), json={"theme_ids": [a["id"]]}
    )
    assert r.status_code == 409  # already active
    r = api.client.post(
        "/v1/themes/merge", headers=api.h("analyst"), json={"theme_ids": [a["id"], b["id"]]}
    )
    assert r.status_code == 200 and r.json()["size"] == a["size"] + b["size"]
    merged = r.json()["size"]
    statuses = api.client.get(
        "/v1/themes", headers=api.h("reviewer"), params={"status": ["merged"]}
    ).json()["themes"]
    assert [t["id"] for t in statuses] == [b["id"]]

    units = api.client.get(f"/v1/themes/{a['id']}/units", headers=api.h("reviewer")).json()
    # The merged theme's units are its own and its parent's (the parent's were left out).
    assert units["total"] == merged and all(a["id"] in s["themes"] for s in units["segments"])
    assert not any(b["id"] in s["themes"] for s in units["segments"])
    same = api.client.get("/v1/segments", headers=api.h("reviewer"), params={"theme": a["id"]})
    assert same.json()["total"] == units["total"]
    assert not {s["text"] for s in units["segments"]} & set(SMALL_TALK)

    other = api.h("other")
    assert api.client.get(f"/v1/themes/{a['id']}/units", headers=other).status_code == 404
    r = api.client.post(f"/v1/themes/{a['id']}/rename", headers=other, json={"label": "x"})
    assert r.status_code == 404
    assert api.client.get("/v1/themes", headers=other).json()["themes"] == []

    # A split (command line only) writes its event in the project's trail as the others do.
    from themecoder.services import projects
    from themecoder.services.theme_edits import split
    from themecoder.storage import make_engine, session_factory

    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as session:
        acme = projects.get_project(session, "acme").id
    engine.dispose()
    parts = split(api.settings, a["id"], 2, project_id=acme)
    assert sum(p.size for p in parts) == merged

    events = api.client.get("/v1/audit", headers=api.h("analyst")).json()["events"]
    actions = [e["action"] for e in events]
    assert {"themes_discover", "theme_rename", "theme_merge", "theme_split"} <= set(actions)


def test_bad_theme_requests(api) -> None:
    h = api.h("analyst")
    assert (
        api.client.post("/v1/themes/merge", headers=h, json={"theme_ids": [1]}).status_code == 422
    )
    r = api.client.post("/v1/themes/discover", headers=h, json={"sources": ["nope.txt"]})
    assert r.status_code == 404
    r = api.client.post(
        "/v1/themes/discover", headers=h, json={"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert r.status_code == 422
    assert (
        api.client.post("/v1/themes/discover", headers=h, json={"bucket": "nope"}).status_code
        == 422
    )
    r = api.client.post("/v1/themes/discover", headers=h, json={})
    assert r.status_code == 404 and "code some data first" in r.json()["error"]["message"]
    assert api.client.post("/v1/themes/7/rename", headers=h, json={"label": ""}).status_code == 422


def test_code_echoes_the_text_on_request(api) -> None:
    text = "Our invoice charged us twice this month, please refund."
    r = api.client.post("/v1/code", headers=api.h("ingest"), json={"text": text, "with_text": True})
    assert r.status_code == 200 and r.json()["text"] == text
    r = api.client.post("/v1/code", headers=api.h("ingest"), json={"text": text})
    assert r.json()["text"] is None
