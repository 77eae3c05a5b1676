"""The ``themecoder`` command line: parse, call one service, print. The only layer that prints."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from themecoder.cli_support import console, out
from themecoder.cli_support import errors as _errors
from themecoder.cli_support import settings as _settings
from themecoder.config import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Code customer feedback into signal buckets, sentiment and expression.",
)


@contextmanager
def _progress(label: str) -> Iterator[Callable[..., None]]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(*args: Any) -> None:
            name, done, total = args if len(args) == 3 else (label, *args)
            if name not in tasks:
                tasks[name] = bar.add_task(str(name), total=total)
            bar.update(tasks[name], completed=done, total=total)

        yield update


def _summary_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for col in ("bucket", "units", "items", "positive", "neutral", "risk", "mean conf."):
        table.add_column(col, justify="left" if col == "bucket" else "right")
    for r in rows:
        conf = "-" if r["mean_confidence"] is None else f"{r['mean_confidence']:.2f}"
        table.add_row(
            r["bucket"],
            *(str(r[k]) for k in ("units", "items", "positive", "neutral", "risk")),
            conf,
        )
    return table


@app.command()
def code(
    input: Annotated[
        Path,
        typer.Argument(
            help="CSV, JSONL, Parquet, transcript .txt, .vtt, .srt, or a folder of them."
        ),
    ],
    text_column: Annotated[str, typer.Option(help="Column holding the text.")] = "text",
    id_column: Annotated[
        str | None, typer.Option(help="Column holding ids (default: row numbers).")
    ] = None,
    level: Annotated[str, typer.Option(help="item: a record per row; unit: per unit.")] = "item",
    out_path: Annotated[Path | None, typer.Option("--out", help="OUT.jsonl or OUT.csv.")] = None,
    db: Annotated[
        str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of the input.")] = "utf-8",
    skip_speaker: Annotated[
        list[str] | None,
        typer.Option(help="Transcript speaker whose turns are kept but not coded (repeatable)."),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="Force the input format.")] = None,
    store: Annotated[bool, typer.Option(help="Store results in the database.")] = True,
    with_text: Annotated[
        bool, typer.Option(help="Put each item's text in --level item records.")
    ] = False,
    code_other_languages: Annotated[
        bool,
        typer.Option(help="Code text detected as another language than English anyway."),
    ] = False,
) -> None:
    """Code feedback into buckets, sentiment and expression type.

    Example: themecoder code tickets.csv --text-column body --id-column ticket_id --out coded.jsonl
    """
    from themecoder.services.coding import code_path

    s = _settings(db)
    if code_other_languages:
        s = s.model_copy(update={"code_other_languages": True})
    with _errors(), _progress("coding units") as tick:
        run = code_path(
            s,
            input,
            text_column=text_column,
            id_column=id_column,
            encoding=encoding,
            skip_speakers=skip_speaker or (),
            fmt=fmt,
            level=level,
            out=out_path,
            store=store,
            with_text=with_text,
            progress=tick,
        )
    for problem in run.problems:
        source = getattr(problem, "source", None) or input
        if not problem.skipped:  # on the records it is about too (their warnings)
            line = f" line {problem.line}" if problem.line else ""
            console.print(
                f"warning {source}{line}: {problem.message}", style="yellow", markup=False
            )
            continue
        where = f"line {problem.line}" if problem.line else "input"
        console.print(f"skipped {source} {where}: {problem.message}", style="yellow", markup=False)
    file_warnings = {p.message for p in run.problems if not p.skipped}  # printed once above
    warnings = [w for w in run.warnings if w not in file_warnings]
    for warning in warnings[:20]:
        console.print(f"warning {warning}", style="yellow", markup=False)
    if len(warnings) > 20:
        console.print(f"[yellow]... {len(warnings) - 20} more warnings[/]")
    stored = f", stored as run {run.run_id} in {s.db_url}" if run.run_id is not None else ""
    console.print(
        f"coded {len(run.results)} items, {run.n_units} units with {run.model_version}"
        f"{stored}" + (f"; wrote {out_path}" if out_path else ""),
        markup=False,
    )


@app.command()
def demo(
    db: Annotated[
        str | None, typer.Option(help="Database URL (default THEMECODER_DB_URL).")
    ] = None,
    web: Annotated[
        bool, typer.Option(help="Also load it into project demo for the pages, with a key.")
    ] = True,
) -> None:
    """Code the bundled sample corpus and print a per-bucket summary.

    Then load it into project demo (themes, escalations) and print an admin key and the URL
    to sign in at.

    Example: themecoder demo --db sqlite:///demo.db
    """
    from themecoder.coder import Coder
    from themecoder.services.demo import demo_project, ensure_codebook, run_demo

    s = _settings(db)
    with _errors():
        ensure_codebook(s)
        coder = Coder.load(s)
    with _errors(), _progress("demo") as tick:
        result = run_demo(s, coder, progress=tick)
    for name, run in result.runs:
        console.print(
            f"{name}: {len(run.results)} items, {run.n_units} units, run {run.run_id}"
            + (f", {len(run.problems)} problems" if run.problems else "")
        )
    out.print(_summary_table(result.summary, f"Sample corpus per bucket ({s.db_url})"))
    if not web:
        return
    with _errors():
        project = demo_project(s, coder)
    out.print(
        f"Project {project.slug}: {project.items} items ({project.new_items} new), "
        f"{project.themes} themes, {project.escalations} new escalations."
    )
    out.print(f"Serve the pages on this store ({s.db_url}):  make serve")
    out.print(f"Then open http://{s.host}:{s.port}/signin and sign in with this admin key:")
    out.print(project.key)


@app.command()
def train(
    out_dir: Annotated[
        Path | None, typer.Option(help="Artifact folder (default: the shipped model folder).")
    ] = None,
    extra_data: Annotated[
        list[str] | None,
        typer.Option(
            help="Opt in to a restricted dataset (airline, semeval_laptops, app_reviews_maalej, "
            "app_reviews_panichella); the artifact is marked with its terms."
        ),
    ] = None,
    evaluate: Annotated[bool, typer.Option(help="Evaluate and write the model card.")] = True,
) -> None:
    """Rebuild the coder artifact from training/ and the permitted datasets, reproducibly.

    The evaluation of a model built outside the shipped model folder is saved in its own
    folder (DIR/eval), never over the shipped model's published results.

    Example: themecoder train --out-dir /tmp/coder
    """
    from themecoder.services.training import train_coder

    s = _settings()
    target = out_dir or s.model_dir
    with _errors(), _progress("training") as tick:
        result = train_coder(s, target, extra_data=extra_data or (), progress=tick)
    console.print(
        f"trained {result.version} on {result.counts['examples']} examples -> "
        f"{result.path}\nartifact sha256 {result.sha256}"
    )
    if evaluate:
        _evaluate(_results_for(_settings(model_dir=target)), target)


def _results_for(s: Settings) -> Settings:
    """``s`` with the report of a model other than the shipped one going to that model's
    own folder (eval/results describes the shipped model), unless THEMECODER_RESULTS_DIR
    names a folder."""
    shipped = Path(Settings.model_fields["model_dir"].default)
    if "results_dir" in s.model_fields_set or s.model_dir.resolve() == shipped.resolve():
        return s
    return s.model_copy(update={"results_dir": s.model_dir / "eval"})


def _evaluate(
    s: Settings, model_dir: Path, sources: list[str] | None = None, limit: int | None = None
) -> None:
    from themecoder.services.evaluation import run_evaluation
    from themecoder.services.reports import report_markdown

    with _errors(), _progress("evaluating") as tick:
        report, path = run_evaluation(s, model_dir, sources, limit, progress=tick)
    out.print(report_markdown(report))
    console.print(f"saved {path} and {path.with_suffix('.json')}", markup=False)


@app.command(name="eval")
def eval_(
    source: Annotated[list[str] | None, typer.Option(help="Evaluate only these sources.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many rows per source.")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Coder artifact folder.")] = None,
) -> None:
    """Score the coder on held-out splits: buckets, polarity, sentiment, expression, calibration.

    The report goes to eval/results, or THEMECODER_RESULTS_DIR where set; that of another
    model than the shipped one goes to its own folder's eval/ unless the variable is set.

    Example: themecoder eval --source airline --source own
    """
    s = _results_for(_settings(model_dir=model_dir))
    _evaluate(s, s.model_dir, source, limit)


@app.command()
def info() -> None:
    """Show the settings in force and the coder model's version and training sources.

    Example: THEMECODER_DB_URL=sqlite:///x.db themecoder info
    """
    from themecoder.artifact import artifact_hash, load_artifact

    s = _settings()
    with _errors():
        art = load_artifact(s.model_dir)
    out.print_json(
        json.dumps(
            {
                "settings": s.shown(),
                "model": {
                    "version": art.version,
                    "sha256": artifact_hash(s.model_dir),
                    "sources": art.config["sources"],
                },
            }
        )
    )


from themecoder.cli_codebook import codebook_app, glossary_app  # noqa: E402

app.add_typer(codebook_app, name="codebook")
app.add_typer(glossary_app, name="glossary")

from themecoder.cli_themes import themes_app  # noqa: E402

app.add_typer(themes_app, name="themes")

from themecoder.cli_service import (  # noqa: E402
    jobs_app,
    keys_app,
    models_app,
    projects_app,
    serve,
    worker,
)

app.command()(serve)
app.command()(worker)
app.add_typer(projects_app, name="projects")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(jobs_app, name="jobs")

from themecoder.cli_analytics import analytics_app  # noqa: E402

app.add_typer(analytics_app, name="analytics")

from themecoder.cli_analytics import digest  # noqa: E402

app.command()(digest)
from themecoder.cli_interop import (  # noqa: E402
    export,
    import_,
    intake,
    segments,
    webhook_secret,
)

app.command()(export)
app.command(name="import")(import_)
app.command()(segments)
app.command()(intake)
app.command(name="webhook-secret")(webhook_secret)

from themecoder.cli_research import insights_app, search  # noqa: E402

app.command()(search)
app.add_typer(insights_app, name="insights")
