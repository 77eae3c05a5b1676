"""Write coder results to the store and read them back for analysis.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit: the caller owns the
transaction (``with factory.begin() as session: ...``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import numpy as np
from sqlalchemy import Select, case, distinct, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS, ItemResult, UnitResult
from themecoder.errors import Conflict, NotFound
from themecoder.storage.tables import CodeRecord, ItemRecord, RunRecord, UnitRecord

#: Byte order and width of stored embeddings, fixed so a database reads the same on any machine.
EMBEDDING_DTYPE = np.dtype("<f4")
_IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit


def save_results(
    session: Session,
    results: Sequence[ItemResult],
    *,
    source: str,
    model_version: str,
    level: str,
    settings: Mapping[str, Any],
    codebook_version: int | None = None,
    project_id: int | None = None,
    originals: Mapping[str, str] | None = None,
) -> int:
    """Store one coding run: its items, units with embeddings, and unit-level codes.

    Rows go in with a few bulk INSERTs (item and unit ids come back through RETURNING), so
    thousands of units store in well under a second on SQLite. Nothing is committed.

    Items of a project go in with ``INSERT ... ON CONFLICT (project_id, external_id) DO
    NOTHING``: an item a concurrent batch stored first is skipped with its units and codes
    (it is that batch's), so overlapping batches never fail on the unique key. The run's
    ``n_items`` / ``n_units`` count what this call stored.

    Storing is idempotent on the item's id and text: an item whose ``(external_id, text)``
    the project (or, for ``project_id=None``, the CLI store) already holds is skipped, so
    re-running ``code`` or ``demo`` on the same input never counts an item twice. An item
    whose text changed under the same id is stored as a new item.

    Args:
        session: Open session; the caller commits.
        results: The coder's output, one per item, in input order.
        source: Where the items came from (a path or a label).
        model_version: Version of the coder artifact that produced the results.
        level: The level the run was reported at (e.g. ``"item"`` or ``"unit"``).
        settings: Settings of the run, stored as JSON.
        codebook_version: Version of the codebook the codes follow, stored on every code.
        project_id: The project the items belong to (API ingest); ``None`` for CLI runs.
        originals: Encrypted originals by item id, for projects that keep them.

    Returns:
        The id of the new run.
    """
    results = new_results(session, results, project_id)
    run = RunRecord(
        source=source,
        model_version=model_version,
        level=level,
        n_items=len(results),
        n_units=sum(len(r.units) for r in results),
        settings=_jsonable(dict(settings)),
    )
    session.add(run)
    session.flush()
    kept = originals or {}
    rows = [
        {**_item_row(run.id, r), "project_id": project_id, "original": kept.get(str(r.item.id))}
        for r in results
    ]
    if project_id is None:
        item_ids = insert_ids(session, ItemRecord, rows)
    else:
        stored = insert_items_ignoring_conflicts(session, rows)
        results = [r for r in results if str(r.item.id) in stored]
        item_ids = [stored[str(r.item.id)] for r in results]
        run.n_items, run.n_units = len(results), sum(len(r.units) for r in results)
    owners = [(item_id, ur) for item_id, r in zip(item_ids, results, strict=True) for ur in r.units]
    unit_ids = insert_ids(session, UnitRecord, [_unit_row(i, ur) for i, ur in owners])
    codes = [
        {
            "unit_id": unit_id,
            "item_id": item_id,
            "bucket": code.bucket,
            "polarity": code.polarity,
            "confidence": float(code.confidence),
            "polarity_confidence": float(code.polarity_confidence),
            "model_version": model_version,
            "codebook_version": codebook_version,
            "neighbors": [
                {"text": n.text, "similarity": float(n.similarity)} for n in code.neighbors
            ],
        }
        for unit_id, (item_id, ur) in zip(unit_ids, owners, strict=True)
        for code in ur.buckets
    ]
    if codes:
        session.execute(insert(CodeRecord), codes)
    return run.id


def new_results(
    session: Session, results: Sequence[ItemResult], project_id: int | None
) -> list[ItemResult]:
    """``results`` without the items already stored under the same id and text (and without
    repeats inside ``results``), in input order."""
    ids = list(dict.fromkeys(str(r.item.id) for r in results))
    scope = (
        ItemRecord.project_id.is_(None)
        if project_id is None
        else ItemRecord.project_id == project_id
    )
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(ids), _IN_CHUNK):
        stmt = select(ItemRecord.external_id, ItemRecord.text).where(
            scope, ItemRecord.external_id.in_(ids[start : start + _IN_CHUNK])
        )
        seen.update((str(e), str(t)) for e, t in session.execute(stmt))
    out = []
    for result in results:
        key = (str(result.item.id), result.item.text or "")
        if key not in seen:
            seen.add(key)
            out.append(result)
    return out


def load_embeddings(
    session: Session, unit_ids: Iterable[int] | None = None, *, run_id: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Stored unit embeddings as one matrix.

    Args:
        session: Open session.
        unit_ids: Units to load, in the order wanted; ``None`` loads every unit that has an
            embedding, ordered by id.
        run_id: Only units of this run.

    Returns:
        ``(ids, matrix)``: int64 unit ids and a float32 matrix with one row per id
        (shape ``(0, 0)`` when there is nothing to load).

    Raises:
        NotFound: A requested unit does not exist (in ``run_id``) or has no embedding.
        Conflict: The selected embeddings differ in dimension.
    """
    stmt = select(UnitRecord.id, UnitRecord.embedding_dim, UnitRecord.embedding).where(
        UnitRecord.embedding.is_not(None)
    )
    if run_id is not None:
        stmt = stmt.join(ItemRecord, ItemRecord.id == UnitRecord.item_id).where(
            ItemRecord.run_id == run_id
        )
    if unit_ids is None:
        rows = _vector_rows(session, stmt.order_by(UnitRecord.id))
    else:
        wanted = [int(i) for i in unit_ids]
        unique = list(dict.fromkeys(wanted))
        found: dict[int, tuple[int, int, bytes]] = {}
        for start in range(0, len(unique), _IN_CHUNK):
            chunk = unique[start : start + _IN_CHUNK]
            found.update(
                (r[0], r) for r in _vector_rows(session, stmt.where(UnitRecord.id.in_(chunk)))
            )
        missing = [i for i in unique if i not in found]
        if missing:
            raise NotFound(
                f"{len(missing)} unit(s) not found or without an embedding", unit_ids=missing[:20]
            )
        rows = [found[i] for i in wanted]
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.float32)
    dims = {dim for _, dim, _ in rows}
    if len(dims) > 1:
        raise Conflict(f"stored embeddings differ in dimension: {sorted(dims)}")
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    flat = np.frombuffer(b"".join(r[2] for r in rows), dtype=EMBEDDING_DTYPE)
    return ids, flat.reshape(len(rows), dims.pop()).astype(np.float32)


