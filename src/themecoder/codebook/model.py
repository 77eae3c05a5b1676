"""The codebook: a hierarchy of codes with definitions, criteria, examples, owners and metrics.

A codebook is a YAML file (see ``default.yaml``). :meth:`Codebook.from_yaml` checks its
structure and keeps the line of every field, so :mod:`themecoder.codebook.validate` can name
the line of each problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from themecoder.codebook.lineage import Lineage, LineageEvent
from themecoder.codebook.problems import CodebookInvalid, Problem
from themecoder.codebook.yamlio import LineIndex, dump_yaml, format_path, parse_yaml
from themecoder.errors import NotFound

DEFAULT_PATH = Path(__file__).with_name("default.yaml")
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Examples(_Strict):
    """Example quotes of a code, by polarity."""

    positive: list[str] = Field(default_factory=list)
    neutral: list[str] = Field(default_factory=list)
    risk: list[str] = Field(default_factory=list)

    def by_polarity(self) -> Iterator[tuple[str, str]]:
        """``(polarity, quote)`` pairs, positive first."""
        for polarity in ("positive", "neutral", "risk"):
            for quote in getattr(self, polarity):
                yield polarity, quote


class Expressions(_Strict):
    """What buyers say, by expression type: short phrases matched in text and lookups."""

    satisfaction: list[str] = Field(default_factory=list)
    frustration: list[str] = Field(default_factory=list)
    request: list[str] = Field(default_factory=list)

    def by_type(self) -> Iterator[tuple[str, str]]:
        for kind in ("satisfaction", "frustration", "request"):
            for phrase in getattr(self, kind):
                yield kind, phrase


class Code(_Strict):
    """One code. ``parent`` names the code above it (None for a top-level code).

    ``owner`` is the team or person accountable; a sub-code without one inherits its
    parent's. ``metrics`` are glossary metric ids the code moves.
    """

    id: str = Field(pattern=ID_PATTERN, description="Stable identifier, snake_case.")
    name: str
    parent: str | None = None
    definition: str
    include: list[str] = Field(default_factory=list, description="Inclusion criteria.")
    exclude: list[str] = Field(default_factory=list, description="Exclusion criteria.")
    examples: Examples = Field(default_factory=Examples)
    expressions: Expressions = Field(default_factory=Expressions)
    owner: str | None = None
    metrics: list[str] = Field(default_factory=list)


class EventRow(_Strict):
    """A lineage event as written in the file."""

    kind: str
    sources: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    version: int = Field(ge=1)
    at: str | None = None


class Codebook(_Strict):
    """A versioned codebook. Equality compares content, not the file it came from."""

    name: str = Field(min_length=1)
    version: int = Field(1, ge=1)
    description: str = ""
    codes: list[Code]
    lineage: list[EventRow] = Field(default_factory=list)
    _lines: LineIndex = PrivateAttr(default_factory=LineIndex)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Codebook) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    # -- reading -------------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str, source: str = "codebook") -> Codebook:
        """Parse and check the structure of a codebook file.

        Raises:
            CodebookInvalid: Bad YAML, a missing or unknown field, or a value of the wrong
                type; each problem names its line.
        """
        data, lines = parse_yaml(text, source)
        if not isinstance(data, dict):
            raise CodebookInvalid([Problem("a codebook must be a mapping", "", 1)], source)
        try:
            book = cls.model_validate(data)
        except ValidationError as exc:
            problems = [problem_from_error(err, lines) for err in exc.errors()]
            raise CodebookInvalid(problems, source) from None
        book._lines = lines
        return book

    @classmethod
    def from_path(cls, path: Path | str) -> Codebook:
        """Read a codebook file (no semantic checks: see ``validate.load_codebook``)."""
        path = Path(path)
        if not path.is_file():
            found = f"{path} is a folder, not a codebook file" if path.is_dir() else None
            raise NotFound(found or f"codebook file not found: {path}", path=str(path))
        return cls.from_yaml(read_text(path), str(path))

    @property
    def lines(self) -> LineIndex:
        """Line of every field in the file this codebook was read from (empty if built)."""
        return self._lines

    def to_yaml(self) -> str:
        """The codebook as YAML; empty optional fields are left out."""
        data = self.model_dump(exclude_defaults=True)
        data["version"] = self.version
        order = ["name", "version", "description", "codes", "lineage"]
        return dump_yaml({k: data[k] for k in order if k in data})

    # -- navigation ----------------------------------------------------------------------

    def get(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise NotFound(f"no code {code_id!r} in codebook {self.name!r}", code=code_id)

    def ids(self) -> list[str]:
        return [c.id for c in self.codes]

    def children(self, code_id: str | None) -> list[Code]:
        """Codes directly under ``code_id`` (None: the top level), in file order."""
        return [c for c in self.codes if c.parent == code_id]

    def descendants(self, code_id: str) -> list[str]:
        """Ids of every code below ``code_id``."""
        out: list[str] = []
        stack = [code_id]
        while stack:
            for child in self.children(stack.pop()):
                if child.id not in out and child.id != code_id:
                    out.append(child.id)
                    stack.append(child.id)
        return out

    def path(self, code_id: str) -> list[str]:
        """Ids from the top level down to ``code_id`` (stops at a cycle)."""
        chain = [code_id]
        parent = self.get(code_id).parent
        while parent is not None and parent not in chain:
            chain.insert(0, parent)
            parent = self.get(parent).parent if parent in self.ids() else None
        return chain

    def owner_of(self, code_id: str) -> str | None:
        """The code's owner, inherited from the nearest ancestor that has one."""
        for cid in reversed(self.path(code_id)):
            if cid in self.ids() and self.get(cid).owner:
                return self.get(cid).owner
        return None

    def metrics_of(self, code_id: str) -> list[str]:
        """The code's metrics, else those of its nearest ancestor that has some."""
        for cid in reversed(self.path(code_id)):
            if cid in self.ids() and self.get(cid).metrics:
                return list(self.get(cid).metrics)
        return []

    def history(self) -> Lineage:
        """The lineage of this codebook's codes.

        Codes the recorded events do not create (a hand-written codebook, or codes added
        by editing the file) get an implicit ``create`` event at this version.
        """
        lineage = Lineage.from_json(e.model_dump() for e in self.lineage)
        new = tuple(dict.fromkeys(c.id for c in self.codes if c.id not in lineage.current))
        if new:
            lineage.add(LineageEvent("create", (), new, self.version))
        return lineage

    def evolve(
        self, codes: list[Code], event: LineageEvent | None = None, **fields: Any
    ) -> Codebook:
        """A new version (``version + 1``) with ``codes``; ``event`` joins the lineage."""
        lineage = self.history()
        if event is not None:
            lineage.add(event)
        rows = [EventRow(**row) for row in lineage.to_json()]
        data = {"name": self.name, "description": self.description, **fields}
        return Codebook(version=self.version + 1, codes=codes, lineage=rows, **data)


