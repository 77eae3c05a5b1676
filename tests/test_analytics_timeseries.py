"""Time series against a hand-counted fixture: items, codes, review decisions, lineage."""

from __future__ import annotations

import pandas as pd
import pytest

from themecoder.analytics.frames import (
    apply_filters,
    effective_codes,
    parse_filters,
    prepare_items,
)
from themecoder.analytics.timeseries import series_rows, time_series
from themecoder.codebook.lineage import Lineage, LineageEvent
from themecoder.errors import InvalidInput


def fixture_items() -> pd.DataFrame:
    rows = [
        # item, at, account, plan, channel, sentiment, expression, coded
        (1, "2026-01-05T10:00:00Z", "A", "team", "chat", "negative", "frustration", True),
        (2, "2026-01-20T10:00:00Z", "A", "team", "email", "neutral", "satisfaction", True),
        (3, "2026-03-02T10:00:00Z", "B", "business", "chat", "negative", "frustration", True),
        (4, "2026-03-03T10:00:00Z", "B", "business", "chat", "neutral", "none", False),
        (5, "2026-03-10T10:00:00Z", "C", "team", "phone", "positive", "request", True),
    ]
    return pd.DataFrame(
        [
            {
                "item_id": i,
                "external_id": f"T-{i}",
                "project_id": None,
                "project": "cli",
                "at": at,
                "account_id": acc,
                "source": "/data/tickets.csv",
                "text": f"text {i}",
                "coded": coded,
                "sentiment": sent,
                "sentiment_score": 0.0,
                "expression": expr,
                "meta": {"plan": plan, "channel": channel, "account_id": acc},
            }
            for i, at, acc, plan, channel, sent, expr, coded in rows
        ]
    )


def fixture_codes() -> pd.DataFrame:
    rows = [
        # unit, item, bucket, polarity
        (11, 1, "support_friction", "risk"),
        (12, 1, "support_friction", "risk"),  # same item again: counts once
        (12, 1, "renewal_likelihood", "risk"),
        (21, 2, "value_realization", "positive"),
        (31, 3, "pricing_perception", "risk"),  # overridden to neutral by a reviewer
        (32, 3, "support_friction", "risk"),  # rejected by a reviewer
        (33, 3, "saml_help", "risk"),  # custom code, merged into "sso"
        (51, 5, "upsell_readiness", "positive"),  # approved
        (52, 5, "sso_setup", "neutral"),  # custom code, merged into "sso"
    ]
    return pd.DataFrame(
        [
            {
                "code_id": n,
                "unit_id": u,
                "item_id": i,
                "bucket": b,
                "polarity": p,
                "confidence": 0.8,
                "unit_text": f"unit {u}",
                "unit_sentiment_score": -0.5,
            }
            for n, (u, i, b, p) in enumerate(rows, start=1)
        ]
    )


def fixture_suggestions() -> pd.DataFrame:
    rows = [
        # unit, item, origin, bucket, polarity, state, final bucket, final polarity
        (31, 3, "model", "pricing_perception", "risk", "overridden", None, "neutral"),
        (32, 3, "model", "support_friction", "risk", "rejected", None, None),
        (51, 5, "model", "upsell_readiness", "positive", "approved", None, None),
        (11, 1, "model", "support_friction", "risk", "pending", None, None),
        (51, 5, "reviewer", "renewal_likelihood", "positive", "approved", None, None),
    ]
    return pd.DataFrame(
        [
            {
                "suggestion_id": n,
                "unit_id": u,
                "item_id": i,
                "origin": o,
                "bucket": b,
                "polarity": p,
                "state": s,
                "final_bucket": fb,
                "final_polarity": fp,
                "decided_at": None,
                "unit_text": f"unit {u}",
                "unit_sentiment_score": -0.5,
            }
            for n, (u, i, o, b, p, s, fb, fp) in enumerate(rows, start=1)
        ]
    )


@pytest.fixture
def items() -> pd.DataFrame:
    return prepare_items(fixture_items())


@pytest.fixture
def codes() -> pd.DataFrame:
    return effective_codes(fixture_codes(), fixture_suggestions())


