"""The demo: code the bundled sample corpus into the store and summarise it per bucket, and
load it into project ``demo`` (themes discovered, signals routed, an admin key minted) so every
web page has something to show."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.domain import BUCKETS, POLARITIES, ItemResult
from themecoder.errors import NotFound
from themecoder.ingest import read_items
from themecoder.pipeline.themes import TooFewUnits
from themecoder.services import escalations, intake, projects, themes
from themecoder.services.codebook import load as load_codebook
from themecoder.services.coding import CodingRun, code_path
from themecoder.storage import init_db, make_engine, session_factory
from themecoder.storage.views import project_themes

# (file or glob, text column, id column)
SAMPLE_FILES = (
    ("tickets.csv", "text", "ticket_id"),
    ("nps.csv", "comment", "response_id"),
    ("interview_*", "text", None),
)


DEMO_PROJECT = "demo"
#: Files whose items are turns of one conversation (a document on the pages).
TRANSCRIPTS = "interview_"


@dataclass
class DemoResult:
    runs: list[tuple[str, CodingRun]]
    summary: list[dict[str, Any]]


def run_demo(
    s: Settings, coder: Coder | None = None, progress: Callable[[str, int, int], None] | None = None
) -> DemoResult:
    """Code every sample file, store it, and return a per-bucket summary over all runs."""
    coder = coder or Coder.load(s)
    runs = []
    for pattern, text_column, id_column in SAMPLE_FILES:
        paths = sorted(s.sample_dir.glob(pattern))
        if not paths:
            raise NotFound(f"sample file {pattern} not found in {s.sample_dir}")
        for path in paths:

            def tick(i: int, n: int, name: str = path.name) -> None:
                if progress:
                    progress(name, i, n)

            run = code_path(
                s, path, text_column=text_column, id_column=id_column, coder=coder, progress=tick
            )
            runs.append((path.name, run))
    # Summarised from the results, not the new rows: a re-run stores nothing new (storing is
    # idempotent on item id and text) and must still print the corpus.
    return DemoResult(runs, summarise([r for _, run in runs for r in run.results]))


def summarise(results: list[ItemResult]) -> list[dict[str, Any]]:
    """Per-bucket counts of unit-level codes, shaped like ``storage.bucket_summary``."""
    rows: dict[str, dict[str, Any]] = {}
    confidence: dict[str, list[float]] = {}
    for item_index, result in enumerate(results):
        for unit in result.units:
            for code in unit.buckets:
                row = rows.setdefault(
                    code.bucket,
                    {"units": set(), "items": set(), **dict.fromkeys(POLARITIES, 0)},
                )
                row["units"].add((item_index, unit.unit.index))
                row["items"].add(item_index)
                row[code.polarity] = row.get(code.polarity, 0) + 1
                confidence.setdefault(code.bucket, []).append(float(code.confidence))
    out = []
    for bucket in [*BUCKETS, *sorted(set(rows) - set(BUCKETS))]:
        row = rows.get(bucket, {"units": set(), "items": set(), **dict.fromkeys(POLARITIES, 0)})
        conf = confidence.get(bucket)
        out.append(
            {
                "bucket": bucket,
                "units": len(row["units"]),
                "items": len(row["items"]),
                **{p: int(row[p]) for p in POLARITIES},
                "mean_confidence": sum(conf) / len(conf) if conf else None,
            }
        )
    return out


@dataclass
class DemoProject:
    """Project ``demo`` as the pages will show it, and the admin key to sign in with."""

    slug: str
    key: str
    items: int
    new_items: int
    themes: int
    escalations: int


def ensure_codebook(s: Settings) -> Path | None:
    """Write the shipped codebook to ``s.codebook_path`` when that file does not exist yet, so
    the codebook page can edit a copy (the shipped file is never rewritten)."""
    path = s.codebook_path
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(load_codebook().to_yaml(), encoding="utf-8")
    return path


def sample_items(s: Settings) -> list[intake.IncomingItem]:
    """The sample corpus as API items; a transcript's turns share their file as document."""
    out = []
    for pattern, text_column, id_column in SAMPLE_FILES:
        for path in sorted(s.sample_dir.glob(pattern)):
            read = read_items(path, text_column=text_column, id_column=id_column)
            for it in read.items:
                meta = dict(it.metadata)
                if path.name.startswith(TRANSCRIPTS):
                    meta["document"] = it.source or path.name
                out.append(intake.IncomingItem(it.id, it.text, meta, it.speaker, it.coded))
    return out


def demo_project(s: Settings, coder: Coder, embedder: Any = None) -> DemoProject:
    """Load the sample corpus into project ``demo`` through the API's ingest path, discover
    its themes (and propose more from the units left over), route its signals, and mint an
    admin key. Running it again adds nothing twice but a new key.
    """
    book = load_codebook(s.codebook_path)
    items = sample_items(s)
    engine = make_engine(s.db_url)
    try:
        init_db(engine)
        with session_factory(engine).begin() as session:
            try:
                project = projects.get_project(session, DEMO_PROJECT)
            except NotFound:
                project = projects.create_project(session, DEMO_PROJECT, "Sample corpus")
            pid = project.id
            done = intake.ingest_into(
                session, pid, lambda _: coder, items, codebook_version=book.version, settings=s
            )
            fresh = not project_themes(session, pid)
        if fresh:
            themes.discover(s, project_id=pid, embedder=embedder)
            # Proposals from the units no theme took; none when (almost) every unit found one.
            with suppress(TooFewUnits, NotFound):
                themes.discover(s, residual=True, project_id=pid, embedder=embedder)
        with session_factory(engine).begin() as session:
            routed = escalations.route(session, book, pid)
            _, key = projects.create_key(session, pid, "admin", "demo admin")
            found = len(project_themes(session, pid))
    finally:
        engine.dispose()
    return DemoProject(
        DEMO_PROJECT, key, len(done.items), done.created, found, len(routed["escalations"])
    )
