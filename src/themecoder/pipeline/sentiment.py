"""Sentiment (label and score in [-1, 1]) and expression type: linear heads on embeddings
blended with VADER lexicon scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from themecoder.domain import EXPRESSIONS, SENTIMENTS
from themecoder.errors import NotFitted

# Lexicon features are few against 384 embedding dims; the weight lets them count.
_LEXICON_WEIGHT = 3.0


class VaderFeatures:
    """VADER's compound, positive, negative and neutral scores per text."""

    def __init__(self) -> None:
        self._analyzer: Any = None

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self._analyzer is None:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._analyzer = SentimentIntensityAnalyzer()
        rows = [self._analyzer.polarity_scores(t) for t in texts]
        out = np.array([[r["compound"], r["pos"], r["neg"], r["neu"]] for r in rows])
        return out.reshape(len(texts), 4).astype(np.float32)


class LinearHead:
    """Multinomial logistic regression on ``[embedding, weighted lexicon features]``.

    Args:
        classes: label names, in a fixed order.
        C: inverse regularisation.
        prefix: key prefix of this head's arrays in an artifact.
    """

    def __init__(
        self,
        classes: Sequence[str],
        C: float = 2.0,
        prefix: str = "head",
        class_weight: str | None = "balanced",
    ) -> None:
        self.classes = tuple(classes)
        self.C = C
        self.prefix = prefix
        self.class_weight = class_weight

    @staticmethod
    def features(X: np.ndarray, lexicon: np.ndarray) -> np.ndarray:
        return np.hstack([X, _LEXICON_WEIGHT * lexicon])

    def fit(
        self, X: np.ndarray, lexicon: np.ndarray, y: Sequence[str], sample_weight: Any = None
    ) -> LinearHead:
        target = np.array([self.classes.index(v) for v in y])
        head = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=3000)
        head.fit(self.features(X, lexicon), target, sample_weight=sample_weight)
        self.coef_, self.intercept_ = head.coef_, head.intercept_
        return self

    def predict_proba(self, X: np.ndarray, lexicon: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFitted(f"{self.prefix} head is not fitted")
        z = self.features(X, lexicon) @ self.coef_.T + self.intercept_
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            f"{self.prefix}.coef_": self.coef_.astype(np.float32),
            f"{self.prefix}.intercept_": self.intercept_.astype(np.float32),
        }

    def load_arrays(self, arrays: dict[str, np.ndarray]) -> LinearHead:
        self.coef_ = arrays[f"{self.prefix}.coef_"].astype(np.float64)
        self.intercept_ = arrays[f"{self.prefix}.intercept_"].astype(np.float64)
        return self


def sentiment_head(C: float = 0.5) -> LinearHead:
    # Unweighted classes: real feedback streams are mostly negative, and reweighting
    # towards the rarer positive class costs more negatives than it wins.
    return LinearHead(SENTIMENTS, C=C, prefix="sentiment", class_weight=None)


def expression_head(C: float = 2.0) -> LinearHead:
    return LinearHead(EXPRESSIONS, C=C, prefix="expression")


def sentiment_score(proba: np.ndarray) -> np.ndarray:
    """Score in [-1, 1]: P(positive) - P(negative), classes ordered as ``SENTIMENTS``."""
    return proba[:, SENTIMENTS.index("positive")] - proba[:, SENTIMENTS.index("negative")]
