"""``themecoder search`` and ``themecoder insights ...``: quotes by meaning, and the insight
repository. Parse, call one service, print.

Search works on the command line's store without ``--project``; insights always belong to a
project (their audit trail is the project's).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from themecoder.cli_interop import Db, ProjectOpt, _factory, _project_id
from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings

if TYPE_CHECKING:
    from themecoder.config import Settings

DATE = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]


def _embed(s: Settings):  # noqa: ANN202
    from themecoder.artifact import load_artifact
    from themecoder.pipeline.embed import make_embedder

    return make_embedder(s, load_artifact(s.model_dir)).encode


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    code: Annotated[
        str | None, typer.Option(help="bucket:polarity, bucket, theme:ID or a custom code.")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Account id.")] = None,
    source: Annotated[str | None, typer.Option(help="Source file, e.g. interview_03.txt.")] = None,
    since: Annotated[
        datetime | None, typer.Option(formats=DATE, help="Items dated on or after (UTC).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=DATE, help="Items dated before (UTC).")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="How many quotes.")] = 10,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Stored quotes most like QUERY (cosine over the units' embeddings): exact for small
    stores, a FAISS index kept in step with the database above search_exact_max units.

    Example: themecoder search "SSO setup took weeks" --code onboarding_clarity:risk
    --account ACC-011 --since 2026-01-01 -k 10
    """
    from themecoder.services.codebook import load
    from themecoder.services.custom_codes import custom_code_ids
    from themecoder.services.search import IndexCache, SearchFilter, search_quotes

    s = _settings(db)
    where = SearchFilter(code=code, account=account, source=source, since=since, until=until)
    with _errors(), _factory(db)() as session:
        pid = _project_id(session, project)
        custom = custom_code_ids(load(s.codebook_path)) if code is not None else ()
        cache = IndexCache(s.search_dir, s.search_exact_max)
        found = search_quotes(session, pid, query, _embed(s), cache, where, k=k, custom=custom)
    for hit in found["hits"]:
        at = hit["created_at"].date().isoformat() if hit["created_at"] else "-"
        origin = hit["source"] or hit["external_id"]
        out.print(
            f"{hit['score']:.3f}  unit {hit['unit_id']}  {origin} [{hit['start']}:{hit['end']}]"
            f"  {hit['account_id'] or '-'}  {at}  {', '.join(hit['codes']) or '-'}",
            markup=False,
        )
        out.print(f'  "{hit["text"]}"', markup=False)
    if not found["units"]:
        console.print("no coded units to search here: code some feedback first")
    elif not found["candidates"]:
        console.print(f"no hits: the filters leave none of the {found['units']} coded units")
    console.print(
        f"{len(found['hits'])} of {found['candidates']} units searched ({found['backend']}"
        f"{', index ' + found['index'] if found['index'] else ''}; "
        f"pgvector {found['pgvector']})"
    )


insights_app = typer.Typer(
    no_args_is_help=True, help="The insight repository: hypothesis cards with their evidence."
)
Project = Annotated[str, typer.Option("--project", "-p", help="Project slug.")]
InsightId = Annotated[int, typer.Argument(help="Insight id.")]


def _print_card(card: dict) -> None:
    out.print(f"#{card['id']} [{card['status']}] {card['title']}", markup=False)
    out.print(f"  {card['statement']}", markup=False)
    for quote in card.get("quotes", []):
        if isinstance(quote, dict):
            out.print(f'  quote {quote["unit_id"]}: "{quote.get("text")}"', markup=False)
    for kind in ("themes", "codes", "accounts"):
        if card[kind]:
            out.print(f"  {kind}: {', '.join(map(str, card[kind]))}", markup=False)
    metric = card.get("metric")
    if metric:
        ci = (
            f" [{metric['difference_low']:+.2f}, {metric['difference_high']:+.2f}]"
            if metric.get("difference_low") is not None
            else " (no CI: too few accounts)"
        )
        diff = "n/a" if metric.get("difference") is None else f"{metric['difference']:+.2f}"
        out.print(
            f"  metric: {metric['signal']} -> {metric['outcome']}: difference {diff}{ci}, "
            f"{metric['n_with']} accounts with, {metric['n_without']} without "
            f"(computed {metric['computed_at'][:10]})",
            markup=False,
        )
    for change in card.get("history", []):
        note = f" ({change['note']})" if change["note"] else ""
        out.print(
            f"  {change['at']:%Y-%m-%d %H:%M} {change['from_status'] or '-'} -> "
            f"{change['to_status']} by {change['by']}{note}",
            markup=False,
        )


