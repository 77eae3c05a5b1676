"""Segmentation: sentence units whose offsets point back into the original text."""

from __future__ import annotations

import pytest

from themecoder.pipeline.base import Segmenter
from themecoder.pipeline.segment import SpacySegmenter, WholeTextSegmenter


@pytest.fixture(scope="module")
def seg() -> SpacySegmenter:
    return SpacySegmenter(max_chars=200)


def test_units_keep_offsets_into_original_text(seg):
    text = "  Hello team.\n\nThe new pricing doubles our bill!  Can we talk?  "
    units = seg.segment(text, "t1")
    assert [u.text for u in units] == [
        "Hello team.",
        "The new pricing doubles our bill!",
        "Can we talk?",
    ]
    for u in units:
        assert text[u.start : u.end] == u.text
        assert u.item_id == "t1"
    assert [u.index for u in units] == [0, 1, 2]


def test_a_transcript_note_stays_whole_with_the_sentence_before_it(seg):
    # spaCy's sentence splitter cut this turn of a sample interview after "now. [".
    text = (
        "It would be very hard to take it away now. [pause] The only thing I would say, the "
        "pricing in dollars is a bit annoying for us."
    )
    units = seg.segment(text, "t")
    assert [u.text for u in units] == [
        "It would be very hard to take it away now. [pause]",
        "The only thing I would say, the pricing in dollars is a bit annoying for us.",
    ]
    assert all(text[u.start : u.end] == u.text for u in units)
    many = seg.segment_many([(text, "t"), ("Fine (laughs). We renewed.", "u")])
    assert [u.text for u in many[0]] == [u.text for u in units]
    assert [u.text for u in many[1]] == ["Fine (laughs).", "We renewed."]


def test_empty_and_whitespace_give_no_units(seg):
    assert seg.segment("", "a") == []
    assert seg.segment(" \n\t ", "b") == []


def test_long_sentence_is_split_at_whitespace(seg):
    text = " ".join(["word"] * 200)  # one 999-char sentence, no punctuation
    units = seg.segment(text, "x")
    assert len(units) >= 5
    assert all(len(u.text) <= 200 for u in units)
    assert all(text[u.start : u.end] == u.text for u in units)
    assert "".join(u.text for u in units).replace(" ", "") == text.replace(" ", "")


def test_one_megabyte_text_is_segmented(seg):
    sentence = "Support took three days to answer my ticket about the sync error. "
    text = sentence * (1_000_000 // len(sentence) + 1)
    assert len(text) > 1_000_000
    units = seg.segment(text, "big")
    assert len(units) > 10_000
    assert all(text[u.start : u.end] == u.text for u in units[::997])
    assert units[-1].end == len(text.rstrip())


def test_segment_many_matches_segment(seg):
    texts = [("One. Two.", "a"), ("", "b"), ("Three!", "c")]
    many = seg.segment_many(texts)
    assert [[u.text for u in us] for us in many] == [["One.", "Two."], [], ["Three!"]]


def test_every_segmenter_meets_the_protocol(seg):
    for impl in (seg, WholeTextSegmenter()):
        assert isinstance(impl, Segmenter)
        units = impl.segment("  A short note.  ", "n")
        assert units and units[0].text == "A short note."
        assert all("  A short note.  "[u.start : u.end] == u.text for u in units)


def test_a_short_message_is_one_unit_with_its_sentences_as_parts():
    seg = SpacySegmenter(whole_chars=280, parts=True)
    text = "The new per-seat pricing doubles our bill. If nobody answers by Friday we cancel."
    (unit,) = seg.segment(text, "t1")
    assert (unit.start, unit.end) == (0, len(text))
    assert [text[s:e] for s, e in unit.parts] == [
        "The new per-seat pricing doubles our bill.",
        "If nobody answers by Friday we cancel.",
    ]


def test_a_one_sentence_message_has_no_parts():
    seg = SpacySegmenter(whole_chars=280, parts=True)
    (unit,) = seg.segment("  Where do I find the SSO settings?  ", "t1")
    assert unit.parts == () and unit.text == "Where do I find the SSO settings?"
    assert seg.segment("ok :)", "t2")[0].parts == ()


def test_sentence_parts_are_off_by_default():
    seg = SpacySegmenter(whole_chars=280)
    (unit,) = seg.segment("The price doubled. We will leave.", "t1")
    assert unit.parts == ()
