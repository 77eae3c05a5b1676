"""REFI-QDA project import: a ``.qdpx`` from another tool into a project, in one transaction.

* Each **text source** becomes an item (``external_id`` ``qdpx:<source GUID>``, not coded by
  the model, its name as ``source``); its variable values go into the item's metadata by
  variable name, the cases holding it into ``qdpx_cases`` (a single case is also its account).
* The **codebook** becomes a custom codebook (stored in ``codebook_versions`` under
  ``qdpx-<project>-<import id>``): each code a custom code with its description as definition,
  its hierarchy kept; GUIDs, colours, ``isCodable`` and the code's path (``parent:child``; a
  themecoder export's polarity sub-codes come back as ``bucket:polarity``) are kept beside it,
  so an export gives them back and segments are found by the path.
* Each **coded segment** (a ``Coding`` of a ``PlainTextSelection``) becomes a stored coded
  segment with its exact span, coder and note, and its text one of the code's example quotes
  (the labelled examples few-shot custom codes learn from; up to :data:`MAX_EXAMPLES` per code),
  filed under the polarity level of the code's path (a themecoder export's ``bucket:risk``
  under ``risk``), else under ``neutral`` since other tools' codes carry no polarity.

The file is read and validated whole before anything is written, and everything is written in
the caller's transaction: a bad file stores nothing, nor does a file whose sources the project
(or the command line's store) already holds.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from themecoder.codebook.model import Codebook
from themecoder.config import Settings
from themecoder.domain import POLARITIES
from themecoder.errors import Conflict
from themecoder.interop.qdpx import QdaCode, QdaProject, read_qdpx
from themecoder.services import audit, privacy, projects
from themecoder.services.qda_export import IMPORT_MARK
from themecoder.storage import interop_queries as q
from themecoder.storage.codebooks import save_codebook_version
from themecoder.storage.interop import CodedSegmentRecord, QdaImportRecord
from themecoder.storage.repository import insert_ids
from themecoder.storage.tables import ItemRecord, RunRecord

MAX_EXAMPLES = 20
_EXAMPLE_CHARS = 2000


def import_qdpx(
    session: Session,
    project_id: int | None,
    data: bytes,
    *,
    filename: str = "upload.qdpx",
    project_slug: str | None = None,
    who: Any = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Import a ``.qdpx`` archive into the project (``None``: the command line's store).

    With ``settings``, personal data in the sources is masked as ingest masks it (the project's
    rules; originals sealed where the project keeps them) before anything is stored, and every
    coded segment's offsets are moved onto the masked text.

    Returns:
        ``import_id``, ``codebook`` (its stored name), and counts of ``sources``, ``codes``,
        ``segments`` and ``users``.

    Raises:
        InvalidInput: Not a zip or a damaged member, no ``project.qde``, fails the QDA-XML
            schema, two codes or sources with one GUID, a source's text missing, a selection
            outside its text (each message names the problem).
        Conflict: The project already holds one of the file's sources (imported before).
    """
    project = read_qdpx(data, filename)
    originals: dict[str, str] = {}
    if settings is not None:
        rules = privacy.policy(
            settings, None if project_id is None else projects.project_settings(session, project_id)
        )
        changed = _mask_sources(project, privacy.masker_for(settings, rules))
        if rules.keep_original:
            originals = privacy.seal(settings, {g: {"text": t} for g, t in changed.items()})
    external = {s.guid: f"qdpx:{s.guid}" for s in project.sources}
    # Held from the check to the end of the transaction: another import of the same sources
    # waits, then finds them (the unique constraint does not hold without a project).
    q.lock_imports(session, project_id)
    held = q.held_external_ids(session, project_id, list(external.values()))
    if held:
        names = [s.name for s in project.sources if external[s.guid] in held]
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        where = "the project" if project_id is not None else "the command line's store"
        raise Conflict(
            f"{filename}: {where} already holds source(s) {', '.join(names[:5])}{more} "
            "(imported before); nothing was imported"
        )
    ids, parents, paths = _code_ids(project.codes)
    examples = _examples(project, ids)
    book = Codebook(
        name="pending",
        codes=[
            {
                "id": ids[code.guid],
                "name": code.name or ids[code.guid],
                "parent": parents.get(code.guid),
                "definition": code.description or code.name,
                "examples": {_polarity(paths[code.guid]): examples.get(code.guid, [])},
            }
            for top in project.codes
            for _, code in top.walk()
        ],
    )
    run = RunRecord(
        source=f"qdpx:{filename}",
        model_version="import",
        level="source",
        n_items=len(project.sources),
        n_units=0,
        settings={"origin": project.origin, "name": project.name},
    )
    session.add(run)
    session.flush()
    record = QdaImportRecord(
        project_id=project_id,
        name=project.name,
        origin=project.origin,
        codebook="pending",
        run_id=run.id,
        codes={
            ids[code.guid]: {
                "guid": code.guid,
                "color": code.color,
                "codable": code.codable,
                "description": code.description,
                "path": paths[code.guid],
            }
            for top in project.codes
            for _, code in top.walk()
        },
    )
    session.add(record)
    session.flush()
    record.codebook = book.name = f"qdpx-{project_slug or 'cli'}-{record.id}"
    save_codebook_version(session, book.name, 1, book.to_yaml(), f"imported from {filename}", [])
    variables = {v.guid: v.name for v in project.variables}
    cases: dict[str, list[str]] = {}
    for case in project.cases:
        for source_guid in case.sources:
            cases.setdefault(source_guid, []).append(case.name)
    rows = []
    for s in project.sources:
        meta: dict[str, Any] = {IMPORT_MARK: s.guid, "qdpx_import": record.id}
        meta.update({variables.get(k, k): v for k, v in s.variables.items()})
        if s.guid in cases:
            meta["qdpx_cases"] = cases[s.guid]
        account = cases[s.guid][0] if len(cases.get(s.guid, [])) == 1 else None
        rows.append(
            {
                "run_id": run.id,
                "project_id": project_id,
                "external_id": external[s.guid],
                "text": s.text,
                "speaker": None,
                "coded": False,
                "source": s.name,
                "source_offset": 0,
                "meta": meta,
                "sentiment": "neutral",
                "sentiment_score": 0.0,
                "expression": "none",
                "created_at": None,
                "account_id": account,
                "original": originals.get(s.guid),
            }
        )
    item_ids = dict(
        zip((s.guid for s in project.sources), insert_ids(session, ItemRecord, rows), strict=True)
    )
    segments = [
        {
            "import_id": record.id,
            "item_id": item_ids[s.guid],
            "code": ids[coding.code_guid],
            "start_char": sel.start,
            "end_char": sel.end,
            "text": s.text[sel.start : sel.end],
            "coder": project.users.get(coding.user or sel.user or "", coding.user or sel.user),
            "note": sel.note,
        }
        for s in project.sources
        for sel in s.selections
        for coding in sel.codings
    ]
    if segments:
        insert_ids(session, CodedSegmentRecord, segments)
    n_codes = len(ids)
    report = {
        "import_id": record.id,
        "codebook": book.name,
        "name": project.name,
        "origin": project.origin,
        "sources": len(project.sources),
        "codes": n_codes,
        "segments": len(segments),
        "users": len(project.users),
    }
    if project_id is not None:
        audit.record(session, who, project_id, "import", f"qda_import:{record.id}", None, report)
    return report


