"""Themes of a study: sources and a period narrow the units fitted, a study of 45 units gets
themes, small talk never forms or represents one, and no theme comes without a word why.

The units are embedded once (module fixture) with the base sentence encoder, the one themes
use; each test stores them in its own SQLite file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from theme_corpus import BILLING, DASHBOARD, SMALL_TALK, SSO
from themecoder.cli import app
from themecoder.config import Settings
from themecoder.domain import Item, ItemResult, Unit, UnitResult
from themecoder.errors import NotFound
from themecoder.pipeline.theme_units import Use, unit_use
from themecoder.pipeline.themes import NullThemeModel, TooFewUnits
from themecoder.services.coding import store_results
from themecoder.services.themes import Study, discover, label_results
from themecoder.storage import UnitRecord, UnitThemeRecord, make_engine, session_factory


@pytest.fixture(scope="module")
def vectors() -> dict[str, np.ndarray]:
    from themecoder.artifact import load_artifact
    from themecoder.pipeline.embed import make_embedder

    s = Settings()
    texts = list(dict.fromkeys(SSO + BILLING + DASHBOARD + SMALL_TALK))
    X = make_embedder(s, load_artifact(s.model_dir), base=True).encode(texts)
    return dict(zip(texts, np.asarray(X, dtype=np.float32), strict=True))


def _store(s: Settings, vectors: dict[str, np.ndarray], rows: list[tuple[str, str, str]]) -> None:
    """Store ``(source, created_at, text)`` rows, one item and unit each."""
    results = [
        ItemResult(
            Item(f"{src}-{i}", t, {"created_at": at}, source=src),
            [
                UnitResult(
                    Unit(f"{src}-{i}", 0, 0, len(t), t),
                    [],
                    "neutral",
                    0.0,
                    "none",
                    embedding=vectors[t],
                )
            ],
            [],
            "neutral",
            0.0,
            "none",
        )
        for i, (src, at, t) in enumerate(rows)
    ]
    store_results(s, results, "study", "test", "unit")


def _rows(s: Settings) -> dict[str, list[int]]:
    """Each stored unit's text and its themes."""
    engine = make_engine(s.db_url)
    try:
        with session_factory(engine)() as session:
            texts = dict(session.execute(select(UnitRecord.id, UnitRecord.text)).all())
            out: dict[str, list[int]] = {t: [] for t in texts.values()}
            for r in session.scalars(select(UnitThemeRecord)):
                out[texts[r.unit_id]].append(r.theme_id)
            return out
    finally:
        engine.dispose()


def _corpus() -> list[tuple[str, str, str]]:
    """A study (a.txt and b.txt, spring) of 45 content units and 12 of small talk, and units
    outside it: c.txt, and a.txt's autumn."""
    study = SSO + BILLING + DASHBOARD + SMALL_TALK
    rows = [("a.txt" if i % 2 else "b.txt", "2026-04-10", t) for i, t in enumerate(study)]
    rows += [("c.txt", "2026-04-10", t) for t in SSO[:5]]
    rows += [("a.txt", "2026-10-01", t) for t in BILLING[:5]]
    return rows


def test_a_study_of_45_units_gets_themes_without_small_talk(settings, vectors):
    _store(settings, vectors, _corpus())
    study = Study(("data/a.txt", "b.txt"), since=_day("2026-04-01"), until=_day("2026-05-01"))
    found = discover(settings, study=study)
    assert study.sources == ("a.txt", "b.txt")  # a path names its file
    assert (found.n_units, found.n_fitted, found.n_skipped) == (57, 45, 12)
    assert found.study == "sources a.txt, b.txt from 2026-04-01 until 2026-05-01"
    assert found.min_theme_size == 3 and found.message is None
    assert len(found.themes) >= 2
    for theme in found.themes:
        assert all(unit_use(q) == Use.FIT for q in theme.quotes)
        assert not set(q for q in theme.quotes) & set(SMALL_TALK)
    themed = _rows(settings)
    assert all(not themed[t] for t in SMALL_TALK)  # small talk never joins a theme
    assert sum(bool(themed[t]) for t in SSO + BILLING + DASHBOARD) >= 40
    words = {k for t in found.themes for k in " ".join(t.keywords).split()}
    assert {"invoice", "dashboard"} & words and not words & {"um", "yeah", "hi", "bye"}


def test_units_outside_the_study_are_not_fitted(settings, vectors):
    _store(settings, vectors, _corpus())
    found = discover(settings, model=NullThemeModel(), study=Study(("c.txt", "a.txt")))
    assert found.n_units == 28 + 5 + 5 and found.themes == []
    spring = discover(settings, model=NullThemeModel(), study=Study(until=_day("2026-05-01")))
    assert spring.n_units == 57 + 5


def test_no_themes_comes_with_a_reason_and_what_to_try(settings, vectors):
    _store(settings, vectors, _corpus())
    found = discover(settings, model=NullThemeModel())
    assert found.themes == [] and found.message
    assert "no themes" in found.message and "--min-theme-size" in found.message
    with pytest.raises(NotFound, match=r"no stored items come from nope.txt; sources: a.txt"):
        discover(settings, study=Study(("nope.txt",)))


def test_a_study_of_small_talk_is_refused_with_the_reason(settings, vectors):
    _store(settings, vectors, [("chat.txt", "2026-04-10", t) for t in SMALL_TALK * 3])
    with pytest.raises(TooFewUnits, match="36 units, 0 with enough content .* small talk"):
        discover(settings)


def test_cli_discovers_a_study_and_says_how_many_units_were_left_out(settings, vectors):
    _store(settings, vectors, _corpus())
    result = CliRunner().invoke(
        app,
        [
            "themes",
            "discover",
            "--source",
            "a.txt",
            "--source",
            "b.txt",
            "--since",
            "2026-04-01",
            "--until",
            "2026-05-01",
            "--db",
            settings.db_url,
        ],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "57 units of sources a.txt, b.txt from 2026-04-01 until 2026-05-01" in text
    assert "45 clustered (smallest theme 3), 12 small talk or fillers left out" in text


def test_coded_units_carry_the_nearest_themes(settings, vectors):
    unit = UnitResult(
        Unit("x", 0, 0, 10, SSO[0]), [], "neutral", 0.0, "none", embedding=vectors[SSO[0]]
    )
    filler = UnitResult(
        Unit("x", 1, 11, 14, "Um."), [], "neutral", 0.0, "none", embedding=vectors["Um."]
    )
    result = ItemResult(Item("x", SSO[0] + " Um."), [unit, filler], [], "neutral", 0.0, "none")
    assert label_results(settings, [result]) is False  # no themes yet
    assert unit.themes is None
    _store(settings, vectors, _corpus())
    themes = {t.id: t for t in discover(settings).themes}
    assert label_results(settings, [result]) is True
    assert unit.themes and filler.themes == []
    first = themes[unit.themes[0].id]
    assert unit.themes[0].label == first.label and unit.themes[0].score > 0.35
    assert any(w in " ".join(first.keywords) for w in ("sso", "log", "okta", "sign"))


def _day(text: str) -> Any:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC)
