"""Bodies of quote search and the insight repository."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from themecoder.services.insights import MAX_STATEMENT, MAX_TITLE, STATUSES
from themecoder_api.schemas import MAX_ID, BodyInt, Name, Text

StatusName = Literal[STATUSES]  # type: ignore[valid-type]
UnitId = Annotated[BodyInt, Field(ge=1, le=MAX_ID)]


class SearchHitOut(BaseModel):
    unit_id: int
    score: float = Field(description="Cosine similarity of the quote to the query.")
    text: str
    start: int = Field(description="Offset of the quote in its item's text.")
    end: int
    item_id: int
    external_id: str
    source: str | None
    account_id: str | None
    speaker: str | None
    created_at: datetime | None
    codes: list[str] = Field(description="bucket:polarity and theme:ID as the review left them.")


class SearchPublic(BaseModel):
    query: str
    backend: str = Field(description="exact (stored vectors) or faiss (HNSW index).")
    index: str | None = Field(description="What bringing the index in step did, if used.")
    pgvector: str = Field(description="Whether the PostgreSQL server offers pgvector.")
    units: int = Field(description="Embedded units of the project.")
    candidates: int = Field(description="Units left by the filters.")
    hits: list[SearchHitOut]


class InsightCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[Text, Field(min_length=1, max_length=MAX_TITLE)]
    statement: Annotated[Text, Field(min_length=1, max_length=MAX_STATEMENT)]
    status: StatusName = "proposed"


class InsightLinks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quotes: Annotated[list[UnitId], Field(max_length=500)] = []
    themes: Annotated[list[UnitId], Field(max_length=500)] = []
    codes: Annotated[list[Name], Field(max_length=500)] = []
    accounts: Annotated[list[Name], Field(max_length=500)] = []


class InsightStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StatusName
    note: Annotated[Text | None, Field(max_length=2000)] = None


class InsightMetric(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal: Annotated[Text, Field(min_length=3, max_length=200)] = Field(
        description="bucket:polarity or theme:ID"
    )
    outcome: Annotated[Text, Field(min_length=1, max_length=100)] = "renewed"


class QuoteOut(BaseModel):
    unit_id: int
    text: str | None = None
    external_id: str | None = None
    source: str | None = None
    account_id: str | None = None


class StatusChangeOut(BaseModel):
    at: datetime
    from_status: str | None
    to_status: str
    by: str
    note: str | None


class InsightSummary(BaseModel):
    id: int
    title: str
    statement: str
    status: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    quotes: list[str] = Field(description="Linked unit ids.")
    themes: list[int]
    codes: list[str]
    accounts: list[str]
    metric: dict[str, Any] | None = Field(
        description="Linkage snapshot: signal, outcome, difference and risk ratio with 95% "
        "CIs, counts, when computed."
    )


class InsightPublic(InsightSummary):
    quotes: list[QuoteOut]  # type: ignore[assignment]
    history: list[StatusChangeOut]


class InsightsPublic(BaseModel):
    total: int
    insights: list[InsightSummary]