def bucket_summary(session: Session, run_id: int | None = None) -> list[dict[str, Any]]:
    """Per-bucket counts of unit-level codes.

    Args:
        session: Open session.
        run_id: Only this run; ``None`` summarises every stored run.

    Returns:
        One dict per bucket, every bucket of :data:`~themecoder.domain.BUCKETS` in order (then
        any other stored bucket name), with keys ``bucket``, ``units`` (coded units carrying
        it), ``items`` (distinct items), ``positive``, ``neutral``, ``risk`` (codes per
        polarity) and ``mean_confidence`` (``None`` when the bucket has no codes).
    """
    polarity = [func.count(case((CodeRecord.polarity == p, 1))) for p in POLARITIES]
    stmt = select(
        CodeRecord.bucket,
        func.count(distinct(CodeRecord.unit_id)),
        func.count(distinct(CodeRecord.item_id)),
        *polarity,
        func.avg(CodeRecord.confidence),
    ).group_by(CodeRecord.bucket)
    if run_id is not None:
        stmt = stmt.join(ItemRecord, ItemRecord.id == CodeRecord.item_id).where(
            ItemRecord.run_id == run_id
        )
    stored: dict[str, tuple[Any, ...]] = {row[0]: tuple(row[1:]) for row in session.execute(stmt)}
    out = []
    for bucket in [*BUCKETS, *sorted(set(stored) - set(BUCKETS))]:
        units, items, *per_polarity, mean = stored.get(bucket, (0, 0, *[0] * len(POLARITIES), None))
        out.append(
            {
                "bucket": bucket,
                "units": int(units),
                "items": int(items),
                **{p: int(n) for p, n in zip(POLARITIES, per_polarity, strict=True)},
                "mean_confidence": None if mean is None else float(mean),
            }
        )
    return out


