"""Gating: a bucket auto-accepts only while its model-human alpha lower bound clears the bar."""

from __future__ import annotations

import math

import pytest

from themecoder.errors import InvalidInput
from themecoder.review.agreement import BUCKET_LABELS, agreement_report
from themecoder.review.gating import DEFAULT_THRESHOLD, auto_accept_allowed, gate_buckets


def model_human_pairs(agree: int, disagree: int) -> list[tuple[str, str]]:
    """``agree`` matching pairs over all four labels, then ``disagree`` mismatched ones."""
    labels = BUCKET_LABELS
    same = [(labels[i % 4], labels[i % 4]) for i in range(agree)]
    return same + [(labels[i % 4], labels[(i + 1) % 4]) for i in range(disagree)]


@pytest.mark.parametrize(
    ("low", "expected"),
    [(0.79, False), (0.7999999, False), (0.80, True), (0.81, True), (1.0, True)],
)
def test_switches_at_the_threshold(low, expected):
    assert DEFAULT_THRESHOLD == 0.80
    assert auto_accept_allowed(low, n_units=100) is expected


def test_no_data_or_too_few_units_keeps_review():
    assert auto_accept_allowed(None, n_units=100) is False
    assert auto_accept_allowed(math.nan, n_units=100) is False
    assert auto_accept_allowed(0.95, n_units=49) is False
    assert auto_accept_allowed(0.95, n_units=49, min_units=40) is True
    assert auto_accept_allowed(0.95, 0.96, n_units=100) is False


def test_bad_settings_are_rejected():
    for threshold in (1.5, -1.0, math.nan):
        with pytest.raises(InvalidInput, match="threshold"):
            auto_accept_allowed(0.9, threshold, n_units=100)
    with pytest.raises(InvalidInput, match="min_units"):
        auto_accept_allowed(0.9, n_units=100, min_units=0)


def test_gate_opens_and_closes_with_agreement():
    report = agreement_report(
        {
            "support_friction": model_human_pairs(200, 10),  # alpha 0.94, low bound ~0.90
            "pricing_perception": model_human_pairs(200, 30),  # alpha 0.83, low bound ~0.77
            "upsell_readiness": model_human_pairs(20, 0),  # alpha 1, but only 20 units
            "renewal_likelihood": [],
        },
        n_boot=200,
    )
    assert report["pricing_perception"]["alpha"]["value"] >= 0.80  # the point estimate passes...
    assert gate_buckets(report) == {
        "support_friction": True,
        "pricing_perception": False,  # ...but the lower bound does not
        "upsell_readiness": False,
        "renewal_likelihood": False,
    }
    assert gate_buckets(report, 0.95)["support_friction"] is False
    assert gate_buckets(report, 0.70)["pricing_perception"] is True
    assert gate_buckets(report, min_units=10)["upsell_readiness"] is True


def test_gate_closes_as_disagreements_accumulate():
    states = []
    for disagree in (0, 10, 30, 60):
        report = agreement_report({"b": model_human_pairs(200, disagree)}, n_boot=200)
        states.append(gate_buckets(report)["b"])
    assert states == [True, True, False, False]


def test_named_buckets_missing_from_the_report_are_closed():
    report = agreement_report({"support_friction": model_human_pairs(100, 0)}, n_boot=50)
    gates = gate_buckets(report, buckets=["support_friction", "onboarding_clarity"])
    assert gates == {"support_friction": True, "onboarding_clarity": False}
