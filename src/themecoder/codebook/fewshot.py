"""Zero/few-shot coding of custom codes on sentence embeddings, fitted in well under a second.

A custom code needs only its definition and a handful of example quotes: no retraining of
the coder. Two heads share one contract:

* ``"prototype"``: cosine similarity to the mean of the code's example embeddings;
* ``"logistic"``: one-vs-rest logistic regression against the other codes' examples and
  any background rows (unlabelled stored units, which are mostly not the code).

Each code gets its own decision threshold: the one that maximises F1 on out-of-sample scores
of the training rows (leave-one-out similarities for prototypes, k-fold probabilities for the
logistic head). With a single example there is nothing held out, so ``default_threshold``
applies. Rows labelled ``None`` are background: negatives for every code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from themecoder.domain import POLARITIES
from themecoder.errors import InvalidInput, NotFitted

METHODS = ("prototype", "logistic")


def _unit(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-12)


def best_threshold(pos: np.ndarray, neg: np.ndarray, default: float) -> float:
    """The score cut that maximises F1 of ``pos`` against ``neg`` (midway between scores)."""
    if len(pos) == 0:
        return default
    cuts = np.unique(np.concatenate([pos, neg]))
    best, best_f1 = default, -1.0
    for cut in cuts:
        tp = float((pos >= cut).sum())
        fp = float((neg >= cut).sum())
        f1 = 2 * tp / (2 * tp + fp + (len(pos) - tp))
        if f1 > best_f1:
            below = neg[neg < cut]
            # Midway to the highest negative below the cut generalises better than the edge.
            best = float((cut + below.max()) / 2) if len(below) else float(cut)
            best_f1 = f1
    return best


class FewShotHead:
    """Presence (and polarity) of custom codes from a few labelled embeddings.

    Args:
        method: ``"prototype"`` or ``"logistic"`` (see the module docstring).
        C: inverse regularisation of the logistic head.
        default_threshold: cut used when a code has too few examples to estimate one
            (cosine for prototypes, probability for the logistic head).
        folds: most folds used to estimate logistic thresholds.
        random_state: seed of the fold split.
    """

    def __init__(
        self,
        method: str = "prototype",
        C: float = 1.0,
        default_threshold: float | None = None,
        folds: int = 5,
        random_state: int = 13,
    ) -> None:
        self.method = method
        self.C = C
        self.default_threshold = default_threshold
        self.folds = folds
        self.random_state = random_state

    def fit(
        self,
        X: np.ndarray,
        labels: Sequence[str | None],
        polarities: Sequence[str | None] | None = None,
    ) -> FewShotHead:
        """Fit on embeddings ``X`` with one code id (or ``None``: background) per row.

        ``polarities`` (one of positive / neutral / risk, or None, per row) lets
        :meth:`polarity_proba` say which polarity a coded unit has.
        """
        if self.method not in METHODS:
            raise InvalidInput(f"method must be one of {METHODS}, got {self.method!r}")
        X = _unit(np.asarray(X, dtype=np.float64))
        labels = list(labels)
        if len(labels) != len(X):
            raise InvalidInput(f"{len(X)} embeddings but {len(labels)} labels")
        self.classes_ = list(dict.fromkeys(label for label in labels if label is not None))
        if not self.classes_:
            raise InvalidInput("no labelled examples: give at least one example per code")
        y = np.array([self.classes_.index(v) if v is not None else -1 for v in labels])
        k, d = len(self.classes_), X.shape[1]
        self.prototypes_ = np.stack([_unit(X[y == c].mean(axis=0)) for c in range(k)])
        self.thresholds_ = np.zeros(k)
        self.coef_, self.intercept_ = np.zeros((k, d)), np.zeros(k)
        for c in range(k):
            if self.method == "prototype":
                self.thresholds_[c] = self._prototype_threshold(X, y, c)
            else:
                self.thresholds_[c] = self._logistic_fit(X, y, c)
        self._fit_polarity(X, y, polarities)
        return self

    def _prototype_threshold(self, X: np.ndarray, y: np.ndarray, c: int) -> float:
        default = 0.5 if self.default_threshold is None else self.default_threshold
        pos = X[y == c]
        if len(pos) < 2:
            return default
        loo = _unit(pos.sum(axis=0)[None, :] - pos)  # each example's prototype without it
        pos_scores = np.einsum("nd,nd->n", pos, loo)
        neg_scores = X[y != c] @ self.prototypes_[c]
        return best_threshold(pos_scores, neg_scores, default)

    def _logistic_fit(self, X: np.ndarray, y: np.ndarray, c: int) -> float:
        # Imported here: scikit-learn takes seconds to import and the CLI rarely needs it.
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        default = 0.5 if self.default_threshold is None else self.default_threshold
        target = (y == c).astype(int)
        if target.all():
            raise InvalidInput("the logistic head needs negatives: other codes or background rows")
        head = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        n_pos, n_neg = int(target.sum()), int(len(target) - target.sum())
        threshold = default
        folds = min(self.folds, n_pos, n_neg)
        if folds >= 2:
            oof = np.zeros(len(target))
            split = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            for train, test in split.split(X, target):
                oof[test] = head.fit(X[train], target[train]).predict_proba(X[test])[:, 1]
            threshold = best_threshold(oof[target == 1], oof[target == 0], default)
        head.fit(X, target)
        self.coef_[c], self.intercept_[c] = head.coef_[0], head.intercept_[0]
        return threshold

    def _fit_polarity(
        self, X: np.ndarray, y: np.ndarray, polarities: Sequence[str | None] | None
    ) -> None:
        k, d = len(self.classes_), X.shape[1]
        self.polarity_prototypes_ = np.zeros((k, len(POLARITIES), d))
        self.polarity_seen_ = np.zeros((k, len(POLARITIES)), dtype=bool)
        if polarities is None:
            return
        pol = np.array([POLARITIES.index(p) if p in POLARITIES else -1 for p in polarities])
        for c in range(k):
            for p in range(len(POLARITIES)):
                rows = X[(y == c) & (pol == p)]
                if len(rows):
                    self.polarity_prototypes_[c, p] = _unit(rows.mean(axis=0))
                    self.polarity_seen_[c, p] = True

    def _check(self) -> None:
        if not hasattr(self, "classes_"):
            raise NotFitted("FewShotHead is not fitted; call fit() with example embeddings")

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Scores ``(n, k)``: cosine to each prototype, or the logistic probability."""
        self._check()
        X = _unit(np.asarray(X, dtype=np.float64))
        if self.method == "prototype":
            return X @ self.prototypes_.T
        return 1.0 / (1.0 + np.exp(-(X @ self.coef_.T + self.intercept_)))

    def predict(self, X: np.ndarray) -> list[list[str]]:
        """Per row, every code whose score reaches its threshold, best first (multi-label)."""
        scores = self.decision_function(X)
        out = []
        for row in scores:
            hits = np.flatnonzero(row >= self.thresholds_)
            out.append([self.classes_[c] for c in hits[np.argsort(-row[hits])]])
        return out

    def predict_one(self, X: np.ndarray) -> list[str | None]:
        """Per row, the best code that reaches its threshold, else ``None``."""
        return [codes[0] if codes else None for codes in self.predict(X)]

    def polarity_proba(self, X: np.ndarray, temperature: float = 0.05) -> np.ndarray:
        """``(n, k, 3)`` polarity probabilities from the polarity prototypes of each code.

        A code whose examples carry one polarity only gets that polarity; a code fitted
        without polarities is neutral.
        """
        self._check()
        X = _unit(np.asarray(X, dtype=np.float64))
        logits = np.einsum("nd,kpd->nkp", X, self.polarity_prototypes_) / temperature
        seen = self.polarity_seen_.copy()
        seen[~seen.any(axis=1), POLARITIES.index("neutral")] = True
        logits = np.where(seen[None], logits, -np.inf)
        logits -= logits.max(axis=2, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=2, keepdims=True)
