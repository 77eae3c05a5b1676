"""The demo: code the bundled sample corpus into the store and summarise it per bucket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.domain import BUCKETS, POLARITIES, ItemResult
from themecoder.errors import NotFound
from themecoder.services.coding import CodingRun, code_path

# (file or glob, text column, id column)
SAMPLE_FILES = (
    ("tickets.csv", "text", "ticket_id"),
    ("nps.csv", "comment", "response_id"),
    ("interview_*", "text", None),
)


@dataclass
class DemoResult:
    runs: list[tuple[str, CodingRun]]
    summary: list[dict[str, Any]]


def run_demo(
    s: Settings, coder: Coder | None = None, progress: Callable[[str, int, int], None] | None = None
) -> DemoResult:
    """Code every sample file, store it, and return a per-bucket summary over all runs."""
    coder = coder or Coder.load(s)
    runs = []
    for pattern, text_column, id_column in SAMPLE_FILES:
        paths = sorted(s.sample_dir.glob(pattern))
        if not paths:
            raise NotFound(f"sample file {pattern} not found in {s.sample_dir}")
        for path in paths:

            def tick(i: int, n: int, name: str = path.name) -> None:
                if progress:
                    progress(name, i, n)

            run = code_path(
                s, path, text_column=text_column, id_column=id_column, coder=coder, progress=tick
            )
            runs.append((path.name, run))
    # Summarised from the results, not the new rows: a re-run stores nothing new (storing is
    # idempotent on item id and text) and must still print the corpus.
    return DemoResult(runs, summarise([r for _, run in runs for r in run.results]))


def summarise(results: list[ItemResult]) -> list[dict[str, Any]]:
    """Per-bucket counts of unit-level codes, shaped like ``storage.bucket_summary``."""
    rows: dict[str, dict[str, Any]] = {}
    confidence: dict[str, list[float]] = {}
    for item_index, result in enumerate(results):
        for unit in result.units:
            for code in unit.buckets:
                row = rows.setdefault(
                    code.bucket,
                    {"units": set(), "items": set(), **dict.fromkeys(POLARITIES, 0)},
                )
                row["units"].add((item_index, unit.unit.index))
                row["items"].add(item_index)
                row[code.polarity] = row.get(code.polarity, 0) + 1
                confidence.setdefault(code.bucket, []).append(float(code.confidence))
    out = []
    for bucket in [*BUCKETS, *sorted(set(rows) - set(BUCKETS))]:
        row = rows.get(bucket, {"units": set(), "items": set(), **dict.fromkeys(POLARITIES, 0)})
        conf = confidence.get(bucket)
        out.append(
            {
                "bucket": bucket,
                "units": len(row["units"]),
                "items": len(row["items"]),
                **{p: int(row[p]) for p in POLARITIES},
                "mean_confidence": sum(conf) / len(conf) if conf else None,
            }
        )
    return out
