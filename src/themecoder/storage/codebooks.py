"""Codebook versions and lineage in the store, and stored codes for re-counting.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit: the caller owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from themecoder.errors import Conflict, NotFound
from themecoder.storage.tables import (
    CodebookVersionRecord,
    CodeRecord,
    ItemRecord,
    LineageEventRecord,
    RunRecord,
)

_EVENT_FIELDS = ("kind", "sources", "targets", "version", "at")


def latest_codebook_version(session: Session, name: str) -> int | None:
    """The highest stored version of codebook ``name``, or ``None`` when none is stored."""
    return session.scalar(
        select(func.max(CodebookVersionRecord.version)).where(CodebookVersionRecord.name == name)
    )


def save_codebook_version(
    session: Session,
    name: str,
    version: int,
    yaml: str,
    diff: str,
    events: Sequence[Mapping[str, Any]],
) -> int:
    """Store one codebook version and the lineage events the store does not have yet.

    Args:
        session: Open session; the caller commits.
        name: The codebook's name.
        version: Its version; must be above every stored version of ``name``.
        yaml: The full codebook file.
        diff: Readable diff from the previous version.
        events: The codebook's whole lineage, as ``Lineage.to_json()`` rows.

    Returns:
        The id of the new version row.

    Raises:
        Conflict: The version is stored already (someone else edited first), or the
            stored lineage is not a prefix of ``events``.
    """
    latest = latest_codebook_version(session, name)
    if latest is not None and version <= latest:
        raise Conflict(
            f"codebook {name!r} version {version} is not newer than stored version {latest}; "
            "reload the codebook and edit again",
            name=name,
            version=version,
        )
    stored = lineage_rows(session, name)
    if [_event(r) for r in events[: len(stored)]] != stored:
        raise Conflict(f"lineage of codebook {name!r} differs from the stored lineage", name=name)
    record = CodebookVersionRecord(name=name, version=version, yaml=yaml, diff=diff)
    session.add(record)
    for seq, row in enumerate(events[len(stored) :], start=len(stored)):
        session.add(LineageEventRecord(codebook=name, seq=seq, **_event(row)))
    session.flush()
    return record.id


def codebook_versions(session: Session, name: str) -> list[dict[str, Any]]:
    """Stored versions of ``name``, oldest first: ``version``, ``created_at``, ``diff``."""
    stmt = (
        select(CodebookVersionRecord)
        .where(CodebookVersionRecord.name == name)
        .order_by(CodebookVersionRecord.version)
    )
    return [
        {"version": r.version, "created_at": r.created_at, "diff": r.diff}
        for r in session.scalars(stmt)
    ]


def load_codebook_yaml(session: Session, name: str, version: int | None = None) -> str:
    """The stored file of ``name`` at ``version`` (default: the latest).

    Raises:
        NotFound: No such codebook or version is stored.
    """
    stmt = select(CodebookVersionRecord.yaml).where(CodebookVersionRecord.name == name)
    if version is not None:
        stmt = stmt.where(CodebookVersionRecord.version == version)
    text = session.scalar(stmt.order_by(CodebookVersionRecord.version.desc()).limit(1))
    if text is None:
        at = f" version {version}" if version is not None else ""
        raise NotFound(f"codebook {name!r}{at} is not stored", name=name, version=version)
    return text


def lineage_rows(session: Session, name: str) -> list[dict[str, Any]]:
    """Stored lineage events of ``name`` in order, as ``Lineage.from_json`` rows."""
    stmt = (
        select(LineageEventRecord)
        .where(LineageEventRecord.codebook == name)
        .order_by(LineageEventRecord.seq)
    )
    return [_event({f: getattr(r, f) for f in _EVENT_FIELDS}) for r in session.scalars(stmt)]


def stored_codes(session: Session, run_id: int | None = None) -> list[dict[str, Any]]:
    """Every stored unit-level code with the date it counts under.

    The date is the item's ``created_at`` when known, else its run's. Rows hold ``code``,
    ``polarity``, ``unit_id``, ``item_id``, ``at``, ``model_version`` and
    ``codebook_version``.
    """
    stmt = (
        select(
            CodeRecord.bucket,
            CodeRecord.polarity,
            CodeRecord.unit_id,
            CodeRecord.item_id,
            ItemRecord.created_at,
            RunRecord.created_at,
            CodeRecord.model_version,
            CodeRecord.codebook_version,
        )
        .join(ItemRecord, ItemRecord.id == CodeRecord.item_id)
        .join(RunRecord, RunRecord.id == ItemRecord.run_id)
        .order_by(CodeRecord.id)
    )
    if run_id is not None:
        stmt = stmt.where(ItemRecord.run_id == run_id)
    out = []
    for code, polarity, unit, item, item_at, run_at, model, book in session.execute(stmt):
        at: datetime = item_at or run_at
        out.append(
            {
                "code": code,
                "polarity": polarity,
                "unit_id": unit,
                "item_id": item,
                "at": at,
                "model_version": model,
                "codebook_version": book,
            }
        )
    return out


def _event(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": str(row["kind"]),
        "sources": [str(s) for s in row.get("sources") or ()],
        "targets": [str(t) for t in row.get("targets") or ()],
        "version": int(row["version"]),
        "at": row.get("at"),
    }
