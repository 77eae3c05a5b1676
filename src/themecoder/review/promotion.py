"""Retraining policy: promote a new model version only on evidence that it is not worse.

Evidence first: a bucket is *scored* only with at least :data:`MIN_HELDOUT_PER_BUCKET` held-out
reviewed units where the reviewer decided it, :data:`MIN_PRESENT_PER_BUCKET` of them present.
A bucket with less evidence is *kept as it was*: the candidate carries the current model's head
for it (see :func:`themecoder.services.retrain.keep_heads`), so its codes do not move. With no
scored bucket there is nothing to compare and no promotion (a retrain once promoted on one
held-out unit, then coded 21% fewer renewal suggestions).

The rule, on the scored buckets: promote when (1) the macro-F1 (unweighted mean over buckets)
of the new model is not lower than the current one's and (2) every bucket is non-inferior: the
lower bound of the 95% paired-bootstrap interval of its F1 change (:func:`delta_ci`) is at least
``-tolerance`` (the non-inferiority margin, default :data:`DEFAULT_MARGIN`). Without intervals,
(2) falls back to the point change. Condition (2) stops a gain on busy buckets from hiding a
regression on a rare one. Comparisons allow ``1e-9`` of floating-point slack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from themecoder.errors import InvalidInput

_SLACK = 1e-9
#: Held-out reviewed units deciding a bucket (present or absent) before it is scored.
MIN_HELDOUT_PER_BUCKET = 20
#: Of those, units where the bucket is present (an F1 needs positives).
MIN_PRESENT_PER_BUCKET = 5
#: Non-inferiority margin: the largest F1 drop the interval's lower bound may show.
DEFAULT_MARGIN = 0.05
N_BOOTSTRAP = 2000


def has_evidence(n_decided: int, n_present: int) -> bool:
    """Whether a bucket has enough held-out reviewed units to be scored."""
    return n_decided >= MIN_HELDOUT_PER_BUCKET and n_present >= MIN_PRESENT_PER_BUCKET


def f1(truth: np.ndarray, pred: np.ndarray) -> float:
    """Presence F1 of boolean predictions against boolean truth (0 without any positive)."""
    tp = float(np.sum(truth & pred))
    wrong = float(np.sum(truth != pred))
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def delta_ci(
    truth: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    *,
    n_boot: int = N_BOOTSTRAP,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``F1(after) - F1(before)`` over a paired bootstrap of units.

    Both models are scored on the same resampled units, so the interval reflects the change,
    not the two models' separate noise. Deterministic for a given ``seed``.
    """
    t, b, a = (np.asarray(x, dtype=bool) for x in (truth, before, after))
    if not len(t):
        raise InvalidInput("no units to bootstrap")
    idx = np.random.default_rng(seed).integers(0, len(t), size=(n_boot, len(t)))
    T, B, A = t[idx], b[idx], a[idx]

    def batch_f1(pred: np.ndarray) -> np.ndarray:
        tp = np.sum(T & pred, axis=1)
        wrong = np.sum(pred != T, axis=1)
        return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)

    deltas = batch_f1(A) - batch_f1(B)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(deltas, [tail, 100 - tail])
    return float(lo), float(hi)


class Promotion(NamedTuple):
    """Outcome of :func:`should_promote`; unpacks as ``(promote, deltas)``."""

    promote: bool
    deltas: dict[str, float]

    @property
    def macro_delta(self) -> float:
        """Change in macro-F1 (the mean of the per-bucket deltas over the same buckets)."""
        return sum(self.deltas.values()) / len(self.deltas)


def _check(name: str, scores: Mapping[str, float]) -> None:
    if not scores:
        raise InvalidInput(f"{name} has no bucket scores")
    for bucket, f1 in scores.items():
        if not (isinstance(f1, int | float) and 0.0 <= f1 <= 1.0):
            raise InvalidInput(f"{name}[{bucket!r}] must be an F1 in [0, 1], got {f1!r}")


def should_promote(
    before: Mapping[str, float],
    after: Mapping[str, float],
    tolerance: float = DEFAULT_MARGIN,
    lower_bounds: Mapping[str, float] | None = None,
) -> Promotion:
    """Decide whether the new model (``after``) replaces the current one (``before``).

    Args:
        before: F1 per bucket of the current model on the held-out set.
        after: F1 per bucket of the candidate on the same held-out set and buckets.
        tolerance: Non-inferiority margin: largest allowed drop of any single bucket's F1
            (its interval's lower bound when ``lower_bounds`` is given), >= 0.
        lower_bounds: Lower bound of each bucket's F1-change interval (:func:`delta_ci`).

    Returns:
        ``(promote, deltas)`` with ``deltas[bucket] = after - before``; see the module docstring.

    Raises:
        InvalidInput: Empty scores, an F1 outside ``[0, 1]``, different bucket sets, or a bad
            ``tolerance``.
    """
    _check("before", before)
    _check("after", after)
    if set(before) != set(after):
        missing = sorted(set(before) ^ set(after))
        raise InvalidInput(f"before and after must score the same buckets; differ on {missing}")
    if not (isinstance(tolerance, int | float) and 0.0 <= tolerance < math.inf):
        raise InvalidInput(f"tolerance must be a number >= 0, got {tolerance!r}")
    deltas = {b: float(after[b]) - float(before[b]) for b in before}
    macro_before = sum(before.values()) / len(before)
    macro_after = sum(after.values()) / len(after)
    not_lower = macro_after >= macro_before - _SLACK
    worst = deltas if lower_bounds is None else {b: float(lower_bounds[b]) for b in deltas}
    no_big_drop = all(d >= -tolerance - _SLACK for d in worst.values())
    return Promotion(not_lower and no_big_drop, deltas)