def _cell(frame: pd.DataFrame, period: str, series: str, **groups: str) -> pd.Series:
    mask = (frame["period"] == period) & (frame["series"] == series)
    for column, value in groups.items():
        mask &= frame[column] == value
    assert mask.sum() == 1, (period, series, groups)
    return frame[mask].iloc[0]


def test_reviewer_decision_wins_over_model_code(codes: pd.DataFrame) -> None:
    by_unit = {(r.unit_id, r.bucket): (r.polarity, r.basis) for r in codes.itertuples()}
    assert by_unit[(31, "pricing_perception")] == ("neutral", "reviewer")
    assert (32, "support_friction") not in by_unit
    assert by_unit[(51, "upsell_readiness")] == ("positive", "reviewer")
    assert by_unit[(51, "renewal_likelihood")] == ("positive", "reviewer")
    assert by_unit[(11, "support_friction")] == ("risk", "model")


def test_monthly_bucket_counts_by_hand(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    rows, series = series_rows(items, codes, "buckets")
    ts = time_series(items, rows, series, freq="month")
    assert list(ts["period"].unique()) == ["2026-01", "2026-02", "2026-03"]
    assert len(ts) == 3 * 18  # every period x every bucket x polarity
    jan = _cell(ts, "2026-01", "support_friction:risk")
    assert (jan["count"], jan["total"], jan["share"], jan["reviewed"]) == (1, 2, 0.5, 0)
    assert _cell(ts, "2026-01", "renewal_likelihood:risk")["count"] == 1
    feb = ts[ts["period"] == "2026-02"]
    assert feb["count"].sum() == 0 and feb["total"].max() == 0 and feb["share"].max() == 0
    mar = _cell(ts, "2026-03", "pricing_perception:neutral")
    assert (mar["count"], mar["total"], mar["reviewed"]) == (1, 2, 1)  # item 4 is uncoded
    assert _cell(ts, "2026-03", "pricing_perception:risk")["count"] == 0
    assert _cell(ts, "2026-03", "support_friction:risk")["count"] == 0  # rejected
    assert _cell(ts, "2026-03", "upsell_readiness:positive")["share"] == 0.5
    assert _cell(ts, "2026-03", "renewal_likelihood:positive")["reviewed"] == 1


def test_grouped_weekly_and_filtered(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    rows, series = series_rows(items, codes, "buckets")
    ts = time_series(items, rows, series, freq="month", group_by=["plan"])
    assert _cell(ts, "2026-01", "support_friction:risk", plan="team")["total"] == 2
    assert _cell(ts, "2026-01", "support_friction:risk", plan="business")["total"] == 0
    assert _cell(ts, "2026-03", "pricing_perception:neutral", plan="business")["share"] == 1.0
    weekly = time_series(items, rows, series, freq="week")
    assert weekly["period"].iloc[0] == "2026-W02" and weekly["period"].nunique() == 10
    chat = apply_filters(items, parse_filters(["channel=chat"]))
    ts = time_series(chat, rows, series, freq="month", start="2026-01-01", end="2026-04-30")
    assert ts["period"].nunique() == 4
    assert (
        _cell(
            ts,
            "2026-01",
            "support_friction:risk",
        )["total"]
        == 1
    )
    assert _cell(ts, "2026-04", "support_friction:risk")["count"] == 0


def test_sentiment_net_and_expression(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    rows, series = series_rows(items, codes, "sentiment")
    ts = time_series(items, rows, series, freq="month", net=True)
    net = _cell(ts, "2026-01", "net")
    assert (net["count"], net["total"], net["share"]) == (-1, 2, -0.5)
    assert _cell(ts, "2026-03", "net")["share"] == 0.0
    assert _cell(ts, "2026-02", "net")["share"] == 0.0
    rows, series = series_rows(items, codes, "expression")
    ts = time_series(items, rows, series, freq="month")
    assert _cell(ts, "2026-03", "request")["count"] == 1
    assert _cell(ts, "2026-03", "none")["count"] == 0  # item 4 is uncoded


def test_lineage_merged_code_counts_its_parents(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    lineage = Lineage(
        [
            LineageEvent("create", (), ("sso_setup", "saml_help"), 1),
            LineageEvent("merge", ("sso_setup", "saml_help"), ("sso",), 2),
        ]
    )
    rows, series = series_rows(items, codes, "codes", lineage=lineage)
    assert series == ["sso"]
    ts = time_series(items, rows, series, freq="month")
    assert _cell(ts, "2026-03", "sso")["count"] == 2
    assert _cell(ts, "2026-01", "sso")["count"] == 0
    themes = pd.DataFrame({"item_id": [1, 3, 5, 5], "theme_id": [1, 2, 2, 1]})
    theme_lineage = Lineage(
        [
            LineageEvent("create", (), ("theme:1", "theme:2"), 1),
            LineageEvent("merge", ("theme:1", "theme:2"), ("theme:3",), 2),
        ]
    )
    rows, series = series_rows(
        items,
        codes,
        "themes",
        unit_themes=themes,
        theme_lineage=theme_lineage,
        theme_labels={3: "sync errors"},
    )
    ts = time_series(items, rows, series, freq="month")
    assert series == ["theme:3 sync errors"]
    assert _cell(ts, "2026-03", "theme:3 sync errors")["count"] == 2  # item 5 counts once
    assert _cell(ts, "2026-01", "theme:3 sync errors")["count"] == 1


def test_weighted_counts(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    rows, series = series_rows(items, codes, "buckets")
    weights = pd.Series({1: 2.0, 2: 0.5, 3: 1.0, 5: 1.0})
    ts = time_series(items, rows, series, freq="month", weights=weights)
    jan = _cell(ts, "2026-01", "support_friction:risk")
    assert (jan["count"], jan["total"], jan["share"]) == (2.0, 2.5, 0.8)


def test_a_start_after_the_end_is_refused(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    """It gave an empty table, as if nothing had been said in the range."""
    rows, series = series_rows(items, codes, "buckets")
    with pytest.raises(InvalidInput, match="start 2026-03-01 is after end 2026-01-31"):
        time_series(items, rows, series, freq="month", start="2026-03-01", end="2026-01-31")
    same = time_series(items, rows, series, freq="month", start="2026-01-01", end="2026-01-31")
    assert set(same["period"].astype(str)) == {"2026-01"}


def test_unknown_filter_column_lists_known_ones(items: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput) as err:
        apply_filters(items, {"plann": ["team"]})
    assert "known columns" in str(err.value) and "plan" in str(err.value)
    assert "channel" in str(err.value)
    with pytest.raises(InvalidInput):
        parse_filters(["plan"])


def test_items_stored_twice_count_once() -> None:
    raw = fixture_items()
    doubled = pd.concat([raw, raw.assign(item_id=raw["item_id"] + 100)], ignore_index=True)
    assert len(prepare_items(doubled)) == 5


def test_an_item_of_spaces_only_is_not_counted(items: pd.DataFrame, codes: pd.DataFrame) -> None:
    """A ticket of spaces only was counted in its month's total and as neutral sentiment."""
    raw = fixture_items()
    blank = raw.iloc[[1]].assign(item_id=9, external_id="T-9", text="   ", sentiment="neutral")
    with_blank = prepare_items(pd.concat([raw, blank], ignore_index=True))
    for measure in ("buckets", "sentiment"):
        before = time_series(items, *series_rows(items, codes, measure), freq="month")
        after = time_series(with_blank, *series_rows(with_blank, codes, measure), freq="month")
        pd.testing.assert_frame_equal(before, after)


def test_a_chart_of_twelve_lines_gives_each_its_own_colour(tmp_path) -> None:
    import re

    from themecoder.analytics.charts import line_chart

    frame = pd.DataFrame(
        [
            {"period": p, "series": f"bucket_{i}:risk", "share": (i + 1) / 20, "count": i + 1}
            for i in range(12)
            for p in ("2026-01", "2026-02")
        ]
    )
    out = line_chart(frame, tmp_path / "trend.svg")
    strokes = set(re.findall(r"stroke: (#[0-9a-f]{6})", out.read_text()))
    strokes -= {"#000000", "#b0b0b0", "#cccccc", "#ffffff"}  # axes, grid, legend frame
    assert len(strokes) >= 12
