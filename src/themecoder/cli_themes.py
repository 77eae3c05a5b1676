"""``themecoder themes ...``: discover, list, assign, review and edit themes. Parse, call one
service, print."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings

if TYPE_CHECKING:
    from themecoder.services.themes import ThemeView

themes_app = typer.Typer(
    no_args_is_help=True,
    help="Discover themes in stored units, assign new units, review and edit themes.",
)

Db = Annotated[str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")]
Bucket = Annotated[
    str | None, typer.Option(help="Only units coded with this bucket (default: all units).")
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


@themes_app.command()
def discover(
    bucket: Bucket = None,
    residual: Annotated[
        bool, typer.Option(help="Propose new themes from unassigned units only.")
    ] = False,
    db: Db = None,
) -> None:
    """Find themes in the stored units (reusing their embeddings) and store them.

    Example: themecoder themes discover --bucket pricing_perception
    """
    from themecoder.services.themes import discover as run

    with _errors():
        found = run(_settings(db), bucket=bucket, residual=residual)
    kind = "proposed themes (accept or reject them)" if residual else "themes"
    out.print(_table(found.themes, f"{len(found.themes)} {kind}", quotes=True))
    console.print(
        f"{found.n_units} units; {found.n_unassigned} ({found.unassigned_share:.1%}) left "
        f"unassigned (HDBSCAN outliers before reduction: {found.n_raw_outliers})",
        markup=False,
    )


@themes_app.command(name="list")
def list_(
    bucket: Bucket = None,
    status: Annotated[
        list[str] | None, typer.Option(help="active, proposed, archived, merged (repeatable).")
    ] = None,
    quotes: Annotated[bool, typer.Option(help="Show representative quotes.")] = False,
    db: Db = None,
) -> None:
    """List themes with their unit counts and keywords.

    Example: themecoder themes list --status proposed --quotes
    """
    from themecoder.services.themes import list_themes

    with _errors():
        themes = list_themes(_settings(db), bucket, status or ("active", "proposed"))
    out.print(_table(themes, f"{len(themes)} themes", quotes=quotes))


@themes_app.command()
def assign(bucket: Bucket = None, db: Db = None) -> None:
    """Give units without a theme to existing themes, without refitting.

    Example: themecoder themes assign
    """
    from themecoder.services.themes import assign_new

    with _errors():
        done = assign_new(_settings(db), bucket=bucket)
    console.print(
        f"{done.n_assigned} of {done.n_units} units assigned; {done.n_pool} in the unassigned pool",
        markup=False,
    )


@themes_app.command()
def accept(ids: Ids, db: Db = None) -> None:
    """Accept proposed themes.

    Example: themecoder themes accept 31 32
    """
    from themecoder.services.theme_edits import accept as run

    with _errors():
        themes = run(_settings(db), ids)
    out.print(_table(themes, "accepted"))


@themes_app.command()
def reject(ids: Ids, db: Db = None) -> None:
    """Reject proposed themes; their units return to the unassigned pool.

    Example: themecoder themes reject 33
    """
    from themecoder.services.theme_edits import reject as run

    with _errors():
        themes = run(_settings(db), ids)
    out.print(_table(themes, "rejected"))


@themes_app.command()
def merge(
    ids: Ids,
    label: Annotated[str | None, typer.Option(help="Label of the merged theme.")] = None,
    db: Db = None,
) -> None:
    """Merge themes into the first id given; past counts become the sum of the parents'.

    Example: themecoder themes merge 4 9 --label "Per-seat price increase"
    """
    from themecoder.services.theme_edits import merge as run

    with _errors():
        theme = run(_settings(db), ids, label)
    out.print(_table([theme], "merged"))


@themes_app.command()
def rename(
    theme_id: Id, label: Annotated[str, typer.Argument(help="New label.")], db: Db = None
) -> None:
    """Give a theme a new label; its id and history stay.

    Example: themecoder themes rename 7 "SSO setup is hard to find"
    """
    from themecoder.services.theme_edits import rename as run

    with _errors():
        theme = run(_settings(db), theme_id, label)
    out.print(_table([theme], "renamed"))


@themes_app.command()
def split(
    theme_id: Id,
    parts: Annotated[int, typer.Option(min=2, help="Number of new themes.")] = 2,
    db: Db = None,
) -> None:
    """Split a theme by clustering its units; its units move to the new themes.

    Example: themecoder themes split 3 --parts 2
    """
    from themecoder.services.theme_edits import split as run

    with _errors():
        themes = run(_settings(db), theme_id, parts)
    out.print(_table(themes, f"theme {theme_id} split into", quotes=True))


@themes_app.command()
def archive(theme_id: Id, db: Db = None) -> None:
    """Archive a theme; its past counts stay, flagged as retired.

    Example: themecoder themes archive 12
    """
    from themecoder.services.theme_edits import archive as run

    with _errors():
        theme = run(_settings(db), theme_id)
    out.print(_table([theme], "archived"))
