"""Risk score of each coded signal and where it is routed.

Each signal (one effective code on one unit) gets three components, each in [0, 1]:

* **sentiment** ``(1 - s) / 2`` where ``s`` in [-1, 1] is the unit's sentiment score: a very
  negative unit scores 1, a very positive one 0;
* **frequency** ``min(1, (n - 1) / (frequency_saturation - 1))`` where ``n`` is the number of
  distinct conversations of the same account with a risk signal in the same bucket within
  ``window_days`` up to this signal (the signal's own conversation included): a lone mention
  scores 0, a second conversation 0.5, a third 1 (a signal without an account, or not a risk,
  scores 0);
* **impact** ``bucket_impact[bucket] * polarity_impact[polarity]``: what a bucket means for
  revenue (renewal highest) times how bad the polarity is (risk 1, neutral 0.3, positive 0).

``score = w_sentiment * sentiment + w_frequency * frequency + w_impact * impact`` with the
weights normalised to sum 1 (defaults 0.25 / 0.35 / 0.40). Routes: ``score > escalate_above``
(0.6) escalates, ``score >= review_above`` (0.3) goes to the review queue ahead of its peers,
below that the signal is only tagged. Separately, a risk signal in the same bucket in
``repeat_min`` (2) or more conversations of one account within ``window_days`` (30) escalates
(reason ``repeat``), whatever the scores.

Why these defaults: a risk signal's unit is nearly always clearly negative (on the sample
corpus the median sentiment component of a risk signal is 0.95), so sentiment separates
little, and an escalation should need more than one complaint. With them a lone, very
negative risk signal escalates only in the renewal bucket (0.25 + 0.40 = 0.65); in the other
buckets it goes to review ahead (support 0.49, pricing 0.57) until the account raises it in a
second conversation. The earlier defaults (0.35 / 0.25 / 0.40 with a lone mention counting
1/3) put every negative risk signal over 0.6: 502 of 570 risk signals on the sample corpus.

A conversation is the item's ``conversation_id`` metadata when present, the source file for
transcript turns (items with a ``turn``), else the item itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from themecoder.errors import InvalidInput

DEFAULT_BUCKET_IMPACT = {
    "renewal_likelihood": 1.0,
    "pricing_perception": 0.8,
    "upsell_readiness": 0.7,
    "value_realization": 0.7,
    "support_friction": 0.6,
    "onboarding_clarity": 0.5,
}
DEFAULT_POLARITY_IMPACT = {"risk": 1.0, "neutral": 0.3, "positive": 0.0}
ROUTES = ("escalate", "review", "tag")


@dataclass(frozen=True)
class RiskParams:
    """Weights and thresholds of the risk score (documented defaults)."""

    w_sentiment: float = 0.25
    w_frequency: float = 0.35
    w_impact: float = 0.40
    escalate_above: float = 0.6
    review_above: float = 0.3
    window_days: int = 30
    repeat_min: int = 2
    frequency_saturation: int = 3
    bucket_impact: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BUCKET_IMPACT))
    polarity_impact: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_POLARITY_IMPACT))
    other_impact: float = 0.5  # custom codes and buckets not in bucket_impact

    def weights(self) -> tuple[float, float, float]:
        w = np.array([self.w_sentiment, self.w_frequency, self.w_impact], dtype=float)
        if (w < 0).any() or w.sum() <= 0:
            raise InvalidInput(f"risk weights must be >= 0 and not all 0, got {w.tolist()}")
        return tuple((w / w.sum()).tolist())  # type: ignore[return-value]


def conversation_key(items: pd.DataFrame) -> pd.Series:
    """The conversation each item belongs to (see the module docstring)."""
    key = pd.Series(items["external_id"].astype(str).to_numpy(), index=items.index)
    if "turn" in items.columns:
        turns = items["turn"].notna()
        key[turns] = "source:" + items.loc[turns, "source"].astype(str)
    if "conversation_id" in items.columns:
        given = items["conversation_id"].notna()
        key[given] = "conversation:" + items.loc[given, "conversation_id"].astype(str)
    return key


def signals(items: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    """Effective codes joined to their item: account, date, conversation, source, text."""
    it = items.assign(conversation=conversation_key(items))
    cols = ["item_id", "external_id", "account_id", "at", "conversation", "project"]
    return codes.merge(it[cols], on="item_id", how="inner").reset_index(drop=True)


def score(sig: pd.DataFrame, params: RiskParams | None = None) -> pd.DataFrame:
    """``sig`` (from :func:`signals`) with ``sentiment_c``, ``frequency_c``, ``impact_c``,
    ``score`` and ``route`` columns."""
    p = params or RiskParams()
    ws, wf, wi = p.weights()
    out = sig.copy()
    out["sentiment_c"] = ((1 - out["unit_sentiment_score"].astype(float).fillna(0)) / 2).clip(0, 1)
    others = (_repeat_counts(out, p.window_days) - 1).clip(lower=0)
    out["frequency_c"] = (others / max(p.frequency_saturation - 1, 1)).clip(0, 1)
    bucket = out["bucket"].map(p.bucket_impact).fillna(p.other_impact)
    out["impact_c"] = bucket * out["polarity"].map(p.polarity_impact).fillna(0.0)
    out["score"] = ws * out["sentiment_c"] + wf * out["frequency_c"] + wi * out["impact_c"]
    out["route"] = np.select(
        [out["score"] > p.escalate_above, out["score"] >= p.review_above],
        ["escalate", "review"],
        "tag",
    )
    return out


def _repeat_counts(sig: pd.DataFrame, window_days: int) -> pd.Series:
    """Distinct conversations of the account with a risk signal in the bucket within the
    window up to each signal (at least 1 for a risk signal, 0 otherwise)."""
    counts = pd.Series(0.0, index=sig.index)
    risk = sig[(sig["polarity"] == "risk") & sig["account_id"].notna()]
    window = pd.Timedelta(days=window_days)
    for _, group in risk.groupby(["account_id", "bucket"]):
        at = group["at"].to_numpy()
        conv = group["conversation"].to_numpy()
        for idx, when in zip(group.index, at, strict=True):
            inside = (at <= when) & (at >= when - window)
            counts[idx] = len(set(conv[inside]))
    alone = (sig["polarity"] == "risk") & sig["account_id"].isna()
    counts[alone] = 1.0
    return counts


def repeats(sig: pd.DataFrame, params: RiskParams | None = None) -> pd.DataFrame:
    """Risk signals that belong to a repeat: the same account and bucket in ``repeat_min`` or
    more conversations within ``window_days``. Adds ``episode`` (the first unit of the run)."""
    p = params or RiskParams()
    risk = sig[(sig["polarity"] == "risk") & sig["account_id"].notna()].sort_values("at")
    window = pd.Timedelta(days=p.window_days)
    picked = []
    for _, group in risk.groupby(["account_id", "bucket"]):
        at = group["at"].to_numpy()
        conv = group["conversation"].to_numpy()
        for i, when in enumerate(at):
            inside = (at >= when) & (at <= when + window)
            if len(set(conv[inside])) >= p.repeat_min:
                rows = group[inside].assign(episode=int(group["unit_id"].iloc[i]))
                picked.append(rows)
                break
    if not picked:
        return sig.iloc[0:0].assign(episode=pd.Series(dtype=int))
    return pd.concat(picked).reset_index(drop=True)
