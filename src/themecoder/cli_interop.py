"""``themecoder export | import | segments | matrix``: REFI-QDA interchange and coded quotes.

Parse, call one service, print. Without ``--project`` the commands work on the command line's
store (items coded by ``themecoder code --db``); with one, on that project's items.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Db = Annotated[str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")]
ProjectOpt = Annotated[
    str | None, typer.Option("--project", "-p", help="Project slug (default: the CLI's store).")
]


def _project_id(session: Session, slug: str | None) -> int | None:
    from themecoder.services import projects

    return None if slug is None else projects.get_project(session, slug).id


def _factory(db: str | None):  # noqa: ANN202
    from themecoder.services.store import open_store

    return open_store(_settings(db).db_url)[1]


def export(
    out_path: Annotated[Path, typer.Option("--out", help="OUT.qdpx")],
    format: Annotated[str, typer.Option("--format", help="qdpx (REFI-QDA project).")] = "qdpx",
    group: Annotated[
        str, typer.Option(help="Sources per input file (source) or account.")
    ] = "source",
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Export sources, codes and coded segments as a REFI-QDA project for MAXQDA, NVivo,
    ATLAS.ti or QualCoder.

    Example: themecoder export --format qdpx --out study.qdpx -p acme --group account
    """
    from themecoder.errors import InvalidInput
    from themecoder.services import codebook, qda_export

    s = _settings(db)
    with _errors():
        if format != "qdpx":
            raise InvalidInput(f"--format must be qdpx, not {format!r}")
        if not out_path.parent.is_dir():
            raise InvalidInput(f"--out: the folder {out_path.parent} does not exist")
        with _factory(db).begin() as session:
            data = qda_export.export_qdpx(
                session,
                _project_id(session, project),
                group=group,
                codebook=codebook.load(s.codebook_path),
            )
        try:
            out_path.write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"--out: cannot write {out_path} ({exc.strerror})") from None
    console.print(f"wrote {out_path} ({len(data):,} bytes)")


