"""Agreement statistics for nominal labels with missing values, and bootstrap intervals.

A *unit* is one thing that was coded (a unit of text for one bucket); its *values* are the labels
the coders gave it, ``None`` where a coder gave none. In themecoder a bucket's label is one of
:data:`BUCKET_LABELS`, but any hashable label works.

Undefined statistics are ``nan``, never an exception: the chance term of every coefficient divides
by the variation in the data, and data with no variation (every value in one category, or no
pairable values at all) says nothing about reliability. Callers treat ``nan`` as "no evidence".
So is a bootstrap interval from too few units (:func:`min_bootstrap_units`): the statistic itself
may be defined on one unit (AC1 with a fixed category set is 1.0 on one agreeing pair), but an
interval resampled from it is that value twice and would read as certainty.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from functools import partial
from typing import Any, TypeAlias

import numpy as np

from themecoder.domain import POLARITIES
from themecoder.errors import InvalidInput

Label: TypeAlias = Hashable
#: A bucket's nominal label: not coded, or coded with one of the polarities.
BUCKET_LABELS: tuple[str, ...] = ("absent", *POLARITIES)
STATISTICS: tuple[str, ...] = ("alpha", "kappa", "ac1")
_EPS = 1e-12


def _alpha_from_coincidences(o: np.ndarray) -> float:
    # Nominal alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k.
    n_c = o.sum(axis=1)
    n = float(n_c.sum())
    expected = n * n - float(np.dot(n_c, n_c))
    if expected <= _EPS:
        return math.nan
    return 1.0 - (n - 1.0) * (n - float(np.trace(o))) / expected


def krippendorff_alpha(units: Sequence[Sequence[Label | None]]) -> float:
    """Krippendorff's alpha for nominal data, any number of coders, values may be missing.

    Uses the coincidence-matrix formulation of Krippendorff (2011), "Computing Krippendorff's
    Alpha-Reliability": a unit with ``m_u >= 2`` values adds ``1 / (m_u - 1)`` to ``o[c, k]`` for
    every ordered pair of its values from different coders; units with fewer than two values are
    not pairable and are ignored.

    Args:
        units: One sequence of values per unit (one entry per coder, ``None`` where missing).

    Returns:
        Alpha in ``[-1, 1]``; ``nan`` when it is undefined, that is when the pairable values fall in
        a single category (expected disagreement is zero) or no unit is pairable. Krippendorff
        leaves alpha undefined there; we do not report such data as perfect agreement.
    """
    index: dict[Label, int] = {}
    coded = []
    for unit in units:
        values = [v for v in unit if v is not None]
        if len(values) >= 2:
            coded.append([index.setdefault(v, len(index)) for v in values])
    o = np.zeros((len(index), len(index)))
    for codes in coded:
        counts = np.bincount(codes, minlength=len(index)).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (len(codes) - 1)
    return _alpha_from_coincidences(o)


def _encode_pairs(
    a: Sequence[Label | None],
    b: Sequence[Label | None],
    categories: Sequence[Label] | None = None,
) -> tuple[np.ndarray, list[Label]]:
    """Integer codes (n, 2) of the pairs where both raters gave a label, and the label list."""
    if len(a) != len(b):
        raise InvalidInput(f"raters have {len(a)} and {len(b)} values; they must be paired")
    labels = list(dict.fromkeys(categories)) if categories is not None else []
    index = {label: i for i, label in enumerate(labels)}
    codes = []
    for x, y in zip(a, b, strict=True):
        if x is None or y is None:
            continue
        for label in (x, y):
            if label not in index:
                if categories is not None:
                    raise InvalidInput(f"label {label!r} is not one of the categories {labels}")
                index[label] = len(labels)
                labels.append(label)
        codes.append((index[x], index[y]))
    return np.asarray(codes, dtype=np.int64).reshape(-1, 2), labels


def _table(codes: np.ndarray, q: int) -> np.ndarray:
    flat = np.bincount(codes[:, 0] * q + codes[:, 1], minlength=q * q)
    return flat.reshape(q, q).astype(float)


def _kappa_from_table(t: np.ndarray) -> float:
    n = t.sum()
    if n == 0:
        return math.nan
    p_o = np.trace(t) / n
    p_e = float(np.dot(t.sum(axis=1), t.sum(axis=0))) / (n * n)
    return math.nan if 1.0 - p_e <= _EPS else float((p_o - p_e) / (1.0 - p_e))


def _ac1_from_table(t: np.ndarray, q: int) -> float:
    n = t.sum()
    if n == 0 or q < 2:
        return math.nan
    p_a = np.trace(t) / n
    pi = (t.sum(axis=1) + t.sum(axis=0)) / (2.0 * n)
    p_e = float(np.dot(pi, 1.0 - pi)) / (q - 1)
    return float((p_a - p_e) / (1.0 - p_e))


def cohen_kappa(a: Sequence[Label | None], b: Sequence[Label | None]) -> float:
    """Cohen's kappa of two raters; pairs where either rater gave ``None`` are dropped.

    Args:
        a: First rater's labels.
        b: Second rater's labels, aligned with ``a``.

    Returns:
        ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from the two raters' own marginals; ``nan`` when no
        pair is left or ``p_e == 1`` (both raters used one and the same category throughout).

    Raises:
        InvalidInput: ``a`` and ``b`` differ in length.
    """
    codes, labels = _encode_pairs(a, b)
    return _kappa_from_table(_table(codes, len(labels)))


def gwet_ac1(
    a: Sequence[Label | None],
    b: Sequence[Label | None],
    categories: Sequence[Label] | None = None,
) -> float:
    """Gwet's AC1 of two raters (Gwet 2008); pairs with a ``None`` are dropped.

    ``p_e = 1 / (q - 1) * sum_k pi_k (1 - pi_k)`` where ``pi_k`` is the mean of the two raters'
    shares of category ``k`` and ``q`` the number of categories. Unlike kappa, AC1 stays high when
    agreement is high on a skewed distribution (the "kappa paradox").

    Args:
        a: First rater's labels.
        b: Second rater's labels, aligned with ``a``.
        categories: The full category set, which fixes ``q``; by default the observed labels.

    Returns:
        AC1, or ``nan`` when no pair is left or ``q < 2``.

    Raises:
        InvalidInput: ``a`` and ``b`` differ in length, or a label is not in ``categories``.
    """
    codes, labels = _encode_pairs(a, b, categories)
    return _ac1_from_table(_table(codes, len(labels)), len(labels))


def _take(data: Any, rows: np.ndarray) -> Any:
    return data[rows] if isinstance(data, np.ndarray) else [data[i] for i in rows]


def min_bootstrap_units(level: float = 0.95) -> int:
    """The fewest units from which :func:`bootstrap_ci` gives an interval at ``level``.

    A resample that draws one and the same unit ``n`` times holds that one unit's evidence only,
    and each of the ``n`` such resamples turns up with probability ``n ** -n``. While that is at
    least the tail mass ``(1 - level) / 2``, an end of the percentile interval can rest on a single
    unit: with one unit the interval is the value twice (AC1 1.0 [1, 1]); with two agreeing units
    and one disagreeing at 95%, the lower end of alpha is the disagreeing unit drawn three times
    (-0.67). So the minimum is the smallest ``n`` with ``n ** -n < (1 - level) / 2``: 4 units at the
    95% and 99% levels (3 units: 3.7% each, over the 2.5% tail), 3 at 50%, 5 at 99.9%.

    Args:
        level: Coverage of the two-sided interval, in ``(0, 1)``.

    Returns:
        The minimum number of units, at least 2.

    Raises:
        InvalidInput: ``level`` outside ``(0, 1)``.
    """
    if not 0.0 < level < 1.0:
        raise InvalidInput(f"level must be in (0, 1), got {level}")
    tail = (1.0 - level) / 2.0
    n = 2
    while float(n) ** -n >= tail:
        n += 1
    return n


def bootstrap_ci(
    stat_fn: Callable[[Any], float],
    data: Sequence[Any] | np.ndarray,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat_fn(data)``, resampling whole units.

    Each replicate draws ``len(data)`` units with replacement (rows, for an array) from
    ``numpy.random.default_rng(seed)``, so the same seed gives the same interval. Replicates where
    the statistic is undefined (``nan``, e.g. a resample with one category) are left out. Below
    :func:`min_bootstrap_units` units there is no interval: its ends could be a single unit's own
    statistic.

    Args:
        stat_fn: Statistic of a sequence of units (or of an array of rows).
        data: The units.
        n_boot: Number of replicates.
        level: Coverage of the two-sided interval, in ``(0, 1)``.
        seed: Seed of the resampling.

    Returns:
        ``(low, high)``; ``(nan, nan)`` when ``data`` has fewer than
        ``min_bootstrap_units(level)`` units (none included) or no replicate is defined.

    Raises:
        InvalidInput: ``n_boot < 1`` or ``level`` outside ``(0, 1)``.
    """
    if n_boot < 1:
        raise InvalidInput(f"n_boot must be at least 1, got {n_boot}")
    n = len(data)
    if n < min_bootstrap_units(level):  # also checks ``level``
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    stats = np.array([stat_fn(_take(data, rng.integers(0, n, size=n))) for _ in range(n_boot)])
    stats = stats[np.isfinite(stats)]
    if stats.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return float(low), float(high)


