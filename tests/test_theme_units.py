"""Which units may form a theme, how the smallest theme adapts, and theme/text fields of the
coding output. Pure functions: no model, no database."""

from __future__ import annotations

import pytest

from themecoder.domain import Item, ItemResult, ThemeRef, Unit, UnitResult
from themecoder.pipeline.theme_units import Use, content_words, unit_use, unit_uses
from themecoder.pipeline.themes import MIN_UNITS, ThemeParams
from themecoder.records import flat_row, records


@pytest.mark.parametrize(
    "text",
    [
        "Um.",
        "Oh, yeah.",
        "Great.",
        "Hi, good afternoon!",
        "Thanks, [PERSON]. Bye now.",
        "[laughs] Partly, things.",
        "Sure, that's fine. Let me think.",
        "Okay, so, talk to you soon. Bye!",
        "-",
        "",
    ],
)
def test_small_talk_and_fillers_are_never_themed(text):
    assert unit_use(text) == Use.SKIP


def test_short_units_join_themes_and_content_units_form_them():
    assert unit_use("Too expensive.") == Use.ASSIGN
    assert unit_use("Hi [PERSON], the dashboard is slow.") == Use.ASSIGN  # two content words
    assert unit_use("The SSO setup guide jumps between Okta and Azure screenshots.") == Use.FIT
    assert content_words("Hi [PERSON], the dashboards' filters are slow!") == (
        ["dashboards", "filters", "slow"],
        6,  # words, the placeholder left out
    )
    long_small_talk = "Yes, well, I think, um, you know, it's, like, honestly, partly the setup."
    assert unit_use(long_small_talk) == Use.ASSIGN  # one content word in fifteen
    assert unit_uses(["Um.", "Too expensive.", "Sync failures every week since May."]).tolist() == [
        Use.SKIP,
        Use.ASSIGN,
        Use.FIT,
    ]


@pytest.mark.parametrize(
    ("n", "size", "neighbours"),
    [(20, 3, 6), (45, 3, 15), (90, 6, 15), (149, 9, 15), (150, 10, 15), (5000, 10, 15)],
)
def test_smallest_theme_adapts_to_the_number_of_units(n, size, neighbours):
    p = ThemeParams().for_units(n)
    assert (p.min_topic_size, p.n_neighbors) == (size, neighbours)
    assert p.min_units <= n  # every study of MIN_UNITS or more units can be fitted
    assert p.for_units(n) == p


def test_fixed_parameters_and_the_floor():
    fixed = ThemeParams(min_topic_size=8, adaptive=False)
    assert fixed.for_units(45) is fixed
    assert ThemeParams().for_units(5).min_units == MIN_UNITS == 20


def _result(themes: list[ThemeRef] | None) -> ItemResult:
    text = "Sync failed again. Please refund us."
    units = [
        UnitResult(Unit("T-1", 0, 0, 18, text[:18]), [], "negative", -0.5, "frustration"),
        UnitResult(Unit("T-1", 1, 19, len(text), text[19:]), [], "neutral", 0.0, "request"),
    ]
    units[0].themes = themes
    units[1].themes = None if themes is None else []
    return ItemResult(Item("T-1", text), units, [], "negative", -0.4, "frustration")


def test_item_records_include_the_text_on_request_and_unit_themes_when_there_are_any():
    plain, with_text = (records([_result(None)], "item", "v", with_text=w)[0] for w in (0, 1))
    assert "text" not in plain and with_text["text"] == "Sync failed again. Please refund us."
    assert all("themes" not in u for u in plain["units"])  # the project has no themes
    assert "themes" not in flat_row(plain)
    themed = records([_result([ThemeRef(4, "sync failures", 0.71)])], "item", "v")[0]
    assert themed["units"][0]["themes"] == [{"id": 4, "label": "sync failures", "score": 0.71}]
    assert themed["units"][1]["themes"] == []
    assert flat_row(themed)["themes"] == "sync failures"
    unit = records([_result([ThemeRef(4, "sync failures", 0.71)])], "unit", "v")
    assert [u.get("themes") for u in unit] == [
        [{"id": 4, "label": "sync failures", "score": 0.71}],
        [],
    ]
    assert flat_row(unit[0])["themes"] == "sync failures"


def test_a_study_names_files_and_days_in_utc():
    from datetime import UTC, datetime, timedelta, timezone

    from themecoder.errors import InvalidInput
    from themecoder.services.themes import Study

    study = Study(("data/sample/a.txt", "a.txt", "b.txt"), since=datetime(2026, 1, 1))
    assert study.sources == ("a.txt", "b.txt")
    assert study.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert study.describe() == "sources a.txt, b.txt from 2026-01-01"
    assert Study().describe() is None
    with pytest.raises(InvalidInput, match="not before"):
        Study(since=datetime(2026, 5, 1), until=datetime(2026, 4, 1, tzinfo=UTC))
    far = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))
    with pytest.raises(InvalidInput, match="out of range"):
        Study(until=far)
