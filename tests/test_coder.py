"""The shipped coder end to end: output contract, evidence in place, bad input, DataFrames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS, Item
from themecoder.records import item_record, unit_record

pytestmark = pytest.mark.model

CLEAR = {
    "pricing_perception": "The new per-seat pricing doubles our bill, that's outrageous.",
    "support_friction": "Third ticket about the same sync error and nobody answers.",
    "renewal_likelihood": "We're evaluating other vendors before the contract ends.",
    "onboarding_clarity": "I couldn't figure out where the SSO setup lives.",
    "value_realization": "It saves my team about ten hours a week.",
    "upsell_readiness": "Can we add the analytics module for two more teams?",
}


def test_clear_examples_get_their_bucket(coder):
    results = coder.code(list(CLEAR.values()))
    for (bucket, _), res in zip(CLEAR.items(), results, strict=True):
        assert bucket in {c.bucket for c in res.buckets}, (bucket, res.buckets)


def test_polarity_and_sentiment_follow_the_meaning(coder):
    risk, good = coder.code(
        [
            "Great, another outage. Third one this week.",
            "Support fixed it within an hour, fantastic service.",
        ]
    )
    sf = {c.bucket: c for c in risk.buckets}["support_friction"]
    assert sf.polarity == "risk" and risk.sentiment == "negative" and risk.sentiment_score < 0
    sf = {c.bucket: c for c in good.buckets}["support_friction"]
    assert sf.polarity == "positive" and good.sentiment == "positive" and good.sentiment_score > 0


def test_small_talk_gets_no_bucket_but_a_short_signal_does(coder):
    """ "Bye." sits near leaving in the encoder's space; the guideline gives it no bucket."""
    bye, goodbye, thanks, never = coder.code(
        ["Bye.", "Goodbye.", "Thanks, talk soon!", "Never again. Cancelling today."]
    )
    assert bye.buckets == goodbye.buckets == thanks.buckets == []
    assert bye.sentiment in SENTIMENTS  # still coded for sentiment and expression
    assert "renewal_likelihood" in {c.bucket for c in never.buckets}


def test_item_record_contract(coder):
    text = (
        "Hi all, thanks for making the time to talk with us again this week about the account. "
        "The new per-seat pricing doubles our bill. "
        "I'll send the file with the list of teams tomorrow morning, once legal has signed off on "
        "sharing it with you and the procurement people have had a look at the numbers as well."
    )
    assert len(text) > 280  # long enough to be split into sentence units
    (res,) = coder.code([Item(id="t-1", text=text, metadata={"plan": "team"})])
    rec = item_record(res, coder.version)
    assert set(rec) >= {"id", "buckets", "sentiment", "expression", "units"}
    assert rec["id"] == "t-1" and rec["metadata"] == {"plan": "team"}
    assert rec["sentiment"]["label"] in SENTIMENTS and -1 <= rec["sentiment"]["score"] <= 1
    assert rec["expression"] in EXPRESSIONS
    assert len(rec["units"]) == 3
    code = rec["buckets"]["pricing_perception"]
    assert code["polarity"] in POLARITIES and 0 <= code["confidence"] <= 1
    ev = code["evidence"]
    assert (
        text[ev["start"] : ev["end"]] == ev["text"] == "The new per-seat pricing doubles our bill."
    )
    assert 1 <= len(code["reasons"]) <= 3
    assert all(isinstance(r["text"], str) and -1 <= r["similarity"] <= 1 for r in code["reasons"])
    assert set(rec["buckets"]) <= set(BUCKETS)


def test_short_message_is_one_unit_long_text_is_split(coder):
    short = "Onboarding was painless. Support never answers though."
    long = " ".join([short] * 6)
    rs, rl = coder.code([short, long])
    assert len(rs.units) == 1 and rs.units[0].unit.text == short
    assert len(rl.units) == 12


