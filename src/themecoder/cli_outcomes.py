"""``themecoder analytics import-outcomes | linkage | coverage | story``: outcomes, linkage,
sampling coverage and the sample corpus's story. Parse, call one service, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from themecoder.cli_analytics import (
    Db,
    Out,
    ProjectOpt,
    _short,
    analytics_app,
    print_frame,
    project_id,
)
from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings


@analytics_app.command(name="import-outcomes")
def import_outcomes(
    path: Annotated[Path, typer.Argument(help="CSV with one row per account.")],
    outcome: Annotated[str, typer.Option(help="Outcome column (yes/no or numeric).")] = "renewed",
    date_column: Annotated[str, typer.Option(help="Date of the outcome.")] = "renewal_date",
    account_column: Annotated[str, typer.Option(help="Account id column.")] = "account_id",
    user_column: Annotated[
        str | None,
        typer.Option(help="Outcomes per user: the user id column (items' user_id metadata)."),
    ] = None,
    allow_unknown: Annotated[
        bool, typer.Option(help="Accept accounts (or users) no stored item names.")
    ] = False,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Import accounts (every other column kept as attributes) and a dated outcome, or with
    --user-column a dated outcome per user; bad rows are reported by line, good rows imported.

    Example: themecoder analytics import-outcomes data/sample/accounts.csv --outcome renewed
    """
    from themecoder.services import analytics as svc
    from themecoder.services import outcomes

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        done = outcomes.import_outcomes(
            session,
            path.read_text(encoding="utf-8"),
            project_id=project_id(session, project),
            outcome=outcome,
            date_column=date_column,
            account_column=account_column,
            user_column=user_column,
            allow_unknown=allow_unknown,
        )
        session.commit()
    for e in done["errors"]:
        console.print(
            f"line {e['line']} ({e['account_id']}): {e['message']}", style="yellow", markup=False
        )
    who = f"{done['accounts']} accounts" if done["level"] == "account" else f"{done['users']} users"
    console.print(
        f"imported {who}, {done['outcomes']} {outcome} outcomes "
        f"({done['pending']} pending, {len(done['errors'])} rows with errors)"
    )