@insights_app.command("add")
def insights_add(
    title: Annotated[str, typer.Argument(help="Short title.")],
    statement: Annotated[str, typer.Option("--statement", "-s", help="The claim to test.")],
    project: Project,
    status: Annotated[str, typer.Option(help="proposed, testing, supported, refuted.")] = (
        "proposed"
    ),
    db: Db = None,
) -> None:
    """Add an insight or hypothesis card (audited).

    Example: themecoder insights add "SSO friction delays activation" -s "Accounts that
    struggle with SSO setup activate later" -p acme
    """
    from themecoder.services import insights

    with _errors(), _factory(db).begin() as session:
        card = insights.create_insight(
            session, _project_id(session, project), title, statement, status=status
        )
    _print_card(card)


@insights_app.command("list")
def insights_list(
    project: Project,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(help="Most cards shown.")] = 50,
    db: Db = None,
) -> None:
    """The project's insights, newest first.

    Example: themecoder insights list -p acme --status testing
    """
    from themecoder.services import insights

    with _errors(), _factory(db)() as session:
        found = insights.list_insights(
            session, _project_id(session, project), status=status, limit=limit
        )
    for card in found["insights"]:
        out.print(f"#{card['id']} [{card['status']}] {card['title']}", markup=False)
    console.print(f"{len(found['insights'])} of {found['total']} insights")


@insights_app.command("search")
def insights_search(
    query: Annotated[str, typer.Argument(help="Words that must all appear.")],
    project: Project,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    db: Db = None,
) -> None:
    """Insights whose title or statement holds every word of QUERY (case-insensitive).

    Example: themecoder insights search "sso activation" -p acme
    """
    from themecoder.errors import InvalidInput
    from themecoder.services import insights

    with _errors(), _factory(db)() as session:
        if not query.split():  # else every insight "matches" an empty search
            raise InvalidInput("query must have at least one word", field="query")
        found = insights.list_insights(
            session, _project_id(session, project), status=status, query=query
        )
    for card in found["insights"]:
        out.print(f"#{card['id']} [{card['status']}] {card['title']}", markup=False)
    console.print(f"{found['total']} insights match")


@insights_app.command("show")
def insights_show(insight_id: InsightId, project: Project, db: Db = None) -> None:
    """One insight with its quotes, themes, codes, accounts, metric and status history.

    Example: themecoder insights show 3 -p acme
    """
    from themecoder.services import insights

    with _errors(), _factory(db)() as session:
        card = insights.get_insight(session, _project_id(session, project), insight_id)
    _print_card(card)


@insights_app.command("link")
def insights_link(
    insight_id: InsightId,
    project: Project,
    quote: Annotated[list[int] | None, typer.Option(help="Unit id of a quote (repeat).")] = None,
    theme: Annotated[list[int] | None, typer.Option(help="Theme id (repeat).")] = None,
    code: Annotated[
        list[str] | None, typer.Option(help="bucket:polarity, theme:ID or custom code (repeat).")
    ] = None,
    account: Annotated[list[str] | None, typer.Option(help="Account id (repeat).")] = None,
    metric: Annotated[
        str | None, typer.Option(help="Snapshot the linkage of this signal to --outcome.")
    ] = None,
    outcome: Annotated[str, typer.Option(help="Imported outcome for --metric.")] = "renewed",
    db: Db = None,
) -> None:
    """Link quotes, themes, codes and accounts to an insight, and optionally snapshot a metric
    linkage figure (effect size with its 95% CI) for a signal (audited).

    Example: themecoder insights link 3 -p acme --quote 812 --theme 4 --account ACC-011
    --metric onboarding_clarity:risk --outcome renewed
    """
    from themecoder.services import codebook, insights
    from themecoder.services.custom_codes import custom_code_ids

    s = _settings(db)
    with _errors(), _factory(db).begin() as session:
        pid = _project_id(session, project)
        named = bool(quote or theme or code or account)
        if named or metric is None:  # with nothing named, the service says what is missing
            card = insights.link_insight(
                session,
                pid,
                insight_id,
                quotes=quote or [],
                themes=theme or [],
                codes=code or [],
                accounts=account or [],
                custom=custom_code_ids(codebook.load(s.codebook_path)) if code else (),
            )
        if metric:
            card = insights.attach_metric(
                session,
                pid,
                insight_id,
                codebook.load(s.codebook_path),
                signal=metric,
                outcome=outcome,
            )
    _print_card(card)


@insights_app.command("status")
def insights_status(
    insight_id: InsightId,
    status: Annotated[str, typer.Argument(help="proposed, testing, supported or refuted.")],
    project: Project,
    note: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    db: Db = None,
) -> None:
    """Move an insight to a new status; the change is kept in its history (audited).

    Example: themecoder insights status 3 supported -p acme --note "effect CI excludes 0"
    """
    from themecoder.services import insights

    with _errors(), _factory(db).begin() as session:
        card = insights.set_status(
            session, _project_id(session, project), insight_id, status, note=note
        )
    _print_card(card)
