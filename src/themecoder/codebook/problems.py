"""Problems found in a codebook or glossary file, each tied to the line that causes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from themecoder.errors import InvalidInput


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (line and field path) and what."""

    message: str
    path: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        field = f" ({self.path})" if self.path else ""
        return f"{where}{field}: {self.message}"


class CodebookInvalid(InvalidInput):
    """A codebook or glossary breaks the contract; ``problems`` lists every break found."""

    code = "invalid_codebook"

    def __init__(self, problems: Sequence[Problem], source: str = "codebook") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source} has {len(self.problems)} problem(s):\n{lines}")
