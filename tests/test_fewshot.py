"""Few-shot custom codes: the estimator contract, and a code learned from a handful of quotes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from themecoder.codebook import edits
from themecoder.codebook.fewshot import FewShotHead, best_threshold
from themecoder.codebook.model import Code
from themecoder.codebook.validate import load_codebook
from themecoder.errors import InvalidInput, NotFitted
from themecoder.services import codebook as svc


def clusters(seed: int = 0, n: int = 6, d: int = 32):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, d)) * 3
    X = np.vstack([c + rng.standard_normal((n, d)) for c in centres])
    labels = ["a"] * n + ["b"] * n + [None] * n
    return X, labels, centres


@pytest.mark.parametrize("method", ["prototype", "logistic"])
def test_estimator_contract(method):
    head = FewShotHead(method=method, C=0.5, default_threshold=0.4)
    with pytest.raises(NotFitted):
        head.predict(np.ones((1, 32)))
    with pytest.raises(NotFitted):
        head.polarity_proba(np.ones((1, 32)))
    X, labels, centres = clusters()
    assert head.fit(X, labels) is head
    assert (head.method, head.C, head.default_threshold) == (method, 0.5, 0.4)
    assert head.classes_ == ["a", "b"]
    assert head.prototypes_.shape == (2, 32) and head.thresholds_.shape == (2,)
    rng = np.random.default_rng(1)
    fresh = np.vstack([c + rng.standard_normal((4, 32)) for c in centres])
    assert head.predict_one(fresh) == ["a"] * 4 + ["b"] * 4 + [None] * 4
    again = FewShotHead(method=method, C=0.5, default_threshold=0.4).fit(X, labels)
    np.testing.assert_array_equal(again.decision_function(fresh), head.decision_function(fresh))


def test_bad_fits_are_refused():
    X, labels, _ = clusters()
    with pytest.raises(InvalidInput, match="method must be one of"):
        FewShotHead(method="magic").fit(X, labels)
    with pytest.raises(InvalidInput, match="no labelled examples"):
        FewShotHead().fit(X, [None] * len(X))
    with pytest.raises(InvalidInput, match="needs negatives"):
        FewShotHead(method="logistic").fit(X[:6], labels[:6])
    with pytest.raises(InvalidInput, match="18 embeddings but 2 labels"):
        FewShotHead().fit(X, ["a", "b"])


def test_threshold_and_polarity():
    assert best_threshold(np.array([0.9, 0.8]), np.array([0.1, 0.5]), 0.3) == pytest.approx(0.65)
    assert best_threshold(np.array([]), np.array([0.1]), 0.3) == 0.3
    X, labels, centres = clusters()
    polarities = ["risk"] * 6 + ["positive"] * 3 + ["neutral"] * 3 + [None] * 6
    head = FewShotHead().fit(X, labels, polarities)
    proba = head.polarity_proba(centres[:2])
    assert proba.shape == (2, 2, 3)
    np.testing.assert_allclose(proba.sum(axis=2), 1.0)
    assert proba[0, 0].tolist() == [0.0, 0.0, 1.0]  # code a only ever saw risk


SSO = [
    "I can't find where to turn on single sign-on.",
    "Our Okta SSO integration keeps failing at login.",
    "How do we configure SAML for the whole company?",
    "SSO setup took our IT team two weeks.",
    "People still log in with passwords because SSO isn't set up.",
]
HELD_OUT_SSO = [
    "Is there a guide for connecting Azure AD single sign-on?",
    "The SAML login redirect loops forever.",
    "We need SSO configured before rollout.",
]
OTHER = [
    "The invoice came in higher than we expected.",
    "Support answered within an hour, great job.",
    "We plan to renew next year.",
    "Can we add ten more seats to the plan?",
    "The dashboard saves my team hours every week.",
    "I'll send the file tomorrow.",
    "The mobile app crashes when I open reports.",
    "Your pricing page is confusing.",
]


@pytest.mark.model
def test_custom_code_learned_from_five_quotes(coder, tmp_path):
    book = load_codebook()
    sso = Code(
        id="sso_setup",
        name="SSO setup",
        parent="onboarding_clarity",
        definition="Setting up or signing in through single sign-on (SSO, SAML, Okta, Azure AD).",
        examples={"risk": SSO[:3], "neutral": SSO[3:]},
    )
    book = edits.add_code(book, sso)
    # Custom codes use the base encoder (the coder's adapter measured worse for new codes).
    from themecoder.artifact import load_artifact
    from themecoder.config import Settings
    from themecoder.pipeline.embed import make_embedder

    s = Settings()
    base = make_embedder(s, load_artifact(s.model_dir), base=True)
    base.encode(["warm up"])  # the model loads lazily; time the fit alone
    start = time.perf_counter()
    head = svc.fit_custom_codes(book, base, ["sso_setup"], background=OTHER)
    assert time.perf_counter() - start < 2  # embeds 14 texts and fits: no retraining
    coded = svc.code_custom(head, base, HELD_OUT_SSO + OTHER)
    assert [bool(c) for c in coded] == [True] * 3 + [False] * len(OTHER)
    assert coded[1][0]["code"] == "sso_setup" and coded[1][0]["polarity"] == "risk"
    assert 0 < coded[0][0]["score"] <= 1
