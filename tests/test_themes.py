"""Themes: determinism, incremental assignment, residual proposals, lineage, clear messages.

The model tests code the sample corpus once (session ``coder``), discover themes once, and
give every test its own copy of that store, so the module runs one UMAP compile and three
fits in all.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.config import Settings
from themecoder.domain import Item, ItemResult, Unit, UnitResult
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.pipeline.theme_units import Use, content_words, unit_use
from themecoder.pipeline.themes import (
    NullThemeModel,
    ThemeModel,
    ThemeParams,
    TooFewUnits,
    assign_to_centroids,
    label_from_keywords,
)
from themecoder.services import theme_edits as edits
from themecoder.services.coding import store_results
from themecoder.services.demo import run_demo
from themecoder.services.theme_edits import theme_counts
from themecoder.services.themes import assign_new, discover, list_themes
from themecoder.storage import (
    ItemRecord,
    ThemeRecord,
    UnitRecord,
    UnitThemeRecord,
    make_engine,
    session_factory,
)
from themecoder.storage.themes import theme_lineage

MOBILE = [
    f"The mobile app on my {device} {problem}."
    for device in ("iPhone", "iPad", "Android phone", "Android tablet", "Pixel", "Galaxy phone")
    for problem in ("crashes on launch", "freezes after the update", "logs me out every hour")
]


def _settings(path: Path) -> Settings:
    return Settings(db_url=f"sqlite:///{path}")


def _copy(source: Path, tmp_path: Path) -> Settings:
    target = tmp_path / "store.db"
    shutil.copy(source, target)
    return _settings(target)


def _snapshot(s: Settings) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every theme (without its timestamp) and every unit-theme row."""
    engine = make_engine(s.db_url)
    try:
        with session_factory(engine)() as session:
            themes = [
                (t.id, t.label, t.keywords, t.quotes, t.centroid, t.status, t.bucket)
                for t in session.scalars(select(ThemeRecord).order_by(ThemeRecord.id))
            ]
            rows = [
                (r.unit_id, r.theme_id, round(r.score, 5), r.rank)
                for r in session.scalars(
                    select(UnitThemeRecord).order_by(UnitThemeRecord.unit_id, UnitThemeRecord.rank)
                )
            ]
    finally:
        engine.dispose()
    return themes, rows


def _speakers(path: Path, unit_ids: list[int]) -> set[str | None]:
    """Speakers of the items of ``unit_ids``; each item must be a customer's (coded)."""
    engine = make_engine(_settings(path).db_url)
    try:
        with session_factory(engine)() as session:
            stmt = (
                select(ItemRecord.speaker, ItemRecord.coded)
                .join(UnitRecord, UnitRecord.item_id == ItemRecord.id)
                .where(UnitRecord.id.in_(unit_ids))
            )
            rows = session.execute(stmt).all()
    finally:
        engine.dispose()
    assert rows and all(coded for _, coded in rows), "an interviewer turn is quoted"
    return {speaker for speaker, _ in rows}


def _unit_ids(s: Settings) -> list[int]:
    engine = make_engine(s.db_url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(UnitRecord.id).order_by(UnitRecord.id)))
    finally:
        engine.dispose()


def _code(coder: Any, s: Settings, texts: list[str]) -> None:
    results = coder.code([Item(id=f"new-{i}", text=t) for i, t in enumerate(texts)])
    store_results(s, results, "new", coder.version, "unit")


@pytest.fixture(scope="module")
def sample_store(coder, tmp_path_factory) -> Path:
    """The sample corpus coded and stored once, before any theme exists."""
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    run_demo(_settings(path), coder=coder)
    return path


@pytest.fixture(scope="module")
def discovered(coder, sample_store, tmp_path_factory) -> dict[str, Any]:
    """Themes discovered with the default settings on a copy of the sample store."""
    path = tmp_path_factory.mktemp("discovered") / "store.db"
    shutil.copy(sample_store, path)
    found = discover(_settings(path), embedder=coder.embedder)
    return {"path": path, "found": found, "snapshot": _snapshot(_settings(path))}


