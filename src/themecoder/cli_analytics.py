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
        table.add_column(
            str(column), justify="right" if frame[column].dtype.kind in "if" else "left"
        )
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else _short(v) for v in row))
    out.print(table)
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit} more rows (use --out for all)")


def _short(value: Any, width: int = 70) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@analytics_app.command()
def timeseries(
    measure: Annotated[
        str, typer.Option(help="buckets | themes | codes | sentiment | expression.")
    ] = "buckets",
    freq: Annotated[str, typer.Option(help="day | week | month.")] = "month",
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--by",
            help="Group by a column (plan, segment, account_id, channel, "
            "source, project, ...); repeatable.",
        ),
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
    from themecoder.services.outcomes import item_weights

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        pid = project_id(session, project)
        weights = item_weights(session, pid) if weighted else None
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


@analytics_app.command()
def risk(
    top: Annotated[int, typer.Option(help="Show this many highest-risk signals.")] = 20,
    by_account: Annotated[
        bool, typer.Option(help="One row per account: its highest score and signal counts.")
    ] = False,
    out_path: Out = None,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Risk score of every signal (sentiment, frequency, impact) and its route.

    Example: themecoder analytics risk --by-account --top 10
    """
    from themecoder.services import analytics as svc
    from themecoder.services.escalations import scored, top_accounts

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        frame = scored(session, project_id(session, project))
    cols = [
        "external_id",
        "account_id",
        "bucket",
        "polarity",
        "sentiment_c",
        "frequency_c",
        "impact_c",
        "score",
        "route",
        "unit_text",
    ]
    table = top_accounts(frame) if by_account else frame.sort_values("score", ascending=False)[cols]
    if out_path:
        svc.write_table(table, out_path)
        console.print(f"wrote {out_path}", markup=False)
    print_frame(table.head(top), "top risks by account" if by_account else "top risk signals")


@analytics_app.command(name="route")
def route_(project: ProjectOpt = None, db: Db = None) -> None:
    """Route every signal: > 0.6 escalates to the bucket's owner, 0.3-0.6 moves ahead in the
    review queue, < 0.3 is tagged; repeat risk across conversations of an account escalates.

    Example: themecoder analytics route -p acme
    """
    from themecoder.services import analytics as svc
    from themecoder.services import escalations
    from themecoder.services.codebook import load

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        done = escalations.route(session, load(s.codebook_path), project_id(session, project))
        session.commit()
    console.print(
        f"routes {done['routes']}; {len(done['escalations'])} new escalations "
        f"({done['repeat_escalations']} for repeats); {done['review_ahead']} reviews moved ahead"
    )


@analytics_app.command(name="escalations")
def escalations_(
    status: Annotated[str | None, typer.Option(help="open | acknowledged | closed.")] = None,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """List escalations with owner and evidence quotes.

    Example: themecoder analytics escalations --status open
    """
    from themecoder.services import analytics as svc
    from themecoder.services import escalations

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        rows = escalations.list_escalations(session, project_id(session, project), status)
    table = Table(title=f"{len(rows)} escalations")
    for col in ("id", "status", "account", "bucket", "owner", "reason", "score", "evidence"):
        table.add_column(col)
    for e in rows:
        quotes = "\n".join(f"- {q['item']}: {_short(q['text'], 60)}" for q in e["evidence"])
        table.add_row(
            str(e["id"]),
            e["status"],
            str(e["account_id"]),
            e["bucket"],
            str(e["owner"]),
            e["reason"],
            f"{e['score']:.2f}",
            quotes,
        )
    out.print(table)


def _set_status(
    escalation_id: int, status: str, comment: str | None, project: str | None, db: str | None
) -> None:
    from themecoder.services import analytics as svc
    from themecoder.services import escalations

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        done = escalations.set_status(
            session, project_id(session, project), escalation_id, status, comment=comment
        )
        session.commit()
    console.print(f"escalation {done['id']} is {done['status']}")


Comment = Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")]
EscalationId = Annotated[int, typer.Argument(help="Escalation id.")]


@analytics_app.command()
def acknowledge(
    escalation_id: EscalationId, comment: Comment = None, project: ProjectOpt = None, db: Db = None
) -> None:
    """Acknowledge an open escalation (audited).

    Example: themecoder analytics acknowledge 3 --comment "CSM called"
    """
    _set_status(escalation_id, "acknowledged", comment, project, db)


@analytics_app.command()
def close(
    escalation_id: EscalationId, comment: Comment = None, project: ProjectOpt = None, db: Db = None
) -> None:
    """Close an escalation (audited).

    Example: themecoder analytics close 3 --comment "resolved with a discount"
    """
    _set_status(escalation_id, "closed", comment, project, db)


@analytics_app.command(name="health")
def health_(
    as_of: Annotated[str | None, typer.Option(help="Date (default: the latest signal).")] = None,
    window_days: Annotated[int, typer.Option(help="Days of signals that count.")] = 90,
    out_path: Out = None,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Account health (green / gray / red) from each account's recent signals, worst first.

    Example: themecoder analytics health --as-of 2026-09-30
    """
    from themecoder.services import analytics as svc

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        frame = svc.health(session, project_id(session, project), as_of, window_days)
    if out_path:
        svc.write_table(frame, out_path)
    print_frame(frame, "account health")


def digest(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W36 (default: the week of the latest signal)."),
    ] = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write OUT.md (Markdown) or OUT.json.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not Markdown.")] = False,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Weekly digest: each account's health, top signals with trend and two quotes each,
    worst accounts first.

    Example: themecoder digest --week 2026-W36 --out digest.md
    """
    import json

    from themecoder.errors import InvalidInput
    from themecoder.services import analytics as svc

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        d = svc.weekly_digest(session, week, project_id(session, project))
        data = {k: v for k, v in d.items() if k != "markdown"}
        if out_path:
            text = (
                json.dumps(data, indent=1, ensure_ascii=False)
                if out_path.suffix == ".json"
                else d["markdown"]
            )
            try:
                out_path.write_text(text + "\n", encoding="utf-8")
            except OSError as exc:  # a path the user gave: exit 2 with why, not a traceback
                raise InvalidInput(
                    f"cannot write {out_path}: {exc.strerror or exc}", field="out"
                ) from None
            console.print(f"wrote {out_path}", markup=False)
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
    else:
        out.print(d["markdown"], markup=False, highlight=False)


@analytics_app.command(name="anomalies")
def anomalies_(
    measure: Annotated[
        str, typer.Option(help="buckets | themes | codes | expression.")
    ] = "buckets",
    freq: Annotated[str, typer.Option(help="day | week | month.")] = "week",
    group_by: Annotated[list[str] | None, typer.Option("--by", help="Group column.")] = None,
    where: Where = None,
    min_count: Annotated[int, typer.Option(help="Fewest items in an alerting period.")] = 5,
    baseline: Annotated[int, typer.Option(help="Periods in the baseline.")] = 4,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Alerts: a series whose share departs from its baseline (Fisher exact test, Bonferroni,
    minimum count), with the items that caused it.

    Example: themecoder analytics anomalies --freq week --min-count 5
    """
    from themecoder.analytics.anomaly import AnomalyParams
    from themecoder.analytics.frames import parse_filters
    from themecoder.services import analytics as svc
    from themecoder.services.codebook import load

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        found = svc.anomaly_alerts(
            session,
            load(s.codebook_path),
            project_id=project_id(session, project),
            measure=measure,
            freq=freq,
            group_by=group_by or [],
            filters=parse_filters(where or []),
            params=AnomalyParams(baseline_periods=baseline, min_count=min_count),
        )
    console.print(f"test: {found['test']}", markup=False)
    for a in found["alerts"]:
        out.print(
            f"[bold]{a['period']} {a['series']}[/]: {a['count']} of {a['total']} "
            f"({a['share']:.1%}) vs baseline {a['baseline_share']:.1%} of "
            f"{a['baseline_total']}, {a['direction']}, p={a['p_value']:.2g}"
        )
        for u in a["units"]:
            out.print(f"  - {u['item']}: {_short(u['text'], 100)}", markup=False)
    if not found["alerts"]:
        out.print("no anomalies")


from themecoder import cli_outcomes  # noqa: E402,F401  (registers its commands)
