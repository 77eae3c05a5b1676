"""The real-text dev set: stored by id, texts from ../shared, a fixed split, scored with CIs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from themecoder.config import Settings
from themecoder.devset import PARTS, SOURCES, dev_part, load_devset, load_rows, sha1_text
from themecoder.domain import BUCKETS, Item, ItemResult, Unit, UnitResult
from themecoder.errors import InvalidInput
from themecoder.labelled import Example
from themecoder.services.dev_evaluation import (
    dev_scores,
    paired_change,
    paired_change_of_means,
)

S = Settings()


def _result(codes: dict[str, str], sentiment: str = "neutral") -> ItemResult:
    from themecoder.domain import BucketCode

    buckets = [BucketCode(b, p, 0.9, {}) for b, p in codes.items()]
    unit = UnitResult(
        Unit("i", 0, 0, 1, "x"),
        buckets,
        sentiment,
        0.0,
        "none",
        bucket_proba=np.zeros(len(BUCKETS)),
    )
    return ItemResult(Item("i", "x"), [unit], buckets, sentiment, 0.0, "none")


def _example(codes: dict[str, str], sentiment: str = "neutral") -> Example:
    return Example("x", "dev:b2b", "report", {b: codes.get(b) for b in BUCKETS}, sentiment)


def test_dev_scores_by_hand():
    # pricing: tp 2, fp 1, fn 1 -> F1 2/3; one of the two found has the wrong polarity.
    gold = [
        {"pricing_perception": "risk"},
        {"pricing_perception": "risk"},
        {"pricing_perception": "neutral"},
        {},
    ]
    pred = [
        {"pricing_perception": "risk"},
        {"pricing_perception": "positive"},
        {},
        {"pricing_perception": "risk"},
    ]
    out = dev_scores([_example(g) for g in gold], [_result(p) for p in pred], n_boot=200)
    price = out["buckets"]["pricing_perception"]
    assert price["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert (price["precision"], price["recall"]) == (pytest.approx(2 / 3, abs=1e-4),) * 2
    assert price["polarity_accuracy"] == 0.5 and price["support"] == 3
    lo, hi = price["f1_ci"]
    assert 0 <= lo <= price["f1"] <= hi <= 1
    # Buckets nobody coded score 0 and pull the macro average down, as they should.
    assert out["macro_f1"] == pytest.approx((2 / 3) / len(BUCKETS), abs=1e-4)


def test_paired_change_is_the_difference_on_the_same_units():
    gold = [{"pricing_perception": "risk"}] * 6 + [{}] * 6
    worse = [{}] * 3 + [{"pricing_perception": "risk"}] * 3 + [{}] * 6
    better = [{"pricing_perception": "risk"}] * 6 + [{}] * 6
    examples = [_example(g) for g in gold]
    same = paired_change(examples, [_result(p) for p in worse], [_result(p) for p in worse])
    assert same["macro_f1"]["change"] == 0 and same["macro_f1"]["change_ci"] == [0.0, 0.0]
    out = paired_change(examples, [_result(p) for p in worse], [_result(p) for p in better])
    m = out["macro_f1"]
    alone = dev_scores(examples, [_result(p) for p in worse])
    assert m["before"] == pytest.approx(alone["macro_f1"])
    assert m["change"] == pytest.approx((1 - 2 / 3) / len(BUCKETS), abs=1e-4)
    # Every resample holds the same units for both models, so the better one never loses.
    assert 0 <= m["change_ci"][0] <= m["change"] <= m["change_ci"][1]
    assert out["polarity_accuracy"]["change"] == 0
    by_bucket = paired_change(
        examples, [_result(p) for p in worse], [_result(p) for p in better], per_bucket=True
    )
    assert by_bucket["f1:pricing_perception"]["change"] == pytest.approx(1 - 2 / 3, abs=1e-4)
    assert by_bucket["f1:renewal_likelihood"]["change"] == 0
    assert "f1:pricing_perception" not in out


def test_paired_change_of_means_compares_each_sides_mean_over_its_builds():
    gold = [{"pricing_perception": "risk"}] * 6 + [{}] * 6
    worse = [_result(p) for p in [{}] * 3 + [{"pricing_perception": "risk"}] * 3 + [{}] * 6]
    better = [_result(p) for p in [{"pricing_perception": "risk"}] * 6 + [{}] * 6]
    examples = [_example(g) for g in gold]
    one = paired_change(examples, worse, better)["macro_f1"]
    # two builds per side, one of each kind on the candidate's side: half the change
    out = paired_change_of_means(examples, [worse, worse], [worse, better])["macro_f1"]
    assert out["before"] == one["before"]
    assert out["change"] == pytest.approx(one["change"] / 2, abs=1e-4)
    assert 0 <= out["change_ci"][0] <= out["change"] <= out["change_ci"][1]


def test_every_labelled_row_resolves_to_its_text_and_the_parts_are_fixed():
    labels = S.devset_dir / "labels.jsonl"
    rows = [json.loads(x) for x in labels.read_text().splitlines()]
    assert len(rows) >= 1500
    assert sum(r["dataset"] == "b2b" for r in rows) >= 400
    examples = load_devset(labels, S.datasets_dir)
    assert len(examples) == len(rows)
    for bucket in BUCKETS:
        assert sum(e.truth[bucket] is not None for e in examples) >= 60, bucket
    parts = {p: len(load_devset(labels, S.datasets_dir, part=p)) for p in PARTS}
    assert sum(parts.values()) == len(rows) and min(parts.values()) > 700
    # The split is a pure function of the row's group: it never moves.
    assert dev_part("b2b", "https://example.org/issue/1") == dev_part(
        "b2b", "https://example.org/issue/1"
    )


def test_no_dev_row_is_a_held_out_row():
    labelled = {
        (r["dataset"], r["row_id"])
        for r in map(json.loads, (S.devset_dir / "labels.jsonl").read_text().splitlines())
    }
    for source in SOURCES:
        split = {r["row_id"]: r["split"] for r in load_rows(S.datasets_dir, source)}
        assert all(split[rid] == "train" for s, rid in labelled if s == source), source


def test_a_changed_text_is_refused(tmp_path):
    row = json.loads((S.devset_dir / "labels.jsonl").read_text().splitlines()[0])
    row["text_sha1"] = sha1_text("something else")
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(InvalidInput, match="text changed"):
        load_devset(path, S.datasets_dir)


def test_unknown_part_is_refused():
    with pytest.raises(InvalidInput, match="known: tune, report"):
        load_devset(S.devset_dir / "labels.jsonl", S.datasets_dir, part="test")
