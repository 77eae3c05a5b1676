"""Response bodies of the interchange routes (REFI-QDA, segments, helpdesk intake, webhooks)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class QdaImportPublic(BaseModel):
    import_id: int
    codebook: str = Field(description="Name of the stored custom codebook the codes went to.")
    name: str
    origin: str
    sources: int
    codes: int
    segments: int
    users: int


class SegmentOut(BaseModel):
    kind: str = Field(description="unit (coded by themecoder) or segment (imported coding).")
    id: int
    item_id: int
    external_id: str
    source: str | None
    account_id: str | None
    speaker: str | None
    start: int = Field(description="Offset in the item's text.")
    end: int
    source_offset: int | None = Field(description="Where the item starts in its source file.")
    text: str
    context: str = Field(description="The quote with the text around it in its item.")
    codes: list[str] = Field(description="bucket:polarity, theme:ID or custom code ids.")
    themes: list[int]
    decided_by: list[str] = Field(description="Reviewers, the model version or the coder.")
    state: list[str]


class SegmentsPublic(BaseModel):
    total: int
    segments: list[SegmentOut]


class MatrixPublic(BaseModel):
    by: str
    columns: list[str]
    rows: list[dict[str, Any]] = Field(description="{code, counts: {column: n}, total}")


class HelpdeskProblemOut(BaseModel):
    record: int
    ticket_id: str | None
    message: str


class HelpdeskPublic(BaseModel):
    tickets: int
    messages: int
    agent_messages: int = Field(description="Agent turns: stored, not coded.")
    created: int
    existing: int = Field(description="Turns the project held already (idempotent re-sends).")
    units: int
    suggestions: int
    problems: list[HelpdeskProblemOut]
    ticket_id: str | None = None


class WebhookSecretPublic(BaseModel):
    secret: str = Field(description="Shown once; sign webhooks with it.")
