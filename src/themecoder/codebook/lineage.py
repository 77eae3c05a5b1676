"""Lineage of codes across codebook versions: create, rename, merge, split, retire.

Lineage lets stored codes and historical counts re-map to the current codebook. It is also
the record theme discovery keeps for theme merges, so it knows nothing of codebooks: a code
is an id.

Rules (checked by :meth:`Lineage.add`):

* a source must be a current id (not unknown, not already renamed, merged, split or retired);
* a target must be an id never used before, except that a merge may keep one of its
  sources as the target ("merge B into A");
* ``create`` has no sources, ``rename`` one source and one target, ``merge`` two or more
  sources and one target, ``split`` one source and two or more targets, ``retire`` one or
  more sources and no targets; versions never go down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from themecoder.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("create", "rename", "merge", "split", "retire")
_ARITY = {  # kind -> (min sources, max sources, min targets, max targets)
    "create": (0, 0, 1, None),
    "rename": (1, 1, 1, 1),
    "merge": (2, None, 1, 1),
    "split": (1, 1, 2, None),
    "retire": (1, None, 0, 0),
}
_PAST = {"rename": "renamed", "merge": "merged", "split": "split", "retire": "retired"}
RETIRED = " (retired)"
BEFORE_SPLIT = " (before split)"


@dataclass(frozen=True)
class LineageEvent:
    """One change to the set of codes."""

    kind: str  # "create" | "rename" | "merge" | "split" | "retire"
    sources: tuple[str, ...]  # code ids before
    targets: tuple[str, ...]  # code ids after
    version: int
    at: str | None = None  # ISO timestamp


class Lineage:
    """An append-only, validated history of code ids.

    Args:
        events: Events in the order they happened; each is checked as by :meth:`add`.
    """

    def __init__(self, events: Sequence[LineageEvent] | Iterable[LineageEvent] = ()) -> None:
        self._events: list[LineageEvent] = []
        self._current: dict[str, None] = {}  # an ordered set
        self._seen: set[str] = set()
        self._ended: dict[str, LineageEvent] = {}
        for event in events:
            self.add(event)

    @property
    def events(self) -> tuple[LineageEvent, ...]:
        return tuple(self._events)

    @property
    def current(self) -> tuple[str, ...]:
        """Ids that exist now, in order of creation."""
        return tuple(self._current)

    @property
    def version(self) -> int:
        """Version of the latest event (0 when there is none)."""
        return self._events[-1].version if self._events else 0

    def knows(self, code_id: str) -> bool:
        return code_id in self._seen

    def add(self, event: LineageEvent) -> Lineage:
        """Append ``event`` after checking it; returns ``self`` for chaining.

        Raises:
            InvalidInput: The event breaks a rule of the module docstring; nothing changes.
        """
        self._check(event)
        for source in event.sources:
            if source not in event.targets:
                del self._current[source]
                self._ended[source] = event
        for target in event.targets:
            self._current[target] = None
            self._seen.add(target)
        self._events.append(event)
        return self

    def _check(self, e: LineageEvent) -> None:
        if e.kind not in KINDS:
            raise InvalidInput(f"unknown lineage event kind {e.kind!r}; use one of {KINDS}")
        if not isinstance(e.version, int) or e.version < max(1, self.version):
            raise InvalidInput(
                f"{e.kind} event has version {e.version!r}; versions start at 1 and never go "
                f"down (latest is {self.version})"
            )
        lo_s, hi_s, lo_t, hi_t = _ARITY[e.kind]
        for what, ids, lo, hi in (
            ("sources", e.sources, lo_s, hi_s),
            ("targets", e.targets, lo_t, hi_t),
        ):
            if len(ids) < lo or (hi is not None and len(ids) > hi):
                want = f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo}-{hi}"
                raise InvalidInput(f"a {e.kind} event needs {want} {what}, got {list(ids)}")
            if len(set(ids)) != len(ids):
                raise InvalidInput(f"{e.kind} event repeats an id in its {what}: {list(ids)}")
        for source in e.sources:
            if source in self._current:
                continue
            ended = self._ended.get(source)
            if ended is None:
                raise InvalidInput(f"{e.kind} of unknown code {source!r}")
            raise InvalidInput(
                f"{e.kind} of {source!r}, which was {_PAST[ended.kind]} in version {ended.version}"
            )
        for target in e.targets:
            if target in e.sources and e.kind == "merge":
                continue
            if target in self._seen:
                raise InvalidInput(
                    f"{e.kind} target {target!r} is an id already in use or used before"
                )

    def resolve(self, code_id: str) -> tuple[str, ...]:
        """Current ids that ``code_id`` maps to.

        A current id maps to itself; a renamed or merged one to wherever its successor maps;
        a split one to all of its targets' current ids; a retired one to nothing.

        Raises:
            NotFound: ``code_id`` never appeared in this lineage.
        """
        if code_id in self._current:
            return (code_id,)
        if code_id not in self._ended:
            raise NotFound(f"code {code_id!r} is not in the lineage", code=code_id)
        out: dict[str, None] = {}
        for target in self._ended[code_id].targets:
            out.update(dict.fromkeys(self.resolve(target)))
        return tuple(out)

    def destination(self, code_id: str) -> str:
        """The row label historical counts of ``code_id`` go to in :meth:`remap_counts`.

        A current id, or the current id it was renamed or merged into. A code split into
        targets that are still apart keeps its history as ``"<id> (before split)"``
        (counts alone cannot say which target a past unit belongs to); a split whose targets
        were merged back maps to that code. A retired code becomes ``"<id> (retired)"``.
        """
        if code_id in self._current:
            return code_id
        if code_id not in self._ended:
            raise NotFound(f"code {code_id!r} is not in the lineage", code=code_id)
        event = self._ended[code_id]
        if event.kind == "retire":
            return code_id + RETIRED
        if event.kind != "split":
            return self.destination(event.targets[0])
        ends = {self.destination(t) for t in event.targets}
        if len(ends) == 1 and next(iter(ends)) in self._current:
            return ends.pop()
        if all(end.endswith(RETIRED) for end in ends):
            return code_id + RETIRED
        return code_id + BEFORE_SPLIT

    def remap_counts(
        self, counts: pd.DataFrame, code_col: str = "code", count_col: str = "count"
    ) -> pd.DataFrame:
        """Re-map historical counts to the current codes.

        Rows are ``(period, code, count, ...)``; every column other than ``count_col`` is a
        grouping key. Codes are replaced by :meth:`destination` and rows that then share all
        keys are summed, so a merged code's count is the sum of its parents' for every
        period. A split parent's past counts stay under ``"<parent> (before split)"``;
        re-attributing them to the split targets needs the stored units (see
        ``themecoder.services.codebook.reattribute_split``). Retired codes stay, flagged as
        ``"<id> (retired)"``.

        Raises:
            InvalidInput: A column is missing, or a code never appeared in the lineage.
        """
        missing = [c for c in (code_col, count_col) if c not in counts.columns]
        if missing:
            raise InvalidInput(f"counts lack column(s) {missing}; columns: {list(counts.columns)}")
        codes = counts[code_col].astype(str)
        unknown = sorted(set(codes) - self._seen)
        if unknown:
            raise InvalidInput(f"counts hold codes the lineage does not know: {unknown}")
        mapping = {c: self.destination(c) for c in set(codes)}
        out = counts.assign(**{code_col: codes.map(mapping)})
        keys = [c for c in counts.columns if c != count_col]
        summed = out.groupby(keys, sort=False, dropna=False, as_index=False)[count_col].sum()
        return summed[list(counts.columns)].reset_index(drop=True)

    def to_json(self) -> list[dict[str, Any]]:
        """Plain rows, one per event, for JSON, YAML or a table."""
        return [
            {
                "kind": e.kind,
                "sources": list(e.sources),
                "targets": list(e.targets),
                "version": e.version,
                "at": e.at,
            }
            for e in self._events
        ]

    @classmethod
    def from_json(cls, rows: Iterable[Mapping[str, Any]]) -> Lineage:
        """Rebuild from :meth:`to_json` rows, checking every event.

        Raises:
            InvalidInput: A row lacks a field or breaks a lineage rule.
        """
        lineage = cls()
        for i, row in enumerate(rows):
            try:
                event = LineageEvent(
                    kind=str(row["kind"]),
                    sources=tuple(str(s) for s in row.get("sources") or ()),
                    targets=tuple(str(t) for t in row.get("targets") or ()),
                    version=row["version"],
                    at=row.get("at"),
                )
            except KeyError as exc:
                raise InvalidInput(f"lineage row {i} lacks {exc.args[0]!r}") from None
            lineage.add(event)
        return lineage

    def __len__(self) -> int:
        return len(self._events)

    def __repr__(self) -> str:
        return f"Lineage({len(self._events)} events, {len(self._current)} current)"
