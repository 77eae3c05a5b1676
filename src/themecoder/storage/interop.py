"""Tables of interchange: REFI-QDA imports and their coded segments, helpdesk webhooks.

An imported ``.qdpx`` becomes items (one per text source, not coded by the model), a custom
codebook stored in ``codebook_versions`` (name ``qda_imports.codebook``) and coded segments
(``coded_segments``): exact spans of an item coded by a person in another tool, the labelled
examples of the custom codes. Webhook secrets are per project; ``webhook_deliveries`` keeps the
signature of every accepted delivery, so a replayed request is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from themecoder.storage.tables import Base, JSONType, UTCDateTime, utc_now


class QdaImportRecord(Base):
    """One imported REFI-QDA project: where it came from and how its codes map.

    ``codes`` maps each custom code id to the code's GUID, colour and ``isCodable`` flag in
    the tool it came from, so an export gives them back unchanged.
    """

    __tablename__ = "qda_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String)
    origin: Mapped[str] = mapped_column(String)
    codebook: Mapped[str] = mapped_column(String)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    codes: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CodedSegmentRecord(Base):
    """A span ``items.text[start_char:end_char]`` coded ``code`` (a custom code id) by ``coder``."""

    __tablename__ = "coded_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("qda_imports.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String, index=True)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    coder: Mapped[str | None] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(Text)


class WebhookSecretRecord(Base):
    """A project's webhook signing secret (shown once when made; needed in clear to verify)."""

    __tablename__ = "webhook_secrets"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class WebhookDeliveryRecord(Base):
    """An accepted webhook delivery; its signature is unique per project (replays refused)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("project_id", "signature", name="uq_webhook_deliveries_project_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    signature: Mapped[str] = mapped_column(String)
    ticket_id: Mapped[str] = mapped_column(String)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
