"""Semantic quote search: exact and FAISS agree, filters narrow, the index keeps in step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from themecoder.domain import BucketCode, Item, ItemResult, Unit, UnitResult
from themecoder.errors import InvalidInput
from themecoder.pipeline.embed import HashingEmbedder
from themecoder.search import FaissIndex, exact_top_k
from themecoder.services.search import IndexCache, SearchFilter, search_quotes
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


def _search(factory, cache: IndexCache, query: str, where=None, k: int = 10) -> dict:
    with factory() as session:
        return search_quotes(session, None, query, EMBED.encode, cache, where, k=k)


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
    assert _search(factory, cache, "renew the contract")["index"] == "loaded"
    add(300, 40)
    got = _search(factory, cache, "renew the contract")
    assert got["index"] == "added 40" and got["units"] == 340
    fresh = IndexCache(tmp_path / "idx", exact_max=10)  # another process: reads the file
    again = _search(factory, fresh, "renew the contract")
    assert again["index"] == "loaded"
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