@analytics_app.command(name="linkage")
def linkage_(
    outcome: Annotated[str, typer.Option(help="Imported binary outcome.")] = "renewed",
    level: Annotated[
        str, typer.Option(help="account, or user for outcomes imported per user.")
    ] = "account",
    adjust_for: Annotated[
        list[str] | None, typer.Option(help="Account attribute to adjust for (segment, plan).")
    ] = None,
    weighted: Annotated[
        bool, typer.Option(help="Post-stratify to the imported accounts' mix (see coverage).")
    ] = False,
    weight_by: Annotated[
        list[str] | None, typer.Option(help="Cells of the weights (default: segment).")
    ] = None,
    themes: Annotated[bool, typer.Option(help="Also link themes.")] = True,
    all_rows: Annotated[bool, typer.Option("--all", help="Show signals nobody had too.")] = False,
    out_path: Out = None,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Outcome rate with and without each signal before the outcome date, difference and risk
    ratio with bootstrap 95% CIs, counts beside every figure, expected vs observed direction.

    Example: themecoder analytics linkage --outcome renewed --adjust-for segment
    (or --weighted; --level user after import-outcomes --user-column user_id)
    """
    from themecoder.services import analytics as svc
    from themecoder.services import outcomes
    from themecoder.services.codebook import load

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        found = outcomes.linkage(
            session,
            load(s.codebook_path),
            project_id=project_id(session, project),
            outcome=outcome,
            level=level,
            adjust_for=adjust_for or [],
            weighted=weighted,
            weight_by=weight_by or ["segment"],
            themes=themes,
        )
    table = found["table"]
    if out_path:
        svc.write_table(table, out_path)
        console.print(f"wrote {out_path}", markup=False)
    shown = table if all_rows else table[table["n_with"] > 0]
    console.print(
        f"{found['outcome']} (glossary metric {found['metric']}): {found['accounts']} "
        f"{found['level']}s, rate {found['outcome_rate']:.2f}"
        + (f"; adjusted for {', '.join(found['adjusted_for'])}" if found["adjusted_for"] else "")
        + (
            f"; weighted by {', '.join(found['weighted_by'])} (rates weighted, counts as counted)"
            if found["weighted_by"]
            else ""
        )
    )
    print_linkage(shown)


def print_linkage(table: Any, title: str = "signal -> outcome (95% bootstrap CIs)") -> None:
    """The linkage table with counts beside every rate and CIs beside every effect; the
    signal names never wrap or shorten, the notes are explained under the table."""
    t = Table(title=title)
    t.add_column("signal", no_wrap=True, min_width=max(map(len, table["signal"]), default=6))
    for col in ("with", "without", "difference [CI]", "risk ratio [CI]"):
        t.add_column(col, no_wrap=True)
    t.add_column("exp./obs.")
    t.add_column("note")

    def rate(events: float, n: int, r: Any) -> str:
        return "-" if r is None or r != r else f"{r:.2f} ({int(events)}/{n})"

    def ci(v: Any, lo: Any, hi: Any, fmt: str) -> str:
        if v is None or v != v:
            return "-"
        if lo is None or lo != lo:
            return format(v, fmt)
        return f"{format(v, fmt)} [{format(lo, fmt)}, {format(hi, fmt)}]"

    notes = set()
    for r in table.itertuples():
        note = []
        if min(r.n_with, r.n_without) < 5:
            note.append("no CI")
        elif r.small_cell:
            note.append("small")
        if r.rr_corrected:
            note.append("RR+0.5")
        notes.update(note)
        mark = {True: " ✓", False: " ✗"}.get(r.agrees, "")
        expected = r.expected if r.expected in ("higher", "lower") else "-"
        t.add_row(
            r.signal,
            rate(r.events_with, r.n_with, r.rate_with),
            rate(r.events_without, r.n_without, r.rate_without),
            ci(r.difference, r.difference_low, r.difference_high, "+.2f"),
            ci(r.risk_ratio, r.rr_low, r.rr_high, ".2f"),
            f"{expected}/{r.observed}{mark}",
            ", ".join(note),
        )
    out.print(t)
    console.print(
        "  exp./obs.: the glossary's direction (- none stated) and the CI's "
        "(unclear: spans 0); ✓ agrees, ✗ opposite",
        markup=False,
    )
    legend = {
        "no CI": "no CI: fewer than 5 accounts with or without the signal",
        "small": "small: a cell (outcome x signal) under 5 accounts, read the CI with care",
        "RR+0.5": "RR+0.5: a zero rate, risk ratio with the Haldane +0.5 correction",
    }
    for key in ("no CI", "small", "RR+0.5"):
        if key in notes:
            console.print(f"  {legend[key]}", markup=False)


@analytics_app.command(name="coverage")
def coverage_(
    by: Annotated[list[str] | None, typer.Option(help="Account attribute (repeatable).")] = None,
    out_path: Out = None,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Who gave feedback against the imported customer base; under-heard groups flagged.
    Use --weighted on timeseries or linkage to apply post-stratification weights.

    Example: themecoder analytics coverage --by plan --by segment --by region
    """
    from themecoder.services import analytics as svc
    from themecoder.services import outcomes

    s = _settings(db)
    with _errors(), svc.store_session(s) as session:
        table = outcomes.coverage(session, project_id(session, project), by or None)
    if out_path:
        svc.write_table(table, out_path)
    print_frame(table, "sampling coverage (under_heard: representation < 0.67 or nobody heard)")


@analytics_app.command()
def story(
    accounts: Annotated[
        Path | None,
        typer.Option(
            help="Accounts CSV to import if no outcome is (default: the "
            "sample corpus's accounts.csv)."
        ),
    ] = None,
    end: Annotated[str, typer.Option(help="Last month of the trend.")] = "2026-09-30",
    db: Db = None,
) -> None:
    """The sample corpus end to end, after `themecoder demo`: monthly trend of risk shares and
    net sentiment, top risks by account, and the linkage table for `renewed`. It reads project
    "demo" (the command line's store holds the same corpus again: reading both would count
    every item twice), or the whole store where there is no such project.

    Example: themecoder demo && themecoder analytics story
    """
    import pandas as pd

    from themecoder.errors import NotFound
    from themecoder.services import analytics as svc
    from themecoder.services import escalations, outcomes, projects
    from themecoder.services.codebook import load
    from themecoder.services.demo import DEMO_PROJECT

    s = _settings(db)
    book = load(s.codebook_path)
    with _errors(), svc.store_session(s) as session:
        try:
            pid: int | None = projects.get_project(session, DEMO_PROJECT).id
        except NotFound:
            pid = None
        console.print(f"scope: project {DEMO_PROJECT!r}" if pid else "scope: the whole store")
        if not outcomes.has_outcomes(session, pid, "renewed"):
            text = (accounts or s.sample_dir / "accounts.csv").read_text(encoding="utf-8")
            done = outcomes.import_outcomes(session, text, project_id=pid)
            session.commit()
            console.print(f"imported {done['accounts']} accounts, {done['outcomes']} outcomes")
        trend = svc.timeseries(session, book, project_id=pid, series=[":risk"], end=end)
        net = svc.timeseries(
            session, book, project_id=pid, measure="sentiment", series=["net"], end=end
        )
        top = escalations.top_accounts(escalations.scored(session, pid)).head(10)
        link = outcomes.linkage(session, book, project_id=pid, outcome="renewed", themes=False)
    wide = trend.pivot_table(index="period", columns="series", values="share", sort=True)
    wide.columns = [c.split(":")[0].split("_")[0] for c in wide.columns]
    wide = pd.concat(
        [
            wide,
            net.set_index("period")[["share", "total"]].rename(
                columns={"share": "net_sentiment", "total": "items"}
            ),
        ],
        axis=1,
    ).reset_index()
    print_frame(wide, "1. monthly share of items with a risk signal per bucket, and net sentiment")
    top = top.assign(quote=top["quote"].map(lambda q: _short(q, 48)))
    print_frame(
        top[["account_id", "max_score", "bucket", "escalate", "review", "tag", "quote"]],
        "2. top risks by account (highest signal score; signals per route)",
    )
    console.print(
        f"3. renewed: {link['accounts']} accounts decided, rate "
        f"{link['outcome_rate']:.2f}; signals before the renewal date"
    )
    print_linkage(link["table"][link["table"]["n_with"] > 0])
