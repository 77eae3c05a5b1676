"""``themecoder codebook ...`` and ``themecoder glossary ...``: parse, call one service, print."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.config import Settings, get_settings
from themecoder.errors import InvalidInput

if TYPE_CHECKING:
    from themecoder.services.codebook import EditResult

codebook_app = typer.Typer(
    no_args_is_help=True,
    help="Check, edit, version and exchange codebooks (a new version per edit).",
)
glossary_app = typer.Typer(
    no_args_is_help=True, help="Look up the metrics customer phrases map to."
)

Book = Annotated[Path, typer.Argument(help="Codebook YAML file.")]
Glossary = Annotated[Path | None, typer.Option(help="Glossary YAML (default: the shipped one).")]
Db = Annotated[str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")]
Store = Annotated[bool, typer.Option(help="Record the version and lineage in the database.")]


def _settings(db: str | None, store: bool) -> Settings | None:
    if not store:
        return None
    return get_settings().model_copy(update={"db_url": db} if db else {})


def _report(result: EditResult) -> None:
    out.print(result.diff.text(), markup=False, highlight=False)
    stored = f"; stored in {result.db_url}" if result.db_url else ""
    console.print(f"wrote {result.path} (version {result.codebook.version}){stored}", markup=False)


@codebook_app.command()
def validate(
    path: Annotated[Path | None, typer.Argument(help="Codebook YAML (default: shipped).")] = None,
    glossary: Glossary = None,
) -> None:
    """Check a codebook; every problem is printed with its line.

    Example: themecoder codebook validate codebook.yaml
    """
    from themecoder.services.codebook import load

    with _errors():
        book = load(path, glossary)
    out.print(f"ok: {book.name} v{book.version}, {len(book.codes)} codes", markup=False)


@codebook_app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="Older codebook YAML.")],
    new: Annotated[Path, typer.Argument(help="Newer codebook YAML.")],
) -> None:
    """Show what changed between two codebook versions.

    Example: themecoder codebook diff codebook.v1.yaml codebook.yaml
    """
    from themecoder.services.codebook import diff_files

    with _errors():
        changes = diff_files(old, new)
    out.print(changes.text(), markup=False, highlight=False)


@codebook_app.command()
def merge(
    path: Book,
    sources: Annotated[list[str], typer.Argument(help="Ids of the codes to merge (2 or more).")],
    into: Annotated[str, typer.Option(help="Id of the merged code (one of them or a new id).")],
    name: Annotated[str | None, typer.Option(help="Display name of the merged code.")] = None,
    definition: Annotated[str | None, typer.Option(help="Definition of the merged code.")] = None,
    db: Db = None,
    store: Store = True,
    glossary: Glossary = None,
) -> None:
    """Merge codes into one; past counts of the sources add up under it.

    Example: themecoder codebook merge codebook.yaml billing pricing --into pricing_perception
    """
    from themecoder.services import codebook as svc

    with _errors():
        result = svc.merge(
            path, sources, into, name, definition, settings=_settings(db, store), glossary=glossary
        )
    _report(result)


@codebook_app.command()
def split(
    path: Book,
    source: Annotated[str, typer.Argument(help="Id of the code to split.")],
    into: Annotated[
        list[str], typer.Option(help="A new code as ID=DEFINITION (repeat, 2 or more).")
    ],
    db: Db = None,
    store: Store = True,
    glossary: Glossary = None,
) -> None:
    """Split a code into new codes, each with its own definition.

    Example: themecoder codebook split cb.yaml pricing_perception --into "price_level=Price level."
    --into "billing=Invoices and charges."
    """
    from themecoder.services import codebook as svc

    with _errors():
        targets = []
        for spec in into:
            code_id, sep, definition = spec.partition("=")
            if not sep:
                raise InvalidInput(f"--into {spec!r}: write ID=DEFINITION")
            targets.append((code_id.strip(), definition.strip()))
        result = svc.split(path, source, targets, settings=_settings(db, store), glossary=glossary)
    _report(result)


@codebook_app.command()
def rename(
    path: Book,
    old: Annotated[str, typer.Argument(help="Current id.")],
    new: Annotated[str, typer.Argument(help="New id.")],
    name: Annotated[
        str | None, typer.Option(help="New display name (default from the id).")
    ] = None,
    db: Db = None,
    store: Store = True,
    glossary: Glossary = None,
) -> None:
    """Rename a code; stored codes under the old id re-map to the new one.

    Example: themecoder codebook rename codebook.yaml support_friction support_experience
    """
    from themecoder.services import codebook as svc

    with _errors():
        result = svc.rename(path, old, new, name, settings=_settings(db, store), glossary=glossary)
    _report(result)


@codebook_app.command()
def retire(
    path: Book,
    code: Annotated[str, typer.Argument(help="Id of the code to retire.")],
    db: Db = None,
    store: Store = True,
    glossary: Glossary = None,
) -> None:
    """Retire a code; its history stays, flagged as retired.

    Example: themecoder codebook retire codebook.yaml legacy_code
    """
    from themecoder.services import codebook as svc

    with _errors():
        result = svc.retire(path, code, settings=_settings(db, store), glossary=glossary)
    _report(result)


@codebook_app.command()
def add(
    path: Book,
    code_id: Annotated[str, typer.Argument(help="Id of the new code (snake_case).")],
    definition: Annotated[str, typer.Option(help="What the code covers.")],
    name: Annotated[str | None, typer.Option(help="Display name (default from the id).")] = None,
    parent: Annotated[str | None, typer.Option(help="Parent code id (a sub-code).")] = None,
    example: Annotated[
        list[str] | None, typer.Option(help="POLARITY:QUOTE, polarity positive|neutral|risk.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Team or person accountable.")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="Glossary metric id (repeat).")] = None,
    db: Db = None,
    store: Store = True,
    glossary: Glossary = None,
) -> None:
    """Add a custom code or sub-code; with a few examples it is coded right away.

    Example: themecoder codebook add cb.yaml sso_setup --parent onboarding_clarity
    --definition "Setting up single sign-on." --example "risk:Where does SSO setup live?"
    """
    from themecoder.services import codebook as svc

    with _errors():
        examples: dict[str, list[str]] = {}
        for spec in example or []:
            polarity, sep, quote = spec.partition(":")
            if not sep or polarity not in ("positive", "neutral", "risk"):
                raise InvalidInput(f"--example {spec!r}: write POLARITY:QUOTE")
            examples.setdefault(polarity, []).append(quote.strip())
        fields = {"name": name, "parent": parent, "examples": examples, "owner": owner}
        result = svc.add(
            path,
            code_id,
            definition,
            metrics=metric or [],
            settings=_settings(db, store),
            glossary=glossary,
            **fields,
        )
    _report(result)


@codebook_app.command()
def export(
    path: Annotated[Path | None, typer.Argument(help="Codebook YAML (default: shipped).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="qdc (REFI-QDA), csv or yaml.")] = "qdc",
    out_path: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
    glossary: Glossary = None,
) -> None:
    """Export a codebook as REFI-QDA .qdc, CSV or YAML.

    Example: themecoder codebook export codebook.yaml --format qdc --out codebook.qdc
    """
    from themecoder.services import codebook as svc

    with _errors():
        text = svc.export(svc.load(path, glossary), fmt)
        if out_path is not None and out_path.is_dir():
            raise InvalidInput(f"--out {out_path} is a folder; name a file in it")
        above = next((p for p in out_path.parents if p.exists()), None) if out_path else None
        if above is not None and not above.is_dir():
            raise InvalidInput(f"--out {out_path}: {above} is a file, not a folder")
    if out_path is None:
        typer.echo(text, nl=False)
        return
    with _errors():
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(text, encoding="utf-8")
        except OSError as exc:  # read-only folder, disk full
            raise InvalidInput(f"cannot write --out {out_path}: {exc.strerror}") from None
    console.print(f"wrote {out_path}", markup=False)


@codebook_app.command(name="import")
def import_(
    source: Annotated[Path, typer.Argument(help="A .qdc file (or codebook YAML).")],
    out_path: Annotated[Path, typer.Option("--out", help="Codebook YAML to write.")],
    owner: Annotated[
        str | None, typer.Option(help="Owner for top-level codes that have none.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite --out if it exists.")] = False,
    glossary: Glossary = None,
) -> None:
    """Import a REFI-QDA .qdc codebook (from any QDA tool) as checked codebook YAML.

    Example: themecoder codebook import nvivo.qdc --out codebook.yaml --owner "CS Ops"
    """
    from themecoder.services.codebook import import_codebook

    with _errors():
        book = import_codebook(source, out_path, owner, glossary, overwrite=force)
    console.print(f"wrote {out_path}: {book.name} v{book.version}, {len(book.codes)} codes")


@glossary_app.command()
def lookup(
    phrase: Annotated[str, typer.Argument(help="Customer words to look up.")],
    codebook: Annotated[Path | None, typer.Option(help="Codebook YAML (default: shipped).")] = None,
    glossary: Glossary = None,
    model: Annotated[bool, typer.Option(help="Also code the phrase with the coder.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the metrics a phrase maps to and why (matched phrase, or via a code).

    Example: themecoder glossary lookup "we're evaluating other vendors before renewal"
    """
    from themecoder.services.codebook import lookup as find

    with _errors():
        coder = None
        if model:
            from themecoder.coder import Coder

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            coder = Coder.load(get_settings())
        matches = find(phrase, codebook, glossary, coder)
    if as_json:
        out.print_json(json.dumps([m.to_dict() for m in matches]))
        return
    if not matches:
        out.print("no metric matches this phrase", markup=False)
    for m in matches:
        arrow = (
            "higher is better" if m.metric.direction == "higher_is_better" else "lower is better"
        )
        out.print(f"{m.metric.id}: {m.metric.name} ({arrow}; owner {m.metric.owner})", markup=False)
        for reason in m.reasons:
            out.print(f"  - {reason}", markup=False, highlight=False)
