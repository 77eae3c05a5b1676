"""Flat exports of a codebook: CSV, one row per code, lists joined with `` | ``."""

from __future__ import annotations

import csv
import io

from themecoder.codebook.model import Codebook

COLUMNS = (
    "id",
    "name",
    "parent",
    "path",
    "definition",
    "include",
    "exclude",
    "examples_positive",
    "examples_neutral",
    "examples_risk",
    "expressions_satisfaction",
    "expressions_frustration",
    "expressions_request",
    "owner",
    "metrics",
)
SEP = " | "


def csv_rows(book: Codebook) -> list[dict[str, str]]:
    """One dict per code; ``path`` is the hierarchy from the top (``a > b``), ``owner`` the
    effective owner (inherited from the parent when the code has none)."""
    rows = []
    for code in book.codes:
        rows.append(
            {
                "id": code.id,
                "name": code.name,
                "parent": code.parent or "",
                "path": " > ".join(book.path(code.id)),
                "definition": code.definition,
                "include": SEP.join(code.include),
                "exclude": SEP.join(code.exclude),
                **{f"examples_{k}": SEP.join(v) for k, v in code.examples.model_dump().items()},
                **{
                    f"expressions_{k}": SEP.join(v)
                    for k, v in code.expressions.model_dump().items()
                },
                "owner": book.owner_of(code.id) or "",
                "metrics": SEP.join(book.metrics_of(code.id)),
            }
        )
    return rows


def to_csv(book: Codebook) -> str:
    """The codebook as CSV text (for spreadsheets and review meetings)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(book))
    return buffer.getvalue()
