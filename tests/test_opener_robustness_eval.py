"""The opener check's counting: kept, flipped and lost codes of the plain text, and gains."""

from __future__ import annotations

from eval_scripts import load
from themecoder.domain import BucketCode, Item, ItemResult


def _result(codes: dict[str, str]) -> ItemResult:
    buckets = [BucketCode(b, p, 0.9, {}) for b, p in codes.items()]
    return ItemResult(Item(id="1", text="x"), [], buckets, "neutral", 0.0, "none")


def test_changes_counts_each_code_of_the_plain_text_once():
    plain = [
        _result({"onboarding_clarity": "risk", "support_friction": "risk"}),
        _result({"pricing_perception": "positive"}),
        _result({}),
    ]
    edited = [
        _result({"onboarding_clarity": "positive", "support_friction": "risk"}),
        _result({"value_realization": "positive"}),
        _result({"renewal_likelihood": "risk"}),
    ]
    got = load("opener_robustness").changes(plain, edited)
    assert got == {"codes": 3, "kept": 1, "flipped": 1, "lost": 1, "gained": 2, "changed": 4}
