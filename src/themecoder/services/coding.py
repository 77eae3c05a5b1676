"""Code a file: ingest -> coder -> output file -> store. The CLI's main use case."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.domain import ItemResult
from themecoder.errors import InvalidInput
from themecoder.ingest import IngestProblem, read_items
from themecoder.records import flat_row, records
from themecoder.services import languages, privacy, themes
from themecoder.services.codebook import load as load_codebook
from themecoder.storage import init_db, make_engine, save_results, session_factory

LEVELS = ("item", "unit")


@dataclass
class CodingRun:
    """What a coding run produced."""

    results: list[ItemResult]
    problems: list[IngestProblem]
    run_id: int | None
    out: Path | None
    model_version: str
    warnings: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return sum(len(r.units) for r in self.results)


def write_records(rows: list[dict[str, Any]], out: Path) -> None:
    """Write records as JSON Lines or CSV, chosen by the file extension."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    elif out.suffix.lower() == ".csv":
        flat = [flat_row(r) for r in rows]
        columns = list(dict.fromkeys(k for row in flat for k in row))
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(flat)
    else:
        raise InvalidInput(f"--out must end in .jsonl or .csv, got {out.name!r}")


def store_results(
    s: Settings, results: list[ItemResult], source: str, model_version: str, level: str
) -> int:
    engine = make_engine(s.db_url)
    try:
        init_db(engine)
        with session_factory(engine)() as session:
            run_id = save_results(
                session,
                results,
                source=source,
                model_version=model_version,
                level=level,
                settings={"spacy_model": s.spacy_model, "embedding_model": s.embedding_model},
                codebook_version=load_codebook(s.codebook_path).version,
            )
            session.commit()
        return run_id
    finally:
        engine.dispose()


def code_path(
    s: Settings,
    path: Path,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    encoding: str = "utf-8",
    skip_speakers: Sequence[str] = (),
    fmt: str | None = None,
    level: str = "item",
    out: Path | None = None,
    store: bool = True,
    with_text: bool = False,
    coder: Coder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CodingRun:
    """Read ``path`` (a file or folder), code it, write ``out`` and store the results.

    When the results are stored and the store has active themes, each unit carries the
    themes it is close to (``UnitResult.themes``, in the output as ``themes``); ``themes
    assign`` stores those assignments. ``with_text`` puts each item's text in item records.

    With ``s.redact`` (the default) items are masked before coding: the output file and the
    store hold the masked text, and unit offsets index it (``source_offset`` still indexes the
    source file). With ``s.language_check`` (the default) text in another language than
    English is flagged per item and unit and left uncoded unless ``s.code_other_languages``.
    """
    if level not in LEVELS:
        raise InvalidInput(f"--level must be one of {LEVELS}, got {level!r}")
    if out is not None and out.suffix.lower() not in {".jsonl", ".csv"}:
        raise InvalidInput(f"--out must end in .jsonl or .csv, got {out.name!r}")
    ingested = read_items(
        path,
        format=fmt,
        text_column=text_column,
        id_column=id_column,
        encoding=encoding,
        skip_speakers=skip_speakers,
    )
    coder = coder or Coder.load(s)
    rules = privacy.policy(s)
    items, _ = privacy.mask_items(ingested.items, privacy.masker_for(s, rules), rules)
    results = languages.code_checked(coder, items, s, progress)
    _file_warnings(results, ingested.problems)
    if store:
        themes.label_results(s, results)
    if out is not None:
        write_records(records(results, level, coder.version, with_text), out)
    run_id = store_results(s, results, str(path), coder.version, level) if store else None
    warnings = [w for r in results for w in r.warnings]
    return CodingRun(results, ingested.problems, run_id, out, coder.version, warnings)


def _file_warnings(results: list[ItemResult], problems: list[IngestProblem]) -> None:
    """Put each warning (records read, none skipped) on the results of the items it is about,
    or of every item of its file, so the output file carries it, not only the console."""
    by_source: dict[str, list[str]] = {}
    by_id: dict[str, list[str]] = {}
    for p in problems:
        if p.skipped:
            continue
        for item_id in p.item_ids:
            by_id.setdefault(item_id, []).append(p.message)
        if p.source and not p.item_ids:
            by_source.setdefault(p.source, []).append(p.message)
    for r in results:
        r.warnings.extend(by_source.get(r.item.source or "", []) + by_id.get(r.item.id, []))
