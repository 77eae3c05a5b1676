"""Readable differences between two codebook versions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from themecoder.codebook.model import Code, Codebook

_FIELDS = (
    "name",
    "parent",
    "definition",
    "include",
    "exclude",
    "examples",
    "expressions",
    "owner",
    "metrics",
)


@dataclass(frozen=True)
class Change:
    """One line of a diff; ``kind``: added, removed, renamed, merged, split, retired, changed."""

    kind: str
    code: str
    detail: str = ""

    def __str__(self) -> str:
        mark = {"added": "+", "removed": "-", "retired": "-"}.get(self.kind, "~")
        return f"  {mark} {self.kind:<8} {self.code}{': ' + self.detail if self.detail else ''}"


@dataclass
class CodebookDiff:
    """Everything that differs from ``old_version`` to ``new_version``."""

    name: str
    old_version: int
    new_version: int
    changes: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def text(self) -> str:
        head = f"{self.name} v{self.old_version} -> v{self.new_version}"
        if not self.changes:
            return f"{head}: no changes"
        return "\n".join([head, *map(str, self.changes)])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def diff(old: Codebook, new: Codebook) -> CodebookDiff:
    """What changed from ``old`` to ``new``: lineage events since ``old``, then field edits.

    Codes are paired across versions by id, following renames recorded in the lineage.
    """
    out = CodebookDiff(new.name, old.version, new.version)
    before = {c.id: c for c in old.codes}
    after = {c.id: c for c in new.codes}
    pairs: dict[str, str] = {cid: cid for cid in before if cid in after}
    covered: set[str] = set()
    for event in new.history().events:
        if event.version <= old.version:
            continue
        src, tgt = ", ".join(event.sources), ", ".join(event.targets)
        covered.update(event.sources, event.targets)
        if event.kind == "create":
            for cid in event.targets:
                if cid in before:
                    continue
                code = after.get(cid)
                under = f" under {code.parent}" if code and code.parent else ""
                detail = f"{code.name}{under}" if code else "then changed again (see below)"
                out.changes.append(Change("added", cid, detail))
        elif event.kind == "rename":
            out.changes.append(Change("renamed", src, f"-> {tgt}"))
            if event.sources[0] in before and event.targets[0] in after:
                pairs[event.sources[0]] = event.targets[0]
        elif event.kind == "merge":
            out.changes.append(Change("merged", src, f"-> {tgt}"))
        elif event.kind == "split":
            out.changes.append(Change("split", src, f"-> {tgt}"))
        else:
            out.changes.append(Change("retired", src))
    for cid in before:
        if cid not in after and cid not in covered:
            out.changes.append(Change("removed", cid, "no lineage event"))
    for cid, code in after.items():
        if cid not in before and cid not in covered:
            out.changes.append(Change("added", cid, code.name))
    for old_id, new_id in pairs.items():
        out.changes += _field_changes(new_id, before[old_id], after[new_id])
    if old.description != new.description:
        out.changes.append(
            Change("changed", "(codebook)", _text_change(old.description, new.description))
        )
    return out


def _field_changes(code_id: str, a: Code, b: Code) -> list[Change]:
    changes = []
    for name in _FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x == y:
            continue
        if isinstance(x, list):
            changes.append(Change("changed", f"{code_id}.{name}", _list_change(x, y)))
        elif hasattr(x, "model_dump"):
            for key, xs in x.model_dump().items():
                ys = getattr(y, key)
                if xs != ys:
                    changes.append(
                        Change("changed", f"{code_id}.{name}.{key}", _list_change(xs, ys))
                    )
        else:
            changes.append(Change("changed", f"{code_id}.{name}", _text_change(x, y)))
    return changes


def _list_change(old: list[str], new: list[str]) -> str:
    added = [f"+ {_short(v)}" for v in new if v not in old]
    removed = [f"- {_short(v)}" for v in old if v not in new]
    return "; ".join(added + removed) or "reordered"


def _text_change(old: str | None, new: str | None) -> str:
    return f"{_short(old)} -> {_short(new)}"


def _short(value: str | None, width: int = 70) -> str:
    if value is None:
        return "(none)"
    text = " ".join(str(value).split())
    return repr(text if len(text) <= width else text[: width - 3] + "...")
