"""The glossary: customer-success metrics, the phrases that signal them, and lookups.

Each metric has a definition, a direction (higher is better or worse) and an owner. A phrase
maps to a metric directly (one of the metric's phrase patterns matches it) or through a code
(one of the code's buyer expressions matches it, or a coder assigned the code, and the code
maps to the metric). Patterns are lowercase words; ``*`` ends a word prefix (``renew*``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from themecoder.codebook.problems import CodebookInvalid, Problem
from themecoder.codebook.yamlio import format_path, parse_yaml
from themecoder.errors import NotFound

if TYPE_CHECKING:
    from themecoder.codebook.model import Codebook

GLOSSARY_PATH = Path(__file__).with_name("glossary.yaml")


class Metric(BaseModel):
    """A metric the business tracks."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    direction: Literal["higher_is_better", "lower_is_better"]
    owner: str = Field(min_length=1)
    phrases: list[str] = Field(default_factory=list)


@dataclass
class MetricMatch:
    """A metric a phrase maps to, and why (one reason per route that led to it)."""

    metric: Metric
    reasons: list[str] = field(default_factory=list)
    direct: bool = False

    def to_dict(self) -> dict[str, Any]:
        m = self.metric
        return {
            "metric": m.id,
            "name": m.name,
            "direction": m.direction,
            "owner": m.owner,
            "definition": m.definition,
            "why": list(self.reasons),
        }


class Glossary(BaseModel):
    """The metrics a codebook may map codes to."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = Field(1, ge=1)
    metrics: list[Metric]

    def ids(self) -> set[str]:
        return {m.id for m in self.metrics}

    def get(self, metric_id: str) -> Metric:
        for metric in self.metrics:
            if metric.id == metric_id:
                return metric
        raise NotFound(f"no metric {metric_id!r} in glossary {self.name!r}", metric=metric_id)

    def lookup(
        self,
        phrase: str,
        codebook: Codebook | None = None,
        codes: Iterable[tuple[str, float | None]] = (),
    ) -> list[MetricMatch]:
        """Metrics ``phrase`` maps to, each with the reasons.

        Args:
            phrase: Customer words, e.g. ``"we're evaluating other vendors"``.
            codebook: When given, a code whose name or buyer expression occurs in the
                phrase maps it to the code's metrics.
            codes: Codes a coder assigned to the phrase, as ``(code id, confidence)``.

        Returns:
            Direct phrase matches first, then matches through codes, in glossary order.
        """
        text = normalize(phrase)
        found: dict[str, MetricMatch] = {}

        def hit(metric_id: str, reason: str, direct: bool = False) -> None:
            match = found.setdefault(metric_id, MetricMatch(self.get(metric_id)))
            if reason not in match.reasons:
                match.reasons.append(reason)
            match.direct = match.direct or direct

        for metric in self.metrics:
            for pattern in (metric.id.replace("_", " "), metric.name.lower()):
                if _matches(pattern, text):
                    hit(metric.id, f"names the metric ({pattern!r})", direct=True)
            for pattern in metric.phrases:
                seen = _matches(pattern, text)
                if seen:
                    hit(metric.id, f"phrase {pattern!r} matched {seen!r}", direct=True)
        if codebook is not None:
            for code in codebook.codes:
                for kind, expr in [("name", code.name.lower()), *code.expressions.by_type()]:
                    seen = _matches(expr, text)
                    if not seen:
                        continue
                    route = "name" if kind == "name" else f"{kind} expression {expr!r}"
                    for metric_id in codebook.metrics_of(code.id):
                        hit(metric_id, f"via code {code.id}: its {route} matched {seen!r}")
        for code_id, confidence in codes:
            if codebook is None:
                continue
            conf = "" if confidence is None else f", confidence {confidence:.2f}"
            for metric_id in codebook.metrics_of(code_id):
                hit(metric_id, f"via code {code_id} (assigned by the coder{conf})")
        order = {m.id: i for i, m in enumerate(self.metrics)}
        return sorted(found.values(), key=lambda m: (not m.direct, order[m.metric.id]))


def normalize(text: str) -> str:
    """Lowercase, straight apostrophes, single spaces."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split())


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    words = normalize(pattern).split()
    parts = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words]
    return re.compile(r"(?<!\w)" + r"[\s\-/,.]+".join(parts) + r"(?!\w)")


def _matches(pattern: str, text: str) -> str | None:
    """The part of ``text`` that ``pattern`` matches, or None."""
    if not pattern.strip():
        return None
    found = _compile(pattern).search(text)
    return found.group(0) if found else None


def parse_glossary(text: str, source: str = "glossary") -> Glossary:
    """Read and check glossary YAML.

    Raises:
        CodebookInvalid: Every problem found, each with its line.
    """
    data, lines = parse_yaml(text, source)
    try:
        glossary = Glossary.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(e["msg"], format_path(e["loc"]), lines.line(e["loc"])) for e in exc.errors()
        ]
        raise CodebookInvalid(problems, source) from None
    problems = []
    first: dict[str, int] = {}
    for i, metric in enumerate(glossary.metrics):
        if metric.id in first:
            problems.append(
                lines.problem(
                    f"duplicate metric id {metric.id!r} (first at line {first[metric.id]})",
                    ("metrics", i, "id"),
                )
            )
        first.setdefault(metric.id, lines.line(("metrics", i, "id")) or 0)
    if problems:
        raise CodebookInvalid(problems, source)
    return glossary


def load_glossary(path: Path | str | None = None) -> Glossary:
    """The glossary at ``path``, or the shipped default (read once).

    Raises:
        NotFound: The file does not exist.
        CodebookInvalid: The file breaks the schema.
    """
    if path is None:
        return _default().model_copy(deep=True)
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"glossary file not found: {path}", path=str(path))
    return parse_glossary(path.read_text(encoding="utf-8"), str(path))


@lru_cache(maxsize=1)
def _default() -> Glossary:
    return parse_glossary(GLOSSARY_PATH.read_text(encoding="utf-8"), "default glossary")
