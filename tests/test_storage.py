"""Storage: migrations, bulk save, read-back and summaries on SQLite and PostgreSQL.

The PostgreSQL cases read THEMECODER_TEST_POSTGRES_URL, which `make test` sets after starting a
server with scripts/postgres.sh. Without it they fail (deselect them with -m "not postgres").
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from themecoder.domain import (
    BUCKETS,
    BucketCode,
    Item,
    ItemResult,
    Neighbor,
    Unit,
    UnitResult,
)
from themecoder.errors import NotFound
from themecoder.storage import (
    Base,
    CodeRecord,
    ItemRecord,
    UnitRecord,
    alembic_config,
    bucket_summary,
    init_db,
    latest_run_id,
    load_embeddings,
    make_engine,
    run_overview,
    save_results,
    session_factory,
)

DIM = 384


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated store on SQLite or PostgreSQL (``db_url`` in conftest.py clears it)."""
    eng = make_engine(db_url)
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as s:
        yield s


def _unit(
    rng: np.random.Generator,
    item_id: str,
    index: int,
    start: int,
    text_: str,
    codes: list[BucketCode],
) -> UnitResult:
    return UnitResult(
        unit=Unit(item_id=item_id, index=index, start=start, end=start + len(text_), text=text_),
        buckets=codes,
        sentiment="negative" if any(c.polarity == "risk" for c in codes) else "neutral",
        sentiment_score=-0.25 * index,
        expression="frustration" if codes else "none",
        embedding=rng.standard_normal(DIM).astype(np.float32),
    )


def _code(bucket: str, polarity: str, confidence: float, neighbors: int = 0) -> BucketCode:
    near = [Neighbor(f"example {i} for {bucket}", 0.9 - i / 10) for i in range(neighbors)]
    return BucketCode(
        bucket, polarity, confidence, evidence={}, neighbors=near, polarity_confidence=0.75
    )


def _item(item: Item, units: list[UnitResult], sentiment: str = "neutral") -> ItemResult:
    return ItemResult(
        item=item,
        units=units,
        buckets=[],
        sentiment=sentiment,
        sentiment_score=0.1,
        expression="request" if units else "none",
    )


@pytest.fixture
def results() -> list[ItemResult]:
    """Three items whose bucket counts are worked out by hand in the tests."""
    rng = np.random.default_rng(7)
    a = Item(
        id="A-1",
        text="We will renew. Price is steep. Renewal is likely.",
        metadata={
            "account_id": 4711,
            "created_at": "2024-03-01T10:30:00+02:00",
            "nested": {"tags": ["x", "y"], "score": 1.5, "ok": True, "none": None},
            "note": "naïve ☕",
        },
        speaker="Dana",
        source="calls.csv",
        source_offset=12,
    )
    b = Item(
        id="B-2",
        text="Support is slow. Fine. We may leave.",
        metadata={"account_id": "acme", "created_at": "not a date"},
    )
    c = Item(id="C-3", text="What do you think of the price?", coded=False, speaker="Interviewer")
    return [
        _item(
            a,
            [
                _unit(
                    rng,
                    "A-1",
                    0,
                    0,
                    "We will renew.",
                    [
                        _code("renewal_likelihood", "positive", 0.9, neighbors=2),
                        _code("pricing_perception", "risk", 0.6),
                    ],
                ),
                _unit(rng, "A-1", 1, 15, "Price is steep.", []),
                _unit(
                    rng,
                    "A-1",
                    2,
                    31,
                    "Renewal is likely.",
                    [_code("renewal_likelihood", "neutral", 0.7)],
                ),
            ],
            sentiment="positive",
        ),
        _item(
            b,
            [
                _unit(
                    rng, "B-2", 0, 0, "Support is slow.", [_code("support_friction", "risk", 0.8)]
                ),
                _unit(rng, "B-2", 1, 17, "Fine.", []),
                _unit(
                    rng, "B-2", 2, 23, "We may leave.", [_code("renewal_likelihood", "risk", 0.5)]
                ),
            ],
            sentiment="negative",
        ),
        _item(c, []),
    ]


def _save(session: Session, results: list[ItemResult], source: str = "calls.csv") -> int:
    run_id = save_results(
        session,
        results,
        source=source,
        model_version="v-test",
        level="unit",
        settings={"redact": False, "nested": {"k": [1, 2]}},
    )
    session.commit()
    return run_id


def test_make_engine_creates_folder_and_sets_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'store.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "a" / "b" / "store.db").is_file()
    engine.dispose()


def test_in_memory_database_is_shared_by_sessions(results: list[ItemResult]) -> None:
    engine = make_engine("sqlite://")
    init_db(engine)
    factory = session_factory(engine)
    with factory() as s:
        run_id = _save(s, results)
    with factory() as s:
        assert latest_run_id(s) == run_id


