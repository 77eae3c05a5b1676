"""Codebook use cases: check, edit (a new version each time), diff, interchange, lookups,
custom codes and history re-counted under the current codebook. No printing.

An edit is all or nothing: the new version is checked first, then stored (when a database
is given) and written to the file by an atomic rename in the same step; if anything fails,
the file and the store keep the old version.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.codebook import edits
from themecoder.codebook.export import to_csv
from themecoder.codebook.fewshot import FewShotHead
from themecoder.codebook.glossary import Glossary, MetricMatch, load_glossary
from themecoder.codebook.lineage import BEFORE_SPLIT
from themecoder.codebook.model import Codebook, read_text
from themecoder.codebook.qdc import from_qdc, to_qdc
from themecoder.codebook.validate import ensure_valid, load_codebook
from themecoder.codebook.versioning import CodebookDiff, diff
from themecoder.config import Settings
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.storage import init_db, load_embeddings, make_engine, session_factory
from themecoder.storage.codebooks import (
    latest_codebook_version,
    save_codebook_version,
    stored_codes,
)

FORMATS = ("qdc", "csv", "yaml")


@dataclass
class EditResult:
    """A stored edit: the new codebook, its diff, and the store it went to (if any)."""

    codebook: Codebook
    diff: CodebookDiff
    path: Path
    db_url: str | None


def load(path: Path | None = None, glossary: Path | None = None) -> Codebook:
    """Read and check a codebook file (``None``: the shipped default)."""
    return load_codebook(path, load_glossary(glossary))


def diff_files(old: Path, new: Path) -> CodebookDiff:
    """Readable diff between two codebook files (each checked for structure only)."""
    return diff(Codebook.from_path(old), Codebook.from_path(new))


def edit(
    path: Path,
    change: Callable[[Codebook, Glossary], Codebook],
    settings: Settings | None = None,
    glossary: Path | None = None,
) -> EditResult:
    """Apply ``change`` to the codebook at ``path`` as a new version.

    Args:
        path: The codebook file; rewritten atomically on success.
        change: Returns the next version (one of :mod:`themecoder.codebook.edits`).
        settings: When given, the old (if not stored yet) and new versions and the lineage
            go to ``settings.db_url`` in the same step.
        glossary: Glossary file the metrics are checked against (default: shipped).

    Raises:
        CodebookInvalid: The file, or the edited codebook, breaks the contract.
        Conflict: The store already holds a newer version of this codebook.
    """
    terms = load_glossary(glossary)
    if not path.is_file():
        found = f"{path} is a folder, not a codebook file" if path.is_dir() else None
        raise NotFound(found or f"codebook file not found: {path}", path=str(path))
    old_text = read_text(path)
    old = load_codebook(path, glossary=terms, text=old_text)
    new = change(old, terms)
    changes = diff(old, new)
    text = new.to_yaml()
    if settings is None:
        _atomic_write(path, text)
        return EditResult(new, changes, path, None)
    engine = make_engine(settings.db_url)
    written = False
    try:
        init_db(engine)
        with session_factory(engine).begin() as session:
            latest = latest_codebook_version(session, old.name)
            if latest is None or latest < old.version:
                first = old.history().to_json()
                save_codebook_version(
                    session, old.name, old.version, old_text, "first stored version", first
                )
            save_codebook_version(
                session, new.name, new.version, text, changes.text(), new.history().to_json()
            )
            _atomic_write(path, text)
            written = True
    except BaseException:
        if written:  # the commit failed after the rename: put the old file back
            _atomic_write(path, old_text)
        raise
    finally:
        engine.dispose()
    return EditResult(new, changes, path, settings.db_url)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge(
    path: Path,
    sources: Sequence[str],
    into: str,
    name: str | None = None,
    definition: str | None = None,
    **kw: Any,
) -> EditResult:
    """Merge codes ``sources`` into ``into`` (see :func:`edits.merge_codes`)."""
    return edit(path, lambda b, g: edits.merge_codes(b, sources, into, name, definition, g), **kw)


def split(path: Path, source: str, targets: Sequence[tuple[str, str]], **kw: Any) -> EditResult:
    """Split ``source`` into ``(id, definition)`` targets (see :func:`edits.split_code`)."""
    return edit(path, lambda b, g: edits.split_code(b, source, targets, g), **kw)


def rename(path: Path, old: str, new: str, name: str | None = None, **kw: Any) -> EditResult:
    """Rename code ``old`` to ``new`` (see :func:`edits.rename_code`)."""
    return edit(path, lambda b, g: edits.rename_code(b, old, new, name, g), **kw)


def retire(path: Path, code_id: str, **kw: Any) -> EditResult:
    """Retire a code (see :func:`edits.retire_code`)."""
    return edit(path, lambda b, g: edits.retire_code(b, code_id, g), **kw)


def add(
    path: Path,
    code_id: str,
    definition: str,
    *,
    name: str | None = None,
    parent: str | None = None,
    examples: dict[str, list[str]] | None = None,
    owner: str | None = None,
    metrics: Sequence[str] = (),
    **kw: Any,
) -> EditResult:
    """Add a code or sub-code (see :func:`edits.add_code`); ``examples`` by polarity."""
    code = edits.new_code(
        id=code_id,
        name=name or edits.humanize(code_id),
        parent=parent,
        definition=definition,
        examples=examples or {},
        owner=owner,
        metrics=list(metrics),
    )
    return edit(path, lambda b, g: edits.add_code(b, code, g), **kw)


def export(book: Codebook, fmt: str) -> str:
    """The codebook as ``qdc`` (REFI-QDA XML), ``csv`` or ``yaml`` text."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return {"qdc": to_qdc, "csv": to_csv, "yaml": Codebook.to_yaml}[fmt](book)


