"""Imported customer accounts (attributes) and dated outcomes of accounts or users
(migrations 0006, 0012).

Functions take a session and never commit; reads return DataFrames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Float, ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from themecoder.storage.tables import Base, ItemRecord, JSONType, UTCDateTime, utc_now


class AccountRecord(Base):
    """A customer account with its attributes (plan, segment, region, seats, ...)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String, index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class OutcomeRecord(Base):
    """One outcome of an account or a user at a date: ``name`` (e.g. "renewed") and a numeric
    value. ``account_id`` holds the subject's id: an account id, or a user id (the items'
    ``user_id`` metadata) when ``level`` is "user"."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String, index=True)
    name: Mapped[str] = mapped_column(String)
    level: Mapped[str] = mapped_column(String, default="account", server_default="account")
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


def _scope(column: Any, project_id: int | None) -> Any:
    return column.is_(None) if project_id is None else column == project_id


def known_accounts(session: Session, project_id: int | None) -> set[str]:
    """Account ids that stored items or imported accounts name."""
    stmt = select(ItemRecord.account_id).where(
        ItemRecord.account_id.is_not(None), _scope(ItemRecord.project_id, project_id)
    )
    found = set(session.scalars(stmt.distinct()))
    stmt2 = select(AccountRecord.account_id).where(_scope(AccountRecord.project_id, project_id))
    return found | set(session.scalars(stmt2))


def known_users(session: Session, project_id: int | None) -> set[str]:
    """User ids that stored items name (their ``user_id`` metadata)."""
    stmt = select(ItemRecord.meta).where(_scope(ItemRecord.project_id, project_id))
    return {str(m["user_id"]) for m in session.scalars(stmt) if m and m.get("user_id")}


def replace_accounts(
    session: Session, project_id: int | None, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Store accounts, replacing stored ones with the same id in the scope."""
    ids = [str(r["account_id"]) for r in rows]
    for start in range(0, len(ids), 500):
        session.execute(
            delete(AccountRecord).where(
                _scope(AccountRecord.project_id, project_id),
                AccountRecord.account_id.in_(ids[start : start + 500]),
            )
        )
    now = utc_now()
    session.add_all(
        AccountRecord(
            project_id=project_id,
            account_id=str(r["account_id"]),
            attributes=dict(r["attributes"]),
            imported_at=now,
        )
        for r in rows
    )
    session.flush()


def replace_outcomes(
    session: Session,
    project_id: int | None,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    level: str = "account",
    cleared: Sequence[str] = (),
) -> None:
    """Store outcomes ``name`` at ``level``, replacing stored ones of the same subjects, name
    and level; the stored outcome of each subject in ``cleared`` (now pending) is removed."""
    ids = [str(r["account_id"]) for r in rows] + [str(c) for c in cleared]
    for start in range(0, len(ids), 500):
        session.execute(
            delete(OutcomeRecord).where(
                _scope(OutcomeRecord.project_id, project_id),
                OutcomeRecord.name == name,
                OutcomeRecord.level == level,
                OutcomeRecord.account_id.in_(ids[start : start + 500]),
            )
        )
    now = utc_now()
    session.add_all(
        OutcomeRecord(
            project_id=project_id,
            account_id=str(r["account_id"]),
            name=name,
            level=level,
            value=float(r["value"]),
            at=r["at"],
            imported_at=now,
        )
        for r in rows
    )
    session.flush()


def accounts_frame(session: Session, project_id: int | None) -> pd.DataFrame:
    """``account_id`` and one column per attribute."""
    stmt = select(AccountRecord.account_id, AccountRecord.attributes).where(
        _scope(AccountRecord.project_id, project_id)
    )
    rows = [{**(attrs or {}), "account_id": acc} for acc, attrs in session.execute(stmt)]
    return pd.DataFrame(rows, columns=None if rows else ["account_id"])


def outcomes_frame(
    session: Session, project_id: int | None, name: str | None = None, level: str = "account"
) -> pd.DataFrame:
    """``account_id`` (the subject id at ``level``), ``name``, ``value``, ``at`` (naive UTC)."""
    stmt = select(
        OutcomeRecord.account_id, OutcomeRecord.name, OutcomeRecord.value, OutcomeRecord.at
    )
    stmt = stmt.where(_scope(OutcomeRecord.project_id, project_id), OutcomeRecord.level == level)
    if name is not None:
        stmt = stmt.where(OutcomeRecord.name == name)
    frame = pd.DataFrame(
        [tuple(r) for r in session.execute(stmt)], columns=["account_id", "name", "value", "at"]
    )
    frame["at"] = pd.to_datetime(frame["at"], utc=True).dt.tz_localize(None)
    return frame
