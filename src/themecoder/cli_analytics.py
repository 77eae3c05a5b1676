"""``themecoder analytics ...``: time series, risk, health, anomalies, linkage, coverage.
Parse, call one service, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings

analytics_app = typer.Typer(
    no_args_is_help=True,
    help="Count, trend, route and relate the stored codes to outcomes.",
)

Db = Annotated[str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Only this project (default: everything).")
]
Where = Annotated[
    list[str] | None,
    typer.Option("--where", help="Filter COLUMN=VALUE[,VALUE] (repeatable), e.g. plan=team."),
]
Out = Annotated[Path | None, typer.Option("--out", help="OUT.csv, OUT.parquet or OUT.json.")]
Weighted = Annotated[
    bool, typer.Option(help="Apply post-stratification weights (needs imported accounts).")
]


def project_id(session: Any, slug: str | None) -> int | None:
    """The id of project ``slug`` (``None`` for no project)."""
    if slug is None:
        return None
    from themecoder.services.projects import get_project

    return get_project(session, slug).id


def print_frame(frame: Any, title: str, limit: int = 40) -> None:
    """Print the first ``limit`` rows of a DataFrame as a table."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right" if frame[column].dtype.kind in "if" else "left")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    out.print(table)
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit} more rows (use --out for all)")


@analytics_app.command()
def timeseries(
    measure: Annotated[
        str, typer.Option(help="buckets | themes | codes | sentiment | expression.")
    ] = "buckets",
    freq: Annotated[str, typer.Option(help="day | week | month.")] = "month",
    group_by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Group by a column (plan, segment, account_id, channel, "
                     "source, project, ...); repeatable."),
    ] = None,
    where: Where = None,
    series: Annotated[
        list[str] | None, typer.Option(help="Keep series containing this text (repeatable).")
    ] = None,
    start: Annotated[str | None, typer.Option(help="First period (a date).")] = None,
    end: Annotated[str | None, typer.Option(help="Last period (a date).")] = None,
    out_path: Out = None,
    chart: Annotated[Path | None, typer.Option(help="Draw it: OUT.png or OUT.svg.")] = None,
    weighted: Weighted = False,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Counts and shares per period of buckets x polarity, themes, custom codes, net sentiment
    or expression types; an empty period is a zero. Items count once; reviewer decisions
    replace model codes (column ``reviewed``).

    Example: themecoder analytics timeseries --by plan --where channel=chat --chart trend.png
    """
    from themecoder.analytics.frames import parse_filters
    from themecoder.services import analytics as svc
    from themecoder.services.codebook import load

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        pid = project_id(session, project)
        weights = svc.item_weights(session, pid) if weighted else None
        frame = svc.timeseries(
            session,
            load(s.codebook_path),
            project_id=pid,
            measure=measure,
            freq=freq,
            group_by=group_by or [],
            filters=parse_filters(where or []),
            series=series or [],
            start=start,
            end=end,
            weights=weights,
        )
        if out_path:
            svc.write_table(frame, out_path)
        if chart:
            title = f"{measure} per {freq}" + (" (weighted)" if weighted else "")
            svc.chart(frame, chart, group_by=group_by or [], title=title)
    shown = frame if out_path else frame[frame["count"] != 0]
    print_frame(shown, f"{measure} per {freq} (non-zero rows)" if not out_path else measure)
    for path in (out_path, chart):
        if path:
            console.print(f"wrote {path}", markup=False)