def _or_none(x: float) -> float | None:
    return None if math.isnan(x) else x


def _statistic(name: str, q: int, codes: np.ndarray) -> float:
    t = _table(codes, q)
    if name == "alpha":  # two coders per unit: a pair adds one to o[x, y] and one to o[y, x]
        return _alpha_from_coincidences(t + t.T)
    return _kappa_from_table(t) if name == "kappa" else _ac1_from_table(t, q)


def agreement_report(
    pairs_by_bucket: dict[str, list[tuple[Label | None, Label | None]]],
    *,
    categories: Sequence[Label] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Alpha, kappa and AC1 with bootstrap intervals, per bucket, for two raters.

    Works for any two raters (human-human or model-human). Pairs with a ``None`` are dropped; all
    three statistics and their intervals use the same resamples (same ``seed``). A bucket with
    fewer than :func:`min_bootstrap_units` pairs gets its values but no intervals.

    Args:
        pairs_by_bucket: For each bucket, one ``(rater_a, rater_b)`` label pair per unit.
        categories: The label set (e.g. :data:`BUCKET_LABELS`), which fixes AC1's ``q``; by
            default each bucket's observed labels.
        n_boot: Bootstrap replicates per statistic.
        level: Interval coverage.
        seed: Bootstrap seed.

    Returns:
        ``{bucket: {"n": pairs used, "alpha": {"value", "low", "high"}, "kappa": {...},
        "ac1": {...}}}``. Undefined numbers (a statistic with no variation to measure, an
        interval from too few pairs) are ``None`` so the report is strict JSON.

    Raises:
        InvalidInput: A label outside ``categories``, or a bad ``n_boot`` / ``level``.
    """
    report: dict[str, dict[str, Any]] = {}
    for bucket, pairs in pairs_by_bucket.items():
        codes, labels = _encode_pairs([p[0] for p in pairs], [p[1] for p in pairs], categories)
        entry: dict[str, Any] = {"n": int(codes.shape[0])}
        for name in STATISTICS:
            fn = partial(_statistic, name, len(labels))
            value = fn(codes)
            low, high = bootstrap_ci(fn, codes, n_boot=n_boot, level=level, seed=seed)
            entry[name] = {"value": _or_none(value), "low": _or_none(low), "high": _or_none(high)}
        report[bucket] = entry
    return report