def import_codebook(
    source: Path,
    out: Path,
    default_owner: str | None = None,
    glossary: Path | None = None,
    overwrite: bool = False,
) -> Codebook:
    """Read a ``.qdc`` (or YAML) codebook, check it, and write it as YAML to ``out``."""
    if not source.is_file():
        raise NotFound(f"file not found: {source}", path=str(source))
    if out.exists() and not overwrite:
        raise Conflict(f"{out} exists; choose another path or overwrite it explicitly")
    text = read_text(source)
    if source.suffix.lower() == ".qdc":
        book = from_qdc(text, default_owner)
        book = Codebook.from_yaml(book.to_yaml(), str(out))  # lines of the file to be written
    else:
        book = Codebook.from_yaml(text, str(source))
    ensure_valid(book, load_glossary(glossary), str(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(out, book.to_yaml())
    return book


def lookup(
    phrase: str,
    codebook: Path | None = None,
    glossary: Path | None = None,
    coder: Any = None,
) -> list[MetricMatch]:
    """Metrics ``phrase`` maps to, with why; ``coder`` (optional) adds the codes it assigns."""
    book = load(codebook, glossary)
    assigned: list[tuple[str, float | None]] = []
    if coder is not None:
        (result,) = coder.code([phrase])
        assigned = [(c.bucket, c.confidence) for c in result.buckets if c.bucket in book.ids()]
    return load_glossary(glossary).lookup(phrase, book, assigned)


def code_examples(
    book: Codebook, code_ids: Iterable[str]
) -> tuple[list[str], list[str], list[str | None]]:
    """Texts, code labels and polarities for fitting: each code's definition and quotes."""
    texts, labels, polarities = [], [], []
    for cid in code_ids:
        code = book.get(cid)
        texts.append(code.definition)
        labels.append(cid)
        polarities.append(None)
        for polarity, quote in code.examples.by_polarity():
            texts.append(quote)
            labels.append(cid)
            polarities.append(polarity)
    return texts, labels, polarities


def fit_custom_codes(
    book: Codebook,
    embedder: Any,
    code_ids: Sequence[str] | None = None,
    background: Sequence[str] = (),
    method: str = "prototype",
) -> FewShotHead:
    """Fit a few-shot head on codes' definitions and example quotes (default: every code).

    ``background`` texts (uncoded units) sharpen the thresholds; nothing else is retrained.
    Pass the base encoder (``make_embedder(settings, base=True)``): the coder's fine-tuned
    adapter serves the six buckets and measured worse for new codes (``eval/fewshot_curve.py``).
    """
    texts, labels, pols = code_examples(book, code_ids or book.ids())
    X = embedder.encode([*texts, *background])
    pad = [None] * len(background)
    return FewShotHead(method=method).fit(X, [*labels, *pad], [*pols, *pad])


def code_custom(
    head: FewShotHead, embedder: Any, texts: Sequence[str]
) -> list[list[dict[str, Any]]]:
    """Per text, the custom codes it gets: ``code``, ``score`` and ``polarity``."""
    X = embedder.encode(list(texts))
    scores, pol = head.decision_function(X), head.polarity_proba(X)
    out = []
    for i, codes in enumerate(head.predict(X)):
        row = []
        for cid in codes:
            c = head.classes_.index(cid)
            polarity = ("positive", "neutral", "risk")[int(np.argmax(pol[i, c]))]
            row.append({"code": cid, "score": round(float(scores[i, c]), 4), "polarity": polarity})
        out.append(row)
    return out


def historical_counts(
    settings: Settings, book: Codebook, freq: str = "M", embedder: Any = None
) -> Any:
    """Stored unit-level codes counted per period, re-mapped to ``book``'s current codes.

    Merged codes sum their parents for every period. With an ``embedder``, the stored units
    of a split code are re-attributed to its split targets (a few-shot head on the targets'
    definitions and examples, applied to the units' stored embeddings); without one they stay
    under ``"<code> (before split)"``.
    """
    import pandas as pd

    engine = make_engine(settings.db_url)
    try:
        init_db(engine)
        with session_factory(engine)() as session:
            rows = pd.DataFrame(stored_codes(session))
            if rows.empty:
                return pd.DataFrame(columns=["period", "code", "count"])
            lineage = book.history()
            if embedder is not None:
                rows = _reattribute_splits(session, rows, book, embedder)
    finally:
        engine.dispose()
    at = pd.to_datetime(rows["at"], utc=True).dt.tz_localize(None)
    counts = (
        rows.assign(period=at.dt.to_period(freq).astype(str))
        .groupby(["period", "code"], sort=True)
        .size()
        .reset_index(name="count")
    )
    return lineage.remap_counts(counts).sort_values(["period", "code"]).reset_index(drop=True)


def _reattribute_splits(session: Any, rows: Any, book: Codebook, embedder: Any) -> Any:
    lineage = book.history()
    for event in lineage.events:
        if event.kind != "split":
            continue
        parent = event.sources[0]
        ends = {c: lineage.destination(c) for c in set(rows["code"]) if lineage.knows(c)}
        mine = rows["code"].map(ends).eq(parent + BEFORE_SPLIT)
        current = [d for d in map(lineage.destination, event.targets) if d in book.ids()]
        if not mine.any() or len(current) < 2:
            continue
        _, X = load_embeddings(session, rows.loc[mine, "unit_id"].tolist())
        head = fit_custom_codes(book, embedder, current)
        best = np.argmax(head.decision_function(X), axis=1)
        rows.loc[mine, "code"] = [head.classes_[b] for b in best]
    return rows
