"""Request bodies. Every field is validated; errors name the field (see ``errors.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from themecoder.domain import BUCKETS, POLARITIES

MAX_TEXT_CHARS = 20_000
BucketName = Literal[BUCKETS]  # type: ignore[valid-type]
PolarityName = Literal[POLARITIES]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Strict):
    external_id: str = Field(min_length=1, max_length=200, description="The caller's id.")
    text: str = Field(max_length=MAX_TEXT_CHARS)
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Any fields; account_id and created_at (ISO 8601) are indexed.",
    )
    speaker: str | None = Field(None, max_length=200)


class IngestRequest(Strict):
    items: list[ItemIn] = Field(min_length=1, description="Items, each with a unique id.")


class CodeRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    external_id: str | None = Field(
        None, min_length=1, max_length=200, description="Needed when store is true."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    store: bool = Field(False, description="Also store the ticket and open its suggestions.")


class Decision(Strict):
    version: int = Field(ge=1, description="The suggestion version you saw.")
    comment: str | None = Field(None, max_length=2000)


class AddedCode(Strict):
    bucket: BucketName
    polarity: PolarityName


class Override(Decision):
    bucket: BucketName | None = None
    polarity: PolarityName | None = None
    theme_id: int | None = Field(None, ge=1)
    add: list[AddedCode] = Field(default_factory=list, max_length=len(BUCKETS))


class BlindCode(Strict):
    labels: dict[BucketName, Literal["absent", "positive", "neutral", "risk"] | None] = Field(
        description="A label per bucket; buckets left out are absent."
    )


class KeyRequest(Strict):
    role: Literal["admin", "reviewer", "analyst", "ingest"]
    name: str = Field(min_length=1, max_length=100)


class ProjectPatch(Strict):
    double_coding_share: float | None = Field(None, ge=0.0, le=1.0)
    gate_threshold: float | None = Field(None, gt=-1.0, le=1.0)
    gate_min_units: int | None = Field(None, ge=1)


class RetrainRequest(Strict):
    tolerance: float = Field(0.0, ge=0.0, le=1.0, description="Largest allowed per-bucket F1 drop.")