def test_init_db_twice_is_idempotent(engine: Engine) -> None:
    init_db(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
    assert {"runs", "items", "units", "codes"} <= set(inspect(engine).get_table_names())


def test_migrations_match_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_save_and_read_back(session: Session, results: list[ItemResult]) -> None:
    run_id = _save(session, results)
    items = session.scalars(select(ItemRecord).order_by(ItemRecord.id)).all()
    assert [i.external_id for i in items] == ["A-1", "B-2", "C-3"]
    a, b, c = items
    assert a.run_id == run_id
    assert a.meta == results[0].item.metadata  # nested JSON passes through unchanged
    assert (a.speaker, a.source, a.source_offset, a.coded) == ("Dana", "calls.csv", 12, True)
    assert a.account_id == "4711" and b.account_id == "acme" and c.account_id is None
    assert a.created_at == datetime(2024, 3, 1, 8, 30, tzinfo=UTC)
    assert b.created_at is None and c.created_at is None
    assert (a.sentiment, b.sentiment) == ("positive", "negative")
    assert (c.coded, c.speaker) == (False, "Interviewer")

    units = session.scalars(select(UnitRecord).order_by(UnitRecord.id)).all()
    expected = [ur.unit for r in results for ur in r.units]
    assert [(u.idx, u.start_char, u.end_char, u.text) for u in units] == [
        (e.index, e.start, e.end, e.text) for e in expected
    ]
    for u in units:
        item = next(i for i in items if i.id == u.item_id)
        assert item.text[u.start_char : u.end_char] == u.text

    codes = session.scalars(select(CodeRecord).order_by(CodeRecord.id)).all()
    assert [(c_.bucket, c_.polarity, c_.confidence) for c_ in codes] == [
        ("renewal_likelihood", "positive", 0.9),
        ("pricing_perception", "risk", 0.6),
        ("renewal_likelihood", "neutral", 0.7),
        ("support_friction", "risk", 0.8),
        ("renewal_likelihood", "risk", 0.5),
    ]
    first = codes[0]
    assert first.unit_id == units[0].id and first.item_id == a.id
    assert first.model_version == "v-test" and first.polarity_confidence == 0.75
    assert first.neighbors == [
        {"text": "example 0 for renewal_likelihood", "similarity": 0.9},
        {"text": "example 1 for renewal_likelihood", "similarity": 0.8},
    ]
    assert codes[4].unit_id == units[5].id and codes[4].item_id == b.id


def test_embeddings_round_trip_exactly(session: Session, results: list[ItemResult]) -> None:
    _save(session, results)
    ids, matrix = load_embeddings(session)
    expected = np.stack([ur.embedding for r in results for ur in r.units])
    assert matrix.dtype == np.float32 and matrix.shape == (6, DIM)
    np.testing.assert_array_equal(matrix, expected)
    assert ids.tolist() == sorted(ids.tolist())

    wanted = [int(ids[4]), int(ids[1]), int(ids[4])]
    sub_ids, sub = load_embeddings(session, wanted)
    assert sub_ids.tolist() == wanted
    np.testing.assert_array_equal(sub, expected[[4, 1, 4]])
    with pytest.raises(NotFound):
        load_embeddings(session, [int(ids[0]), 10_000_000])


def test_load_embeddings_by_run_and_empty(session: Session, results: list[ItemResult]) -> None:
    ids, matrix = load_embeddings(session)
    assert ids.shape == (0,) and matrix.shape == (0, 0)
    _save(session, results[:1])
    second = _save(session, results[1:])
    ids, matrix = load_embeddings(session, run_id=second)
    assert len(ids) == 3
    np.testing.assert_array_equal(matrix, np.stack([ur.embedding for ur in results[1].units]))


def test_bucket_summary_counts(session: Session, results: list[ItemResult]) -> None:
    first = _save(session, results)
    summary = {row["bucket"]: row for row in bucket_summary(session, first)}
    assert list(summary) == list(BUCKETS)
    renewal = summary["renewal_likelihood"]
    assert {k: v for k, v in renewal.items() if k != "mean_confidence"} == {
        "bucket": "renewal_likelihood",
        "units": 3,
        "items": 2,
        "positive": 1,
        "neutral": 1,
        "risk": 1,
    }
    assert renewal["mean_confidence"] == pytest.approx((0.9 + 0.7 + 0.5) / 3)
    assert summary["pricing_perception"] == {
        "bucket": "pricing_perception",
        "units": 1,
        "items": 1,
        "positive": 0,
        "neutral": 0,
        "risk": 1,
        "mean_confidence": pytest.approx(0.6),
    }
    assert summary["support_friction"]["risk"] == 1
    assert summary["upsell_readiness"] == {
        "bucket": "upsell_readiness",
        "units": 0,
        "items": 0,
        "positive": 0,
        "neutral": 0,
        "risk": 0,
        "mean_confidence": None,
    }

    # Storing the same items again adds nothing: counts stay those of the first run.
    second = _save(session, results[1:])
    assert {r["bucket"]: r["units"] for r in bucket_summary(session, second)}[
        "renewal_likelihood"
    ] == 0
    overall = {r["bucket"]: r for r in bucket_summary(session)}
    assert overall["renewal_likelihood"]["units"] == 3
    assert overall["support_friction"]["items"] == 1


def test_saving_is_idempotent_on_item_id_and_text(
    session: Session, results: list[ItemResult]
) -> None:
    first = _save(session, results)
    again = _save(session, [*results, results[0]])
    assert run_overview(session, again)["n_items"] == 0
    assert session.scalar(select(func.count(ItemRecord.id))) == 3
    changed = copy.deepcopy(results[0])
    changed.item.text = changed.item.text + " Edited."
    third = _save(session, [changed])
    assert run_overview(session, third)["n_items"] == 1
    assert session.scalar(select(func.count(ItemRecord.id))) == 4
    assert first < again < third


def test_run_overview_and_latest_run(session: Session, results: list[ItemResult]) -> None:
    assert latest_run_id(session) is None
    run_id = _save(session, results, source="all.csv")
    assert latest_run_id(session) == run_id
    assert latest_run_id(session) < _save(session, results[:1]) == latest_run_id(session)
    overview = run_overview(session, run_id)
    assert overview["source"] == "all.csv" and overview["level"] == "unit"
    assert overview["created_at"].tzinfo is not None
    assert (overview["n_items"], overview["n_coded_items"], overview["n_units"]) == (3, 2, 6)
    assert overview["sentiment"] == {"negative": 1, "neutral": 0, "positive": 1}
    assert overview["expression"] == {"satisfaction": 0, "frustration": 0, "request": 2, "none": 0}
    assert overview["unit_sentiment"] == {"negative": 3, "neutral": 3, "positive": 0}
    assert sum(overview["unit_expression"].values()) == 6
    with pytest.raises(NotFound):
        run_overview(session, run_id + 100)


def test_save_5000_units(session: Session) -> None:
    rng = np.random.default_rng(0)
    results = []
    for i in range(1000):
        units = [
            _unit(
                rng,
                str(i),
                j,
                j * 10,
                f"unit {j:04d}.",
                [_code(BUCKETS[(i + j) % len(BUCKETS)], "risk", 0.5)] if j % 2 == 0 else [],
            )
            for j in range(5)
        ]
        results.append(_item(Item(id=str(i), text="x" * 60, metadata={"row": i}), units))
    run_id = _save(session, results)
    overview = run_overview(session, run_id)
    assert (overview["n_items"], overview["n_units"]) == (1000, 5000)
    assert sum(r["units"] for r in bucket_summary(session, run_id)) == 3000
    ids, matrix = load_embeddings(session, run_id=run_id)
    assert matrix.shape == (5000, DIM)
    np.testing.assert_array_equal(matrix[-1], results[-1].units[-1].embedding)
    last = session.scalars(select(UnitRecord).where(UnitRecord.id == int(ids[-1]))).one()
    assert session.get(ItemRecord, last.item_id).external_id == "999"  # type: ignore[union-attr]


def test_a_savepoint_after_a_read_waits_for_another_writer_instead_of_failing(
    tmp_path: Path,
) -> None:
    """A SQLite transaction opened by a savepoint reads, another connection commits a write,
    then the first one writes: SQLite cannot upgrade a stale read snapshot and answers
    "database is locked" at once, whatever the busy timeout. The review screen's decisions
    (one savepoint each) failed so while the job worker wrote. The savepoint now takes the
    write lock first, so the other writer waits for it instead."""
    import threading

    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (x INTEGER)"))
        c.execute(text("INSERT INTO t VALUES (1)"))
    other_done = threading.Event()

    def other_writer() -> None:
        with engine.begin() as c:
            c.execute(text("INSERT INTO t VALUES (2)"))
        other_done.set()

    with session_factory(engine)() as s:
        with s.begin_nested():
            assert s.scalar(text("SELECT count(*) FROM t")) == 1
            thread = threading.Thread(target=other_writer)
            thread.start()
            # it waits for the savepoint's lock (before the fix it committed at once)
            assert not other_done.wait(1.0)
            s.execute(text("UPDATE t SET x = 3 WHERE x = 1"))
        s.commit()
    thread.join(30)
    assert other_done.is_set()
    with engine.connect() as c:
        assert sorted(c.scalars(text("SELECT x FROM t"))) == [2, 3]
    engine.dispose()
