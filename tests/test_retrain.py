"""Retraining on review decisions: corrections -> examples, hold-out, refusals, a real retrain."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest

from themecoder.artifact import artifact_hash, load_artifact
from themecoder.config import Settings
from themecoder.errors import InvalidInput
from themecoder.labelled import split_of
from themecoder.review.promotion import should_promote
from themecoder.services.retrain import (
    REVIEW_WEIGHT,
    Correction,
    RetrainReport,
    corrections_to_examples,
    retrain,
)

# A deliberately consistent reviewer: small display defects in exports are bug reports, so
# support_friction risk (SIGNALS.md); thank-you-and-logistics notes get no bucket. The shipped
# model misses many of these defects (coder-2.18640-5aeaea7a: 13 of the 23 held-out ones; it
# finds every blunter glitch, "the totals row is missing", so those would leave it nothing to
# learn).
GLITCHES = [
    f"When I {a} the {o}, {g}."
    for a, o, g in itertools.product(
        ["export", "print", "share", "schedule", "download", "email"],
        ["dashboard", "report", "chart", "table"],
        [
            "the colours look a bit washed out",
            "the font comes out slightly smaller",
            "the logo sits a little off-centre",
            "the gridlines look faint",
            "the title wraps onto two lines",
        ],
    )
]
LOGISTICS = [
    f"Thanks {n}, I'll send {t} {w}."
    for n, t, w in itertools.product(
        ["Ana", "Ben", "Chloe", "Dev", "Emma", "Farid"],
        ["the slides", "the meeting notes", "the agenda", "the signed form", "the contact list"],
        ["tomorrow morning", "after lunch", "on Friday", "next week", "by end of day"],
    )
]


def _held(text: str) -> bool:
    return split_of(text) == "test"


def _pattern(glitch: str | None, logistics: str | None, held_too: bool = True) -> list[Correction]:
    """Train-split decisions by the given labels; held-out ones always by the true pattern."""
    out = []
    for text, label in [*((t, glitch) for t in GLITCHES), *((t, logistics) for t in LOGISTICS)]:
        if not _held(text):
            out.append(Correction(text, {"support_friction": label}))
    if held_too:
        out += [Correction(t, {"support_friction": "risk"}) for t in GLITCHES if _held(t)]
        # pricing is decided absent on these units and present on none: it has no F1.
        out += [
            Correction(t, {"support_friction": None, "pricing_perception": None})
            for t in LOGISTICS
            if _held(t)
        ]
    return out


# ---------------------------------------------------------------- corrections -> examples
def test_corrections_of_one_text_merge_bucket_by_bucket_later_wins():
    text = "The invoice doubled and support never answered."
    examples = corrections_to_examples(
        [
            Correction(text, {"pricing_perception": "neutral", "support_friction": "risk"}),
            Correction("Another unit.", {"value_realization": None}),
            Correction(f"  {text}\n", {"pricing_perception": "risk"}, {"pricing_perception": "n"}),
        ]
    )
    assert [e.text for e in examples] == [text, "Another unit."]
    first = examples[0]
    assert first.truth == {"support_friction": "risk", "pricing_perception": "risk"}
    assert first.source == "review"
    assert first.sentiment is None and first.expression is None
    assert examples[1].truth == {"value_realization": None}  # absent is a decision too


def test_review_examples_follow_the_project_hold_out_rule():
    texts = GLITCHES + LOGISTICS
    examples = corrections_to_examples([Correction(t, {"support_friction": None}) for t in texts])
    for text, ex in zip(texts, examples, strict=True):
        digest = int(hashlib.sha1(text.strip().encode()).hexdigest(), 16)
        assert ex.split == ("test" if digest % 5 == 0 else "train") == split_of(text)
    share = sum(e.split == "test" for e in examples) / len(examples)
    assert 0.1 < share < 0.3  # about one in five


@pytest.mark.parametrize(
    ("correction", "message"),
    [
        (Correction("Fine.", {"churn": "risk"}), "unknown bucket"),
        (Correction("Fine.", {"renewal_likelihood": "negative"}), "polarity"),
        (Correction("   ", {"renewal_likelihood": None}), "empty"),
    ],
)
def test_malformed_corrections_are_refused(correction, message):
    with pytest.raises(InvalidInput, match=message):
        corrections_to_examples([correction])


# ---------------------------------------------------------------- refusals (no model needed)
def test_retrain_needs_corrections(tmp_path):
    with pytest.raises(InvalidInput, match="no review decisions"):
        retrain(Settings(cache_dir=tmp_path), [], tmp_path / "out")


def test_retrain_needs_held_out_reviewed_units(tmp_path):
    train_only = _pattern("risk", None, held_too=False)
    with pytest.raises(InvalidInput, match="no held-out reviewed units"):
        retrain(Settings(cache_dir=tmp_path), train_only, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # refused before any training


def test_retrain_needs_a_bucket_present_on_held_out_units(tmp_path):
    absent = [Correction(t, {"support_friction": None}) for t in GLITCHES + LOGISTICS]
    with pytest.raises(InvalidInput, match="no bucket present"):
        retrain(Settings(cache_dir=tmp_path), absent, tmp_path / "out")


def test_retrain_never_writes_the_current_model(tmp_path):
    s = Settings(cache_dir=tmp_path)
    with pytest.raises(InvalidInput, match="current model's folder"):
        retrain(s, _pattern("risk", None), s.model_dir)


def test_report_is_json_ready(tmp_path):
    report = RetrainReport(True, {"a": 0.5}, {"a": 0.6}, {"a": 0.1}, "v", tmp_path, 3, 1)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["path"] == str(tmp_path) and data["n_train"] == 3 and data["promote"] is True


# ---------------------------------------------------------------- real retraining
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Settings with a fresh embedding cache, shared by the two retrains below."""
    return Settings(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.mark.model
@pytest.mark.slow
def test_consistent_corrections_move_the_bucket_and_the_candidate_is_promoted(
    coder, small, tmp_path
):
    shipped_hash = artifact_hash(small.model_dir)
    corrections = _pattern("risk", None)
    out = tmp_path / "candidate"
    report = retrain(small, corrections, out, current=coder, own_limit=200)

    n_held = sum(_held(t) for t in GLITCHES + LOGISTICS)
    assert (report.n_train, report.n_heldout) == (len(GLITCHES) + len(LOGISTICS) - n_held, n_held)
    # pricing is known on held-out units but never present: left out of the comparison.
    assert list(report.before) == list(report.after) == ["support_friction"]
    before, after = report.before["support_friction"], report.after["support_friction"]
    # The shipped model already finds most glitches; the candidate must close what it misses.
    assert after > before and after >= 0.95, (before, after)
    decision = should_promote(report.before, report.after)
    assert report.promote is decision.promote is True
    assert report.deltas == pytest.approx(decision.deltas, abs=1e-4)

    assert report.path == out and report.version != coder.version
    config = load_artifact(out).config
    assert config["version"] == report.version
    review = next(src for src in config["sources"] if src["name"] == "review")
    assert (review["train_rows"], review["weight"]) == (report.n_train, REVIEW_WEIGHT)
    saved = json.loads((out / "retrain_report.json").read_text())
    assert saved == json.loads(json.dumps(report.to_dict()))
    assert artifact_hash(small.model_dir) == shipped_hash  # the current model is untouched


@pytest.mark.model
@pytest.mark.slow
def test_contradicting_corrections_make_a_worse_candidate_that_is_not_promoted(
    coder, small, tmp_path
):
    # The training decisions say the opposite of the held-out ones.
    report = retrain(small, _pattern(None, "risk"), tmp_path / "bad", current=coder, own_limit=200)
    assert report.after["support_friction"] < report.before["support_friction"]
    assert report.promote is should_promote(report.before, report.after).promote is False
