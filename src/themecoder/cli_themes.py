"""``themecoder themes ...``: discover, list, assign, review and edit themes. Parse, call one
service, print. Without ``--project`` the commands work on the command line's store; with
one, on that project's units and themes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings

if TYPE_CHECKING:
    from themecoder.config import Settings
    from themecoder.services.themes import ThemeView

themes_app = typer.Typer(
    no_args_is_help=True,
    help="Discover themes in stored units, assign new units, review and edit themes.",
)

Db = Annotated[str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")]
Bucket = Annotated[
    str | None, typer.Option(help="Only units coded with this bucket (default: all units).")
]
Project = Annotated[
    str | None, typer.Option("--project", "-p", help="Project slug (default: the CLI's store).")
]
Ids = Annotated[list[int], typer.Argument(help="Theme ids.")]
Id = Annotated[int, typer.Argument(help="Theme id.")]


def _table(themes: list[ThemeView], title: str, quotes: bool = False) -> Table:
    table = Table(title=title)
    for col in ("id", "label", "units", "status", "keywords", *(["quotes"] if quotes else [])):
        table.add_column(col, justify="right" if col in ("id", "units") else "left")
    for t in themes:
        row = [str(t.id), t.label, str(t.size), t.status, ", ".join(t.keywords[:6])]
        table.add_row(*row, *(["\n".join(f"- {q}" for q in t.quotes)] if quotes else []))
    return table


def _project(s: Settings, slug: str | None) -> int | None:
    from themecoder.services.theme_store import project_id_of

    return project_id_of(s, slug)


@themes_app.command()
def discover(
    bucket: Bucket = None,
    residual: Annotated[
        bool, typer.Option(help="Propose new themes from unassigned units only.")
    ] = False,
    source: Annotated[
        list[str] | None,
        typer.Option(help="Study: only units from this source file (repeatable)."),
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Study: only items dated on or after this day.")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(help="Study: only items dated before this day.")
    ] = None,
    min_theme_size: Annotated[
        int | None,
        typer.Option(min=2, help="Smallest theme in units (default: adapts to the study)."),
    ] = None,
    project: Project = None,
    db: Db = None,
) -> None:
    """Find themes in the stored units (reusing their embeddings) and store them.

    Example: themecoder themes discover --source interview_01.txt --source interview_03.txt
    """
    from themecoder.pipeline.themes import ThemeParams
    from themecoder.services.themes import Study
    from themecoder.services.themes import discover as run

    s = _settings(db)
    fixed = (
        None
        if min_theme_size is None
        else ThemeParams(min_topic_size=min_theme_size, adaptive=False)
    )
    with _errors():
        study = Study(tuple(source or ()), since, until)
        found = run(
            s,
            bucket=bucket,
            residual=residual,
            params=fixed,
            project_id=_project(s, project),
            study=study,
        )
    kind = "proposed themes (accept or reject them)" if residual else "themes"
    out.print(_table(found.themes, f"{len(found.themes)} {kind}", quotes=True))
    console.print(
        f"{found.n_units} units{f' of {found.study}' if found.study else ''}: "
        f"{found.n_fitted} clustered (smallest theme {found.min_theme_size}), "
        f"{found.n_skipped} small talk or fillers left out; {found.n_unassigned} "
        f"({found.unassigned_share:.1%}) left unassigned (HDBSCAN outliers before reduction: "
        f"{found.n_raw_outliers})",
        markup=False,
    )
    if found.message:
        console.print(found.message, style="yellow", markup=False)


@themes_app.command(name="list")
def list_(
    bucket: Bucket = None,
    status: Annotated[
        list[str] | None, typer.Option(help="active, proposed, archived, merged (repeatable).")
    ] = None,
    quotes: Annotated[bool, typer.Option(help="Show representative quotes.")] = False,
    project: Project = None,
    db: Db = None,
) -> None:
    """List themes with their unit counts and keywords.

    Example: themecoder themes list --status proposed --quotes
    """
    from themecoder.services.themes import list_themes

    s = _settings(db)
    with _errors():
        statuses = status or ("active", "proposed")
        themes = list_themes(s, bucket, statuses, _project(s, project))
    out.print(_table(themes, f"{len(themes)} themes", quotes=quotes))


@themes_app.command()
def assign(bucket: Bucket = None, project: Project = None, db: Db = None) -> None:
    """Give units without a theme to existing themes, without refitting.

    Example: themecoder themes assign
    """
    from themecoder.services.themes import assign_new

    s = _settings(db)
    with _errors():
        done = assign_new(s, bucket=bucket, project_id=_project(s, project))
    console.print(
        f"{done.n_assigned} of {done.n_units} units assigned; {done.n_pool} in the unassigned pool",
        markup=False,
    )


@themes_app.command()
def accept(ids: Ids, project: Project = None, db: Db = None) -> None:
    """Accept proposed themes.

    Example: themecoder themes accept 31 32
    """
    from themecoder.services.theme_edits import accept as run

    s = _settings(db)
    with _errors():
        themes = run(s, ids, project_id=_project(s, project))
    out.print(_table(themes, "accepted"))


@themes_app.command()
def reject(ids: Ids, project: Project = None, db: Db = None) -> None:
    """Reject proposed themes; their units return to the unassigned pool.

    Example: themecoder themes reject 33
    """
    from themecoder.services.theme_edits import reject as run

    s = _settings(db)
    with _errors():
        themes = run(s, ids, project_id=_project(s, project))
    out.print(_table(themes, "rejected"))


@themes_app.command()
def merge(
    ids: Ids,
    label: Annotated[str | None, typer.Option(help="Label of the merged theme.")] = None,
    project: Project = None,
    db: Db = None,
) -> None:
    """Merge themes into the first id given; past counts become the sum of the parents'.

    Example: themecoder themes merge 4 9 --label "Per-seat price increase"
    """
    from themecoder.services.theme_edits import merge as run

    s = _settings(db)
    with _errors():
        theme = run(s, ids, label, project_id=_project(s, project))
    out.print(_table([theme], "merged"))


@themes_app.command()
def rename(
    theme_id: Id,
    label: Annotated[str, typer.Argument(help="New label.")],
    project: Project = None,
    db: Db = None,
) -> None:
    """Give a theme a new label; its id and history stay.

    Example: themecoder themes rename 7 "SSO setup is hard to find"
    """
    from themecoder.services.theme_edits import rename as run

    s = _settings(db)
    with _errors():
        theme = run(s, theme_id, label, project_id=_project(s, project))
    out.print(_table([theme], "renamed"))


@themes_app.command()
def split(
    theme_id: Id,
    parts: Annotated[int, typer.Option(min=2, help="Number of new themes.")] = 2,
    project: Project = None,
    db: Db = None,
) -> None:
    """Split a theme by clustering its units; its units move to the new themes.

    Example: themecoder themes split 3 --parts 2
    """
    from themecoder.services.theme_edits import split as run

    s = _settings(db)
    with _errors():
        themes = run(s, theme_id, parts, project_id=_project(s, project))
    out.print(_table(themes, f"theme {theme_id} split into", quotes=True))


@themes_app.command()
def archive(theme_id: Id, project: Project = None, db: Db = None) -> None:
    """Archive a theme; its past counts stay, flagged as retired.

    Example: themecoder themes archive 12
    """
    from themecoder.services.theme_edits import archive as run

    s = _settings(db)
    with _errors():
        theme = run(s, theme_id, project_id=_project(s, project))
    out.print(_table([theme], "archived"))