def _mask_sources(project: QdaProject, masker: Any) -> dict[str, str]:
    """Mask each source's text in place, moving its selections onto the masked text; returns
    the originals of the sources that changed, by GUID."""
    changed = {}
    for source, masked in zip(
        project.sources, masker.mask_many([s.text for s in project.sources]), strict=True
    ):
        if not masked.changed:
            continue
        changed[source.guid] = source.text
        for sel in source.selections:
            sel.start, sel.end = masked.to_masked(sel.start), masked.to_masked_end(sel.end)
        source.text = masked.text
    return changed


def _code_ids(
    codes: list[QdaCode],
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """``({guid: code id}, {guid: parent code id}, {guid: code path})`` of every code.

    A code's path is the snake_case slugs of the names from the top down to it, joined by
    ``:``: a themecoder export's polarity sub-code comes back as ``bucket:polarity`` (what
    segment filters take), another tool's sub-code as ``parent:child``. Its id (code ids are
    snake_case) is the same slugs joined by ``__``, which no slug holds, so ids are unique
    where paths are. A slug is numbered (``_2``) only where a sibling already has it.
    """
    ids: dict[str, str] = {}
    parents: dict[str, str] = {}
    paths: dict[str, str] = {}

    def visit(code: QdaCode, above: tuple[str, ...], siblings: set[str]) -> None:
        slug = _slug(code.name, siblings)
        siblings.add(slug)
        here = (*above, slug)
        ids[code.guid] = "__".join(here)
        paths[code.guid] = ":".join(here)
        if above:
            parents[code.guid] = "__".join(above)
        below: set[str] = set()
        for child in code.children:
            visit(child, here, below)

    top: set[str] = set()
    for code in codes:
        visit(code, (), top)
    return ids, parents, paths


def _polarity(path: str) -> str:
    """The polarity a code's examples are filed under: the deepest level of its path below the
    top that names a polarity (a themecoder export's ``bucket:polarity``), else ``neutral``."""
    levels = path.split(":")[1:]
    return next((level for level in reversed(levels) if level in POLARITIES), "neutral")


def _slug(name: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "code"
    base = base if base[0].isalpha() else f"c_{base}"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}_{n}", n + 1
    return slug


def _examples(project: QdaProject, ids: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in project.sources:
        for sel in s.selections:
            text = " ".join(s.text[sel.start : sel.end].split())[:_EXAMPLE_CHARS]
            for coding in sel.codings:
                quotes = out.setdefault(coding.code_guid, [])
                if text and text not in quotes and len(quotes) < MAX_EXAMPLES:
                    quotes.append(text)
    return out
