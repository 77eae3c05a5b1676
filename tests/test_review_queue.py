"""Queue rules: state transitions, review priority, confidence bands, double-coding selection."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pytest

from themecoder.errors import Conflict, InvalidInput
from themecoder.review.queue import (
    ALLOWED_TRANSITIONS,
    SuggestionState,
    band,
    can_transition,
    expected_value_of_review,
    is_double_coded,
    order_queue,
    select_for_double_coding,
    transition,
)

S = SuggestionState
DECIDED = (S.APPROVED, S.OVERRIDDEN, S.REJECTED)


@dataclass
class Sug:
    id: str
    confidence: float
    polarity: str


def test_allowed_transitions():
    for target in (S.AUTO_ACCEPTED, *DECIDED):
        assert transition(S.PENDING, target) is target
    for target in DECIDED:
        assert transition("auto_accepted", target.value) is target  # strings are accepted


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current, target in itertools.product(S, S)
        if target not in ALLOWED_TRANSITIONS[current]
    ],
)
def test_illegal_transitions_raise_conflict(current, target):
    assert not can_transition(current, target)
    with pytest.raises(Conflict) as info:
        transition(current, target)
    assert info.value.code == "conflict"
    assert info.value.details == {"current": current.value, "target": target.value}


def test_decided_states_are_final_and_the_second_reviewer_conflicts():
    for state in DECIDED:
        assert ALLOWED_TRANSITIONS[state] == frozenset()
    state = transition(S.PENDING, S.APPROVED)
    with pytest.raises(Conflict, match="approved cannot become overridden"):
        transition(state, S.OVERRIDDEN)
    assert not can_transition(S.AUTO_ACCEPTED, S.PENDING)


def test_unknown_state_is_invalid_input():
    with pytest.raises(InvalidInput, match="unknown suggestion state"):
        transition("pending", "archived")


def test_expected_value_is_uncertainty_times_risk():
    assert expected_value_of_review(0.5, "neutral") == 1.0
    assert expected_value_of_review(0.5, "risk") == 2.0
    assert expected_value_of_review(0.5, "risk", risk_weight=3.0) == 3.0
    assert expected_value_of_review(1.0, "risk") == 0.0
    assert expected_value_of_review(0.0, "positive") == 0.0
    assert expected_value_of_review(0.9, "positive") == pytest.approx(0.2)
    assert expected_value_of_review(0.1, "positive") == pytest.approx(0.2)  # symmetric
    entropy = expected_value_of_review(0.9, "positive", uncertainty="entropy")
    assert entropy == pytest.approx(-(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1)))
    assert expected_value_of_review(0.5, "neutral", uncertainty="entropy") == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"confidence": 1.1}, "confidence"),
        ({"confidence": math.nan}, "confidence"),
        ({"risk_weight": 0.0}, "risk_weight"),
        ({"uncertainty": "gini"}, "uncertainty"),
    ],
)
def test_expected_value_rejects_bad_input(kwargs, match):
    args = {"confidence": 0.5, "polarity": "risk", **kwargs}
    with pytest.raises(InvalidInput, match=match):
        expected_value_of_review(**args)


def test_order_queue_by_expected_value_then_id():
    items = [
        Sug("a", 0.95, "positive"),  # 0.1
        Sug("b", 0.60, "risk"),  # 1.6
        Sug("c", 0.50, "neutral"),  # 1.0
        Sug("d", 0.70, "risk"),  # 1.2
        Sug("e", 0.40, "positive"),  # 0.8
        Sug("f", 0.60, "positive"),  # 0.8, ties with e
    ]
    expected = ["b", "d", "c", "e", "f", "a"]
    for perm in itertools.permutations(items):
        assert [s.id for s in order_queue(perm)] == expected
    assert [s.id for s in order_queue(items, risk_weight=1.0)] == ["c", "b", "e", "f", "d", "a"]


def test_order_queue_is_stable_for_full_ties():
    first, second = Sug("x", 0.5, "risk"), Sug("x", 0.5, "risk")
    assert order_queue([first, second])[0] is first
    assert order_queue([second, first])[0] is second


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(0.0, "low"), (0.49, "low"), (0.5, "medium"), (0.79, "medium"), (0.8, "high"), (1.0, "high")],
)
def test_band(confidence, expected):
    assert band(confidence) == expected


def test_band_rejects_bad_input():
    with pytest.raises(InvalidInput):
        band(1.5)
    with pytest.raises(InvalidInput, match="edges"):
        band(0.5, (0.9, 0.1))


def test_double_coding_share_is_about_ten_percent():
    ids = [f"unit-{i}" for i in range(20_000)]
    picked = select_for_double_coding(ids, seed=0)
    assert 0.09 <= len(picked) / len(ids) <= 0.11
    chosen = set(picked)
    assert picked == [u for u in ids if u in chosen]  # input order
    assert select_for_double_coding(ids, seed=0) == picked
    assert set(select_for_double_coding(ids, seed=1)) != set(picked)


def test_double_coding_is_stable_as_units_arrive():
    old = [f"unit-{i}" for i in range(5_000)]
    new = [f"unit-{i}" for i in range(5_000, 8_000)]
    before = set(select_for_double_coding(old, seed=5))
    after = set(select_for_double_coding(list(reversed(new + old)), seed=5))
    assert after & set(old) == before
    assert all(is_double_coded(u, seed=5) for u in before)


def test_double_coding_share_bounds():
    ids = [f"u{i}" for i in range(1_000)]
    assert select_for_double_coding(ids, share=0.0) == []
    assert select_for_double_coding(ids, share=1.0) == ids
    assert set(select_for_double_coding(ids, share=0.05)) <= set(select_for_double_coding(ids))
    with pytest.raises(InvalidInput, match="share"):
        select_for_double_coding(ids, share=1.5)
