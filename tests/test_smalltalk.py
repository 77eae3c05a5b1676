"""The small-talk rule: greetings, thanks and sign-offs only; a word with meaning keeps a unit."""

from __future__ import annotations

import pytest

from themecoder.pipeline.smalltalk import is_small_talk


@pytest.mark.parametrize(
    "text",
    [
        "Bye.",
        "Goodbye!",
        "Thanks, bye!",
        "Okay, have a good one",
        "Thank you so much for your time today.",
        "hi everyone",
        "Great, thanks!",
    ],
)
def test_greetings_thanks_and_sign_offs_are_small_talk(text: str) -> None:
    assert is_small_talk(text)


@pytest.mark.parametrize(
    "text",
    [
        "Never again.",
        "hello? anyone still there?",
        "ok, thanks for nothing then",
        "Renewing, thanks!",
        "Pretty good for $30.",
        "See you at the QBR",
        "",
        "...",
        "thanks " * 20,  # long: a unit that size is not a sign-off
    ],
)
def test_a_word_with_meaning_or_no_words_is_not_small_talk(text: str) -> None:
    assert not is_small_talk(text)
