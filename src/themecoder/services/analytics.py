"""Analytics use cases: read the store as frames, compute, and write tables and charts.

CLI and API call the same functions here. Every function takes an open session and a project
scope (``None``: everything stored, CLI runs and projects; a project id: that project only).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from themecoder.analytics import frames as fr
from themecoder.analytics.anomaly import AnomalyParams, anomalies
from themecoder.analytics.charts import line_chart
from themecoder.analytics.health import account_health, digest, digest_markdown
from themecoder.analytics.risk import signals
from themecoder.analytics.timeseries import MEASURES, period_label, series_rows, time_series
from themecoder.codebook.lineage import Lineage
from themecoder.codebook.model import Codebook
from themecoder.config import Settings
from themecoder.errors import InvalidInput
from themecoder.storage import analytics as q
from themecoder.storage import init_db, make_engine, session_factory
from themecoder.storage.themes import theme_lineage

TABLE_FORMATS = (".csv", ".parquet", ".json")


@dataclass
class Frames:
    """What the store holds, ready for counting."""

    items: pd.DataFrame  # prepared: one row per item, metadata as columns
    codes: pd.DataFrame  # effective codes: reviewer's decision over model code
    unit_themes: pd.DataFrame
    theme_lineage: Lineage
    theme_labels: dict[int, str]


@contextmanager
def store_session(s: Settings) -> Iterator[Session]:
    """A session on the configured store (migrated first), for the command line."""
    engine = make_engine(s.db_url)
    try:
        init_db(engine)
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def load_frames(session: Session, project_id: int | None = None) -> Frames:
    """Read items, codes, review decisions and themes of the scope."""
    items = fr.prepare_items(q.items_frame(session, project_id))
    codes = fr.effective_codes(
        q.codes_frame(session, project_id), q.suggestions_frame(session, project_id)
    )
    codes = codes[codes["item_id"].isin(items["item_id"])]
    themes = q.unit_themes_frame(session, project_id)
    return Frames(
        items=items,
        codes=codes.reset_index(drop=True),
        unit_themes=themes[themes["item_id"].isin(items["item_id"])],
        theme_lineage=Lineage.from_json(theme_lineage(session)),
        theme_labels=q.theme_labels(session),
    )


def timeseries(
    session: Session,
    book: Codebook,
    *,
    project_id: int | None = None,
    measure: str = "buckets",
    freq: str = "month",
    group_by: Sequence[str] = (),
    filters: Mapping[str, Sequence[str]] | None = None,
    series: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    weights: pd.Series | None = None,
) -> pd.DataFrame:
    """Counts and shares of ``measure`` per period (see ``analytics.timeseries``).

    Args:
        session: Open session.
        book: The codebook whose lineage re-maps stored codes to current ones.
        project_id: Scope; ``None`` reads everything.
        measure: ``buckets`` (bucket x polarity), ``themes``, ``codes`` (custom codes),
            ``sentiment`` (with the ``net`` series) or ``expression``.
        freq: ``day``, ``week`` or ``month``.
        group_by: Item columns to group by (``project``, ``account_id``, ``plan``, ...).
        filters: Column -> allowed values.
        series: Keep only series whose name contains one of these strings.
        start, end: Period range (dates), default the data's.
        weights: Post-stratification weights per item id (``--weighted``).

    Raises:
        InvalidInput: Unknown measure, frequency or column (the message lists the known
            columns).
    """
    out, _, _ = _series(
        session, book, project_id, measure, freq, group_by, filters, start, end, weights
    )
    if series:
        out = out[out["series"].astype(str).map(lambda n: any(s in n for s in series))]
    return out.reset_index(drop=True)


def _series(
    session: Session,
    book: Codebook,
    project_id: int | None,
    measure: str,
    freq: str,
    group_by: Sequence[str],
    filters: Mapping[str, Sequence[str]] | None,
    start: str | None = None,
    end: str | None = None,
    weights: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The table, the items counted and the (item, series) rows behind it."""
    if measure not in MEASURES:
        raise InvalidInput(f"measure must be one of {MEASURES}, got {measure!r}", field="measure")
    data = load_frames(session, project_id)
    items = fr.apply_filters(data.items, filters or {})
    fr.check_columns(data.items, list(group_by), "group_by")
    rows, names = series_rows(
        items,
        data.codes,
        measure,
        unit_themes=data.unit_themes,
        lineage=book.history(),
        theme_lineage=data.theme_lineage,
        theme_labels=data.theme_labels,
    )
    out = time_series(
        items,
        rows,
        names,
        freq=freq,
        group_by=group_by,
        start=start,
        end=end,
        weights=weights,
        net=measure == "sentiment",
    )
    return out, items, rows


