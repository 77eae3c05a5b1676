"""Semantic checks of a codebook: every problem with the line that causes it.

Structure (fields, types) is checked when the file is read (:meth:`Codebook.from_yaml`);
here come the rules that span codes: unique ids and names, a parent that exists, no cycle in
the hierarchy, non-empty definitions, an owner for every top-level code, metrics the
glossary defines, and a lineage that agrees with the codes.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from themecoder.codebook.glossary import Glossary, load_glossary
from themecoder.codebook.model import DEFAULT_PATH, Codebook
from themecoder.codebook.problems import CodebookInvalid, Problem
from themecoder.errors import InvalidInput


def check(book: Codebook, metrics: Collection[str] | None = None) -> list[Problem]:
    """Every semantic problem of ``book``, in file order.

    Args:
        book: A codebook (read from a file, so problems carry lines, or built in code).
        metrics: Known metric ids; ``None`` skips the metric check.
    """
    lines = book.lines
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for i, code in enumerate(book.codes):
        at = ("codes", i)
        if code.id in ids:
            first = lines.line(("codes", ids[code.id], "id"))
            problems.append(
                lines.problem(f"duplicate id {code.id!r} (first at line {first})", (*at, "id"))
            )
        else:
            ids[code.id] = i
        key = code.name.casefold()
        if not key:
            problems.append(lines.problem(f"code {code.id!r} has an empty name", (*at, "name")))
        elif key in names:
            first = lines.line(("codes", names[key], "name"))
            problems.append(
                lines.problem(
                    f"duplicate name {code.name!r} (first at line {first})", (*at, "name")
                )
            )
        else:
            names[key] = i
        if not code.definition:
            problems.append(
                lines.problem(f"code {code.id!r} has an empty definition", (*at, "definition"))
            )
        if code.parent is None and not code.owner:
            problems.append(
                lines.problem(f"top-level code {code.id!r} needs an owner", (*at, "owner"))
            )
        for j, metric in enumerate(code.metrics):
            if metrics is not None and metric not in metrics:
                problems.append(
                    lines.problem(
                        f"code {code.id!r} maps to unknown metric {metric!r}; the glossary "
                        f"defines: {', '.join(sorted(metrics))}",
                        (*at, "metrics", j),
                    )
                )
    problems += _hierarchy(book, ids)
    problems += _lineage(book)
    return sorted(problems, key=lambda p: p.line or 0)


def _hierarchy(book: Codebook, ids: dict[str, int]) -> list[Problem]:
    lines = book.lines
    problems: list[Problem] = []
    parent = {c.id: c.parent for c in book.codes}
    for i, code in enumerate(book.codes):
        if code.parent is not None and code.parent not in ids:
            problems.append(
                lines.problem(
                    f"code {code.id!r} has unknown parent {code.parent!r}", ("codes", i, "parent")
                )
            )
    reported: set[str] = set()
    for i, code in enumerate(book.codes):
        chain = [code.id]
        node = parent.get(code.id)
        while node is not None and node in parent and node not in chain:
            chain.append(node)
            node = parent[node]
        if node is None or node not in chain:
            continue
        cycle = chain[chain.index(node) :]
        if reported.isdisjoint(cycle):
            reported.update(cycle)
            loop = " -> ".join([*cycle, node])
            problems.append(
                lines.problem(f"cycle in the hierarchy: {loop}", ("codes", i, "parent"))
            )
    return problems


def _lineage(book: Codebook) -> list[Problem]:
    lines = book.lines
    try:
        history = book.history()
    except InvalidInput as exc:
        return [lines.problem(f"lineage: {exc.message}", ("lineage",))]
    if history.version > book.version:
        return [
            lines.problem(
                f"lineage has an event at version {history.version}, after the codebook's "
                f"version {book.version}",
                ("lineage",),
            )
        ]
    gone = [cid for cid in history.current if cid not in set(book.ids())]
    return [
        lines.problem(
            f"code {cid!r} was removed without a lineage event; retire or merge it "
            "(themecoder codebook retire|merge) so history re-maps",
            ("codes",),
        )
        for cid in gone
    ]


def load_codebook(
    source: Path | str | None = None, glossary: Glossary | None = None, *, text: str | None = None
) -> Codebook:
    """Read and fully check a codebook.

    Args:
        source: A codebook file; ``None`` reads the shipped default. With ``text``, the name
            its problems are reported under.
        glossary: Metrics the codebook may name; ``None`` uses the shipped glossary.
        text: YAML text to read instead of a file.

    Raises:
        CodebookInvalid: Every problem found, each with its line.
        NotFound: The file does not exist.
    """
    if text is not None:
        book = Codebook.from_yaml(text, str(source or "codebook"))
    else:
        book = Codebook.from_path(source or DEFAULT_PATH)
    ensure_valid(book, glossary, str(source or "codebook"))
    return book


def ensure_valid(
    book: Codebook, glossary: Glossary | None = None, source: str = "codebook"
) -> None:
    """Raise :class:`CodebookInvalid` when :func:`check` finds any problem."""
    known = (glossary or load_glossary()).ids()
    problems = check(book, known)
    if problems:
        raise CodebookInvalid(problems, source)