def import_(
    path: Annotated[Path, typer.Argument(help="A .qdpx exported by a QDA tool.")],
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """Import a REFI-QDA project: sources as items, codes as custom codes, coded segments as
    their labelled examples. All or nothing.

    Example: themecoder import maxqda_export.qdpx -p acme
    """
    from themecoder.errors import NotFound
    from themecoder.services import qda_import

    with _errors():
        if not path.is_file():
            raise NotFound(f"{path} is not a file" if path.exists() else f"{path} does not exist")
        with _factory(db).begin() as session:
            report = qda_import.import_qdpx(
                session,
                _project_id(session, project),
                path.read_bytes(),
                filename=path.name,
                project_slug=project,
                settings=_settings(db),
            )
    console.print(
        f"imported {report['sources']} sources, {report['codes']} codes and "
        f"{report['segments']} coded segments from {report['origin'] or path.name} "
        f"into codebook {report['codebook']}"
    )


def segments(
    code: Annotated[
        str | None, typer.Option(help="bucket:polarity, bucket, theme:ID or a custom code.")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Account id.")] = None,
    theme: Annotated[int | None, typer.Option(help="Theme id.")] = None,
    source: Annotated[str | None, typer.Option(help="Source file, e.g. interview_03.txt.")] = None,
    limit: Annotated[int, typer.Option(help="Most quotes shown.")] = 50,
    matrix: Annotated[
        str | None,
        typer.Option(help="Instead of quotes, a code x source or code x account matrix."),
    ] = None,
    project: ProjectOpt = None,
    db: Db = None,
) -> None:
    """The coded quotes with source, position, speaker, context and who decided; or, with
    --matrix source|account, counts per code and document (a Code Matrix Browser).

    Example: themecoder segments --code pricing_perception:risk --account ACC-011 --theme 12
    --source interview_03.txt
    """
    from themecoder.services import segments as service
    from themecoder.services.codebook import load
    from themecoder.services.custom_codes import custom_code_ids
    from themecoder.services.segments import SegmentFilter

    where = SegmentFilter(code=code, account=account, theme=theme, source=source)
    with _errors(), _factory(db)() as session:
        pid = _project_id(session, project)
        custom = custom_code_ids(load(_settings(db).codebook_path)) if code is not None else ()
        if matrix:
            result = service.code_matrix(session, pid, by=matrix, where=where, custom=custom)
        else:
            found = service.find_segments(
                session, pid, where, limit=limit, context_chars=80, custom=custom
            )
    if matrix:
        table = Table(title=f"codes x {matrix}")
        table.add_column("code")
        for column in [*result["columns"], "total"]:
            table.add_column(column, justify="right")
        for row in result["rows"]:
            table.add_row(
                row["code"], *(str(row["counts"][c]) for c in result["columns"]), str(row["total"])
            )
        out.print(table)
        return
    for seg in found["segments"]:
        where_ = f"{seg['source'] or seg['external_id']} [{seg['start']}:{seg['end']}]"
        if seg["source_offset"] is not None:
            where_ += f" (file offset {seg['source_offset'] + seg['start']})"
        who = ", ".join(dict.fromkeys(seg["decided_by"]))
        out.print(
            f"{where_}  {seg['speaker'] or '-'}  {', '.join(seg['codes'])}  by {who}", markup=False
        )
        out.print(f'  "{seg["text"]}"', markup=False)
        out.print(f"  context: {' '.join(seg['context'].split())}", markup=False, style="dim")
    console.print(f"{len(found['segments'])} of {found['total']} segments")


def intake(
    vendor: Annotated[str, typer.Argument(help="zendesk, intercom or freshdesk.")],
    path: Annotated[Path, typer.Argument(help="The vendor's ticket export (API JSON).")],
    project: Annotated[str, typer.Option("--project", "-p", help="Project slug.")],
    db: Db = None,
) -> None:
    """Ingest a helpdesk export into a project: customer turns coded, agent turns kept uncoded,
    records missing required fields reported; re-sent tickets store only new turns.

    Example: themecoder intake zendesk tickets.json -p acme
    """
    import json

    from themecoder.errors import InvalidInput, NotFound
    from themecoder.services import helpdesk
    from themecoder.services.codebook import load as load_codebook
    from themecoder.services.coders import CoderRegistry

    s = _settings(db)
    with _errors():
        if not path.is_file():
            raise NotFound(f"{path} is not a file" if path.exists() else f"{path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InvalidInput(f"{path}: not JSON in UTF-8 ({exc})") from None
        except RecursionError:
            raise InvalidInput(f"{path}: JSON nested too deeply to be a ticket export") from None
        with _factory(db).begin() as session:
            report = helpdesk.ingest_export(
                session,
                _project_id(session, project),
                CoderRegistry(s).get,
                vendor,
                data,
                settings=s,
                codebook_version=load_codebook(s.codebook_path).version,
            )
    for p in report["problems"]:
        # An optional field of the wrong type is ignored while its turn is stored.
        label = "note" if p["message"].endswith("; ignored") else "skipped"
        console.print(f"{label}: {p['message']}", markup=False)
    console.print(
        f"{report['tickets']} tickets, {report['messages']} messages "
        f"({report['agent_messages']} agent, not coded): {report['created']} stored, "
        f"{report['existing']} already held"
    )


def webhook_secret(
    project: Annotated[str, typer.Option("--project", "-p", help="Project slug.")],
    db: Db = None,
) -> None:
    """Make a new webhook signing secret for a project and print it once (audited).

    Example: themecoder webhook-secret -p acme
    """
    from themecoder.services import helpdesk

    with _errors(), _factory(db).begin() as session:
        secret = helpdesk.create_webhook_secret(session, _project_id(session, project))
    out.print(secret, markup=False)