@pytest.mark.model
def test_sample_corpus_outliers_at_most_15_percent(discovered):
    found = discovered["found"]
    print(
        f"\nsample corpus: {found.n_units} units, {len(found.themes)} themes, "
        f"{found.n_unassigned} unassigned ({found.unassigned_share:.1%}); HDBSCAN outliers "
        f"before reduction {found.n_raw_outliers} ({found.n_raw_outliers / found.n_units:.1%})"
    )
    assert found.unassigned_share <= 0.15
    assert len(found.themes) >= 5
    for theme in sorted(found.themes, key=lambda t: -t.size):
        print(f"{theme.size:4d}  {theme.label}  | " + " / ".join(q[:50] for q in theme.quotes))
        assert theme.label and theme.keywords and 1 <= len(theme.quotes) <= 3
        assert theme.status == "active" and theme.size > 0
        # No junk theme ("laughs, partly, things", "talk, good afternoon, hi"): the label's
        # phrases say something (one may be an abbreviation such as "nw"), every quote does.
        empty = [k for k in theme.label.split(", ") if not content_words(k)[0]]
        assert len(empty) <= 1, theme.label
        assert all(unit_use(q) == Use.FIT for q in theme.quotes), theme.quotes
    themes, rows = discovered["snapshot"]
    quoted = [q["unit_id"] for t in themes for q in t[3]]
    assert _speakers(discovered["path"], quoted) <= {None, "[SPEAKER 1]", "[SPEAKER 2]"}
    per_unit: dict[int, list[tuple[int, float, int]]] = {}
    for unit, theme, score, rank in rows:
        per_unit.setdefault(unit, []).append((theme, score, rank))
    assert max(len(v) for v in per_unit.values()) <= ThemeParams().max_themes
    assert any(len(v) > 1 for v in per_unit.values()), "no unit carries more than one theme"
    for picks in per_unit.values():
        assert [r for _, _, r in picks] == list(range(1, len(picks) + 1))
        assert all(s >= ThemeParams().multi_threshold for _, s, r in picks if r > 1)


@pytest.mark.model
def test_discovery_is_deterministic(coder, sample_store, discovered, tmp_path):
    s = _copy(sample_store, tmp_path)
    again = discover(s, embedder=coder.embedder)
    assert [t.label for t in again.themes] == [t.label for t in discovered["found"].themes]
    assert _snapshot(s) == discovered["snapshot"]


@pytest.mark.model
def test_new_units_join_existing_themes_without_refit(coder, discovered, tmp_path):
    s = _copy(discovered["path"], tmp_path)
    themes_before, _ = _snapshot(s)
    _code(coder, s, ["SSO login with Okta fails for new users.", "My cat knocked a mug over."])
    done = assign_new(s)
    themes_after, rows = _snapshot(s)
    assert themes_after == themes_before  # no refit: themes untouched
    assert done.n_assigned >= 1
    sso, cat = _unit_ids(s)[-2:]
    first = next(t for u, t, _, r in rows if u == sso and r == 1)
    assert any("sso" in k or "okta" in k for k in {t.id: t for t in list_themes(s)}[first].keywords)
    assert not [r for r in rows if r[0] == cat]  # unrelated: left in the unassigned pool
    assert assign_new(s).n_assigned == 0  # idempotent: the pool stays the pool


@pytest.mark.model
def test_residual_discovery_proposes_themes_from_the_pool(coder, discovered, tmp_path):
    s = _copy(discovered["path"], tmp_path)
    _code(coder, s, MOBILE)
    assign_new(s)
    n_active = len(list_themes(s, statuses=("active",)))
    proposed = discover(s, residual=True, embedder=coder.embedder)
    assert proposed.themes and all(t.status == "proposed" for t in proposed.themes)
    mobile = next(t for t in proposed.themes if any("mobile" in q for q in t.quotes))
    assert len(list_themes(s, statuses=("active",))) == n_active
    with pytest.raises(Conflict, match="proposals"):
        discover(s, residual=True, embedder=coder.embedder)
    pool_before = assign_new(s).n_pool
    edits.accept(s, [mobile.id])
    assert assign_new(s).n_pool <= pool_before - mobile.size
    others = [t.id for t in proposed.themes if t.id != mobile.id]
    if others:
        assert {t.status for t in edits.reject(s, others)} == {"archived"}
    assert {t.status for t in list_themes(s, statuses=("proposed",))} == set()


@pytest.mark.model
def test_edits_keep_history_through_lineage(discovered, tmp_path):
    s = _copy(discovered["path"], tmp_path)
    a, b, c, d = (t.id for t in discovered["found"].themes[:4])
    before = theme_counts(s).set_index(["period", "code"])["count"]
    merged = edits.merge(s, [a, b], label="Dashboards and chat")
    after = theme_counts(s).set_index(["period", "code"])["count"]
    assert merged.id == a and merged.label == "Dashboards and chat"
    for period in before.index.get_level_values("period").unique():
        parents = sum(before.get((period, f"theme:{t}"), 0) for t in (a, b))
        assert after.get((period, f"theme:{a}"), 0) == parents
        assert (period, f"theme:{b}") not in after.index
    children = edits.split(s, c)
    split_counts = theme_counts(s).groupby("code")["count"].sum()
    assert sum(split_counts[ch.code] for ch in children) == before.xs(f"theme:{c}", level=1).sum()
    edits.archive(s, d)
    assert f"theme:{d} (retired)" in set(theme_counts(s)["code"])
    renamed = edits.rename(s, merged.id, "Dashboards")
    assert (renamed.id, renamed.label, renamed.version) == (a, "Dashboards", merged.version + 1)
    kinds = [e["kind"] for e in theme_lineage_rows(s)]
    assert kinds == ["create", "merge", "split", "retire"]
    statuses = {t.id: t.status for t in list_themes(s, statuses=("merged", "archived"))}
    assert statuses == {b: "merged", c: "archived", d: "archived"}
    with pytest.raises(Conflict, match="merged"):
        edits.rename(s, b, "x")


