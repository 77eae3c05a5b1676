"""Linkage of signals to outcomes: outcome rate with and without a signal, with 95% CIs.

An account is **exposed** to a signal (a bucket x polarity, or a theme) when at least one of
its items carried it strictly before the account's outcome date. For every signal:
``rate_with = y1 / n1`` and ``rate_without = y0 / n0`` over accounts with a known binary
outcome; ``difference = rate_with - rate_without`` and ``risk_ratio = rate_with /
rate_without``. 95% CIs are percentile bootstrap intervals (``n_boot`` 2000 resamples of
accounts within the exposed and unexposed groups, and within strata when adjusted; fixed
seed). A zero rate makes the risk ratio use the Haldane correction (+0.5 outcomes, +1 account
per group), flagged ``rr_corrected``.

Adjusted for strata (segment, plan, ...): Mantel-Haenszel risk difference
``sum(w_k (p1k - p0k)) / sum(w_k)`` with ``w_k = n1k n0k / N_k`` and risk ratio
``sum(y1k n0k / N_k) / sum(y0k n1k / N_k)``; strata with only exposed or only unexposed
accounts carry no weight. A cell with fewer than ``small_cell`` (5) accounts of either
outcome in either group is flagged: the figures are shown, the CI is wide and says so. With
fewer than 5 accounts in the exposed or the unexposed group no CI is given at all (a
bootstrap of so few accounts has almost no spread).

Weighted (post-stratification, ``weights`` per account): the rates are weighted means
``sum(w y) / sum(w)`` of each group, so the figures speak for the customer base's mix rather
than for the accounts that happened to have an outcome; the counts beside them stay the
accounts counted. The bootstrap resamples accounts with their weights. Weighting and
adjustment are two answers to the same question (which mix to compare in), so a table is
one or the other.

The subject may be a user instead of an account (outcomes imported per user): read "user"
for "account" throughout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SMALL_CELL = 5
N_BOOT = 2000


def exposure(sig: pd.DataFrame, outcomes: pd.DataFrame, signal_col: str = "signal") -> pd.DataFrame:
    """Accounts x signals: True where the account had the signal before its outcome date.

    ``sig`` has ``account_id``, ``at`` and ``signal_col``; ``outcomes`` has ``account_id``,
    ``value`` and ``at``. Rows are the accounts of ``outcomes`` (every one, exposed or not).
    """
    dated = sig.merge(
        outcomes[["account_id", "at"]].rename(columns={"at": "outcome_at"}), on="account_id"
    )
    before = dated[dated["at"] < dated["outcome_at"]]
    table = pd.crosstab(before["account_id"], before[signal_col]) > 0
    return table.reindex(outcomes["account_id"], fill_value=False)


def _rates(
    y: np.ndarray, x: np.ndarray, s: np.ndarray | None, w: np.ndarray | None = None
) -> tuple[float, float]:
    """Risk difference and ratio: crude (``s`` None, weighted by ``w`` if given) or
    Mantel-Haenszel over strata."""
    if s is None:
        w = np.ones(len(y)) if w is None else w
        n1, n0 = w[x].sum(), w[~x].sum()
        y1, y0 = (w * y)[x].sum(), (w * y)[~x].sum()
        p1, p0 = y1 / n1, y0 / n0
        if p1 == 0 or p0 == 0:
            return p1 - p0, ((y1 + 0.5) / (n1 + 1)) / ((y0 + 0.5) / (n0 + 1))
        return p1 - p0, p1 / p0
    num_d = den_d = num_r = den_r = 0.0
    for k in np.unique(s):
        m = s == k
        xk, yk = x[m], y[m]
        n1, n0 = xk.sum(), (~xk).sum()
        if n1 == 0 or n0 == 0:
            continue
        big = n1 + n0
        y1, y0 = yk[xk].sum(), yk[~xk].sum()
        wk = n1 * n0 / big
        num_d += wk * (y1 / n1 - y0 / n0)
        den_d += wk
        num_r += y1 * n0 / big
        den_r += y0 * n1 / big
    if den_d == 0:
        return float("nan"), float("nan")
    rr = num_r / den_r if den_r > 0 and num_r > 0 else float("nan")
    return num_d / den_d, rr


def effect(
    y: np.ndarray,
    x: np.ndarray,
    strata: np.ndarray | None = None,
    *,
    weights: np.ndarray | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, float | int | bool | None]:
    """Rates, difference and risk ratio with bootstrap 95% CIs for one binary exposure;
    ``weights`` (one per account, normalised to mean 1) weigh the rates."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=bool)
    if weights is not None and strata is not None:
        raise ValueError("weights and strata are exclusive")
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean() if len(w) and w.mean() > 0 else w
    n1, n0 = int(x.sum()), int((~x).sum())
    y1, y0 = float(y[x].sum()), float(y[~x].sum())
    out: dict[str, float | int | bool | None] = {
        "n_with": n1,
        "events_with": y1,
        "n_without": n0,
        "events_without": y0,
        "rate_with": float((w * y)[x].sum() / w[x].sum()) if n1 else None,
        "rate_without": float((w * y)[~x].sum() / w[~x].sum()) if n0 else None,
        "difference": None,
        "difference_low": None,
        "difference_high": None,
        "risk_ratio": None,
        "rr_low": None,
        "rr_high": None,
        "rr_corrected": False,
        "small_cell": min(y1, n1 - y1, y0, n0 - y0) < SMALL_CELL,
    }
    if n1 == 0 or n0 == 0:
        return out
    diff, rr = _rates(y, x, strata, None if strata is not None else w)
    if not np.isfinite(diff):
        # No stratum holds exposed and unexposed subjects both: nothing to compare within.
        return out
    out["difference"] = float(diff)
    out["risk_ratio"] = float(rr) if np.isfinite(rr) else None
    out["rr_corrected"] = strata is None and (y1 == 0 or y0 == 0)
    if min(n1, n0) < SMALL_CELL:
        # A bootstrap of a handful of accounts has almost no spread: no CI rather than a
        # falsely narrow one.
        return out
    rng = np.random.default_rng(seed)
    groups = [
        (x == e) & (strata == k if strata is not None else True)
        for e in (True, False)
        for k in (np.unique(strata) if strata is not None else [0])
    ]
    index = [np.flatnonzero(g) for g in groups if g.any()]
    boots = np.empty((n_boot, 2))
    for b in range(n_boot):
        pick = np.concatenate([rng.choice(ix, size=len(ix)) for ix in index])
        boots[b] = (
            _rates(y[pick], x[pick], None, w[pick])
            if strata is None
            else _rates(y[pick], x[pick], strata[pick])
        )
    lo_d, hi_d = np.nanpercentile(boots[:, 0], [2.5, 97.5])
    finite = boots[np.isfinite(boots[:, 1]), 1]
    out["difference_low"], out["difference_high"] = float(lo_d), float(hi_d)
    if len(finite) > n_boot // 2:
        lo_r, hi_r = np.percentile(finite, [2.5, 97.5])
        out["rr_low"], out["rr_high"] = float(lo_r), float(hi_r)
    return out


