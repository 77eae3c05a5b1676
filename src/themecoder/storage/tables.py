"""ORM tables of the store, portable across SQLite and PostgreSQL.

Each table mirrors ``migrations/versions``; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Fixed constraint names, so migrations can address constraints on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON everywhere, JSONB on PostgreSQL so analytics can index and query it.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; naive values are taken to be UTC.

    SQLite has no timezone type, so values are stored there as naive UTC and given
    ``tzinfo=UTC`` again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing."""
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base holding the store's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunRecord(Base):
    """One call that coded and stored a batch of items."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    source: Mapped[str] = mapped_column(String)
    model_version: Mapped[str] = mapped_column(String)
    level: Mapped[str] = mapped_column(String)
    n_items: Mapped[int] = mapped_column(Integer)
    n_units: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ItemRecord(Base):
    """A stored input item with its item-level sentiment and expression.

    With redaction on (the default) ``text`` is the masked text and units index it.

    ``created_at`` and ``account_id`` copy the metadata keys of the same name, so analytics
    can filter and group without reading the JSON.
    """

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("project_id", "external_id", name="uq_items_project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    #: Set for items ingested through the API: unique per project by ``external_id``, which
    #: makes ingest idempotent. CLI runs leave it NULL (NULLs never collide).
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String, index=True)
    text: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(String)
    coded: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String)
    source_offset: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType)
    sentiment: Mapped[str] = mapped_column(String)
    sentiment_score: Mapped[float] = mapped_column(Float)
    expression: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    account_id: Mapped[str | None] = mapped_column(String, index=True)
    #: The unmasked text and personal metadata, Fernet-encrypted; only for projects that keep
    #: originals (``keep_original``), else NULL. ``text`` and ``meta`` hold the masked forms.
    original: Mapped[str | None] = mapped_column(Text)


class UnitRecord(Base):
    """A coding unit: the span ``text[start_char:end_char]`` of its item, with its embedding.

    ``embedding`` holds little-endian float32 bytes of length ``4 * embedding_dim``; it is
    NULL (and ``embedding_dim`` 0) when the coder gave no vector.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[str] = mapped_column(String)
    sentiment_score: Mapped[float] = mapped_column(Float)
    expression: Mapped[str] = mapped_column(String)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_dim: Mapped[int] = mapped_column(Integer)


class CodeRecord(Base):
    """One bucket assigned to a unit; ``item_id`` is repeated for fast item-level counts."""

    __tablename__ = "codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    bucket: Mapped[str] = mapped_column(String, index=True)
    polarity: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(Float)
    polarity_confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String)
    neighbors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    codebook_version: Mapped[int | None] = mapped_column(Integer)


class CodebookVersionRecord(Base):
    """One version of a named codebook: its full YAML and the readable diff from the last."""

    __tablename__ = "codebook_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_codebook_versions_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    yaml: Mapped[str] = mapped_column(Text)
    diff: Mapped[str] = mapped_column(Text)


class LineageEventRecord(Base):
    """One lineage event of a named codebook, in order (``seq``)."""

    __tablename__ = "lineage_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    codebook: Mapped[str] = mapped_column(String, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String)
    sources: Mapped[list[str]] = mapped_column(JSONType)
    targets: Mapped[list[str]] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[str | None] = mapped_column(String)
