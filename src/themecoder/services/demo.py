"""The demo: code the bundled sample corpus into the store and summarise it per bucket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.errors import NotFound
from themecoder.services.coding import CodingRun, code_path
from themecoder.storage import bucket_summary, make_engine, session_factory

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
    engine = make_engine(s.db_url)
    try:
        with session_factory(engine)() as session:
            per_run = [bucket_summary(session, run.run_id) for _, run in runs]
    finally:
        engine.dispose()
    return DemoResult(runs, _sum_summaries(per_run))


def _sum_summaries(per_run: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    total: dict[str, dict[str, Any]] = {}
    for summary in per_run:
        for row in summary:
            acc = total.setdefault(row["bucket"], {k: 0 for k in row if k != "bucket"})
            n_before = acc["units"]
            for key, value in row.items():
                if key not in ("bucket", "mean_confidence"):
                    acc[key] += value or 0
            if row["units"]:
                acc["mean_confidence"] = (
                    (acc["mean_confidence"] or 0) * n_before + row["mean_confidence"] * row["units"]
                ) / acc["units"]
    return [{"bucket": b, **v} for b, v in total.items()]