def linkage_table(
    exposed: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    strata: pd.Series | None = None,
    weights: pd.Series | None = None,
    expected: Mapping[str, str] | None = None,
    signals: Sequence[str] | None = None,
    n_boot: int = N_BOOT,
) -> pd.DataFrame:
    """One row per signal: counts, rates, difference and risk ratio with CIs, expected and
    observed direction, small-cell flag.

    Args:
        exposed: From :func:`exposure`, indexed by account.
        outcomes: ``account_id`` and binary ``value`` (1 = the outcome happened).
        strata: Stratum per account id (adjusts by Mantel-Haenszel); ``None`` for crude.
        weights: Post-stratification weight per account id (an account without one weighs
            1); exclusive with ``strata``.
        expected: Signal -> expected direction of the outcome ("higher", "lower", "none").
    """
    y = outcomes.set_index("account_id")["value"].reindex(exposed.index).to_numpy(dtype=float)
    s = None if strata is None else strata.reindex(exposed.index).fillna("(none)").to_numpy()
    w = None if weights is None else weights.reindex(exposed.index).fillna(1.0).to_numpy()
    rows = []
    for name in signals or list(exposed.columns):
        x = exposed[name].to_numpy(dtype=bool) if name in exposed else np.zeros(len(y), bool)
        e = effect(y, x, s, weights=w, n_boot=n_boot)
        low, high = e["difference_low"], e["difference_high"]
        observed = (
            "unclear"
            if low is None or high is None
            else "higher"
            if low > 0
            else "lower"
            if high < 0
            else "unclear"
        )
        want = (expected or {}).get(name, "none stated")
        rows.append(
            {
                "signal": name,
                **e,
                "expected": want,
                "observed": observed,
                "agrees": None
                if want not in ("higher", "lower") or observed == "unclear"
                else want == observed,
            }
        )
    return pd.DataFrame(rows)