def test_unit_records_carry_item_id_and_offsets(coder):
    text = " ".join(["Onboarding was painless. Support never answers though."] * 6)
    (res,) = coder.code([Item(id="x", text=text)])
    recs = [unit_record(res, u, coder.version) for u in res.units]
    assert [r["item_id"] for r in recs] == ["x"] * 12
    for r in recs:
        assert text[r["start"] : r["end"]] == r["text"]


def test_empty_text_is_coded_with_a_warning_not_a_crash(coder):
    empty, blank, ok = coder.code(["", "   \n ", "Fine."])
    for res in (empty, blank):
        assert res.buckets == [] and res.units == [] and res.warnings
        assert res.sentiment == "neutral" and res.sentiment_score == 0.0
    assert not ok.warnings


def test_uncoded_items_are_kept_but_not_coded(coder):
    q = Item(id="q", text="How much do you pay today?", speaker="Interviewer", coded=False)
    a = Item(id="a", text="Honestly the price is too high for what we get.")
    rq, ra = coder.code([q, a])
    assert rq.units == [] and rq.buckets == [] and not rq.warnings
    assert "pricing_perception" in {c.bucket for c in ra.buckets}


def test_one_embedding_per_unit(coder):
    calls = []
    real = coder.embedder.encode

    def counting(texts, *a, **k):
        calls.append(len(texts))
        return real(texts, *a, **k)

    coder.embedder.encode = counting
    try:
        results = coder.code([" ".join(["One sentence here."] * 20), "Four.", ""])
    finally:
        coder.embedder.encode = real
    assert sum(calls) == sum(len(r.units) for r in results) == 21
    assert all(u.embedding.shape == (768,) for r in results for u in r.units)  # all-mpnet-base-v2
    assert np.allclose(np.linalg.norm(results[0].units[0].embedding), 1, atol=1e-4)


def test_code_frame_returns_a_row_per_input_with_metadata(coder):
    df = pd.DataFrame({"id": [7, 8], "text": ["Worth every penny.", None], "plan": ["pro", "team"]})
    out = coder.code_frame(df, text_column="text", id_column="id")
    assert list(out["id"]) == ["7", "8"] and list(out["plan"]) == ["pro", "team"]
    for bucket in BUCKETS:
        assert {bucket, f"{bucket}_confidence", f"{bucket}_evidence"} <= set(out.columns)
    assert out.loc[1, "n_units"] == 0
    units = coder.code_frame(df, text_column="text", level="unit")
    assert len(units) == 1 and units.loc[0, "text"] == "Worth every penny."


def test_code_frame_missing_column_lists_columns(coder):
    from themecoder.errors import MissingColumn

    with pytest.raises(MissingColumn, match="columns: id, body"):
        coder.code_frame(pd.DataFrame({"id": [1], "body": ["x"]}), text_column="text")


def test_a_unit_that_says_two_things_gets_both_codes(coder):
    text = (
        "The new per-seat pricing doubles our bill. "
        "Honestly we are looking at other vendors before the contract ends."
    )
    (res,) = coder.code([text])
    codes = {c.bucket: c.polarity for c in res.buckets}
    assert codes["pricing_perception"] == "risk" and codes["renewal_likelihood"] == "risk"


def test_with_sentence_scoring_each_code_has_its_sentence_as_evidence(coder):
    from themecoder.coder import Coder
    from themecoder.config import Settings

    sentences = Coder.load(Settings(score_sentences=True), embedder=coder.embedder)
    text = (
        "The new per-seat pricing doubles our bill. "
        "Honestly we are looking at other vendors before the contract ends."
    )
    (res,) = sentences.code([text])
    (unit,) = res.units
    assert len(unit.unit.parts) == 2
    codes = {c.bucket: c for c in res.buckets}
    assert codes["pricing_perception"].polarity == "risk"
    assert codes["renewal_likelihood"].polarity == "risk"
    price, renew = codes["pricing_perception"].evidence, codes["renewal_likelihood"].evidence
    assert price["text"] == text[price["start"] : price["end"]]
    assert price["text"] == "The new per-seat pricing doubles our bill."
    assert renew["text"].startswith("Honestly we are looking at other vendors")
