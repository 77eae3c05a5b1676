"""Anomaly alerts: a series whose share in a period departs from its own recent baseline.

Test: for each series (and group) and each period with ``baseline_periods`` (4) earlier
periods, the period's count ``x`` of ``N`` items is compared with the baseline's ``c`` of
``n`` items by a two-sided **Fisher exact test** on the 2x2 table (the baseline is itself an
estimate, so a test of ``x`` against a fixed baseline share would alert too often on flat
data). The baseline share shown is ``(c + 0.5) / (n + 1)``. An alert needs
``p < alpha / m`` (Bonferroni over the ``m`` tests run, ``alpha`` 0.05), at least
``min_count`` (5) items in the period for a rise (or an expected count of at least
``min_count`` for a drop), and a baseline of at least ``min_baseline`` (20) items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy.stats import fisher_exact

TEST = (
    "two-sided Fisher exact test of the period's count against the previous "
    "{k} periods, Bonferroni-corrected over {m} tests at alpha {alpha}; minimum count {min_count}"
)


@dataclass(frozen=True)
class AnomalyParams:
    baseline_periods: int = 4
    alpha: float = 0.05
    min_count: int = 5
    min_baseline: int = 20


def anomalies(
    ts: pd.DataFrame, group_by: Sequence[str] = (), params: AnomalyParams | None = None
) -> tuple[pd.DataFrame, str]:
    """Alerts from a time series table (``period``, groups, ``series``, ``count``, ``total``).

    Returns:
        The alerts (``period``, groups, ``series``, ``count``, ``total``, ``share``,
        ``baseline_share``, ``baseline_total``, ``ratio``, ``direction``, ``p_value``), largest
        departure first, and the test as a sentence with its numbers.
    """
    p = params or AnomalyParams()
    keys = [*group_by, "series"]
    tests = []
    for _, g in ts.sort_values("period").groupby(keys, sort=False):
        counts, totals = g["count"].to_numpy(), g["total"].to_numpy()
        for i in range(p.baseline_periods, len(g)):
            c = counts[i - p.baseline_periods : i].sum()
            n = totals[i - p.baseline_periods : i].sum()
            x, big_n = int(counts[i]), int(totals[i])
            if n < p.min_baseline or big_n == 0:
                continue
            p0 = (c + 0.5) / (n + 1)
            rise = x / big_n > p0
            if (x if rise else p0 * big_n) < p.min_count:
                continue
            row = g.iloc[i]
            tests.append(
                {
                    "period": row["period"],
                    **{k: row[k] for k in keys},
                    "count": x,
                    "total": big_n,
                    "share": x / big_n,
                    "baseline_share": p0,
                    "baseline_total": int(n),
                    "ratio": (x / big_n) / p0,
                    "direction": "up" if rise else "down",
                    "p_value": float(fisher_exact([[x, big_n - x], [c, n - c]])[1]),
                }
            )
    m = len(tests)  # the correction divides alpha by it; no tests run, nothing corrected
    described = TEST.format(k=p.baseline_periods, m=m, alpha=p.alpha, min_count=p.min_count)
    columns = [
        "period",
        *keys,
        "count",
        "total",
        "share",
        "baseline_share",
        "baseline_total",
        "ratio",
        "direction",
        "p_value",
    ]
    found = pd.DataFrame(tests, columns=columns)
    found = found[found["p_value"] < p.alpha / max(m, 1)]
    return found.sort_values("p_value").reset_index(drop=True), described
