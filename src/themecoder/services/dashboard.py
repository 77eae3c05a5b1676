"""The analytics page's use case: one project's bucket counts over time (risk and positive, one
chart each), its account health, escalations, anomaly alerts, and agreement with the gates.

Everything comes from the analytics services the API and CLI use; this module only picks the
figures a page shows together and turns the series into chart geometry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from themecoder.analytics.frames import known_columns
from themecoder.analytics.svgchart import line_geometry
from themecoder.codebook.model import Codebook
from themecoder.domain import BUCKETS
from themecoder.errors import InvalidInput
from themecoder.services import agreement, escalations
from themecoder.services import analytics as svc
from themecoder.services.projects import Principal

#: The polarities charted, one chart each.
CHARTED = ("risk", "positive")
FREQS = ("week", "month")
#: Item columns the page filters by (a column the project's items lack offers no choice).
FILTER_COLUMNS = ("source", "account_id", "segment")
MAX_CHOICES = 200
MAX_ROWS = 50
HEALTH = ("red", "gray", "green")


@dataclass(frozen=True)
class DashboardFilter:
    """What the analytics page is narrowed to; ``None`` is everything."""

    bucket: str | None = None
    freq: str = "month"
    source: str | None = None
    account_id: str | None = None
    segment: str | None = None

    def check(self) -> None:
        """Raise :class:`InvalidInput` naming the first bad field."""
        if self.bucket is not None and self.bucket not in BUCKETS:
            raise InvalidInput(f"unknown bucket {self.bucket!r}", field="bucket")
        if self.freq not in FREQS:
            raise InvalidInput(f"freq must be one of {FREQS}, got {self.freq!r}", field="freq")

    def columns(self) -> dict[str, list[str]]:
        """Column -> allowed values, for the analytics filters."""
        values = {c: getattr(self, c) for c in FILTER_COLUMNS}
        return {c: [v] for c, v in values.items() if v}


def choices(items: pd.DataFrame) -> dict[str, list[str]]:
    """Values each filter column takes in the project's items (sorted, capped)."""
    known = set(known_columns(items))
    out: dict[str, list[str]] = {}
    for column in FILTER_COLUMNS:
        if column in known:
            values = items[column].dropna().astype(str)
            out[column] = sorted(v for v in set(values) if v)[:MAX_CHOICES]
        else:
            out[column] = []
    return out


def charts(frame: pd.DataFrame, buckets: list[str]) -> list[dict[str, Any]]:
    """One chart per charted polarity: a line per bucket of its counts per period."""
    periods = list(dict.fromkeys(frame["period"].astype(str)))
    out = []
    for polarity in CHARTED:
        lines: dict[str, list[float]] = {}
        for bucket in buckets:
            mine = frame[frame["series"] == f"{bucket}:{polarity}"]
            by_period = dict(zip(mine["period"].astype(str), mine["count"], strict=True))
            lines[bucket] = [float(by_period.get(p, 0)) for p in periods]
        out.append(
            {
                "polarity": polarity,
                "total": int(sum(sum(v) for v in lines.values())),
                "periods": periods,
                "values": lines,
                "geometry": line_geometry(periods, lines) if periods else None,
            }
        )
    return out


def agreement_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per bucket: pairs and alpha (with its interval) for model-human and human-human, and
    whether the gate lets the bucket auto-accept."""

    def alpha(stats: dict[str, Any] | None) -> dict[str, Any]:
        stats = stats or {}
        return {"n": int(stats.get("n") or 0), **(stats.get("alpha") or {})}

    return [
        {
            "bucket": b,
            "model_human": alpha(report["model_human"].get(b)),
            "human_human": alpha(report["human_human"].get(b)),
            "gate_open": bool(report["gates"].get(b)),
        }
        for b in BUCKETS
    ]


def analytics_view(
    session: Session, principal: Principal, book: Codebook, flt: DashboardFilter
) -> dict[str, Any]:
    """Everything the analytics page shows for the caller's project.

    Raises:
        InvalidInput: An unknown bucket, frequency, or a filter on a column the project's
            items do not have.
    """
    flt.check()
    pid = principal.project_id
    frame = svc.timeseries(
        session, book, project_id=pid, measure="buckets", freq=flt.freq, filters=flt.columns()
    )
    buckets = [flt.bucket] if flt.bucket else list(BUCKETS)
    health = svc.records(svc.health(session, pid))
    alerts = svc.anomaly_alerts(session, book, project_id=pid, freq="week")
    report = agreement.agreement(session, pid)
    return {
        "charts": charts(frame, buckets),
        "choices": choices(svc.load_frames(session, pid).items),
        "health": health[:MAX_ROWS],
        "health_counts": {h: sum(r["health"] == h for r in health) for h in HEALTH},
        "escalations": escalations.list_escalations(session, pid)[:MAX_ROWS],
        "alerts": alerts["alerts"][:MAX_ROWS],
        "alert_test": alerts["test"],
        "agreement": agreement_rows(report),
        "threshold": report["threshold"],
        "min_units": report["min_units"],
        "n_blind_codes": report["n_blind_codes"],
    }
