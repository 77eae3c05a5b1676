"""Ingest and added codes under concurrency, on SQLite and PostgreSQL (issue 10, item 3).

Regressions: 10 clients sending overlapping batches got 500 on 14 of 80 batches (``UNIQUE
constraint failed`` after one retry) and 6 items were never stored; 10 identical
``POST /v1/units/{id}/codes`` created 10 codes.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from themecoder.storage import (
    AuditEventRecord,
    ItemRecord,
    SuggestionRecord,
    UnitRecord,
    make_engine,
    session_factory,
)

pytestmark = pytest.mark.model

N_THREADS = 20
TEXTS = [
    "The renewal price went up again and nobody told us.",
    "Support answered in minutes, thank you.",
    "We could not find the SSO settings during onboarding.",
    "The reports save my team hours every week.",
    "Can we add ten more seats next quarter?",
]


def _in_parallel(n: int, work) -> list:
    out: list = [None] * n
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        out[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_twenty_overlapping_ingest_batches_never_fail_and_lose_nothing(api) -> None:
    # Batch i holds ids i .. i+4: every id but the ends is sent by several batches at once.
    def batch(i: int) -> list[dict]:
        return [
            {"external_id": f"O-{j}", "text": f"{TEXTS[j % len(TEXTS)]} (ticket {j})"}
            for j in range(i, i + 5)
        ]

    def send(i: int):
        r = api.client.post("/v1/items", headers=api.h("ingest"), json={"items": batch(i)})
        return r.status_code, r.json()

    results = _in_parallel(N_THREADS, send)
    assert [status for status, _ in results] == [200] * N_THREADS, results
    expected = {f"O-{j}" for j in range(N_THREADS + 4)}
    created = Counter(
        item["external_id"] for _, body in results for item in body["items"] if item["created"]
    )
    assert set(created) == expected and set(created.values()) == {1}  # each created once
    ids: dict[str, set[int]] = {}
    for _, body in results:
        for item in body["items"]:
            ids.setdefault(item["external_id"], set()).add(item["id"])
    assert all(len(v) == 1 for v in ids.values())  # every batch names the same stored id
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        stored = set(
            s.scalars(select(ItemRecord.external_id).where(ItemRecord.project_id.is_not(None)))
        )
        unitless = s.scalar(
            select(func.count())
            .select_from(ItemRecord)
            .where(~ItemRecord.id.in_(select(UnitRecord.item_id)))
        )
    engine.dispose()
    assert stored == expected and unitless == 0


def test_twenty_identical_added_codes_store_one(api) -> None:
    api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    item = api.ingest([{"external_id": "A-1", "text": TEXTS[0]}])["items"][0]
    got = api.client.get("/v1/items/A-1", headers=api.h("reviewer")).json()
    unit_id = got["units"][0]["id"]
    body = {"bucket": "upsell_readiness", "polarity": "positive", "comment": "missed"}

    def add(_: int):
        r = api.client.post(f"/v1/units/{unit_id}/codes", headers=api.h("reviewer"), json=body)
        return r.status_code, r.json()

    results = _in_parallel(N_THREADS, add)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 200: N_THREADS - 1}, results
    assert len({b["id"] for _, b in results}) == 1
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as s:
        codes = s.scalar(
            select(func.count()).where(
                SuggestionRecord.item_id == item["id"], SuggestionRecord.origin == "reviewer"
            )
        )
        events = s.scalar(select(func.count()).where(AuditEventRecord.action == "add"))
    engine.dispose()
    assert codes == 1 and events == 1
    # Another polarity of the same bucket is another code.
    other = {**body, "polarity": "risk"}
    r = api.client.post(f"/v1/units/{unit_id}/codes", headers=api.h("reviewer"), json=other)
    assert r.status_code == 201
