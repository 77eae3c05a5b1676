"""Edits that make a new codebook version: add, rename, merge, split, retire.

Each edit is a pure function of a codebook: it returns the next version (``version + 1``)
with a lineage event, after checking the result, or raises and leaves nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pydantic import ValidationError

from themecoder.codebook.glossary import Glossary
from themecoder.codebook.lineage import LineageEvent
from themecoder.codebook.model import Code, Codebook, Examples, Expressions, problem_from_error
from themecoder.codebook.validate import ensure_valid
from themecoder.errors import InvalidInput


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _event(
    book: Codebook, kind: str, sources: Sequence[str], targets: Sequence[str]
) -> LineageEvent:
    return LineageEvent(kind, tuple(sources), tuple(targets), book.version + 1, _now())


def _finish(book: Codebook, glossary: Glossary | None) -> Codebook:
    # Re-read the text that will be written, so problems name its lines.
    written = Codebook.from_yaml(book.to_yaml(), f"{book.name} v{book.version}")
    ensure_valid(written, glossary, f"edited codebook {book.name} v{book.version}")
    return written


def _reparent(codes: list[Code], old: Sequence[str], new: str | None) -> list[Code]:
    return [c.model_copy(update={"parent": new}) if c.parent in old else c for c in codes]


def humanize(code_id: str) -> str:
    """``"sso_setup"`` -> ``"Sso setup"``: a default display name."""
    return code_id.replace("_", " ").capitalize()


def new_code(**fields: object) -> Code:
    """A :class:`Code` from ``fields``; a bad value (an id that is not snake_case, ...) is
    an :class:`InvalidInput` naming the field, not a validation traceback."""
    try:
        return Code(**fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [problem_from_error(err) for err in exc.errors()]
        text = "; ".join(f"{p.path}: {p.message}" if p.path else p.message for p in problems)
        raise InvalidInput(f"code {fields.get('id')!r}: {text}") from None


def add_code(book: Codebook, code: Code, glossary: Glossary | None = None) -> Codebook:
    """Add ``code`` (a new code or sub-code) in a new version."""
    if code.id in book.ids() or book.history().knows(code.id):
        raise InvalidInput(f"code id {code.id!r} is already in use or was used before")
    new = book.evolve([*book.codes, code], _event(book, "create", (), (code.id,)))
    return _finish(new, glossary)


def rename_code(
    book: Codebook,
    old: str,
    new_id: str,
    name: str | None = None,
    glossary: Glossary | None = None,
) -> Codebook:
    """Give code ``old`` the id ``new_id`` (and a display name, by default from the id)."""
    book.get(old)
    codes = [
        c.model_copy(update={"id": new_id, "name": name or humanize(new_id)}) if c.id == old else c
        for c in book.codes
    ]
    new = book.evolve(_reparent(codes, [old], new_id), _event(book, "rename", [old], [new_id]))
    return _finish(new, glossary)


def merge_codes(
    book: Codebook,
    sources: Sequence[str],
    into: str,
    name: str | None = None,
    definition: str | None = None,
    glossary: Glossary | None = None,
) -> Codebook:
    """Merge ``sources`` into one code ``into`` (one of them, or a new id).

    The merged code keeps the target's fields when it is one of the sources; otherwise it
    takes the first source's. Criteria, examples, expressions and metrics of all sources
    are pooled; children of the sources move under the merged code.
    """
    parts = [book.get(s) for s in sources]
    for source in sources:
        below = set(book.descendants(source)) & set(sources)
        if below:
            raise InvalidInput(f"cannot merge {source!r} with its own sub-code(s) {sorted(below)}")
    base = next((p for p in parts if p.id == into), parts[0])
    merged = base.model_copy(
        update={
            "id": into,
            "name": name or (base.name if base.id == into else humanize(into)),
            "definition": definition or base.definition,
            "include": _pool(p.include for p in parts),
            "exclude": _pool(p.exclude for p in parts),
            "examples": Examples(
                **{k: _pool(getattr(p.examples, k) for p in parts) for k in Examples.model_fields}
            ),
            "expressions": Expressions(
                **{
                    k: _pool(getattr(p.expressions, k) for p in parts)
                    for k in Expressions.model_fields
                }
            ),
            "metrics": _pool(p.metrics for p in parts),
            "owner": base.owner or next((p.owner for p in parts if p.owner), None),
        }
    )
    at = book.ids().index(base.id)
    codes = [c for c in book.codes if c.id not in sources]
    codes.insert(min(at, len(codes)), merged)
    codes = _reparent(codes, sources, into)
    new = book.evolve(codes, _event(book, "merge", sources, [into]))
    return _finish(new, glossary)


def split_code(
    book: Codebook,
    source: str,
    targets: Sequence[tuple[str, str]],
    glossary: Glossary | None = None,
) -> Codebook:
    """Split ``source`` into new codes given as ``(id, definition)``.

    Each target inherits the source's parent, owner, metrics and buyer expressions; example
    quotes are not copied (which target a quote belongs to is a human call). The source's
    sub-codes move under the first target.
    """
    parent = book.get(source)
    at = book.ids().index(source)
    made = [
        new_code(
            id=tid,
            name=humanize(tid),
            parent=parent.parent,
            definition=definition,
            owner=parent.owner,
            metrics=list(parent.metrics),
            expressions=parent.expressions,
        )
        for tid, definition in targets
    ]
    codes = [c for c in book.codes if c.id != source]
    codes[at:at] = made
    codes = _reparent(codes, [source], made[0].id if made else None)
    new = book.evolve(codes, _event(book, "split", [source], [t for t, _ in targets]))
    return _finish(new, glossary)


def retire_code(book: Codebook, code_id: str, glossary: Glossary | None = None) -> Codebook:
    """Retire a code that has no sub-codes; its history stays, flagged as retired."""
    book.get(code_id)
    children = [c.id for c in book.children(code_id)]
    if children:
        raise InvalidInput(
            f"code {code_id!r} has sub-codes {children}; retire, merge or move them first"
        )
    codes = [c for c in book.codes if c.id != code_id]
    new = book.evolve(codes, _event(book, "retire", [code_id], []))
    return _finish(new, glossary)


def _pool(lists: Iterable[Iterable[str]]) -> list[str]:
    out: dict[str, None] = {}
    for items in lists:
        out.update(dict.fromkeys(items))
    return list(out)
