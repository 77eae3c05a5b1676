"""Request bodies and response models of the analytics routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from themecoder.analytics.risk import RiskParams
from themecoder_api.schemas import Strict, Text

MAX_CSV_CHARS = 4_000_000
#: The documented risk defaults, the CLI's too: a body that omits a field keeps them.
_RISK = RiskParams()


class TimeSeriesRow(BaseModel):
    period: str
    series: str
    count: float
    total: float
    share: float = Field(description="count / total; for the net series, % positive - % negative")
    reviewed: float = Field(description="Of count, items whose code a reviewer decided.")
    groups: dict[str, str] = Field(default_factory=dict)


class TimeSeriesPublic(BaseModel):
    measure: str
    freq: str
    group_by: list[str]
    weighted: bool
    rows: list[TimeSeriesRow]


class Quote(BaseModel):
    item: str
    text: str
    unit_id: int | None = None
    at: str | None = None
    score: float | None = None


class RiskSignal(BaseModel):
    item: str
    account_id: str | None
    bucket: str
    polarity: str
    sentiment: float
    frequency: float
    impact: float
    score: float
    route: str
    text: str


class RiskPublic(BaseModel):
    total: int
    signals: list[RiskSignal]


class EscalationPublic(BaseModel):
    id: int
    account_id: str | None
    bucket: str
    owner: str | None
    reason: str = Field(
        description="threshold (a signal scored > 0.6), repeat (2+ conversations) or "
        "threshold+repeat"
    )
    score: float
    status: str
    evidence: list[Quote]
    created_at: str
    updated_at: str


class EscalationListPublic(BaseModel):
    escalations: list[EscalationPublic]


class RoutePublic(BaseModel):
    routes: dict[str, int]
    escalations: list[EscalationPublic]
    repeat_escalations: int
    review_ahead: int


class RouteIn(Strict):
    """Weights and thresholds of the risk score; omitted fields keep the documented defaults."""

    w_sentiment: float = Field(_RISK.w_sentiment, ge=0, le=1)
    w_frequency: float = Field(_RISK.w_frequency, ge=0, le=1)
    w_impact: float = Field(_RISK.w_impact, ge=0, le=1)
    escalate_above: float = Field(_RISK.escalate_above, ge=0, le=1)
    review_above: float = Field(_RISK.review_above, ge=0, le=1)
    window_days: int = Field(_RISK.window_days, ge=1, le=3650)
    repeat_min: int = Field(_RISK.repeat_min, ge=2, le=100)


class StatusChange(Strict):
    comment: Text | None = Field(None, max_length=2000)


class AccountHealth(BaseModel):
    account_id: str
    health: str
    signals: int
    risk: int
    positive: int
    reason: str


class AccountHealthPublic(BaseModel):
    accounts: list[AccountHealth]


class DigestSignal(BaseModel):
    signal: str
    count: int
    previous_weekly_mean: float
    trend: str
    quotes: list[Quote]


class DigestAccount(BaseModel):
    account_id: str
    health: str
    reason: str
    risk_signals: int
    signals: list[DigestSignal]


class DigestPublic(BaseModel):
    week: str
    start: str
    end: str
    accounts: list[DigestAccount]
    markdown: str


class Alert(BaseModel):
    period: str
    series: str
    count: int
    total: int
    share: float
    baseline_share: float
    baseline_total: int
    ratio: float
    direction: str
    p_value: float
    units: list[Quote]


class AnomalyPublic(BaseModel):
    test: str
    measure: str
    freq: str
    alerts: list[Alert]


class OutcomesIn(Strict):
    csv: Text = Field(min_length=1, max_length=MAX_CSV_CHARS, description="The CSV text.")
    outcome: Text = Field("renewed", max_length=100)
    date_column: Text = Field("renewal_date", max_length=100)
    account_column: Text = Field("account_id", max_length=100)
    user_column: Text | None = Field(
        None, max_length=100, description="Outcomes per user: the column of user ids."
    )
    allow_unknown: bool = False


class RowError(BaseModel):
    line: int
    account_id: str | None = Field(description="The row's account id (user id per user)")
    message: str


class OutcomeImportPublic(BaseModel):
    level: str = Field(description="account or user")
    accounts: int
    users: int
    outcomes: int
    pending: int
    errors: list[RowError]


class LinkageRow(BaseModel):
    signal: str
    n_with: int
    events_with: float
    n_without: int
    events_without: float
    rate_with: float | None
    rate_without: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    risk_ratio: float | None
    rr_low: float | None
    rr_high: float | None
    rr_corrected: bool
    small_cell: bool
    expected: str
    observed: str
    agrees: bool | None


class LinkagePublic(BaseModel):
    outcome: str
    level: str = Field(description="account or user: what each row of the table counts")
    metric: str | None
    adjusted_for: list[str]
    weighted_by: list[str] = Field(description="post-stratification cells; [] unweighted")
    accounts: int = Field(description="subjects (accounts or users) with a decided outcome")
    outcome_rate: float
    rows: list[LinkageRow]


class CoverageRow(BaseModel):
    attribute: str
    group: str
    accounts: int
    base_share: float
    accounts_heard: int
    heard_share: float
    items: int
    item_share: float
    representation: float | None
    under_heard: bool


class CoveragePublic(BaseModel):
    rows: list[CoverageRow]


def rows_of(records: list[dict[str, Any]], group_by: list[str]) -> list[dict[str, Any]]:
    """Time series records with their group columns moved under ``groups``."""
    return [
        {
            **{k: v for k, v in r.items() if k not in group_by},
            "groups": {g: str(r[g]) for g in group_by},
        }
        for r in records
    ]
