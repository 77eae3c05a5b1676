"""Account health rubric and the weekly digest, counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from themecoder.analytics.health import account_health, digest, digest_markdown, iso_week
from themecoder.errors import InvalidInput


def _sig(rows: list[tuple[str, str, str, str, float]]) -> pd.DataFrame:
    """(account, date, bucket, polarity, sentiment) -> signal rows, one item each."""
    return pd.DataFrame(
        [
            {
                "unit_id": i,
                "item_id": i,
                "external_id": f"I-{i}",
                "account_id": a,
                "at": pd.Timestamp(at),
                "bucket": b,
                "polarity": p,
                "unit_sentiment_score": s,
                "unit_text": f"quote {i}",
            }
            for i, (a, at, b, p, s) in enumerate(rows, start=1)
        ]
    )


ROWS = [
    ("R", "2026-08-20", "renewal_likelihood", "risk", -0.8),  # renewal risk -> red
    ("R", "2026-09-01", "support_friction", "risk", -0.5),
    ("R", "2026-09-02", "support_friction", "risk", -0.7),
    ("R", "2026-09-03", "value_realization", "positive", 0.5),
    ("S", "2026-09-01", "support_friction", "risk", -0.5),  # 2 of 3 risk -> red
    ("S", "2026-09-02", "pricing_perception", "risk", -0.5),
    ("S", "2026-09-02", "value_realization", "positive", 0.5),
    ("G", "2026-09-01", "value_realization", "positive", 0.6),  # 2 of 2 positive -> green
    ("G", "2026-09-04", "upsell_readiness", "positive", 0.6),
    ("M", "2026-09-04", "onboarding_clarity", "neutral", 0.0),  # too little -> gray
    ("OLD", "2026-01-04", "renewal_likelihood", "risk", -0.8),  # outside the 90 days
]


def test_health_rubric() -> None:
    h = account_health(_sig(ROWS), pd.Timestamp("2026-09-06")).set_index("account_id")
    assert h["health"].to_dict() == {"R": "red", "S": "red", "M": "gray", "G": "green"}
    assert h.loc["S", "reason"] == "2 of 3 polar signals are risk"
    assert (h.loc["R", "risk"], h.loc["R", "positive"]) == (3, 1)
    assert list(h.index[:2]) == ["R", "S"]  # worst first


def test_digest_week_trend_quotes_and_order() -> None:
    d = digest(_sig(ROWS), "2026-W36")
    assert (d["start"], d["end"]) == ("2026-08-31", "2026-09-06")
    assert [a["account_id"] for a in d["accounts"]] == ["R", "S", "M", "G"]
    r = d["accounts"][0]
    assert [s["signal"] for s in r["signals"]] == [
        "support_friction:risk",
        "value_realization:positive",
    ]
    top = r["signals"][0]
    assert (top["count"], top["trend"]) == (2, "new")
    assert [q["item"] for q in top["quotes"]] == ["I-3", "I-2"]  # most negative first
    md = digest_markdown(d)
    assert md.index("## R") < md.index("## S") < md.index("## G")
    assert "> I-3: quote 3" in md


def test_iso_week_bad_input() -> None:
    assert iso_week("2026-w01")[0] == pd.Timestamp("2025-12-29")
    with pytest.raises(InvalidInput):
        iso_week("2026-36")
    # Well formed but no such week: said so, not "must look like 2026-W36".
    with pytest.raises(InvalidInput, match="there is no week '2025-W53'; 2025 has weeks 1 to 52"):
        iso_week("2025-W53")
    assert iso_week("2026-W53")[0] == pd.Timestamp("2026-12-28")
