"""Semantic quote search: exact and FAISS agree, filters narrow, the index keeps in step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from test_web_pages import csrf_of, sign_in
from themecoder.domain import BUCKETS, BucketCode, Item, ItemResult, Unit, UnitResult
from themecoder.errors import InvalidInput
from themecoder.pipeline.embed import HashingEmbedder
from themecoder.search import FaissIndex, exact_top_k
from themecoder.services.search import IndexCache, SearchFilter, known_codes, search_quotes
from themecoder.storage import init_db, make_engine, save_results, session_factory

EMBED = HashingEmbedder(64)
TOPICS = [
    "the per-seat price doubled our invoice",
    "single sign-on setup took our admins weeks",
    "support answered the ticket within an hour",
    "the onboarding checklist was confusing",
    "we plan to renew the contract next year",
]


def _results(start: int, n: int, seed: int) -> list[ItemResult]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(start, start + n):
        topic = TOPICS[i % len(TOPICS)]
        text = f"{topic} ({rng.choice(['really', 'honestly', 'sadly', 'again'])} {i})"
        vec = EMBED.encode([text])[0]
        bucket = ["pricing_perception", "onboarding_clarity", "support_friction"][i % 3]
        code = BucketCode(bucket, ["risk", "positive"][i % 2], 0.9, {})
        unit = UnitResult(
            Unit(f"T-{i}", 0, 0, len(text), text), [code], "neutral", 0.0, "none", vec
        )
        meta = {"account_id": f"ACC-{i % 4}", "created_at": f"2026-0{1 + i % 6}-15"}
        item = Item(f"T-{i}", text, meta, source=f"file_{i % 2}.csv")
        out.append(ItemResult(item, [unit], [code], "neutral", 0.0, "none"))
    return out


@pytest.fixture
def store(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    init_db(engine)
    factory = session_factory(engine)

    def add(start: int, n: int) -> None:
        with factory.begin() as session:
            save_results(
                session,
                _results(start, n, start),
                source="t",
                model_version="m",
                level="unit",
                settings={},
            )

    add(0, 300)
    yield factory, add
    engine.dispose()


def _search(factory, cache: IndexCache, query: str, where=None, k: int = 10, custom=()) -> dict:
    with factory() as session:
        return search_quotes(session, None, query, EMBED.encode, cache, where, k=k, custom=custom)


def _same(a: list[dict], b: list[dict]) -> bool:
    """The same hits with the same scores; equal scores may come in either order."""
    scores = np.allclose([h["score"] for h in a], [h["score"] for h in b], atol=1e-5)
    return scores and {h["unit_id"] for h in a} == {h["unit_id"] for h in b}


def test_exact_top_k_is_cosine_best_first() -> None:
    x = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    ids, scores = exact_top_k(np.array([7, 8, 9]), x, np.array([1.0, 0.2]), 2)
    assert ids.tolist() == [7, 9] and scores[0] >= scores[1]


def test_exact_and_faiss_agree_and_filters_narrow(store, tmp_path: Path) -> None:
    factory, _ = store
    exact = IndexCache(tmp_path / "idx", exact_max=10_000)
    approx = IndexCache(tmp_path / "idx", exact_max=10)
    query = "SSO set-up took the admins weeks"
    a, b = _search(factory, exact, query), _search(factory, approx, query)
    assert a["backend"] == "exact" and b["backend"] == "faiss" and b["index"] == "rebuilt"
    assert _same(a["hits"], b["hits"])
    assert all("sign-on" in h["text"] for h in a["hits"][:5])
    assert a["pgvector"] == "unavailable" and a["units"] == 300
    where = SearchFilter(
        code="pricing_perception:risk",
        account="ACC-0",
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=datetime(2026, 6, 1, tzinfo=UTC),
        source="file_0.csv",
    )
    for cache in (exact, approx):
        got = _search(factory, cache, query, where, k=50)
        assert got["hits"] and len(got["hits"]) == got["candidates"] < 300
        for h in got["hits"]:
            assert "pricing_perception:risk" in h["codes"] and h["account_id"] == "ACC-0"
            assert h["source"] == "file_0.csv"
            assert h["created_at"] < datetime(2026, 6, 1, tzinfo=UTC)
    bucket = _search(factory, approx, query, SearchFilter(code="onboarding_clarity"), k=20)
    assert all(any(c.startswith("onboarding_clarity:") for c in h["codes"]) for h in bucket["hits"])


def test_index_keeps_in_step_as_units_arrive(store, tmp_path: Path) -> None:
    factory, add = store
    cache = IndexCache(tmp_path / "idx", exact_max=10)
    assert _search(factory, cache, "renew the contract")["index"] == "rebuilt"
    assert _search(factory, cache, "renew the contract")["index"] == "current"
    add(300, 40)
    got = _search(factory, cache, "renew the contract")
    assert got["index"] == "added 40" and got["units"] == 340
    fresh = IndexCache(tmp_path / "idx", exact_max=10)  # another process: reads the file
    again = _search(factory, fresh, "renew the contract")
    assert again["index"] == "current"
    assert [h["unit_id"] for h in again["hits"]] == [h["unit_id"] for h in got["hits"]]
    exact = _search(factory, IndexCache(tmp_path / "x", exact_max=10_000), "renew the contract")
    assert _same(exact["hits"], got["hits"])
    path = cache.path(factory(), None)
    FaissIndex(64).add(np.arange(1000, 1500), np.ones((500, 64), np.float32)).save(path)
    assert _search(factory, IndexCache(tmp_path / "idx", 10), "renew")["index"] == "rebuilt"


def test_bad_queries_are_refused(store, tmp_path: Path) -> None:
    factory, _ = store
    cache = IndexCache(tmp_path / "idx", exact_max=10)
    for query, k in (("  ", 10), ("x" * 1001, 10), ("price", 0), ("price", 101)):
        with pytest.raises(InvalidInput):
            _search(factory, cache, query, k=k)


def test_an_unknown_code_filter_is_refused_with_the_valid_ones(store, tmp_path: Path) -> None:
    """Before: an unknown bucket or polarity filtered everything out ("0 of 0 units")."""
    factory, _ = store
    cache = IndexCache(tmp_path / "idx", exact_max=10_000)
    refused = {
        "nonsense:thing": "unknown code 'nonsense'",
        "nonsense": "unknown code 'nonsense'",
        "": "unknown code ''",
        "sso_setup": "unknown code 'sso_setup'",  # not in the codebook, no unit carries it
        "pricing_perception:bad": "unknown polarity 'bad'; valid polarities: positive, "
        "neutral, risk",
        "pricing_perception:": "unknown polarity ''",
        "theme:x": "a theme is named by its id",
        "theme:0": "a theme is named by its id",
    }
    for code, says in refused.items():
        with pytest.raises(InvalidInput) as err:
            _search(factory, cache, "billing", SearchFilter(code=code))
        assert says in err.value.message, (code, err.value.message)
        assert err.value.details["field"] == "code"
        if "unknown code" in says:
            assert all(b in err.value.message for b in BUCKETS) and "theme:ID" in err.value.message
    for code in ("pricing_perception", "pricing_perception:risk"):
        assert _search(factory, cache, "billing", SearchFilter(code=code))["candidates"] > 0
    for code in ("renewal_likelihood", "renewal_likelihood:positive", "theme:7"):
        got = _search(factory, cache, "billing", SearchFilter(code=code))
        assert got["candidates"] == 0  # valid, but no unit carries it: no hits, not an error
    # A custom code of the codebook is valid even before any unit carries it.
    got = _search(
        factory, cache, "billing", SearchFilter(code="sso_setup:risk"), custom=["sso_setup"]
    )
    assert got["candidates"] == 0 and got["hits"] == []
    # A code the units carry but the codebook dropped is still a valid filter.
    assert known_codes({1: ["sso_setup:risk", "theme:4"], 2: ["support_friction:risk"]}) == [
        *BUCKETS,
        "sso_setup",
    ]


TICKETS = [
    ("T-1", "Setting up single sign-on took our IT team three weeks.", "ACC-1", "2026-03-02"),
    ("T-2", "The per-seat price went up again and finance is unhappy.", "ACC-2", "2026-03-05"),
    ("T-3", "SAML configuration was painful, the SSO docs are outdated.", "ACC-2", "2026-04-10"),
    ("T-4", "Support solved our export problem within the hour.", "ACC-1", "2026-04-12"),
]


@pytest.mark.model
def test_api_search_by_meaning_with_filters_and_index(api) -> None:
    items = [
        {"external_id": i, "text": t, "metadata": {"account_id": a, "created_at": d}}
        for i, t, a, d in TICKETS
    ]
    api.ingest(items)
    q = {"q": "SSO login setup was hard"}
    r = api.client.get("/v1/search", headers=api.h("analyst"), params=q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["backend"] == "exact" and body["units"] >= 4
    assert body["pgvector"] in ("unavailable", "available, not used")  # detected, never needed
    assert {h["external_id"] for h in body["hits"][:2]} == {"T-1", "T-3"}
    one = api.client.get(
        "/v1/search", headers=api.h("reviewer"), params={**q, "account": "ACC-1", "k": 5}
    ).json()
    assert {h["account_id"] for h in one["hits"]} == {"ACC-1"} and one["hits"][0][
        "external_id"
    ] == "T-1"
    april = api.client.get(
        "/v1/search", headers=api.h(), params={**q, "since": "2026-04-01", "until": "2026-05-01"}
    ).json()
    assert {h["external_id"] for h in april["hits"]} <= {"T-3", "T-4"}
    api.client.app.state.context.search.exact_max = 1  # take the FAISS path on this tiny project
    approx = api.client.get("/v1/search", headers=api.h(), params=q).json()
    assert approx["backend"] == "faiss" and approx["index"] == "rebuilt"
    assert [h["unit_id"] for h in approx["hits"]] == [h["unit_id"] for h in body["hits"]]
    api.ingest([{"external_id": "T-5", "text": "Our SSO rollout with Okta stalled for a month."}])
    after = api.client.get("/v1/search", headers=api.h(), params=q).json()
    assert after["index"].startswith("added ") and after["units"] > body["units"]
    assert "T-5" in {h["external_id"] for h in after["hits"][:3]}
    assert api.client.get("/v1/search", headers=api.h("other"), params=q).json()["hits"] == []
    assert api.client.get("/v1/search", headers=api.h("ingest"), params=q).status_code == 403
    assert api.client.get("/v1/search", headers=api.h(), params={**q, "k": 0}).status_code == 422
    assert api.client.get("/v1/search", headers=api.h(), params={"q": ""}).status_code == 422


@pytest.mark.model
def test_api_search_refuses_an_unknown_code_filter_and_says_an_empty_q(api) -> None:
    """Before: ``code=pricing_perception:bad`` answered 200 with no hits, and ``q=`` said
    "Value should have at least 1 item after validation"."""

    def search(**params: str):
        return api.client.get("/v1/search", headers=api.h("analyst"), params=params)

    r = search(q="billing", code="pricing_perception:bad")
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert "unknown polarity 'bad'" in err["message"]
    assert "positive, neutral, risk" in err["message"]
    assert [f["field"] for f in err["fields"]] == ["code"]
    r = search(q="billing", code="nonsense:thing")
    assert r.status_code == 422 and "unknown code 'nonsense'" in r.json()["error"]["message"]
    assert all(b in r.json()["error"]["message"] for b in BUCKETS)
    assert search(q="billing", code="sso_setup:risk").status_code == 422
    assert search(q="billing", code="pricing_perception:risk").status_code == 200
    assert search(q="billing", code="theme:3").status_code == 200
    for q in ("", "   "):
        r = search(q=q)
        assert r.status_code == 422 and r.json()["error"]["message"] == "q: must not be empty"
    r = search(q="x" * 1001)
    assert r.json()["error"]["message"] == "q: must have at most 1000 characters"
    # A custom code the codebook gains is a valid filter at once.
    c = api.client
    sign_in(c, api.keys["admin"])
    add = {
        "csrf_token": csrf_of(c.get("/codebook").text),
        "code_id": "sso_setup",
        "definition": "Setting up SSO.",
        "owner": "identity team",
    }
    assert c.post("/codebook/add", data=add).status_code == 200
    c.cookies.clear()
    r = search(q="billing", code="sso_setup:risk")
    assert r.status_code == 200 and r.json()["hits"] == []
    assert search(q="billing", code="sso_setup:bad").status_code == 422


@pytest.mark.model
def test_cli_search_finds_the_quote(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from themecoder.cli import app

    data = tmp_path / "tickets.csv"
    data.write_text("id,text,account_id\n" + "".join(f'{i},"{t}",{a}\n' for i, t, a, _ in TICKETS))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    coded = runner.invoke(app, ["code", str(data), "--id-column", "id", "--db", db,
                                "--out", str(tmp_path / "o.jsonl")])  # fmt: skip
    assert coded.exit_code == 0, coded.output
    found = runner.invoke(app, ["search", "the invoice got more expensive", "-k", "2", "--db", db])
    assert found.exit_code == 0, found.output
    quotes = [line for line in found.output.splitlines() if line.startswith('  "')]
    assert "per-seat price" in quotes[0] and "of 4 units searched (exact" in found.output
    narrowed = runner.invoke(app, ["search", "pricing", "--account", "ACC-1", "--db", db])
    assert "per-seat" not in narrowed.output and narrowed.exit_code == 0
    for code, says in (
        ("nonsense:thing", "unknown code 'nonsense'"),
        ("pricing_perception:bad", "unknown polarity 'bad'"),
    ):
        refused = runner.invoke(app, ["search", "billing", "--code", code, "--db", db])
        said = " ".join(refused.output.split())  # the console wraps long lines
        assert refused.exit_code == 2 and says in said, refused.output
        assert "units searched" not in said
    said = " ".join(
        runner.invoke(app, ["search", "billing", "--code", "nonsense", "--db", db]).output.split()
    )
    assert all(b in said for b in BUCKETS), said
