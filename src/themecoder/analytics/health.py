"""Account health (green / gray / red) and the weekly digest.

Health rubric, over an account's signals in the ``window_days`` (90) up to a date:

* **red**: any ``renewal_likelihood`` risk, or at least 2 risk signals making up at least half
  of the account's risk and positive signals;
* **green**: at least 2 positive signals making up at least 60% of them, and no renewal risk;
* **gray**: everything else, including accounts with too little signal to say.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from themecoder.errors import InvalidInput

RANK = {"red": 0, "gray": 1, "green": 2}
TREND_WEEKS = 4


def account_health(sig: pd.DataFrame, as_of: pd.Timestamp, window_days: int = 90) -> pd.DataFrame:
    """One row per account with signals in the window: ``health``, counts and ``reason``."""
    inside = sig[
        sig["account_id"].notna()
        & (sig["at"] <= as_of)
        & (sig["at"] > as_of - pd.Timedelta(days=window_days))
    ]
    rows = []
    for account, g in inside.groupby("account_id"):
        risk, pos = int((g["polarity"] == "risk").sum()), int((g["polarity"] == "positive").sum())
        renewal = bool(((g["bucket"] == "renewal_likelihood") & (g["polarity"] == "risk")).any())
        polar = risk + pos
        if renewal:
            health, reason = "red", "renewal risk raised"
        elif risk >= 2 and risk >= 0.5 * polar:
            health, reason = "red", f"{risk} of {polar} polar signals are risk"
        elif pos >= 2 and pos >= 0.6 * polar:
            health, reason = "green", f"{pos} of {polar} polar signals are positive"
        else:
            health, reason = "gray", "mixed or too little signal"
        rows.append(
            {
                "account_id": account,
                "health": health,
                "signals": len(g),
                "risk": risk,
                "positive": pos,
                "reason": reason,
            }
        )
    cols = ["account_id", "health", "signals", "risk", "positive", "reason"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(
        ["health", "risk"], key=lambda c: c.map(RANK) if c.name == "health" else -c
    ).reset_index(drop=True)


def iso_week(week: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``"2026-W36"`` -> (Monday 00:00, next Monday 00:00)."""
    try:
        year, number = week.upper().split("-W")
        year_n, week_n = int(year), int(number)
    except ValueError:
        raise InvalidInput(f"week must look like 2026-W36, got {week!r}", field="week") from None
    try:
        monday = date.fromisocalendar(year_n, week_n, 1)
    except ValueError:
        weeks = date(year_n, 12, 28).isocalendar()[1] if 1 <= year_n <= 9999 else None
        last = f"; {year_n} has weeks 1 to {weeks}" if weeks else ""
        raise InvalidInput(f"there is no week {week!r}{last}", field="week") from None
    start = pd.Timestamp(monday)
    return start, start + pd.Timedelta(days=7)


def digest(sig: pd.DataFrame, week: str, top: int = 3, quotes: int = 2) -> dict[str, Any]:
    """Accounts with signals in ``week``: health, top signals with trend and quotes, worst
    first. Trend compares the week's count of a signal with its weekly mean over the
    previous 4 weeks (``up`` / ``down`` / ``flat`` / ``new``)."""
    start, end = iso_week(week)
    health = account_health(sig, end - pd.Timedelta(microseconds=1)).set_index("account_id")
    in_week = sig[sig["account_id"].notna() & (sig["at"] >= start) & (sig["at"] < end)]
    before = sig[(sig["at"] >= start - pd.Timedelta(weeks=TREND_WEEKS)) & (sig["at"] < start)]
    accounts = []
    for account, g in in_week.groupby("account_id"):
        g = g.assign(signal=g["bucket"] + ":" + g["polarity"])
        counts = g.groupby("signal")["item_id"].nunique()
        order = sorted(counts.index, key=lambda s: (not s.endswith(":risk"), -counts[s], s))
        prior = before[before["account_id"] == account]
        prior_counts = (prior["bucket"] + ":" + prior["polarity"]).value_counts()
        signals = []
        for name in order[:top]:
            mean = prior_counts.get(name, 0) / TREND_WEEKS
            picked = g[g["signal"] == name].sort_values("unit_sentiment_score")
            signals.append(
                {
                    "signal": name,
                    "count": int(counts[name]),
                    "previous_weekly_mean": round(float(mean), 2),
                    "trend": _trend(int(counts[name]), mean),
                    "quotes": [
                        {"item": str(r.external_id), "text": str(r.unit_text)}
                        for r in picked.drop_duplicates("unit_id").head(quotes).itertuples()
                    ],
                }
            )
        h = health.loc[account] if account in health.index else None
        accounts.append(
            {
                "account_id": str(account),
                "health": "gray" if h is None else str(h["health"]),
                "reason": "" if h is None else str(h["reason"]),
                "risk_signals": int((g["polarity"] == "risk").sum()),
                "signals": signals,
            }
        )
    accounts.sort(key=lambda a: (RANK[a["health"]], -a["risk_signals"], a["account_id"]))
    return {
        "week": week.upper(),
        "start": start.date().isoformat(),
        "end": (end - pd.Timedelta(days=1)).date().isoformat(),
        "accounts": accounts,
    }


def _trend(count: int, mean: float) -> str:
    if mean == 0:
        return "new"
    if count > 1.5 * mean:
        return "up"
    if count < 0.5 * mean:
        return "down"
    return "flat"


def digest_markdown(d: dict[str, Any]) -> str:
    """The digest as Markdown, worst accounts first."""
    icon = {"red": "🔴 red", "gray": "⚪ gray", "green": "🟢 green"}
    lines = [f"# Weekly digest {d['week']} ({d['start']} .. {d['end']})", ""]
    if not d["accounts"]:
        lines.append("No account signals this week.")
    for a in d["accounts"]:
        lines += [f"## {a['account_id']}: {icon[a['health']]}", "", f"_{a['reason']}_", ""]
        for s in a["signals"]:
            lines.append(
                f"- **{s['signal']}**: {s['count']} this week, trend {s['trend']} "
                f"(previous 4 weeks: {s['previous_weekly_mean']}/week)"
            )
            lines += [f"  > {q['item']}: {' '.join(q['text'].split())}" for q in s["quotes"]]
        lines.append("")
    return "\n".join(lines)