def theme_lineage_rows(s: Settings) -> list[dict[str, Any]]:
    engine = make_engine(s.db_url)
    try:
        with session_factory(engine)() as session:
            return theme_lineage(session)
    finally:
        engine.dispose()


# -- without the model ------------------------------------------------------------------------


def _store_vectors(s: Settings, X: np.ndarray, texts: list[str] | None = None) -> None:
    texts = texts or [f"Export number {i} of the sales report fails" for i in range(len(X))]
    results = [
        ItemResult(
            Item(id=str(i), text=t),
            [UnitResult(Unit(str(i), 0, 0, len(t), t), [], "neutral", 0.0, "none", embedding=x)],
            [],
            "neutral",
            0.0,
            "none",
        )
        for i, (t, x) in enumerate(zip(texts, X, strict=True))
    ]
    store_results(s, results, "synthetic", "test", "unit")


def test_clear_messages_for_empty_stores_buckets_and_too_few_units(settings):
    with pytest.raises(NotFound, match="no stored units"):
        discover(settings)
    _store_vectors(settings, np.eye(5, 8, dtype=np.float32))
    with pytest.raises(
        TooFewUnits, match="has 5 units, 5 with enough content to cluster .*needs at least 20"
    ):
        discover(settings)
    with pytest.raises(NotFound, match="bucket 'pricing_perception' has no stored units"):
        discover(settings, bucket="pricing_perception")
    with pytest.raises(InvalidInput, match="unknown bucket"):
        discover(settings, bucket="nope")
    with pytest.raises(NotFound, match="no active themes"):
        assign_new(settings)
    result = CliRunner().invoke(app, ["themes", "discover", "--db", settings.db_url])
    assert result.exit_code == 2
    assert "error (too_few_units)" in " ".join(result.output.split())


def test_listing_an_unknown_status_is_refused_with_the_valid_ones(settings):
    """``themes list --status bogus`` printed "0 themes" and exited 0."""
    with pytest.raises(InvalidInput, match="unknown theme status 'bogus'; use active, proposed"):
        list_themes(settings, statuses=("active", "bogus"))
    result = CliRunner().invoke(
        app, ["themes", "list", "--status", "bogus", "--db", settings.db_url]
    )
    assert result.exit_code == 2
    assert "unknown theme status 'bogus'" in " ".join(result.output.split())
    listed = CliRunner().invoke(
        app, ["themes", "list", "--status", "merged", "--db", settings.db_url]
    )
    assert listed.exit_code == 0, listed.output


def test_null_model_finds_nothing_and_leaves_every_unit_unassigned(settings):
    _store_vectors(settings, np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32))
    model = NullThemeModel()
    assert isinstance(model, ThemeModel)
    found = discover(settings, model=model)
    assert (found.themes, found.n_unassigned, found.n_units) == ([], 30, 30)
    assert theme_lineage_rows(settings) == []


def test_assign_to_centroids_thresholds_and_ranks():
    centroids = np.eye(3, dtype=np.float32)
    X = np.array([[1, 0.9, 0], [0.2, 0.1, 0.05], [0, 1, 1], [0.1, 0.1, 1]], dtype=np.float32)
    p = ThemeParams(assign_threshold=0.35, multi_threshold=0.5, max_themes=2)
    picks = assign_to_centroids(X, centroids, p)
    assert [[j for j, _ in pk] for pk in picks] == [[0, 1], [0], [1, 2], [2]]
    assert picks[0][0][1] == pytest.approx(1 / np.sqrt(1.81), abs=1e-5)
    assert assign_to_centroids(X[:1], centroids, ThemeParams(assign_threshold=0.9)) == [[]]
    forced = assign_to_centroids(X[1:2], centroids, p, first=np.array([2]))
    assert [j for j, _ in forced[0]] == [2, 0]


def test_labels_skip_repeated_words_and_plurals():
    assert label_from_keywords(["sso", "sso setup", "okta", "okta login", "saml"]) == (
        "sso, okta, saml"
    )
    assert label_from_keywords(["dashboard", "dashboards", "charts"]) == "dashboard, charts"
    assert label_from_keywords([]) == "(no keywords)"


@pytest.mark.model
def test_code_output_carries_themes_and_the_item_text(discovered, tmp_path):
    import json

    s = _copy(discovered["path"], tmp_path)
    source = tmp_path / "new.csv"
    source.write_text(
        "id,text\nN-1,SSO login with Okta fails for new users. Um.\n", encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    args = ["code", str(source), "--id-column", "id", "--db", s.db_url, "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--with-text"])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # The text coded (masked: redaction reads "Um" as a name), which unit offsets index.
    assert record["text"].startswith("SSO login with Okta fails for new users. ")
    assert all(record["text"][u["start"] : u["end"]].strip() for u in record["units"])
    labels = {t.id: t.label for t in list_themes(s)}
    themed = [u for u in record["units"] if u["themes"]]
    assert themed and all(labels[t["id"]] == t["label"] for u in themed for t in u["themes"])
    assert all("themes" in u for u in record["units"])
