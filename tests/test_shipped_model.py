"""The shipped model (models/coder) is what `themecoder train` makes of the committed data.

A full rebuild takes about 50 minutes on 2 cores (eval/rebuild_check.py, `make rebuild-check`);
these checks take seconds: a model trained on other data or settings, or one that codes
differently on this CPU than where it was recorded, fails here.
"""

from __future__ import annotations

import json

import pytest

from eval_scripts import load
from themecoder.artifact import load_artifact
from themecoder.config import Settings
from themecoder.services.training import (
    encoder_tag,
    recipe_digest,
    training_data_sha256,
    training_examples,
    training_labels_sha256,
)

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_the_shipped_model_was_trained_on_the_committed_data_with_todays_settings():
    s = Settings()
    cfg = load_artifact(s.model_dir).config
    examples, sources = training_examples(s)
    digest = training_data_sha256(examples)
    assert cfg["training_data_sha256"] == digest, "retrain: themecoder train"
    # The same texts relabelled: the texts' digest (and so the version) stays, this does not.
    assert cfg["training_labels_sha256"] == training_labels_sha256(examples), "retrain"
    assert cfg["version"] == f"coder-2.{len(examples)}-{recipe_digest(digest, cfg)}" + encoder_tag(
        s.embedding_model
    )
    assert cfg["knn_presence"] == {"k": s.knn_presence_k, "weight": s.knn_presence_weight}
    assert cfg["embedding_model"] == s.embedding_model
    assert [x["train_rows"] for x in cfg["sources"]] == [x["train_rows"] for x in sources]
    tuned = cfg["hyperparameters"]["finetune"]
    assert (tuned["rank"], tuned["epochs"], tuned["lr"], tuned["seed"]) == (
        s.finetune_rank,
        s.finetune_epochs,
        s.finetune_lr,
        s.seed,
    )


def test_the_shipped_model_gives_its_recorded_probe_predictions_on_this_cpu():
    check = load("rebuild_check")
    s = Settings()
    recorded = json.loads(check.RECORD.read_text())
    version = load_artifact(s.model_dir).config["version"]
    assert recorded["version"] == version, "after shipping: python eval/rebuild_check.py --record"
    now = check.predictions(s, s.model_dir, check.probe_texts(s))
    result = check.agreement(recorded, now)
    assert result["within_tolerance"], result
