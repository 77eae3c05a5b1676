"""Plain data objects shared by every layer. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Bucket(StrEnum):
    """The six signal buckets of ../shared/SIGNALS.md."""

    RENEWAL_LIKELIHOOD = "renewal_likelihood"
    UPSELL_READINESS = "upsell_readiness"
    ONBOARDING_CLARITY = "onboarding_clarity"
    VALUE_REALIZATION = "value_realization"
    SUPPORT_FRICTION = "support_friction"
    PRICING_PERCEPTION = "pricing_perception"


BUCKETS: tuple[str, ...] = tuple(b.value for b in Bucket)
POLARITIES: tuple[str, ...] = ("positive", "neutral", "risk")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
EXPRESSIONS: tuple[str, ...] = ("satisfaction", "frustration", "request", "none")


def speaker_key(label: str) -> str:
    """How speaker labels are compared everywhere (readers, interviewer matching, speaker
    masking): case-insensitively, with runs of whitespace as one space and none around
    ("SAM " and "Sam" are one speaker)."""
    return " ".join(label.split()).casefold()


@dataclass
class Item:
    """One input record: a ticket, a survey answer, a transcript turn.

    ``metadata`` carries every other input column untouched. ``coded`` is False for
    turns that are kept but not coded (interviewer questions).
    """

    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    speaker: str | None = None
    coded: bool = True
    source: str | None = None
    source_offset: int | None = None


@dataclass
class Unit:
    """A coding unit: a span ``text[start:end]`` of its item's text.

    ``parts`` are the unit's sentences (offsets into the item's text) when it holds two
    or more: each is scored as well as the whole, so a unit that says two things gets
    both codes, each with the sentence that carries it as evidence.
    """

    item_id: str
    index: int
    start: int
    end: int
    text: str
    parts: tuple[tuple[int, int], ...] = ()


@dataclass
class Neighbor:
    """A training example near a unit: the reason shown beside an assignment."""

    text: str
    similarity: float


@dataclass
class BucketCode:
    """One bucket assigned to a unit (or, aggregated, to an item)."""

    bucket: str
    polarity: str
    confidence: float
    evidence: dict[str, Any]
    neighbors: list[Neighbor] = field(default_factory=list)
    polarity_confidence: float = 1.0


@dataclass(frozen=True)
class ThemeRef:
    """A theme a unit is close to: its id, label and cosine similarity to its centroid."""

    id: int
    label: str
    score: float


@dataclass
class UnitResult:
    """Everything the pipeline says about one unit."""

    unit: Unit
    buckets: list[BucketCode]
    sentiment: str
    sentiment_score: float
    expression: str
    embedding: Any = None
    sentiment_proba: Any = None
    bucket_proba: Any = None
    expression_proba: Any = None
    #: Set when the unit is confidently in another language than the coder's (ISO 639-1).
    language: str | None = None
    #: The themes the unit is close to, best first; ``None`` when its project has none.
    themes: list[ThemeRef] | None = None


@dataclass
class ItemResult:
    """An item with its coded units and item-level aggregates."""

    item: Item
    units: list[UnitResult]
    buckets: list[BucketCode]
    sentiment: str
    sentiment_score: float
    expression: str
    warnings: list[str] = field(default_factory=list)
    #: Set when the whole item is confidently in another language than the coder's.
    language: str | None = None
