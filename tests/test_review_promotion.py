"""Retraining promotion: not worse on macro-F1 and no bucket drops beyond the tolerance."""

from __future__ import annotations

import pytest

from themecoder.errors import InvalidInput
from themecoder.review.promotion import should_promote

BEFORE = {"support_friction": 0.70, "pricing_perception": 0.60, "upsell_readiness": 0.50}


def test_equal_scores_promote():
    promote, deltas = should_promote(BEFORE, dict(BEFORE))
    assert promote is True
    assert deltas == dict.fromkeys(BEFORE, 0.0)


def test_improvement_promotes_with_deltas():
    after = {"support_friction": 0.80, "pricing_perception": 0.60, "upsell_readiness": 0.56}
    decision = should_promote(BEFORE, after)
    assert decision.promote is True
    assert decision.deltas == pytest.approx(
        {"support_friction": 0.10, "pricing_perception": 0.0, "upsell_readiness": 0.06}
    )
    assert decision.macro_delta == pytest.approx(0.16 / 3)


def test_a_bucket_drop_beyond_tolerance_blocks_a_macro_gain():
    after = {"support_friction": 0.90, "pricing_perception": 0.55, "upsell_readiness": 0.50}
    assert should_promote(BEFORE, after, tolerance=0.0).promote is False
    assert should_promote(BEFORE, after, tolerance=0.04).promote is False
    assert should_promote(BEFORE, after, tolerance=0.05).promote is True


def test_lower_macro_blocks_even_within_tolerance():
    after = {b: f1 - 0.01 for b, f1 in BEFORE.items()}
    promote, deltas = should_promote(BEFORE, after, tolerance=0.02)
    assert promote is False
    assert all(d == pytest.approx(-0.01) for d in deltas.values())


@pytest.mark.parametrize(
    ("before", "after", "tolerance", "match"),
    [
        ({}, {}, 0.0, "no bucket"),
        (BEFORE, {"support_friction": 0.7}, 0.0, "same buckets"),
        (BEFORE, {**BEFORE, "support_friction": 1.2}, 0.0, "F1"),
        (BEFORE, {**BEFORE, "support_friction": float("nan")}, 0.0, "F1"),
        (BEFORE, BEFORE, -0.1, "tolerance"),
    ],
)
def test_bad_input_is_rejected(before, after, tolerance, match):
    with pytest.raises(InvalidInput, match=match):
        should_promote(before, after, tolerance)