def read_text(path: Path) -> str:
    """The text of a codebook file; one that is not UTF-8 is a :class:`CodebookInvalid`
    naming the line of the first bad byte, not a decoding traceback."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        raise CodebookInvalid([Problem(message, "", line)], str(path)) from None


def problem_from_error(err: Mapping[str, Any], lines: LineIndex | None = None) -> Problem:
    """One pydantic validation error of a codebook model as a :class:`Problem`.

    Args:
        err: One entry of ``ValidationError.errors()``.
        lines: Lines of the file the model was read from; none for a model built in code,
            whose problems then name their field path but no line.

    Returns:
        The problem in the codebook's words (``unknown field 'x'``, ``missing field 'x'``, an id
        that is not snake_case), with its field path and line.
    """
    lines = lines if lines is not None else LineIndex()
    loc = tuple(err.get("loc", ()))
    message = err.get("msg", "invalid value")
    if err.get("type") == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}"
    elif err.get("type") == "missing":
        message = f"missing field {loc[-1]!r}"
    elif err.get("type") == "string_type" and err.get("input") is None:
        message = f"empty {loc[-1]}"
    elif err.get("type") == "string_pattern_mismatch":
        message = f"{err.get('input')!r} is not a valid id (lowercase letters, digits, _)"
    return Problem(message, format_path(loc), lines.line(loc))
