"""Counts and shares per period: bucket x polarity, themes, custom codes, sentiment, expression.

The unit counted is the **item** (a ticket, a survey answer, a transcript turn): an item counts
once for a series in a period however many of its units carry it. ``total`` is the number of
coded items in the period and group, ``share = count / total``. Every period between the first
and the last (or ``start`` / ``end``) appears for every group and series: an empty period is a
zero, not a gap. ``reviewed`` says how many of the counted items had the series decided by a
reviewer (the rest are the model's codes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from themecoder.codebook.lineage import Lineage
from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS
from themecoder.errors import InvalidInput

FREQS = {"day": "D", "week": "W-SUN", "month": "M"}
MEASURES = ("buckets", "themes", "codes", "sentiment", "expression")
NET = "net"


def period_label(at: pd.Series, freq: str) -> pd.Series:
    """Period of each timestamp as text: ``2026-03-14``, ``2026-W11`` (ISO) or ``2026-03``."""
    return _labels(at.dt.to_period(_freq(freq)), freq)


def _freq(freq: str) -> str:
    if freq not in FREQS:
        raise InvalidInput(f"freq must be one of {list(FREQS)}, got {freq!r}", field="freq")
    return FREQS[freq]


def _labels(periods: pd.Series | pd.PeriodIndex, freq: str) -> pd.Series:
    periods = pd.Series(periods)
    if freq == "week":
        start = periods.dt.start_time
        iso = start.dt.isocalendar()
        return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return periods.astype(str)


def series_rows(
    items: pd.DataFrame,
    codes: pd.DataFrame,
    measure: str,
    *,
    unit_themes: pd.DataFrame | None = None,
    lineage: Lineage | None = None,
    theme_lineage: Lineage | None = None,
    theme_labels: dict[int, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """``(item_id, series, reviewed)`` rows of ``measure`` (one per item and series) and the
    series every period must show."""
    if measure not in MEASURES:
        raise InvalidInput(f"measure must be one of {MEASURES}, got {measure!r}", field="measure")
    coded = items[items["coded"].astype(bool)]
    if measure in ("sentiment", "expression"):
        labels = SENTIMENTS if measure == "sentiment" else EXPRESSIONS
        rows = pd.DataFrame(
            {"item_id": coded["item_id"], "series": coded[measure].astype(str), "reviewed": False}
        )
        return rows, list(labels)
    if measure == "themes":
        ut = (
            unit_themes
            if unit_themes is not None
            else pd.DataFrame(columns=["item_id", "theme_id"])
        )
        names = _theme_names(ut["theme_id"], theme_lineage, theme_labels or {})
        rows = pd.DataFrame(
            {"item_id": ut["item_id"], "series": ut["theme_id"].map(names), "reviewed": False}
        )
        return _per_item(rows), sorted(set(names.values()))
    remap = _remapper(lineage)
    series = codes["bucket"].map(remap)
    if measure == "buckets":
        rows = pd.DataFrame(
            {
                "item_id": codes["item_id"],
                "series": series + ":" + codes["polarity"].astype(str),
                "reviewed": codes["basis"] == "reviewer",
            }
        )
        rows = rows[series.isin(BUCKETS)]
        return _per_item(rows), [f"{b}:{p}" for b in BUCKETS for p in POLARITIES]
    rows = pd.DataFrame(
        {"item_id": codes["item_id"], "series": series, "reviewed": codes["basis"] == "reviewer"}
    )
    rows = rows[~series.isin(BUCKETS)]
    custom = sorted(
        {*rows["series"], *(c for c in (lineage.current if lineage else ()) if c not in BUCKETS)}
    )
    return _per_item(rows), custom


def time_series(
    items: pd.DataFrame,
    rows: pd.DataFrame,
    all_series: Sequence[str],
    *,
    freq: str = "month",
    group_by: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    weights: pd.Series | None = None,
    net: bool = False,
) -> pd.DataFrame:
    """Count ``rows`` (from :func:`series_rows`) per period, group and series.

    Args:
        items: Prepared items (``prepare_items``), already filtered.
        rows: One row per item and series.
        all_series: Series to show even where they never occur.
        freq: ``day``, ``week`` or ``month``.
        group_by: Item columns to group by (project, account_id, plan, channel, source, ...).
        start, end: Period range to show (dates); default the data's first and last period.
        weights: Post-stratification weight per ``item_id``; counts become weighted sums.
        net: Add the ``net`` series (``count`` positive minus negative, ``share`` the net
            sentiment, % positive - % negative); for the sentiment measure.

    Returns:
        Columns ``period``, the group columns, ``series``, ``count``, ``total``, ``share``,
        ``reviewed``, sorted by period, group and series.
    """
    group_by = list(group_by)
    pfreq = _freq(freq)
    coded = items[items["coded"].astype(bool)].copy()
    coded["w"] = 1.0 if weights is None else coded["item_id"].map(weights).fillna(0.0)
    coded["period"] = coded["at"].dt.to_period(pfreq)
    if coded.empty and (start is None or end is None):
        return pd.DataFrame(
            columns=["period", *group_by, "series", "count", "total", "share", "reviewed"]
        )
    first = _period(start, pfreq, "start") if start else coded["period"].min()
    last = _period(end, pfreq, "end") if end else coded["period"].max()
    if start and end and first > last:
        raise InvalidInput(f"start {start} is after end {end}", field="start")
    periods = pd.period_range(first, last, freq=pfreq)
    keys = ["period", *group_by]
    for column in group_by:
        coded[column] = coded[column].astype("string").fillna("(none)")
    totals = coded.groupby(keys, observed=True)["w"].sum()
    hits = rows.merge(coded[["item_id", "w", *keys]], on="item_id")
    hits["rw"] = hits["w"] * hits["reviewed"].astype(float)
    counted = hits.groupby([*keys, "series"], observed=True)[["w", "rw"]].sum()
    groups = coded[group_by].drop_duplicates().sort_values(group_by) if group_by else None
    series = list(dict.fromkeys([*all_series, *rows["series"].unique()]))
    grid = _grid(periods, groups, group_by, series)
    out = grid.join(counted, on=[*keys, "series"]).join(totals.rename("total"), on=keys)
    out = out.rename(columns={"w": "count", "rw": "reviewed"}).fillna(
        {"count": 0.0, "reviewed": 0.0, "total": 0.0}
    )
    if net:
        out = _with_net(out, keys)
    out["share"] = np.where(
        out["total"] > 0, out["count"] / out["total"].where(out["total"] > 0, 1), 0.0
    )
    if weights is None:
        out[["count", "total", "reviewed"]] = out[["count", "total", "reviewed"]].astype(int)
    out["period"] = _labels(pd.PeriodIndex(out["period"]), freq).to_numpy()
    ordered = ["period", *group_by, "series", "count", "total", "share", "reviewed"]
    return out[ordered].reset_index(drop=True)


def _grid(
    periods: pd.PeriodIndex, groups: pd.DataFrame | None, group_by: list[str], series: list[str]
) -> pd.DataFrame:
    grid = pd.DataFrame({"period": periods}).merge(pd.DataFrame({"series": series}), how="cross")
    if groups is not None:
        grid = pd.DataFrame({"period": periods}).merge(groups, how="cross")
        grid = grid.merge(pd.DataFrame({"series": series}), how="cross")
    return grid[["period", *group_by, "series"]]


def _with_net(out: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    wide = out.pivot_table(
        index=keys, columns="series", values="count", aggfunc="sum", observed=True
    )
    totals = out.groupby(keys, observed=True)["total"].first()
    net = (wide.get("positive", 0) - wide.get("negative", 0)).rename("count")
    extra = pd.concat([net, totals], axis=1).reset_index().assign(series=NET, reviewed=0.0)
    return pd.concat([out, extra[out.columns]], ignore_index=True).sort_values(
        [*keys, "series"], kind="stable"
    )


def _per_item(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per item and series; reviewed if any of its codes for it was."""
    if rows.empty:
        return rows.assign(reviewed=rows["reviewed"].astype(bool))
    return rows.groupby(["item_id", "series"], as_index=False)["reviewed"].any()


def _remapper(lineage: Lineage | None) -> Callable[[str], str]:
    def remap(code: str) -> str:
        if lineage is not None and lineage.knows(code):
            return lineage.destination(code)
        return code

    return remap


def _theme_names(
    theme_ids: pd.Series, lineage: Lineage | None, labels: dict[int, str]
) -> dict[int, str]:
    """Series name of each stored theme id after lineage: ``theme:12 <label>``."""
    out = {}
    for tid in set(theme_ids.astype(int)):
        code = f"theme:{tid}"
        dest = lineage.destination(code) if lineage is not None and lineage.knows(code) else code
        head = dest.split(" ", 1)[0]
        current = int(head.split(":", 1)[1]) if head.startswith("theme:") else tid
        out[tid] = f"{dest} {labels.get(current, '')}".strip()
    return out


def _period(value: Any, freq: str, name: str) -> pd.Period:
    """A caller's start or end as a period; a value that is no date is an input error."""
    try:
        return pd.Period(value, freq)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{name}: {value!r} is not a date ({exc})", field=name) from exc
