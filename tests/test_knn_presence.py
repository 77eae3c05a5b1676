"""A bucket's presence read off the nearest training examples, blended with the heads."""

from __future__ import annotations

import numpy as np
import pytest

from themecoder.domain import BUCKETS
from themecoder.pipeline import neighbors as nb_module
from themecoder.pipeline.classify import BucketClassifier
from themecoder.pipeline.neighbors import NeighborIndex


def _index() -> NeighborIndex:
    """Six examples on a circle: three near (1, 0) coded renewal, three near (0, 1) coded
    support (one of those also pricing)."""
    angles = np.array([0.0, 0.1, -0.1, np.pi / 2, np.pi / 2 + 0.1, np.pi / 2 - 0.1])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    polarity = np.full((6, len(BUCKETS)), -1)
    polarity[:3, BUCKETS.index("renewal_likelihood")] = 2
    polarity[3:, BUCKETS.index("support_friction")] = 2
    polarity[3, BUCKETS.index("pricing_perception")] = 0
    return NeighborIndex(vectors, [f"ex{i}" for i in range(6)], polarity, np.zeros(6), np.zeros(6))


def test_presence_is_the_weighted_share_of_the_nearest_examples_coded_with_a_bucket():
    index = _index()
    X = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    share = index.presence(X, k=3)
    renewal, support, pricing = (
        BUCKETS.index(b) for b in ("renewal_likelihood", "support_friction", "pricing_perception")
    )
    assert share[0, renewal] == pytest.approx(1.0)
    assert share[0, support] == pytest.approx(0.0)
    assert share[1, support] == pytest.approx(1.0)
    # one of the three nearest carries pricing, weighted by its similarity cubed
    sims = np.cos(np.array([0.0, 0.1, 0.1]))
    assert share[1, pricing] == pytest.approx(sims[0] ** 3 / (sims**3).sum(), rel=1e-5)
    assert share.min() >= 0.0 and share.max() <= 1.0


def test_a_voter_counts_only_for_the_buckets_it_decided():
    """A review decision on support alone votes on support, and not as 'absent' elsewhere."""
    index = _index()
    renewal, support = BUCKETS.index("renewal_likelihood"), BUCKETS.index("support_friction")
    decided = np.full((1, len(BUCKETS)), nb_module.UNKNOWN)
    decided[0, support] = -1  # the reviewer said: no support friction here
    voters = (np.array([[1.0, 0.0]], dtype=np.float32), decided)
    index = NeighborIndex(
        index.vectors, index.texts, index.polarity, index.sentiment, index.expression, voters
    )
    share = index.presence(np.array([[1.0, 0.0]], dtype=np.float32), k=4)
    assert share[0, renewal] == pytest.approx(1.0)  # the voter is not counted against renewal
    assert share[0, support] == pytest.approx(0.0)


def test_presence_in_row_chunks_equals_one_pass(monkeypatch):
    index = _index()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 2)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    whole = index.presence(X, k=4)
    votes = index.votes(X, {"sentiment": 3})
    monkeypatch.setattr(nb_module, "_ROWS", 3)
    np.testing.assert_allclose(index.presence(X, k=4), whole)
    np.testing.assert_allclose(index.votes(X, {"sentiment": 3})["sentiment"], votes["sentiment"])


def test_fit_thresholds_picks_the_f1_optimal_cut_and_keeps_rare_buckets():
    clf = BucketClassifier()
    clf.thresholds_ = np.full(len(BUCKETS), 0.5)
    presence = np.zeros((40, len(BUCKETS)))
    truth = np.zeros((40, len(BUCKETS)), dtype=bool)
    presence[:20, 0], truth[:20, 0] = 0.32, True  # positives score 0.32
    presence[20:, 0] = 0.12  # negatives 0.12: any cut in (0.12, 0.32] is perfect
    truth[:2, 1] = True  # two positives: too few to move bucket 1's threshold
    thresholds = clf.fit_thresholds(presence, truth)
    assert 0.12 < thresholds[0] <= 0.32
    assert thresholds[1] == 0.5


def test_the_coder_blends_the_heads_with_the_nearest_examples(coder):
    """The shipped artifact names its blend; presence = (1 - w) * head + w * share, and the
    codes follow the blended presence against the thresholds tuned for it."""
    assert coder.knn_presence is not None
    k, weight = coder.knn_presence
    texts = ["We are cancelling at the end of the contract, the budget is gone."]
    X = coder.embedder.encode(texts)
    head, _ = coder.classifier.predict_proba(X)
    blended, _, _ = coder._buckets(X)
    np.testing.assert_allclose(
        blended, (1 - weight) * head + weight * coder.neighbors.presence(X, k), rtol=1e-6
    )
    result = coder.code(texts)[0]
    renewal = next(c for c in result.buckets if c.bucket == "renewal_likelihood")
    assert renewal.polarity == "risk"
    assert renewal.confidence == pytest.approx(float(blended[0, 0]), abs=1e-4)


def test_voters_count_for_presence_but_are_never_shown_as_reasons():
    """Rows coded from licensed data (no stored text) vote on presence; reasons stay own."""
    base = _index()
    away = [np.cos(-0.5), np.sin(-0.5)]  # nearer to the query than any own example
    voters = np.array([away] * 3, dtype=np.float32)
    coded = np.full((3, len(BUCKETS)), -1)
    coded[:, BUCKETS.index("pricing_perception")] = 0
    index = NeighborIndex(
        base.vectors, base.texts, base.polarity, np.zeros(6), np.zeros(6), voters=(voters, coded)
    )
    X = np.array([away], dtype=np.float32)
    pricing = BUCKETS.index("pricing_perception")
    assert base.presence(X, k=3)[0, pricing] == 0.0
    assert index.presence(X, k=3)[0, pricing] == pytest.approx(1.0)  # the 3 voters are nearest
    near = index.nearest(X, pricing, k=3)[0]
    assert [text for text, _ in near] == ["ex3"]  # the one own example coded pricing
