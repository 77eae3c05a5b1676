"""Response bodies (``XPublic``): what every route returns, so OpenAPI states it exactly.

Fields mirror the service views one for one; a response model that forgot a field would drop
it silently, and ``tests/test_api_contract.py`` checks the responses against these schemas.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ----------------------------------------------------------------------------------


class FieldError(Public):
    field: str
    message: str


class ErrorDetail(Public):
    code: str = Field(description="A stable code: unauthorized, forbidden, not_found, ...")
    message: str
    fields: list[FieldError]


class ErrorPublic(Public):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorDetail


# --- meta and admin --------------------------------------------------------------------------


class HealthPublic(Public):
    status: str
    version: str


class ProjectPublic(Public):
    slug: str
    name: str
    settings: dict[str, Any]
    model_version: str | None
    role: str


class SettingsPublic(Public):
    settings: dict[str, Any]


class KeyPublic(Public):
    id: int
    name: str
    role: str
    prefix: str
    created_at: str
    revoked: bool


class KeyCreatedPublic(KeyPublic):
    key: str = Field(description="The plain key, shown in this response only.")


class KeyListPublic(Public):
    keys: list[KeyPublic]


class ModelVersionPublic(Public):
    version: str
    created_at: str
    promoted: bool
    rolled_back: bool
    in_use: bool
    report: dict[str, Any] | None


class ModelListPublic(Public):
    versions: list[ModelVersionPublic]


class RollbackPublic(Public):
    rolled_back: str = Field(description="The version the project left.")
    model_version: str = Field(description="The version now in use ('shipped' for none).")


class JobPublic(Public):
    id: int
    kind: str
    state: str = Field(description="queued, running, succeeded, failed or cancelled.")
    done: int
    total: int
    progress: float | None
    created_at: str
    finished_at: str | None
    error: str | None
    result: dict[str, Any] | None = Field(
        description="The final result; for a bulk job that runs, failed or was cancelled, the "
        "totals of the chunks stored so far."
    )


class JobListPublic(Public):
    total: int
    limit: int
    offset: int
    jobs: list[JobPublic]


# --- ingest and coding -----------------------------------------------------------------------


class IngestedItem(Public):
    external_id: str
    id: int
    created: bool


class IngestPublic(Public):
    created: int
    existing: int
    units: int
    suggestions: int
    auto_accepted: int
    double_coded_units: int
    model_version: str
    items: list[IngestedItem]


class Sentiment(Public):
    label: str
    score: float


class Evidence(Public):
    unit: int
    start: int
    end: int
    text: str


class Reason(Public):
    text: str
    similarity: float


class CodedBucket(Public):
    polarity: str
    confidence: float
    polarity_confidence: float
    evidence: Evidence
    reasons: list[Reason]
    metrics: list[str]


class UnitBucket(Public):
    polarity: str
    confidence: float


class CodedUnit(Public):
    index: int
    start: int
    end: int
    buckets: dict[str, UnitBucket]
    sentiment: str
    expression: str


class CodePublic(Public):
    external_id: str | None
    text: str | None = Field(
        None, description="The text coded, which unit offsets index, when with_text was true."
    )
    model_version: str
    codebook_version: int
    buckets: dict[str, CodedBucket]
    sentiment: Sentiment
    expression: str
    units: list[CodedUnit]
    language: str | None = Field(
        None,
        description="The text's language when it is not the coder's (English); such a text "
        "is not coded unless THEMECODER_CODE_OTHER_LANGUAGES is set.",
    )
    warnings: list[str] = Field(
        default_factory=list, description="What the coder could not do as asked, and why."
    )
    stored: IngestPublic | None = Field(
        None, description="The ingest outcome when store was true, else null."
    )


class StoredUnit(Public):
    id: int
    index: int
    start: int
    end: int
    text: str


class ItemSuggestion(Public):
    id: int
    unit_id: int
    bucket: str
    polarity: str
    state: str
    version: int


class ItemPublic(Public):
    id: int
    external_id: str
    text: str
    metadata: dict[str, Any]
    sentiment: Sentiment
    expression: str
    units: list[StoredUnit]
    suggestions: list[ItemSuggestion]


# --- review ----------------------------------------------------------------------------------


class FinalCode(Public):
    bucket: str | None
    polarity: str | None
    theme_id: int | None


class SuggestionUnit(Public):
    id: int
    text: str
    start: int
    end: int


class SuggestionItem(Public):
    id: int
    external_id: str
    account_id: str | None


class SuggestionPublic(Public):
    id: int
    version: int
    state: str
    origin: str
    bucket: str
    polarity: str
    confidence: float
    band: str
    priority: float
    final: FinalCode
    comment: str | None
    unit: SuggestionUnit
    item: SuggestionItem
    model_version: str
    codebook_version: int | None
    double_coded: bool


class QueuePublic(Public):
    total: int
    limit: int
    offset: int
    suggestions: list[SuggestionPublic]


class DecisionPublic(Public):
    suggestion: SuggestionPublic
    added: list[int] = Field(description="Ids of the suggestions the override added.")


class BlindUnitPublic(Public):
    unit_id: int
    text: str
    buckets: list[str]


class BlindCodePublic(Public):
    unit_id: int
    id: int
    labels: dict[str, str | None]


class Interval(Public):
    value: float | None
    low: float | None
    high: float | None


class BucketAgreement(Public):
    n: int
    alpha: Interval | None = None
    kappa: Interval | None = None
    ac1: Interval | None = None


class DoubleCoding(Public):
    picked: int
    complete: int


class AgreementPublic(Public):
    human_human: dict[str, BucketAgreement]
    model_human: dict[str, BucketAgreement]
    gates: dict[str, bool]
    threshold: float
    min_units: int
    n_blind_codes: int
    labels: list[str]
    double_coding: DoubleCoding


class AuditEvent(Public):
    id: int
    at: str
    actor: str
    actor_id: int | None
    role: str
    action: str
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    model_version: str | None
    codebook_version: int | None
    comment: str | None


class AuditPublic(Public):
    events: list[AuditEvent]
