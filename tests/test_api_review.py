"""The review service end to end through HTTP, on SQLite and PostgreSQL, with the real coder:
idempotent ingest, the 409 race, the audit trail, blind double coding, agreement numbers
against hand-computed values, gating switching on and off, queues and background jobs."""

from __future__ import annotations

import threading
import time

import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from themecoder.domain import BUCKETS
from themecoder.errors import Conflict
from themecoder.review.queue import expected_value_of_review
from themecoder.services import audit, review
from themecoder.services.projects import authenticate
from themecoder.storage import ItemRecord, ProjectRecord, make_engine, session_factory
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord

pytestmark = pytest.mark.model

TICKETS = [
    "The new per-seat pricing doubles our bill and nobody warned us.",
    "Support fixed the sync error within an hour, great job.",
    "We plan to renew next quarter, the budget is approved.",
    "I couldn't figure out where the SSO setup lives.",
    "Third ticket about the same export bug and still no answer.",
    "It saves my team about ten hours a week on reporting.",
    "Your invoice charged us twice this month, please refund.",
    "We're evaluating other vendors before our contract ends.",
    "Can we add the analytics module for two more teams?",
    "Dashboards keep timing out since the last release.",
]


def _items(prefix: str = "T", texts: list[str] = TICKETS, **meta: str) -> list[dict]:
    return [
        {"external_id": f"{prefix}-{i}", "text": t, "metadata": dict(meta)}
        for i, t in enumerate(texts)
    ]


def _queue(api, role: str = "reviewer", **params) -> dict:
    r = api.client.get("/v1/queue", headers=api.h(role), params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return r.json()


def _no_double_coding(api) -> None:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200, r.text


def test_ingest_is_idempotent_on_external_id(api) -> None:
    first = api.ingest(_items(account_id="ACC-1"))
    assert first["created"] == len(TICKETS) and first["existing"] == 0
    assert first["suggestions"] > 0
    again = api.ingest(_items(account_id="ACC-1"))
    assert again["created"] == 0 and again["existing"] == len(TICKETS)
    assert again["suggestions"] == 0
    assert [i["id"] for i in again["items"]] == [i["id"] for i in first["items"]]
    # A batch mixing old and new ids stores only the new one.
    mixed = api.ingest([*_items()[:3], {"external_id": "NEW-1", "text": "Price is fair."}])
    assert (mixed["created"], mixed["existing"]) == (1, 3)
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(ItemRecord)) == len(TICKETS) + 1
    engine.dispose()
    # The same external id in another project is a different item.
    other = api.client.post("/v1/items", headers=api.h("other"), json={"items": _items()[:2]})
    assert other.json()["created"] == 2


def test_concurrent_twin_batches_store_each_item_once(api) -> None:
    results: list[dict] = []

    def send() -> None:
        r = api.client.post("/v1/items", headers=api.h("ingest"), json={"items": _items("C")})
        results.append({"status": r.status_code, **r.json()})

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["status"] for r in results] == [200, 200]
    assert sorted(r["created"] for r in results) == [0, len(TICKETS)]
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        n = s.scalar(select(func.count()).where(ItemRecord.external_id.like("C-%")))
    engine.dispose()
    assert n == len(TICKETS)


def test_second_reviewer_on_same_version_gets_409(api) -> None:
    _no_double_coding(api)
    api.ingest(_items())
    s = _queue(api)["suggestions"][0]
    first = api.client.post(
        f"/v1/suggestions/{s['id']}/approve", headers=api.h("reviewer"), json={"version": 1}
    )
    assert first.status_code == 200 and first.json()["suggestion"]["version"] == 2
    second = api.client.post(
        f"/v1/suggestions/{s['id']}/reject", headers=api.h("reviewer2"), json={"version": 1}
    )
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    after = api.client.get(f"/v1/suggestions/{s['id']}", headers=api.h("reviewer")).json()
    assert after["state"] == "approved" and after["version"] == 2  # the first decision stands


