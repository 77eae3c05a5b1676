"""Retraining policy: promote a new model version only if it is not worse.

The rule, on held-out reviewed data scored per bucket: promote when (1) the macro-F1 (unweighted
mean over buckets) of the new model is not lower than the current one's and (2) no bucket's F1
drops by more than ``tolerance``. A tie promotes: the new model has learnt from more reviewed
decisions at no measured cost. Condition (2) stops a gain on busy buckets from hiding a
regression on a rare one; ``tolerance`` (default 0) absorbs the noise of small held-out sets.
Comparisons allow ``1e-9`` of floating-point slack.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from themecoder.errors import InvalidInput

_SLACK = 1e-9


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
    before: Mapping[str, float], after: Mapping[str, float], tolerance: float = 0.0
) -> Promotion:
    """Decide whether the new model (``after``) replaces the current one (``before``).

    Args:
        before: F1 per bucket of the current model on the held-out set.
        after: F1 per bucket of the candidate on the same held-out set and buckets.
        tolerance: Largest allowed drop of any single bucket's F1, >= 0.

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
    no_big_drop = all(d >= -tolerance - _SLACK for d in deltas.values())
    return Promotion(not_lower and no_big_drop, deltas)
