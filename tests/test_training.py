"""Training: reproducible artifacts, save -> load -> same predictions, license marking."""

from __future__ import annotations

import json

import pytest

from themecoder.artifact import artifact_hash, load_artifact
from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.errors import InvalidInput
from themecoder.services.training import train_coder

pytestmark = [pytest.mark.model, pytest.mark.slow]

PROBES = [
    "The renewal is approved, budget is in place for next year.",
    "Third ticket about the same sync error, nobody answers.",
    "Where do I find the SSO settings?",
    "",
]


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    """The same small training run twice, into two folders."""
    s = Settings(cache_dir=tmp_path_factory.mktemp("cache"))
    a = train_coder(s, tmp_path_factory.mktemp("a"), own_limit=400)
    b = train_coder(s, tmp_path_factory.mktemp("b"), own_limit=400)
    return s, a, b


def test_same_data_and_seed_give_the_same_artifact_hash(small_models):
    _, a, b = small_models
    assert a.sha256 == b.sha256 == artifact_hash(a.path) == artifact_hash(b.path)
    assert a.version == b.version


def test_save_load_gives_the_same_predictions(small_models):
    s, a, b = small_models
    ra = Coder.load(s.model_copy(update={"model_dir": a.path})).code(PROBES)
    rb = Coder.load(s.model_copy(update={"model_dir": b.path})).code(PROBES)
    for x, y in zip(ra, rb, strict=True):
        assert [(c.bucket, c.polarity, c.confidence) for c in x.buckets] == [
            (c.bucket, c.polarity, c.confidence) for c in y.buckets
        ]
        assert (x.sentiment, x.sentiment_score, x.expression) == (
            y.sentiment,
            y.sentiment_score,
            y.expression,
        )


def test_shipped_default_trains_only_on_permitted_sources(small_models):
    _, a, _ = small_models
    cfg = load_artifact(a.path).config
    assert {src["name"] for src in cfg["sources"]} == {"own", "banking77"}
    assert cfg["restricted_terms"] == []
    assert all(src["license"] for src in cfg["sources"])


def test_opt_in_extra_data_marks_the_artifact(tmp_path):
    s = Settings(cache_dir=tmp_path / "cache")
    res = train_coder(s, tmp_path / "optin", extra_data=["app_reviews_panichella"], own_limit=200)
    cfg = json.loads((res.path / "config.json").read_text())
    assert cfg["restricted_terms"] == ["app_reviews_panichella"]
    assert res.version.endswith("-optin")
    names = {src["name"]: src for src in cfg["sources"]}
    assert names["app_reviews_panichella"]["opt_in"] is True


def test_unknown_extra_data_is_rejected(tmp_path):
    with pytest.raises(InvalidInput, match="known:"):
        train_coder(Settings(cache_dir=tmp_path), tmp_path / "x", extra_data=["nope"])


def test_train_rebuilds_the_shipped_artifact_exactly(tmp_path):
    """`themecoder train` from the committed data reproduces models/coder byte for byte."""
    s = Settings()
    res = train_coder(s, tmp_path / "rebuilt")
    assert res.sha256 == artifact_hash(s.model_dir)
