"""Anomaly alerts: a planted spike is found, flat data raises nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from themecoder.analytics.anomaly import AnomalyParams, anomalies


def _flat(seed: int = 0, days: int = 60, n: int = 100, p: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for series in (
        "support_friction:risk",
        "pricing_perception:risk",
        "value_realization:positive",
    ):
        for d in range(days):
            rows.append(
                {
                    "period": f"2026-01-{d:02d}",
                    "series": series,
                    "count": int(rng.binomial(n, p)),
                    "total": n,
                }
            )
    return pd.DataFrame(rows)


def test_flat_data_raises_nothing() -> None:
    for seed in range(10):
        found, test = anomalies(_flat(seed))
        assert found.empty, found
    assert "Fisher exact" in test and "Bonferroni" in test


def test_planted_spike_is_found_with_its_numbers() -> None:
    ts = _flat(1)
    spike = (ts["series"] == "pricing_perception:risk") & (ts["period"] == "2026-01-40")
    ts.loc[spike, "count"] = 35
    found, _ = anomalies(ts)
    assert len(found) == 1
    alert = found.iloc[0]
    assert (alert["period"], alert["series"], alert["count"], alert["direction"]) == (
        "2026-01-40",
        "pricing_perception:risk",
        35,
        "up",
    )
    assert 0.05 < alert["baseline_share"] < 0.15 and alert["ratio"] > 2.5


def test_minimum_count_guards_small_series() -> None:
    ts = pd.DataFrame(
        {
            "period": [f"p{i}" for i in range(6)],
            "series": "x",
            "count": [0, 0, 0, 0, 0, 4],
            "total": [50] * 6,
        }
    )
    assert anomalies(ts)[0].empty  # 4 < min count 5, though 4 of 50 after 0 of 200
    ts.loc[5, "count"] = 6
    assert len(anomalies(ts)[0]) == 1
    assert anomalies(ts, params=AnomalyParams(min_count=7))[0].empty


def test_a_table_too_short_to_test_says_no_test_ran() -> None:
    """With no period to test it said "Bonferroni-corrected over 1 tests"."""
    ts = _flat(0, days=2)
    found, test = anomalies(ts)
    assert found.empty and "over 0 tests" in test
