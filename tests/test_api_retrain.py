"""Learning from corrections through the API, on SQLite and PostgreSQL: reviewer decisions
train a candidate that is promoted only when it is not worse on held-out reviewed units."""

from __future__ import annotations

import itertools
import time

import pytest

from themecoder.labelled import split_of

pytestmark = [pytest.mark.model, pytest.mark.slow]

# A consistent reviewer: small display defects in exports are bug reports (support_friction
# risk, SIGNALS.md); the shipped model misses many of them (it finds 13 of the 23 held-out
# ones). 120 texts, so the held-out split (23 units) meets the minimum of 20 per scored bucket.
GLITCHES = [
    f"When I {a} the {o}, {g}."
    for a, o, g in itertools.product(
        ["export", "print", "share", "download", "schedule", "email"],
        ["dashboard", "report", "chart", "table"],
        [
            "the colours look a bit washed out",
            "the font comes out slightly smaller",
            "the logo sits a little off-centre",
            "the gridlines look faint",
            "the title wraps onto two lines",
        ],
    )
]
# Plain complaints about price, which the shipped model codes as pricing_perception.
PRICING = [
    f"{s} {v}, {c}."
    for s, v, c in itertools.product(
        [
            "The per-seat price",
            "Our subscription cost",
            "The renewal quote",
            "The monthly bill",
            "The license fee",
            "Our annual invoice",
        ],
        [
            "went up by a third",
            "doubled this year",
            "is far above the other vendors",
            "keeps climbing",
        ],
        [
            "which our finance team cannot accept",
            "and the budget does not cover it",
            "so we need a discount",
            "and nobody explained why",
            "which feels unfair",
        ],
    )
]


def _wait(api, job: dict) -> dict:
    deadline = time.monotonic() + 600
    while job["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
        job = api.client.get(f"/v1/jobs/{job['id']}", headers=api.h()).json()
    return job


def _review(api, texts: list[str], decide) -> None:
    """For each text's unit, ``decide(text, held_out, suggestions)`` -> list of requests."""
    h = api.h("reviewer")
    for i, text in enumerate(texts):
        item = api.client.get(f"/v1/items/X-{i}", headers=h).json()
        unit = item["units"][0]["id"]
        by_bucket = {s["bucket"]: s for s in item["suggestions"]}
        for path, body in decide(text, split_of(text) == "test", by_bucket, unit):
            r = api.client.post(path, headers=h, json=body)
            assert r.status_code in (200, 201), r.text


def _retrain(api) -> dict:
    r = api.client.post("/v1/models/retrain", headers=api.h(), json={})
    assert r.status_code == 202, r.text
    job = _wait(api, r.json())
    assert job["state"] == "succeeded", job
    return job["result"]


def _setup(api, texts: list[str]) -> None:
    api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    items = [{"external_id": f"X-{i}", "text": t} for i, t in enumerate(texts)]
    for start in range(0, len(items), 60):  # the test app takes 100 items per call
        api.ingest(items[start : start + 60])


def test_consistent_corrections_train_a_better_model_that_is_promoted(api) -> None:
    _setup(api, GLITCHES)
    shipped = api.client.get("/v1/project", headers=api.h()).json()["model_version"]
    assert shipped is None  # the project starts on the shipped model

    def friction(text, held, sugg, unit):
        s = sugg.get("support_friction")
        if s is None:
            return [(f"/v1/units/{unit}/codes", {"bucket": "support_friction", "polarity": "risk"})]
        if s["polarity"] == "risk":
            return [(f"/v1/suggestions/{s['id']}/approve", {"version": s["version"]})]
        return [
            (f"/v1/suggestions/{s['id']}/override", {"version": s["version"], "polarity": "risk"})
        ]

    _review(api, GLITCHES, friction)
    before_code = api.client.post("/v1/code", headers=api.h("ingest"), json={"text": GLITCHES[0]})
    report = _retrain(api)
    assert report["promote"] is True
    assert report["after"]["support_friction"] > report["before"]["support_friction"]
    assert report["n_heldout"] == sum(split_of(t) == "test" for t in GLITCHES)
    project = api.client.get("/v1/project", headers=api.h()).json()
    assert project["model_version"] == report["version"] == report["model_version"]
    assert report["version"] != before_code.json()["model_version"]
    # The promoted model now codes this project's tickets; the other project keeps the shipped.
    after_code = api.client.post("/v1/code", headers=api.h("ingest"), json={"text": GLITCHES[0]})
    assert after_code.json()["model_version"] == report["version"]
    other = api.client.post("/v1/code", headers=api.h("other"), json={"text": GLITCHES[0]})
    assert other.json()["model_version"] == before_code.json()["model_version"]
    versions = api.client.get("/v1/models", headers=api.h()).json()["versions"]
    assert [v["promoted"] for v in versions] == [True]
    events = api.client.get("/v1/audit", headers=api.h(), params={"limit": 500}).json()["events"]
    assert events[-1]["action"] == "promote"
    assert events[-1]["after"] == {"model_version": report["version"]}


def test_a_candidate_worse_on_held_out_decisions_is_not_promoted(api) -> None:
    """The reviewer rejects pricing on train-split units but approves it on held-out ones: the
    candidate learns to miss pricing, scores lower on the held-out decisions and is kept out."""
    _setup(api, PRICING)

    def contradict(text, held, sugg, unit):
        s = sugg.get("pricing_perception")
        if s is None:
            return (
                []
                if not held
                else [
                    (
                        f"/v1/units/{unit}/codes",
                        {"bucket": "pricing_perception", "polarity": "risk"},
                    )
                ]
            )
        action = "approve" if held else "reject"
        return [(f"/v1/suggestions/{s['id']}/{action}", {"version": s["version"]})]

    _review(api, PRICING, contradict)
    report = _retrain(api)
    assert report["after"]["pricing_perception"] < report["before"]["pricing_perception"]
    assert report["promote"] is False
    project = api.client.get("/v1/project", headers=api.h()).json()
    assert project["model_version"] is None  # still the shipped model
    assert report["model_version"] != report["version"]
    versions = api.client.get("/v1/models", headers=api.h()).json()["versions"]
    assert [v["promoted"] for v in versions] == [False]
    events = api.client.get("/v1/audit", headers=api.h(), params={"limit": 500}).json()["events"]
    assert events[-1]["action"] == "retrain_rejected"


def test_retrain_without_reviewed_decisions_fails_with_a_reason(api) -> None:
    r = api.client.post("/v1/models/retrain", headers=api.h(), json={})
    job = _wait(api, r.json())
    assert job["state"] == "failed"
    assert "review some suggestions first" in job["error"]
