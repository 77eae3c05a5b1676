"""Request bodies. Every field is validated; errors name the field (see ``errors.py``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.review.queue import SuggestionState
from themecoder.services.review import BANDS

MAX_TEXT_CHARS = 20_000
#: Ids are 32-bit integer columns; larger numbers cannot name a row.
MAX_ID = 2**31 - 1
MAX_METADATA_DEPTH = 16
BucketName = Literal[BUCKETS]  # type: ignore[valid-type]
PolarityName = Literal[POLARITIES]  # type: ignore[valid-type]
BandName = Literal[BANDS]  # type: ignore[valid-type]
StateName = Literal[tuple(s.value for s in SuggestionState)]  # type: ignore[valid-type]


def storable(text: str) -> str:
    """Refuse what no database column can hold: NUL characters and lone surrogates."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return text


def integral(value: Any) -> Any:
    """``3.0`` as ``3``: JSON Schema counts a number with no fraction as an integer. Anything
    else goes on unchanged, so strict validation still refuses ``"3"``, ``true`` and ``3.5``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def storable_json(value: Any, depth: int = 0) -> Any:
    """Check every key and string of a JSON value, and bound its nesting."""
    if depth > MAX_METADATA_DEPTH:
        raise ValueError(f"must not be nested deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, str):
        storable(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            storable(str(key))
            storable_json(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            storable_json(inner, depth + 1)
    return value


Text = Annotated[str, AfterValidator(storable)]


def not_blank(value: Any, max_chars: int = MAX_TEXT_CHARS) -> Any:
    """Refuse an empty or spaces-only text (there is nothing to code or look for) and one over
    ``max_chars``, in plain words, before the length constraints (whose own messages speak of
    "items after validation" for a query). Anything but a string goes on to strict validation.

    The one check of every free text a caller must fill: ``text`` of ``/v1/code`` and of each
    ``/v1/items`` item (:data:`FilledText`), and ``q`` of ``/v1/search`` (with its own limit:
    ``BeforeValidator(partial(not_blank, max_chars=...))``).
    """
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("string_too_short", "must not be empty")
    if isinstance(value, str) and len(value) > max_chars:
        raise PydanticCustomError(
            "string_too_long", "must have at most {max} characters", {"max": max_chars}
        )
    return value


#: A text to code: 1..MAX_TEXT_CHARS characters, not only spaces.
FilledText = Annotated[Text, BeforeValidator(not_blank)]
#: A non-empty string in a list (a column or word name).
Name = Annotated[Text, Field(min_length=1, max_length=200)]
#: An integer of a 32-bit column in a body; a whole float such as 3.0 counts.
BodyInt = Annotated[int, BeforeValidator(integral)]
Metadata = Annotated[dict[str, Any], AfterValidator(storable_json)]
#: A row id in a path, and an optional one in a query.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
QueryText = Annotated[Text | None, Query(max_length=200)]
ExternalId = Annotated[Text, Path(min_length=1, max_length=200)]


class Strict(BaseModel):
    """Unknown fields refused; no coercion: ``"version": "1"`` is not an int, ``false`` not a
    float, ``1`` not a boolean."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ItemIn(Strict):
    external_id: Text = Field(min_length=1, max_length=200, description="The caller's id.")
    text: FilledText = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    metadata: Metadata = Field(
        default_factory=dict,
        description="Any fields; account_id and created_at (ISO 8601) are indexed.",
    )
    speaker: Text | None = Field(None, max_length=200)


class IngestRequest(Strict):
    items: list[ItemIn] = Field(min_length=1, description="Items, each with a unique id.")


class CodeRequest(Strict):
    text: FilledText = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    external_id: Text | None = Field(
        None, min_length=1, max_length=200, description="Needed when store is true."
    )
    metadata: Metadata = Field(default_factory=dict)
    store: bool = Field(False, description="Also store the ticket and open its suggestions.")
    with_text: bool = Field(False, description="Echo the text coded (masked where redacted).")


class Decision(Strict):
    version: BodyInt = Field(ge=1, le=MAX_ID, description="The suggestion version you saw.")
    comment: Text | None = Field(None, max_length=2000)


class AddedCode(Strict):
    bucket: BucketName
    polarity: PolarityName
    comment: Text | None = Field(None, max_length=2000)


class Override(Decision):
    bucket: BucketName | None = None
    polarity: PolarityName | None = None
    theme_id: BodyInt | None = Field(None, ge=1, le=MAX_ID)
    add: list[AddedCode] = Field(default_factory=list, max_length=len(BUCKETS))


class BlindCode(Strict):
    labels: dict[BucketName, Literal["absent", "positive", "neutral", "risk"] | None] = Field(
        description="A label per bucket; buckets left out are absent."
    )


class KeyRequest(Strict):
    role: Literal["admin", "reviewer", "analyst", "ingest"]
    name: Text = Field(min_length=1, max_length=100)


class ProjectPatch(Strict):
    double_coding_share: float | None = Field(None, ge=0.0, le=1.0)
    gate_threshold: float | None = Field(None, gt=-1.0, le=1.0)
    gate_min_units: BodyInt | None = Field(None, ge=1, le=1_000_000)
    personal_metadata: list[Name] | None = Field(
        None, max_length=100, description="Metadata columns masked as personal data at ingest."
    )
    keep_original: bool | None = Field(
        None, description="Keep each item's original, encrypted with the service's PII key."
    )
    pii_allow: list[Name] | None = Field(
        None, max_length=1000, description="Words never masked as names (product names)."
    )


class RetrainRequest(Strict):
    tolerance: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="Non-inferiority margin: the lower bound of each scored bucket's 95% "
        "bootstrap interval of its F1 change must be at least -tolerance.",
    )


class RollbackRequest(Strict):
    to_version: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="An earlier promoted version, or 'shipped'; default: the one before.",
    )
