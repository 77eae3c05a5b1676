"""Review edge cases found in an audit: an override that changes nothing, and an added code
that the unit already carries as a model suggestion."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.model

TEXTS = [
    "The new per-seat pricing doubles our bill and nobody warned us.",
    "Support fixed the sync error within an hour, great job.",
]


def _pending(api) -> list[dict]:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200, r.text
    api.ingest([{"external_id": f"E-{i}", "text": t} for i, t in enumerate(TEXTS)])
    r = api.client.get("/v1/queue", headers=api.h("reviewer"), params={"limit": 500})
    assert r.status_code == 200, r.text
    suggestions = r.json()["suggestions"]
    assert suggestions
    return suggestions


def _approved(api) -> int:
    r = api.client.get("/v1/queue", headers=api.h("reviewer"), params={"state": "approved"})
    return r.json()["total"]


def test_an_override_to_the_same_bucket_and_polarity_is_refused(api) -> None:
    s = _pending(api)[0]
    r = api.client.post(
        f"/v1/suggestions/{s['id']}/override",
        headers=api.h("reviewer"),
        json={"version": s["version"], "bucket": s["bucket"], "polarity": s["polarity"]},
    )
    assert r.status_code == 422, r.text
    assert "approve" in r.json()["error"]["message"]
    # Nothing changed: still pending at the same version, and no audit event.
    again = api.client.get(f"/v1/suggestions/{s['id']}", headers=api.h("reviewer")).json()
    assert (again["state"], again["version"]) == ("pending", s["version"])
    trail = api.client.get(
        "/v1/audit", headers=api.h("analyst"), params={"subject": f"suggestion:{s['id']}"}
    )
    assert trail.json()["events"] == []
    # A real change still goes through.
    other = next(p for p in ("positive", "neutral", "risk") if p != s["polarity"])
    r = api.client.post(
        f"/v1/suggestions/{s['id']}/override",
        headers=api.h("reviewer"),
        json={"version": s["version"], "polarity": other},
    )
    assert r.status_code == 200 and r.json()["suggestion"]["state"] == "overridden"


def test_adding_a_code_the_model_already_suggested_stores_no_twin(api) -> None:
    s = _pending(api)[0]
    code = {"bucket": s["bucket"], "polarity": s["polarity"]}
    r = api.client.post(f"/v1/units/{s['unit']['id']}/codes", headers=api.h("reviewer"), json=code)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == s["id"]
    assert _approved(api) == 0
    # Overriding to a polarity and adding that same code stores it once, on the suggestion.
    other = next(p for p in ("positive", "neutral", "risk") if p != s["polarity"])
    r = api.client.post(
        f"/v1/suggestions/{s['id']}/override",
        headers=api.h("reviewer"),
        json={
            "version": s["version"],
            "polarity": other,
            "add": [{"bucket": s["bucket"], "polarity": other}],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["added"] == [s["id"]]
    assert _approved(api) == 0
    # A code the unit does not carry is still added (201).
    missing = next(
        b
        for b in (
            "renewal_likelihood",
            "upsell_readiness",
            "onboarding_clarity",
            "value_realization",
        )
        if b != s["bucket"]
    )
    r = api.client.post(
        f"/v1/units/{s['unit']['id']}/codes",
        headers=api.h("reviewer"),
        json={"bucket": missing, "polarity": "neutral"},
    )
    assert r.status_code == 201, r.text
    assert _approved(api) == 1
