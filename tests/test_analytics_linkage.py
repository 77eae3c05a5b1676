"""Linkage to outcomes: a planted effect is recovered with its CI covering the truth, a null
effect's CI covers zero, adjustment removes confounding, counts are exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from themecoder.analytics.linkage import effect, exposure, linkage_table


def test_planted_effect_recovered_and_null_covers_zero() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    x = rng.random(n) < 0.4
    y = np.where(x, rng.random(n) < 0.35, rng.random(n) < 0.5).astype(float)  # truth -0.15
    e = effect(y, x, n_boot=1000)
    assert e["difference_low"] < -0.15 < e["difference_high"]
    assert e["rr_low"] < 0.7 < e["rr_high"]
    assert e["n_with"] + e["n_without"] == n and e["small_cell"] is False
    null = effect((rng.random(n) < 0.5).astype(float), x, n_boot=1000)
    assert null["difference_low"] < 0 < null["difference_high"]
    assert null["rr_low"] < 1 < null["rr_high"]


def test_adjustment_removes_confounding_by_segment() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    seg = rng.random(n) < 0.5  # enterprise: more exposure and more renewal, no effect
    x = rng.random(n) < np.where(seg, 0.7, 0.2)
    y = (rng.random(n) < np.where(seg, 0.8, 0.4)).astype(float)
    crude = effect(y, x, n_boot=300)
    adjusted = effect(y, x, np.where(seg, "ent", "smb"), n_boot=300)
    assert crude["difference_low"] > 0.1  # confounded
    assert adjusted["difference_low"] < 0 < adjusted["difference_high"]


def test_exposure_only_before_outcome_date_and_table_counts() -> None:
    sig = pd.DataFrame(
        {
            "account_id": ["a", "a", "b", "c", "d"],
            "at": pd.to_datetime(
                ["2026-01-01", "2026-05-01", "2026-06-01", "2026-01-01", "2026-01-01"]
            ),
            "signal": [
                "renewal_likelihood:risk",
                "value:positive",
                "renewal_likelihood:risk",
                "value:positive",
                "value:positive",
            ],
        }
    )
    outcomes = pd.DataFrame(
        {
            "account_id": ["a", "b", "c", "d", "e"],
            "value": [0.0, 1.0, 1.0, 1.0, 0.0],
            "at": pd.to_datetime(
                ["2026-03-01", "2026-03-01", "2026-03-01", "2026-03-01", "2026-03-01"]
            ),
        }
    )
    exp = exposure(sig, outcomes)
    assert exp["renewal_likelihood:risk"].to_dict() == {
        "a": True,
        "b": False,
        "c": False,
        "d": False,
        "e": False,
    }  # b's came after
    table = linkage_table(
        exp, outcomes, expected={"renewal_likelihood:risk": "lower"}, n_boot=200
    ).set_index("signal")
    risk = table.loc["renewal_likelihood:risk"]
    assert (risk["n_with"], risk["events_with"], risk["n_without"], risk["events_without"]) == (
        1,
        0,
        4,
        3,
    )
    assert risk["difference"] == pytest.approx(0 - 0.75)
    assert risk["rr_corrected"] and risk["small_cell"]
    assert risk["expected"] == "lower"
    assert table.loc["value:positive", "n_with"] == 2  # c and d; a's came after


def test_strata_with_nothing_to_compare_give_no_effect_not_nan() -> None:
    """Every stratum all exposed or all unexposed: the adjusted difference was NaN, with
    "All-NaN slice" warnings from its bootstrap."""
    import warnings

    y = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 0] * 3, dtype=float)
    x = np.array([True] * 15 + [False] * 15)
    strata = np.where(x, "ent", "smb")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = effect(y, x, strata, n_boot=200)
    assert out["difference"] is None and out["difference_low"] is None
    assert out["risk_ratio"] is None
