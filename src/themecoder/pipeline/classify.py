"""Six-bucket coder: per-bucket presence (calibrated) and polarity heads on embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import NotFitted

_THRESHOLDS = np.round(np.arange(0.25, 0.81, 0.05), 2)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _enough(y: np.ndarray) -> bool:
    """Whether a bucket's labels can move its calibration: 5+ positives and some negatives."""
    return 5 <= y.sum() < len(y)


class BucketClassifier:
    """Multi-label bucket presence plus a 3-way polarity per bucket, linear on embeddings.

    Presence scores are Platt-calibrated on cross-validated decision values, and each
    bucket's decision threshold maximises cross-validated F1, so ``confidence`` reads as
    a probability.

    Args:
        C: inverse regularisation of the presence heads.
        polarity_C: inverse regularisation of the polarity heads.
        cv: folds used for calibration and thresholds.
        random_state: seed of the fold split.
    """

    def __init__(
        self, C: float = 1.0, polarity_C: float = 8.0, cv: int = 5, random_state: int = 13
    ) -> None:
        self.C = C
        self.polarity_C = polarity_C
        self.cv = cv
        self.random_state = random_state

    def fit(
        self,
        X: np.ndarray,
        truth: Sequence[dict[str, str | None]],
        sample_weight: np.ndarray | None = None,
    ) -> BucketClassifier:
        """Fit on embeddings ``X`` and per-row truth ``{bucket: polarity or None}``.

        A bucket mapped to a polarity is present, mapped to None is absent; a bucket
        missing from a row's dict is unknown for that row, which then does not train it.
        """
        n, d = X.shape
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        k = len(BUCKETS)
        self.coef_ = np.zeros((k, d))
        self.intercept_ = np.zeros(k)
        self.platt_ = np.zeros((k, 2))
        self.thresholds_ = np.full(k, 0.5)
        self.polarity_coef_ = np.zeros((k, len(POLARITIES), d))
        self.polarity_intercept_ = np.zeros((k, len(POLARITIES)))
        for b, bucket in enumerate(BUCKETS):
            known = np.array([bucket in row for row in truth])
            pol = [row.get(bucket) for row in truth]
            y = np.array([p is not None for p in pol], dtype=int)[known]
            Xb, wb = X[known], w[known]
            head = LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000)
            dec = cross_val_predict(
                head, Xb, y, cv=folds, method="decision_function", params={"sample_weight": wb}
            )
            platt = LogisticRegression(C=1e4).fit(dec[:, None], y, sample_weight=wb)
            self.platt_[b] = (platt.coef_[0, 0], platt.intercept_[0])
            prob = _sigmoid(self.platt_[b, 0] * dec + self.platt_[b, 1])
            f1s = [f1_score(y, prob >= t, sample_weight=wb) for t in _THRESHOLDS]
            self.thresholds_[b] = _THRESHOLDS[int(np.argmax(f1s))]
            head.fit(Xb, y, sample_weight=wb)
            self.coef_[b], self.intercept_[b] = head.coef_[0], head.intercept_[0]
            self._fit_polarity(b, X, pol, w)
        return self

    def _fit_polarity(self, b: int, X: np.ndarray, pol: list[str | None], w: np.ndarray) -> None:
        mask = np.array([p is not None for p in pol])
        y = np.array([POLARITIES.index(p) for p in pol if p is not None])
        present = np.unique(y)
        # Unweighted and lightly regularised: sarcastic risk examples ("Great, another
        # outage.") must be fitted, not smoothed towards the positive words they use.
        head = LogisticRegression(C=self.polarity_C, max_iter=3000)
        head.fit(X[mask], y, sample_weight=w[mask])
        coef = head.coef_ if len(present) > 2 else np.vstack([-head.coef_[0], head.coef_[0]])
        icpt = head.intercept_ if len(present) > 2 else np.array([-1, 1]) * head.intercept_[0]
        # Polarities never seen for this bucket keep a very low logit.
        self.polarity_intercept_[b] = -1e3
        for j, cls in enumerate(present):
            self.polarity_coef_[b, cls] = coef[j]
            self.polarity_intercept_[b, cls] = icpt[j]

    def predict_proba(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Presence probabilities ``(n, 6)`` and polarity probabilities ``(n, 6, 3)``."""
        if not hasattr(self, "coef_"):
            raise NotFitted("BucketClassifier is not fitted; call fit() or load an artifact")
        dec = X @ self.coef_.T + self.intercept_
        presence = _sigmoid(self.platt_[:, 0] * dec + self.platt_[:, 1])
        logits = np.einsum("nd,kpd->nkp", X, self.polarity_coef_) + self.polarity_intercept_
        logits -= logits.max(axis=2, keepdims=True)
        polarity = np.exp(logits)
        polarity /= polarity.sum(axis=2, keepdims=True)
        return presence, polarity

    def recalibrate(
        self, presence: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Platt scaling and F1-optimal thresholds refitted on held-apart labelled data.

        ``presence`` holds this classifier's probabilities ``(n, 6)`` on that data (as the
        coder aggregates them), ``truth`` the gold presence. A second Platt step on the
        current logits composes with the first, so only ``platt_`` and ``thresholds_``
        change. Returns the new ``(platt_, thresholds_)`` without setting them.
        """
        grid = np.round(np.arange(0.1, 0.91, 0.05), 2) if grid is None else grid
        platt = self.platt_.copy()
        calibrated = np.zeros_like(presence, dtype=float)
        for b in range(len(BUCKETS)):
            y = truth[:, b].astype(int)
            if not _enough(y):
                continue  # too few positives to move anything
            p = np.clip(presence[:, b], 1e-9, 1 - 1e-9)
            z = np.log(p / (1 - p))
            fit = LogisticRegression(C=1e4).fit(z[:, None], y)
            a2, b2 = fit.coef_[0, 0], fit.intercept_[0]
            a, c = self.platt_[b]
            platt[b] = (a2 * a, a2 * c + b2)
            calibrated[:, b] = _sigmoid(a2 * z + b2)
        return platt, self.fit_thresholds(calibrated, truth, grid)

    def fit_thresholds(
        self, presence: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None
    ) -> np.ndarray:
        """F1-optimal thresholds for presences ``(n, 6)`` as the coder scores them (after any
        blending), on held-apart labelled data; a bucket with too few positives keeps its own."""
        grid = np.round(np.arange(0.05, 0.91, 0.025), 3) if grid is None else grid
        thresholds = self.thresholds_.copy()
        for b in range(len(BUCKETS)):
            y = truth[:, b].astype(int)
            if not _enough(y):
                continue
            f1s = [f1_score(y, presence[:, b] >= t, zero_division=0) for t in grid]
            thresholds[b] = grid[int(np.argmax(f1s))]
        return thresholds

    def to_arrays(self) -> dict[str, np.ndarray]:
        names = ["coef_", "intercept_", "platt_", "thresholds_"]
        names += ["polarity_coef_", "polarity_intercept_"]
        return {f"bucket.{n}": np.asarray(getattr(self, n), dtype=np.float32) for n in names}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params: float) -> BucketClassifier:
        model = cls(**params)  # type: ignore[arg-type]
        for key, value in arrays.items():
            if key.startswith("bucket."):
                setattr(model, key.removeprefix("bucket."), value.astype(np.float64))
        return model


class NullBucketClassifier:
    """The do-nothing classifier: never assigns a bucket."""

    def predict_proba(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = len(X), len(BUCKETS)
        return np.zeros((n, k)), np.full((n, k, len(POLARITIES)), 1 / len(POLARITIES))
