"""YAML in and out, keeping the line of every value so problems can name it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from themecoder.codebook.problems import CodebookInvalid, Problem

Path_ = tuple[str | int, ...]


class LineIndex:
    """Maps a field path such as ``("codes", 3, "definition")`` to its 1-based line."""

    def __init__(self, lines: Mapping[Path_, int] | None = None) -> None:
        self.lines: dict[Path_, int] = dict(lines or {})

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, else of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def problem(self, message: str, path: Sequence[str | int]) -> Problem:
        return Problem(message, format_path(path), self.line(path))


def format_path(path: Sequence[str | int]) -> str:
    """``("codes", 3, "name")`` -> ``codes[3].name``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_yaml(text: str, source: str = "codebook") -> tuple[Any, LineIndex]:
    """Parse ``text``; return the data and the line of every value.

    Raises:
        CodebookInvalid: The text is not YAML, or a mapping repeats a key.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise CodebookInvalid([Problem(f"not valid YAML: {reason}", "", line)], source) from None
    index = LineIndex()
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), index, problems)
    if problems:
        raise CodebookInvalid(problems, source)
    return data, index


def _walk(node: yaml.Node, path: Path_, index: LineIndex, problems: list[Problem]) -> None:
    index.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in seen:
                problems.append(
                    Problem(
                        f"duplicate key {name!r} (first at line {seen[name]})",
                        format_path(path),
                        line,
                    )
                )
                continue
            seen[name] = line
            index.lines[(*path, name)] = line
            _walk(value, (*path, name), index, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _walk(child, (*path, i), index, problems)


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks so diffs stay readable."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    """YAML text of plain data, keys in the given order, unicode kept."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