def run_overview(session: Session, run_id: int) -> dict[str, Any]:
    """Headline numbers of one run.

    Args:
        session: Open session.
        run_id: The run to describe.

    Returns:
        A dict with the run's ``run_id``, ``created_at``, ``source``, ``model_version`` and
        ``level``; ``n_items``, ``n_coded_items`` and ``n_units``; ``sentiment`` and
        ``expression`` (label -> count over coded items, every known label present) and
        ``unit_sentiment`` and ``unit_expression`` (the same over units).

    Raises:
        NotFound: No run has this id.
    """
    run = session.get(RunRecord, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found", run_id=run_id)
    in_run = ItemRecord.run_id == run_id
    n_items, n_coded = session.execute(
        select(func.count(ItemRecord.id), func.count(case((ItemRecord.coded, 1)))).where(in_run)
    ).one()
    of_run = (ItemRecord, ItemRecord.id == UnitRecord.item_id)
    n_units = session.scalar(select(func.count(UnitRecord.id)).join(*of_run).where(in_run))
    coded = (in_run, ItemRecord.coded)
    return {
        "run_id": run.id,
        "created_at": run.created_at,
        "source": run.source,
        "model_version": run.model_version,
        "level": run.level,
        "n_items": int(n_items),
        "n_coded_items": int(n_coded),
        "n_units": int(n_units or 0),
        "sentiment": _label_counts(session, select(ItemRecord.sentiment).where(*coded), SENTIMENTS),
        "expression": _label_counts(
            session, select(ItemRecord.expression).where(*coded), EXPRESSIONS
        ),
        "unit_sentiment": _label_counts(
            session, select(UnitRecord.sentiment).join(*of_run).where(in_run), SENTIMENTS
        ),
        "unit_expression": _label_counts(
            session, select(UnitRecord.expression).join(*of_run).where(in_run), EXPRESSIONS
        ),
    }


def latest_run_id(session: Session) -> int | None:
    """Id of the most recently stored run, or ``None`` when the store is empty."""
    return session.scalar(select(func.max(RunRecord.id)))


def insert_ids(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> list[int]:
    """Bulk-insert ``rows`` and return their new ids in the order of ``rows``."""
    if not rows:
        return []
    if session.get_bind().dialect.insert_executemany_returning_sort_by_parameter_order:
        stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
        return list(session.scalars(stmt, rows))
    # Drivers without ordered RETURNING (SQLite older than 3.35): one row at a time.
    return [session.scalars(insert(model).returning(model.id), [row]).one() for row in rows]


def insert_or_ignore(session: Session, model: type[Any]) -> Any:
    """An ``INSERT`` of ``model`` in the session's dialect, which has ``on_conflict_do_nothing``
    (SQLite and PostgreSQL both spell it ``ON CONFLICT ... DO NOTHING``)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(model)
    if dialect == "postgresql":
        return postgresql.insert(model)
    raise NotImplementedError(f"insert-or-ignore is not implemented for {dialect}")


def insert_items_ignoring_conflicts(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert project items, skipping those whose ``(project_id, external_id)`` is stored.

    Returns:
        ``{external_id: new id}`` of the rows this call inserted.
    """
    if not rows:
        return {}
    stmt = (
        insert_or_ignore(session, ItemRecord)
        .on_conflict_do_nothing(index_elements=["project_id", "external_id"])
        .returning(ItemRecord.external_id, ItemRecord.id)
    )
    return {str(ext): int(i) for ext, i in session.execute(stmt, rows)}


def _vector_rows(
    session: Session, stmt: Select[int, int, bytes | None]
) -> list[tuple[int, int, bytes]]:
    """``(id, dim, float32 bytes)`` per unit; drivers may hand back memoryviews."""
    return [(int(i), int(dim), bytes(blob or b"")) for i, dim, blob in session.execute(stmt)]


def _label_counts(session: Session, labels: Select[Any], known: Sequence[str]) -> dict[str, int]:
    """Count the labels ``labels`` selects: every ``known`` label first, then any other."""
    label = labels.subquery().c[0]
    found = {
        str(k): int(n) for k, n in session.execute(select(label, func.count()).group_by(label))
    }
    return {k: found.get(k, 0) for k in [*known, *sorted(set(found) - set(known))]}


def _item_row(run_id: int, result: ItemResult) -> dict[str, Any]:
    item = result.item
    meta = _jsonable(dict(item.metadata or {}))
    account = meta.get("account_id")
    return {
        "run_id": run_id,
        "external_id": str(item.id),
        "text": item.text or "",
        "speaker": item.speaker,
        "coded": bool(item.coded),
        "source": item.source,
        "source_offset": None if item.source_offset is None else int(item.source_offset),
        "meta": meta,
        "sentiment": result.sentiment,
        "sentiment_score": float(result.sentiment_score),
        "expression": result.expression,
        "created_at": _parse_datetime((item.metadata or {}).get("created_at")),
        "account_id": None if account in (None, "") else str(account),
    }


def _unit_row(item_id: int, result: UnitResult) -> dict[str, Any]:
    unit = result.unit
    vector = None
    if result.embedding is not None:
        vector = np.asarray(result.embedding, dtype=EMBEDDING_DTYPE).reshape(-1)
    return {
        "item_id": item_id,
        "idx": int(unit.index),
        "start_char": int(unit.start),
        "end_char": int(unit.end),
        "text": unit.text,
        "sentiment": result.sentiment,
        "sentiment_score": float(result.sentiment_score),
        "expression": result.expression,
        "embedding": None if vector is None else vector.tobytes(),
        "embedding_dim": 0 if vector is None else int(vector.size),
    }


def _parse_datetime(value: Any) -> datetime | None:
    """A UTC datetime from a datetime, a date or an ISO 8601 string; otherwise ``None``."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    try:  # an offset can push year 1 or 9999 out of range in UTC
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        return None


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and infinities become null, dates ISO strings.

    PostgreSQL rejects NaN in JSON, and numpy scalars or datetimes would not serialise.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return str(value)
