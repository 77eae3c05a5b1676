"""Recalibration of bucket presence on held-apart labelled data (the dev set's tune part)."""

from __future__ import annotations

import numpy as np

from themecoder.domain import BUCKETS
from themecoder.pipeline.classify import BucketClassifier, _sigmoid


def _fitted() -> BucketClassifier:
    clf = BucketClassifier()
    k = len(BUCKETS)
    clf.platt_ = np.tile([2.0, -1.0], (k, 1))
    clf.thresholds_ = np.full(k, 0.5)
    return clf


def test_recalibration_composes_with_the_first_platt_step_and_picks_the_f1_threshold():
    rng = np.random.default_rng(0)
    clf = _fitted()
    dec = rng.normal(size=(400, len(BUCKETS)))
    truth = dec + rng.normal(scale=0.5, size=dec.shape) > 1.0  # few positives, shifted
    presence = _sigmoid(clf.platt_[:, 0] * dec + clf.platt_[:, 1])
    platt, thresholds = clf.recalibrate(presence, truth)
    new = _sigmoid(platt[:, 0] * dec + platt[:, 1])
    # The composed scaling is a monotone map of the old score ...
    for b in range(len(BUCKETS)):
        order = np.argsort(dec[:, b])
        assert np.all(np.diff(new[order, b]) >= -1e-12)
    # ... calibrated on the new data: mean confidence close to the positive rate.
    assert np.allclose(new.mean(axis=0), truth.mean(axis=0), atol=0.03)
    # The threshold is the grid point with the best F1 on that data.
    b = 0
    grid = np.round(np.arange(0.1, 0.91, 0.05), 2)
    hits = [((new[:, b] >= t) & truth[:, b]).sum() for t in grid]
    f1 = [
        2 * h / ((new[:, b] >= t).sum() + truth[:, b].sum())
        for h, t in zip(hits, grid, strict=True)
    ]
    assert thresholds[b] == grid[int(np.argmax(f1))]


def test_a_bucket_with_too_few_positives_keeps_its_calibration():
    clf = _fitted()
    presence = np.full((50, len(BUCKETS)), 0.3)
    truth = np.zeros((50, len(BUCKETS)), dtype=bool)
    truth[:3, 0] = True  # 3 < 5 positives
    platt, thresholds = clf.recalibrate(presence, truth)
    assert np.array_equal(platt, clf.platt_) and np.array_equal(thresholds, clf.thresholds_)