def anomaly_alerts(
    session: Session,
    book: Codebook,
    *,
    project_id: int | None = None,
    measure: str = "buckets",
    freq: str = "week",
    group_by: Sequence[str] = (),
    filters: Mapping[str, Sequence[str]] | None = None,
    params: AnomalyParams | None = None,
    quotes: int = 5,
) -> dict[str, Any]:
    """Series whose share in a period departs from its baseline (``analytics.anomaly``), each
    with the items that caused it (``units``: item id and text)."""
    ts, items, rows = _series(session, book, project_id, measure, freq, group_by, filters)
    ts = ts[ts["series"] != "net"]
    found, test = anomalies(ts, group_by, params)
    items = items.assign(period=period_label(items["at"], freq).to_numpy())
    merged = rows.merge(items, on="item_id")
    alerts = []
    for alert in records(found):
        mask = (merged["period"] == alert["period"]) & (merged["series"] == alert["series"])
        for column in group_by:
            mask &= merged[column].astype("string") == alert[column]
        hits = merged[mask].head(quotes)
        alert["units"] = [
            {"item": str(r.external_id), "text": " ".join(str(r.text).split())}
            for r in hits.itertuples()
        ]
        alerts.append(alert)
    return {"test": test, "measure": measure, "freq": freq, "alerts": alerts}


def write_table(frame: pd.DataFrame, out: Path) -> Path:
    """Write ``frame`` as CSV, Parquet or JSON (records), chosen by the extension."""
    suffix = out.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InvalidInput(f"--out must end in {', '.join(TABLE_FORMATS)}, got {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        out.write_text(json.dumps(records(frame), indent=1, ensure_ascii=False) + "\n")
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values (NaN -> null, numpy scalars -> Python)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def chart(frame: pd.DataFrame, out: Path, *, group_by: Sequence[str] = (), title: str = "") -> Path:
    """Draw a time series table into ``out`` (PNG or SVG)."""
    value = "share" if "share" in frame.columns else "count"
    return line_chart(frame, out, value=value, group_by=list(group_by), title=title)


def signal_frame(session: Session, project_id: int | None = None) -> pd.DataFrame:
    """Every effective code with its item's account, date and conversation."""
    data = load_frames(session, project_id)
    return signals(data.items, data.codes)


def health(
    session: Session, project_id: int | None = None, as_of: str | None = None, window_days: int = 90
) -> pd.DataFrame:
    """Green / gray / red per account over the ``window_days`` up to ``as_of`` (default: the
    latest signal)."""
    sig = signal_frame(session, project_id)
    when = (
        parse_when(as_of, "as_of")
        if as_of
        else (sig["at"].max() if not sig.empty else pd.Timestamp.now())
    )
    return account_health(sig, when, window_days)


def parse_when(value: str, name: str) -> pd.Timestamp:
    """A date or timestamp given by a caller; a bad one is an input error naming the field."""
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{name}: {value!r} is not a date ({exc})", field=name) from exc


def weekly_digest(
    session: Session, week: str | None, project_id: int | None = None
) -> dict[str, Any]:
    """The digest of ISO ``week`` (``2026-W36``; default the week of the latest signal), as
    a dict; ``markdown`` holds the text."""
    sig = signal_frame(session, project_id)
    if week is None:
        latest = sig["at"].max() if not sig.empty else pd.Timestamp.now()
        year, number, _ = latest.isocalendar()
        week = f"{year}-W{number:02d}"
    d = digest(sig, week)
    return {**d, "markdown": digest_markdown(d)}
