"""Evaluation metrics against hand-computed values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from themecoder.config import Settings
from themecoder.domain import BucketCode, Item, ItemResult, Unit, UnitResult
from themecoder.labelled import Example
from themecoder.services.evaluation import bucket_scores, calibration_error


def _result(buckets: dict[str, tuple[str, float]], proba: list[float]) -> ItemResult:
    unit = UnitResult(
        Unit("i", 0, 0, 1, "x"), [], "neutral", 0.0, "none", bucket_proba=np.array(proba)
    )
    codes = [BucketCode(b, p, c, {}) for b, (p, c) in buckets.items()]
    return ItemResult(Item("i", "x"), [unit], codes, "neutral", 0.0, "none")


def test_bucket_scores_by_hand():
    ex = [
        Example("a", "t", "test", {"pricing_perception": "risk"}),
        Example("b", "t", "test", {"pricing_perception": None}),
        Example("c", "t", "test", {"pricing_perception": "positive"}),
        Example("d", "t", "test", {}),  # unknown for pricing: ignored
    ]
    res = [
        _result({"pricing_perception": ("risk", 0.9)}, [0, 0, 0, 0, 0, 0.9]),
        _result({"pricing_perception": ("risk", 0.7)}, [0, 0, 0, 0, 0, 0.7]),
        _result({}, [0, 0, 0, 0, 0, 0.2]),
        _result({"pricing_perception": ("risk", 0.9)}, [0, 0, 0, 0, 0, 0.9]),
    ]
    m = bucket_scores(ex, res)["pricing_perception"]
    # tp=1 (a), fp=1 (b), fn=1 (c): P = R = F1 = 0.5; polarity right on a.
    assert (m["precision"], m["recall"], m["f1"], m["support"]) == (0.5, 0.5, 0.5, 2)
    assert m["polarity_accuracy"] == 1.0


def test_calibration_error_by_hand():
    ex = [
        Example(str(i), "t", "test", {"support_friction": "risk" if i < 2 else None})
        for i in range(4)
    ]
    # confidences 0.95, 0.95 (both right) and 0.15, 0.15 (both absent): bins 9 and 1.
    res = [_result({}, [0, 0, 0, 0, p, 0]) for p in (0.95, 0.95, 0.15, 0.15)]
    # bin 9: |1.0 - 0.95| * 0.5 ; bin 1: |0.0 - 0.15| * 0.5  -> 0.025 + 0.075
    assert calibration_error(ex, res) == pytest.approx(0.1)


def test_the_frozen_reference_is_rebuilt_when_the_presence_blend_changes(tmp_path, monkeypatch):
    from themecoder.services import evaluation, training

    built: list[Path] = []
    monkeypatch.setattr(training, "train_coder", lambda s, out, **kw: built.append(Path(out)))
    base = Settings(cache_dir=tmp_path)
    evaluation.frozen_baseline(base)
    evaluation.frozen_baseline(base.model_copy(update={"knn_presence_weight": 0.65}))
    evaluation.frozen_baseline(base.model_copy(update={"seed": base.seed + 1}))
    assert len(set(built)) == 3 and all(p.parent == tmp_path for p in built)


class _NoCoding:
    """A coder that must not be asked to code anything."""

    version = "test"

    def code(self, texts):
        raise AssertionError("coded before every source was read")


def test_a_missing_dataset_fails_before_any_source_is_coded(tmp_path):
    """``own`` used to be coded (minutes in a full run) before a missing dataset failed."""
    from themecoder.errors import NotFound
    from themecoder.services.evaluation import evaluate

    s = Settings(datasets_dir=tmp_path)  # no shared datasets there

    with pytest.raises(NotFound, match="THEMECODER_DATASETS_DIR"):
        evaluate(_NoCoding(), s, sources=("own", "airline"), limit=5)


@pytest.mark.parametrize(
    ("sources", "limit", "message"),
    [(["nope"], None, "unknown source 'nope'; known: own, banking77"), (["own"], 0, "limit")],
)
def test_an_unknown_source_or_bad_limit_is_refused_before_the_model_loads(
    tmp_path, sources, limit, message
):
    """An unknown source was a KeyError traceback after the model had loaded; a negative
    limit silently dropped the last rows of each source."""
    from themecoder.errors import InvalidInput
    from themecoder.services.evaluation import run_evaluation

    empty = tmp_path / "no-model"  # nothing is loaded from it
    with pytest.raises(InvalidInput, match=message):
        run_evaluation(Settings(results_dir=tmp_path / "results"), empty, sources, limit)
    assert not (tmp_path / "results").exists()


def test_a_full_evaluation_checks_the_dev_set_texts_before_the_model_loads(tmp_path, monkeypatch):
    """The dev set's texts come from the shared datasets too: without them a full run failed
    after the held-out sets were coded and the frozen reference was trained."""
    from themecoder import artifact
    from themecoder.errors import NotFound
    from themecoder.services.evaluation import run_evaluation

    def never(*args: object) -> None:
        raise AssertionError("the model was loaded before the data was checked")

    monkeypatch.setattr(artifact, "load_artifact", never)
    s = Settings(datasets_dir=tmp_path, results_dir=tmp_path / "results")

    with pytest.raises(NotFound, match="dataset file"):
        run_evaluation(s, s.model_dir)
