"""Agreement gating: which buckets' suggestions may skip human review.

The rule: a bucket's suggestions are auto-accepted only while the *lower* bound of the bootstrap
interval of its model-human Krippendorff's alpha is at or above a threshold (0.80 by default,
Krippendorff's customary bar for relying on data), and the interval rests on at least
``min_units`` double-coded units. Using the lower bound rather than the point estimate means a
bucket earns auto-accept by showing agreement *reliably*, not by a lucky small sample; the unit
floor guards against the degenerate intervals a handful of identical units produces (every
resample agrees, so the interval collapses to ``[1, 1]``). Anything missing, undefined or
non-finite closes the gate: no data means review.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from themecoder.errors import InvalidInput

DEFAULT_THRESHOLD = 0.80
#: A floor against tiny samples, not a power calculation; raise it where errors are costly.
DEFAULT_MIN_UNITS = 50


def auto_accept_allowed(
    alpha_ci_low: float | None,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    n_units: int,
    min_units: int = DEFAULT_MIN_UNITS,
) -> bool:
    """Whether a bucket with this model-human alpha interval may auto-accept.

    Args:
        alpha_ci_low: Lower bound of the alpha interval; ``None`` or ``nan`` when undefined.
        threshold: The bar the lower bound must reach, in ``(-1, 1]``.
        n_units: Number of double-coded units the interval was computed from.
        min_units: Fewest units that may open the gate.

    Returns:
        True only if ``n_units >= min_units`` and ``alpha_ci_low >= threshold``.

    Raises:
        InvalidInput: ``threshold`` is not a number in ``(-1, 1]`` or ``min_units < 1``.
    """
    if not (isinstance(threshold, int | float) and -1.0 < threshold <= 1.0):
        raise InvalidInput(f"threshold must be in (-1, 1], got {threshold!r}")
    if min_units < 1:
        raise InvalidInput(f"min_units must be at least 1, got {min_units}")
    if alpha_ci_low is None or not math.isfinite(alpha_ci_low) or n_units < min_units:
        return False
    return alpha_ci_low >= threshold


def gate_buckets(
    report: Mapping[str, Mapping[str, Any]],
    threshold: float = DEFAULT_THRESHOLD,
    *,
    min_units: int = DEFAULT_MIN_UNITS,
    buckets: Iterable[str] | None = None,
) -> dict[str, bool]:
    """Apply :func:`auto_accept_allowed` to every bucket of a model-human agreement report.

    Args:
        report: Output of :func:`themecoder.review.agreement.agreement_report` for model-human
            pairs.
        threshold: See :func:`auto_accept_allowed`.
        min_units: See :func:`auto_accept_allowed`.
        buckets: Buckets to decide; by default those in ``report``. A named bucket that the
            report lacks gets False.

    Returns:
        ``{bucket: allowed}``.
    """
    names = list(report) if buckets is None else list(buckets)
    out: dict[str, bool] = {}
    for bucket in names:
        entry = report.get(bucket) or {}
        low = (entry.get("alpha") or {}).get("low")
        out[bucket] = auto_accept_allowed(
            low, threshold, n_units=int(entry.get("n") or 0), min_units=min_units
        )
    return out