def test_simultaneous_decisions_exactly_one_wins(api) -> None:
    """Two sessions race on one suggestion at the same version: one commits, one conflicts."""
    _no_double_coding(api)
    api.ingest(_items())
    sid = _queue(api)["suggestions"][0]["id"]
    engine = make_engine(api.settings.db_url)
    factory = session_factory(engine)
    with factory() as s:
        who = [authenticate(s, api.keys[k]) for k in ("reviewer", "reviewer2")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(principal, action: str) -> None:
        with factory() as s:
            barrier.wait()
            try:
                review.act(s, principal, sid, action, 1)
                s.commit()
                outcomes.append(action)
            except Conflict:
                s.rollback()
                outcomes.append("conflict")

    threads = [
        threading.Thread(target=decide, args=(who[0], "approve")),
        threading.Thread(target=decide, args=(who[1], "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("conflict") == 1
    with factory() as s:
        final = review.get(s, who[0].project_id, sid)
        trail = audit.trail(s, who[0].project_id, subject=f"suggestion:{sid}")
    engine.dispose()
    winner = next(o for o in outcomes if o != "conflict")
    assert final["state"] == {"approve": "approved", "reject": "rejected"}[winner]
    assert final["version"] == 2
    assert [e["action"] for e in trail] == [winner]  # the loser left no trace


def test_audit_trail_records_who_when_before_after_and_is_append_only(api) -> None:
    _no_double_coding(api)
    api.ingest(_items())
    page = _queue(api)["suggestions"]
    a, b, c = page[0], page[1], page[2]
    h = api.h("reviewer")
    api.client.post(f"/v1/suggestions/{a['id']}/approve", headers=h, json={"version": 1})
    new_bucket = next(x for x in BUCKETS if x != b["bucket"])
    r = api.client.post(
        f"/v1/suggestions/{b['id']}/override",
        headers=h,
        json={
            "version": 1,
            "bucket": new_bucket,
            "polarity": "neutral",
            "add": [{"bucket": "pricing_perception", "polarity": "risk"}],
            "comment": "moved",
        },
    )
    assert r.status_code == 200, r.text
    added = r.json()["added"]
    api.client.post(
        f"/v1/suggestions/{c['id']}/reject", headers=h, json={"version": 1, "comment": "no"}
    )
    events = api.client.get("/v1/audit", headers=api.h("analyst")).json()["events"]
    by = {(e["subject"], e["action"]): e for e in events}
    ov = by[(f"suggestion:{b['id']}", "override")]
    assert ov["actor"] == "reviewer key" and ov["role"] == "reviewer"
    assert ov["before"] == {
        "state": "pending",
        "version": 1,
        "bucket": b["bucket"],
        "polarity": b["polarity"],
        "theme_id": None,
    }
    assert ov["after"]["state"] == "overridden" and ov["after"]["bucket"] == new_bucket
    assert ov["after"]["polarity"] == "neutral" and ov["comment"] == "moved"
    assert ov["model_version"] == b["model_version"] and ov["codebook_version"] == 1
    assert ov["at"]
    assert by[(f"suggestion:{added[0]}", "add")]["after"]["bucket"] == "pricing_perception"
    assert by[(f"suggestion:{c['id']}", "reject")]["after"]["state"] == "rejected"
    assert by[(f"suggestion:{a['id']}", "approve")]["before"]["state"] == "pending"
    engine = make_engine(api.settings.db_url)
    for statement in ("UPDATE audit_events SET actor = 'forged'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:  # project other's own events (the fixture's) besides acme's
        assert conn.scalar(text("SELECT count(*) FROM audit_events")) == len(events) + 2
    engine.dispose()


def _blind_round(api, labels_by_reviewer: dict[str, list[dict]]) -> list[int]:
    """Each reviewer codes the double-coded units blind, in the order the service hands them."""
    units: list[int] = []
    for role, labels in labels_by_reviewer.items():
        for expected in labels:
            r = api.client.get("/v1/blind/next", headers=api.h(role))
            assert r.status_code == 200, r.text
            unit = r.json()
            assert set(unit) == {"unit_id", "text", "buckets"}  # nothing of the model's answer
            done = api.client.post(
                f"/v1/blind/{unit['unit_id']}", headers=api.h(role), json={"labels": expected}
            )
            assert done.status_code == 201, done.text
            if role == next(iter(labels_by_reviewer)):
                units.append(unit["unit_id"])
        assert api.client.get("/v1/blind/next", headers=api.h(role)).status_code == 204
    return units


def test_blind_double_coding_and_agreement_against_hand_computed_values(api) -> None:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 1.0})
    assert r.status_code == 200
    out = api.ingest(_items())
    assert out["double_coded_units"] == len(TICKETS)
    # Suggestions of units in blind double coding stay out of the queue, and a reviewer
    # cannot read them through the item or suggestion either; an analyst can.
    assert _queue(api)["total"] == 0
    hidden = api.client.get("/v1/items/T-0", headers=api.h("reviewer")).json()
    assert hidden["suggestions"] == []
    shown = api.client.get("/v1/items/T-0", headers=api.h("analyst")).json()["suggestions"]
    if shown:
        sid = shown[0]["id"]
        peek = api.client.get(f"/v1/suggestions/{sid}", headers=api.h("reviewer"))
        assert peek.status_code == 409
        early = api.client.post(
            f"/v1/suggestions/{sid}/approve", headers=api.h("reviewer"), json={"version": 1}
        )
        assert early.status_code == 409
    # Bucket "support_friction": reviewer 1 says R R R R A A A A A A,
    # reviewer 2 says R R R A A A A A A R.
    # Cohen's kappa: p_o = 8/10; both raters 40% R, 60% A, p_e = .4*.4 + .6*.6 = .52;
    #   kappa = (.8 - .52) / (1 - .52) = .583333.
    # Krippendorff's alpha (nominal): 20 values, n_R = 8, n_A = 12, 4 disagreeing pairable values;
    #   alpha = 1 - (20 - 1) * 4 / (2 * 8 * 12) = 1 - 76/192 = .604167.
    # Gwet's AC1 over the 4 labels (absent, positive, neutral, risk): pi = (.6, 0, 0, .4),
    #   p_e = sum pi(1 - pi) / (4 - 1) = .48/3 = .16; AC1 = (.8 - .16) / (1 - .16) = .761905.
    first = ["risk"] * 4 + [None] * 6
    second = ["risk"] * 3 + [None] * 6 + ["risk"]
    labels = {
        "reviewer": [{"support_friction": x} for x in first],
        "reviewer2": [{"support_friction": x} for x in second],
    }
    units = _blind_round(api, labels)
    # A third reviewer, or the same one twice, is refused.
    again = api.client.post(f"/v1/blind/{units[0]}", headers=api.h("reviewer"), json={"labels": {}})
    assert again.status_code == 409
    third = api.client.post(f"/v1/blind/{units[0]}", headers=api.h("admin"), json={"labels": {}})
    assert third.status_code == 409
    report = api.client.get("/v1/agreement", headers=api.h("analyst")).json()
    hh = report["human_human"]["support_friction"]
    assert hh["n"] == 10
    assert hh["kappa"]["value"] == pytest.approx(0.583333, abs=1e-6)
    assert hh["alpha"]["value"] == pytest.approx(0.604167, abs=1e-6)
    assert hh["ac1"]["value"] == pytest.approx(0.761905, abs=1e-6)
    assert hh["alpha"]["low"] <= hh["alpha"]["value"] <= hh["alpha"]["high"]
    assert report["human_human"]["pricing_perception"]["alpha"]["value"] is None  # all absent
    assert report["double_coding"] == {"picked": 10, "complete": 10}
    # Model-human: the model's stored codes against reviewer 1, checked with sklearn.
    items = [api.client.get(f"/v1/items/T-{i}", headers=api.h("analyst")).json() for i in range(10)]
    model = {
        s["unit_id"]: s["polarity"]
        for it in items
        for s in it["suggestions"]
        if s["bucket"] == "support_friction"
    }
    model_labels = [model.get(u, "absent") for u in units]
    human_labels = [x or "absent" for x in first]
    mh = report["model_human"]["support_friction"]
    assert mh["n"] == 10
    assert mh["kappa"]["value"] == pytest.approx(cohen_kappa_score(model_labels, human_labels))
    # With both coders done, the units' suggestions enter the queue.
    assert _queue(api)["total"] == out["suggestions"]


def _model_labels(api, prefix: str, n: int) -> dict[int, dict[str, str]]:
    labels: dict[int, dict[str, str]] = {}
    for i in range(n):
        item = api.client.get(f"/v1/items/{prefix}-{i}", headers=api.h("analyst")).json()
        for s in item["suggestions"]:
            labels.setdefault(s["unit_id"], {})[s["bucket"]] = s["polarity"]
    return labels


def test_gate_opens_on_reliable_agreement_and_closes_when_it_drops(api) -> None:
    h = api.h()
    api.client.patch(
        "/v1/project",
        headers=h,
        json={"double_coding_share": 1.0, "gate_min_units": 8, "gate_threshold": 0.8},
    )
    api.ingest(_items("A"))
    model = _model_labels(api, "A", len(TICKETS))
    gated = "support_friction"
    assert sum(gated in m for m in model.values()) >= 2  # the bucket varies across units
    # Both reviewers agree with the model on every bucket: alpha = 1, interval [1, 1].
    unit_ids = _unit_ids(api, "A")
    agreeing = [{b: model.get(u, {}).get(b) for b in BUCKETS} for u in unit_ids]
    _blind_round(api, {"reviewer": agreeing, "reviewer2": agreeing})
    report = api.client.get("/v1/agreement", headers=h).json()
    assert report["model_human"][gated]["alpha"]["low"] == pytest.approx(1.0)
    assert report["gates"][gated] is True
    assert report["gates"]["renewal_likelihood"] is (
        report["model_human"]["renewal_likelihood"]["alpha"]["value"] is not None
    )
    # Gate open: new suggestions in that bucket are auto-accepted, with an audit event.
    api.client.patch("/v1/project", headers=h, json={"double_coding_share": 0.0})
    opened = api.ingest(_items("B"))
    assert opened["auto_accepted"] > 0
    states = _states(api, "B")
    assert {s for b, s in states if b == gated} == {"auto_accepted"}
    assert all(s == "pending" for b, s in states if not report["gates"][b])
    events = api.client.get("/v1/audit", headers=api.h("analyst")).json()["events"]
    assert sum(e["action"] == "auto_accept" for e in events) == opened["auto_accepted"]
    # Now reviewers disagree with the model on that bucket for new units: the gate closes.
    api.client.patch("/v1/project", headers=h, json={"double_coding_share": 1.0})
    api.ingest(_items("D"))
    flipped_model = _model_labels(api, "D", len(TICKETS))
    d_units = _unit_ids(api, "D")
    disagreeing = [
        {gated: None if flipped_model.get(u, {}).get(gated) else "risk"} for u in d_units
    ]
    _blind_round(api, {"reviewer": disagreeing, "reviewer2": disagreeing})
    report = api.client.get("/v1/agreement", headers=h).json()
    assert report["model_human"][gated]["alpha"]["low"] < 0.8
    assert report["gates"][gated] is False
    api.client.patch("/v1/project", headers=h, json={"double_coding_share": 0.0})
    closed = api.ingest(_items("E"))
    assert closed["auto_accepted"] == 0
    assert {s for _, s in _states(api, "E")} == {"pending"}


def _unit_ids(api, prefix: str) -> list[int]:
    engine = make_engine(api.settings.db_url)
    from themecoder.storage import UnitRecord

    with session_factory(engine)() as s:
        ids = s.scalars(
            select(UnitRecord.id)
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(ItemRecord.external_id.like(f"{prefix}-%"))
            .order_by(UnitRecord.id)
        ).all()
    engine.dispose()
    return list(ids)


def _states(api, prefix: str) -> list[tuple[str, str]]:
    out = []
    for i in range(len(TICKETS)):
        item = api.client.get(f"/v1/items/{prefix}-{i}", headers=api.h("analyst")).json()
        out += [(s["bucket"], s["state"]) for s in item["suggestions"]]
    return out


def test_queue_order_and_filters(api) -> None:
    _no_double_coding(api)
    api.ingest(_items("Q", account_id="ACC-7"))
    api.ingest(_items("R", texts=TICKETS[:4], account_id="ACC-8"))
    page = _queue(api)["suggestions"]
    assert len(page) > 5
    priorities = [s["priority"] for s in page]
    assert priorities == sorted(priorities, reverse=True)
    for s in page:
        assert s["priority"] == pytest.approx(
            expected_value_of_review(s["confidence"], s["polarity"])
        )
    assert [s["id"] for s in page] == [
        s["id"] for s in sorted(page, key=lambda s: (-s["priority"], s["id"]))
    ]
    for bucket in BUCKETS:
        got = _queue(api, bucket=bucket)["suggestions"]
        assert all(s["bucket"] == bucket for s in got)
        assert len(got) == sum(s["bucket"] == bucket for s in page)
    assert {s["item"]["account_id"] for s in _queue(api, account_id="ACC-8")["suggestions"]} == {
        "ACC-8"
    }
    for name in ("low", "medium", "high"):
        assert all(s["band"] == name for s in _queue(api, band=name)["suggestions"])
    assert sum(_queue(api, band=b)["total"] for b in ("low", "medium", "high")) == len(page)
    # A theme queue: give two units a theme and ask for it.
    engine = make_engine(api.settings.db_url)
    with session_factory(engine).begin() as s:
        acme = s.scalar(select(ProjectRecord.id).where(ProjectRecord.slug == "acme"))
        theme = ThemeRecord(
            label="billing",
            keywords=[],
            quotes=[],
            centroid=b"",
            status="active",
            version=1,
            project_id=acme,
        )
        s.add(theme)
        s.flush()
        picked = sorted({x["unit"]["id"] for x in page})[:2]
        s.add_all(UnitThemeRecord(unit_id=u, theme_id=theme.id, score=0.9, rank=0) for u in picked)
        theme_id = theme.id
    engine.dispose()
    themed = _queue(api, theme_id=theme_id)["suggestions"]
    assert themed and {s["unit"]["id"] for s in themed} <= set(picked)
    decided = _queue(api, state="approved")
    assert decided["total"] == 0
    paged = _queue(api, limit=3, offset=3)
    assert [s["id"] for s in paged["suggestions"]] == [s["id"] for s in page[3:6]]


def test_bulk_job_reports_progress_and_result(api) -> None:
    items = _items("J", texts=TICKETS * 3)
    r = api.client.post("/v1/jobs/code", headers=api.h("ingest"), json={"items": items})
    assert r.status_code == 202
    job = r.json()
    assert job["state"] in ("queued", "running") and job["total"] == len(items)
    deadline = time.monotonic() + 120
    while job["state"] not in ("succeeded", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.client.get(f"/v1/jobs/{job['id']}", headers=api.h("ingest")).json()
    assert job["state"] == "succeeded", job
    assert job["done"] == job["total"] == len(items) and job["progress"] == 1.0
    assert job["result"]["created"] == len(items)
    # Re-sending the batch as a job creates nothing new.
    r = api.client.post("/v1/jobs/code", headers=api.h("ingest"), json={"items": items})
    again = r.json()
    while again["state"] not in ("succeeded", "failed"):
        time.sleep(0.2)
        again = api.client.get(f"/v1/jobs/{again['id']}", headers=api.h("ingest")).json()
    assert again["result"]["created"] == 0 and again["result"]["existing"] == len(items)


def test_code_one_ticket_and_optionally_store_it(api) -> None:
    text = "The new per-seat pricing doubles our bill and support never answered my ticket."
    h = api.h("ingest")
    plain = api.client.post("/v1/code", headers=h, json={"text": text}).json()
    assert plain["buckets"] and plain.get("stored") is None  # typed: null unless stored
    for code in plain["buckets"].values():
        assert code["polarity"] in ("positive", "neutral", "risk") and 0 <= code["confidence"] <= 1
        assert isinstance(code["metrics"], list)
    stored = api.client.post(
        "/v1/code", headers=h, json={"text": text, "external_id": "TK-1", "store": True}
    ).json()
    assert stored["stored"]["created"] == 1
    assert stored["buckets"].keys() == plain["buckets"].keys()  # same coder, same answer
    item = api.client.get("/v1/items/TK-1", headers=api.h("analyst")).json()
    unit_codes = {(s["bucket"], s["polarity"]) for s in item["suggestions"]}
    response_codes = {(b, c["polarity"]) for u in stored["units"] for b, c in u["buckets"].items()}
    assert unit_codes == response_codes
    again = api.client.post(
        "/v1/code", headers=h, json={"text": text, "external_id": "TK-1", "store": True}
    ).json()
    assert again["stored"]["created"] == 0 and again["stored"]["existing"] == 1
    assert again["buckets"].keys() == plain["buckets"].keys()
    assert again["warnings"] == []  # the same text again: a plain idempotent re-send
    other = api.client.post(
        "/v1/code",
        headers=h,
        json={"text": "Bye, thanks!", "external_id": "TK-1", "store": True},
    ).json()
    assert other["stored"]["existing"] == 1
    assert any("stored before with other text" in w for w in other["warnings"])
    kept = api.client.get("/v1/items/TK-1", headers=api.h("analyst")).json()
    assert kept["text"] == item["text"]  # the stored item is untouched
    missing = api.client.post("/v1/code", headers=h, json={"text": text, "store": True})
    assert (
        missing.status_code == 422
        and missing.json()["error"]["fields"][0]["field"] == "external_id"
    )


def test_an_item_in_another_language_is_stored_not_coded(api) -> None:
    """As on the command line: a French ticket is stored but gets no codes or suggestions;
    the English one beside it is coded."""
    api.ingest(
        [
            {
                "external_id": "FR-1",
                "text": "Le support ne répond jamais et la facture a encore doublé ce mois-ci, "
                "nous allons résilier notre abonnement.",
            },
            {
                "external_id": "EN-1",
                "text": "Support never answers and the invoice doubled again this month, "
                "we are going to cancel our subscription.",
            },
        ]
    )
    fr = api.client.get("/v1/items/FR-1", headers=api.h("analyst")).json()
    en = api.client.get("/v1/items/EN-1", headers=api.h("analyst")).json()
    assert fr["suggestions"] == [] and not any(u.get("buckets") for u in fr["units"])
    assert en["suggestions"]


def test_code_without_storing_names_another_language_and_codes_nothing(api) -> None:
    """``POST /v1/code`` without ``store`` runs the same language passes as ingest: a French
    ticket comes back with its language, a warning and no codes; English is coded as before."""
    h = api.h("ingest")
    french = "Le support ne répond jamais et la facture a encore doublé ce mois-ci, nous allons "
    french += "résilier notre abonnement."
    fr = api.client.post("/v1/code", headers=h, json={"text": french})
    assert fr.status_code == 200, fr.text
    body = fr.json()
    assert body["language"] == "fr" and body["buckets"] == {}
    assert any("'fr'" in w and "not coded" in w for w in body["warnings"])
    english = "Support never answers and the invoice doubled again, we are going to cancel."
    en = api.client.post("/v1/code", headers=h, json={"text": english}).json()
    assert en["language"] is None and en["warnings"] == [] and en["buckets"]
