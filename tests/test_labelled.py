"""Labelled data: the hold-out rule, the project's data against the guideline's quotas."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from themecoder.config import Settings
from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS
from themecoder.errors import InvalidInput, NotFound
from themecoder.labelled import EXTERNAL, load_own, split_of


def test_split_rule_is_sha1_mod_5():
    for text in ["a", " padded text ", "We plan to renew."]:
        held = int(hashlib.sha1(text.strip().encode()).hexdigest(), 16) % 5 == 0
        assert split_of(text) == ("test" if held else "train")


def test_own_data_meets_the_issue_quotas():
    own = load_own(Settings().training_dir)
    per_bucket = Counter(b for e in own for b, p in e.truth.items() if p)
    per_polarity = Counter((b, p) for e in own for b, p in e.truth.items() if p)
    assert all(per_bucket[b] >= 150 for b in BUCKETS), per_bucket
    assert all(per_polarity[(b, p)] >= 30 for b in BUCKETS for p in POLARITIES), per_polarity
    assert sum(1 for e in own if not any(e.truth.values())) >= 300
    assert {e.sentiment for e in own} == set(SENTIMENTS)
    assert {e.expression for e in own} == set(EXPRESSIONS)
    assert len({e.text for e in own}) == len(own)


def test_own_data_holds_no_airline_tweet_and_few_airline_units():
    """Airline tweets are evaluation data (CC BY-NC-SA): no own unit is one of them, and the
    project's own airline-domain units (written for the social and review registers) stay a
    small, stated share: 139 of 19,509 in December 2026, under 1%."""
    s = Settings()
    own = load_own(s.training_dir)
    tweets = {e.text.strip().lower() for e in EXTERNAL["airline"].loader(s.datasets_dir)}
    assert not [e.text for e in own if e.text.strip().lower() in tweets]
    airline = [e for e in own if any(w in e.text.lower() for w in ("flight", "airline"))]
    assert len(airline) / len(own) < 0.01


def test_banking77_uses_the_official_split_and_strong_maps_only():
    rows = EXTERNAL["banking77"].loader(Settings().datasets_dir)
    assert Counter(e.split for e in rows) == {"train": 10003, "test": 3080}
    churn = [e for e in rows if e.text == "I want to close my account."]
    assert all(e.truth.get("renewal_likelihood") == "risk" for e in churn)
    assert EXTERNAL["banking77"].shippable
    assert not any(EXTERNAL[n].shippable for n in EXTERNAL if n != "banking77")


GOOD = (
    '{"text": "The renewal is approved.", "channel": "email", '
    '"buckets": {"renewal_likelihood": "positive"}, "sentiment": "positive", '
    '"expression": "satisfaction"}'
)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "cut off', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"text": "Too dear.", "buckets": {}}', "missing sentiment, expression"),
        (GOOD.replace("renewal_likelihood", "renewal"), "unknown bucket 'renewal'"),
        (GOOD.replace('"positive"}', '"good"}'), "unknown polarity 'good'"),
        (GOOD.replace('"sentiment": "positive"', '"sentiment": "angry"'), "sentiment 'angry'"),
        (GOOD.replace('"expression": "satisfaction"', '"expression": 3'), "expression 3"),
        (GOOD.replace("The renewal is approved.", " "), "text must be a non-empty string"),
        (GOOD.replace('{"renewal_likelihood": "positive"}', '["x"]'), "buckets must be"),
    ],
)
def test_a_bad_training_line_is_an_error_naming_its_file_and_line(tmp_path, line, problem):
    """A misspelt bucket used to train as that bucket absent, a bad polarity to fail after
    the embedding with a bare ValueError; now every line is checked before anything runs."""
    (tmp_path / "a.jsonl").write_text(f"{GOOD}\n\n{line}\n", encoding="utf-8")

    with pytest.raises(InvalidInput, match="bad line") as info:
        load_own(tmp_path)

    assert f"{tmp_path / 'a.jsonl'}:3: " in info.value.message
    assert problem in info.value.message


def test_good_training_lines_load_and_bad_ones_are_all_listed(tmp_path):
    (tmp_path / "a.jsonl").write_text(GOOD + "\n", encoding="utf-8")
    assert [e.truth["renewal_likelihood"] for e in load_own(tmp_path)] == ["positive"]

    (tmp_path / "b.jsonl").write_text("{\n" * 12, encoding="utf-8")
    with pytest.raises(InvalidInput, match="12 bad line") as info:
        load_own(tmp_path)
    assert "... and 2 more" in info.value.message


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_no_training_files_names_the_setting(tmp_path, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="THEMECODER_TRAINING_DIR"):
        load_own(tmp_path / folder)
