"""Throughput of the full coding pipeline against the bare sentence encoder.

Builds ``--units`` realistic coding units from the bundled sample corpus (tickets, NPS
comments, interview transcripts and subtitles, segmented by the coder's own segmenter), then
times on the same units, in one process and with the same model object:

  (a) ``SentenceTransformer.encode`` alone (the embedding floor);
  (b) ``Coder.code``: segmentation, redaction, embedding, bucket / sentiment / expression
      heads and neighbour lookup, end to end;
  (c) ``store_results`` of (b)'s output into a fresh temporary SQLite file;
  (b') ``Coder.code`` with sentence scoring on (``THEMECODER_SCORE_SENTENCES=true``).

The issue's target is (b) / (a) >= 0.8 in units per second.

Example:
    python eval/bench_throughput.py --units 5000 --repeat 3 --json eval/results/throughput.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
WARMUP = 64


def corpus_units(coder: Any, sample: Path = SAMPLE) -> list[str]:
    """Distinct unit texts of the sample corpus, in file order, as the coder segments them.

    Only units that the coder would segment back into exactly themselves are kept, so that
    coding each unit text as one item yields exactly these units.
    """
    from themecoder.ingest import read_items

    sources = [(sample / "tickets.csv", "text"), (sample / "nps.csv", "comment")]
    sources += [(p, "text") for p in sorted(sample.glob("interview_*"))]
    items = []
    for path, column in sources:
        items.extend(it for it in read_items(path, text_column=column).items if it.coded)
    segmented = coder.segmenter.segment_many([(it.text, it.id) for it in items])
    texts = list(dict.fromkeys(u.text for units in segmented for u in units))
    again = coder.segmenter.segment_many([(t, "check") for t in texts])
    return [t for t, units in zip(texts, again, strict=True) if [u.text for u in units] == [t]]


def build_units(distinct: list[str], n: int) -> list[str]:
    """``n`` unit texts: the distinct ones in order, cycled when there are fewer than ``n``."""
    if not distinct:
        raise SystemExit("the sample corpus yielded no units")
    return list(itertools.islice(itertools.cycle(distinct), n))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from themecoder.coder import Coder
    from themecoder.config import Settings
    from themecoder.domain import Item
    from themecoder.services.coding import store_results

    # The torch runtime: the bare baseline below calls its sentence-transformers model.
    settings = Settings(encoder_runtime="torch")
    coder = Coder.load(settings)
    # The same model scoring each sentence of a unit too (THEMECODER_SCORE_SENTENCES=true).
    sentences = Coder.load(settings.model_copy(update={"score_sentences": True}), coder.embedder)
    st = coder.embedder.st
    batch_size = coder.embedder.batch_size

    distinct = corpus_units(coder)
    texts = build_units(distinct, args.units)
    items = [Item(id=f"u{i}", text=t) for i, t in enumerate(texts)]

    def bare(batch: list[str]) -> Any:
        return st.encode(
            batch,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    with tempfile.TemporaryDirectory(prefix="themecoder-bench-") as tmp:

        def store(results: list[Any], name: str) -> int:
            db = Settings(db_url=f"sqlite:///{Path(tmp) / name}.db")
            return store_results(db, results, "bench", coder.version, "item")

        # Warm-up: model loads, first-call allocations, spaCy, VADER, Alembic imports.
        bare(texts[:WARMUP])
        store(coder.code(items[:WARMUP]), "warmup")

        sentences.code(items[:WARMUP])
        times: dict[str, list[float]] = {
            "encode": [],
            "pipeline": [],
            "store": [],
            "pipeline_sentences": [],
        }
        n_units = 0
        for r in range(args.repeat):
            t_a, _ = timed(lambda: bare(texts))
            t_b, results = timed(lambda: coder.code(items))
            t_c, _ = timed(lambda results=results, r=r: store(results, f"run{r}"))
            t_w, _ = timed(lambda: sentences.code(items))
            n_units = sum(len(res.units) for res in results)
            if n_units != len(texts):
                raise SystemExit(f"pipeline produced {n_units} units for {len(texts)} texts")
            times["encode"].append(t_a)
            times["pipeline"].append(t_b)
            times["store"].append(t_c)
            times["pipeline_sentences"].append(t_w)
            del results

    med = {k: statistics.median(v) for k, v in times.items()}
    ups = {
        "encode": n_units / med["encode"],
        "pipeline": n_units / med["pipeline"],
        "pipeline_store": n_units / (med["pipeline"] + med["store"]),
        "pipeline_sentences": n_units / med["pipeline_sentences"],
    }
    return {
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "units": n_units,
        "distinct_units": len(distinct),
        "mean_unit_chars": round(sum(map(len, texts)) / len(texts), 1),
        "repeat": args.repeat,
        "batch_size": batch_size,
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "median_seconds": {k: round(v, 3) for k, v in med.items()},
        "units_per_second": {k: round(v, 1) for k, v in ups.items()},
        "ratio_pipeline": round(ups["pipeline"] / ups["encode"], 3),
        "ratio_pipeline_store": round(ups["pipeline_store"] / ups["encode"], 3),
        "ratio_pipeline_sentences": round(ups["pipeline_sentences"] / ups["encode"], 3),
        "target_ratio": 0.8,
        # ru_maxrss is KiB on Linux, bytes on macOS
        "peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            / (1024 * 1024 if sys.platform == "darwin" else 1024),
            1,
        ),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "device": coder.embedder.device,
        "model_version": coder.version,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def table(fig: dict[str, Any]) -> str:
    ups, sec = fig["units_per_second"], fig["median_seconds"]
    rows = [
        ("(a) SentenceTransformer.encode", sec["encode"], ups["encode"], 1.0),
        ("(b) Coder.code", sec["pipeline"], ups["pipeline"], fig["ratio_pipeline"]),
        (
            "(b)+(c) code + store_results",
            sec["pipeline"] + sec["store"],
            ups["pipeline_store"],
            fig["ratio_pipeline_store"],
        ),
        (
            "(b') Coder.code, sentences too",
            sec["pipeline_sentences"],
            ups["pipeline_sentences"],
            fig["ratio_pipeline_sentences"],
        ),
    ]
    lines = [
        f"{fig['units']} units ({fig['distinct_units']} distinct, mean "
        f"{fig['mean_unit_chars']} chars), median of {fig['repeat']}, batch size "
        f"{fig['batch_size']}, device {fig['device']}",
        f"{'path':<32}{'seconds':>9}{'units/s':>10}{'/ (a)':>8}",
    ]
    lines += [f"{name:<32}{s:>9.2f}{u:>10.1f}{r:>8.3f}" for name, s, u, r in rows]
    lines.append(f"(c) store_results alone: {sec['store']:.2f} s")
    verdict = "meets" if fig["ratio_pipeline"] >= fig["target_ratio"] else "MISSES"
    lines.append(f"(b)/(a) {verdict} the target of {fig['target_ratio']}")
    lines.append(
        f"peak RSS {fig['peak_rss_mib']} MiB; torch threads {fig['torch_threads']} "
        f"of {fig['cpu_count']} CPUs; model {fig['model_version']}"
    )
    lines.append(f"command: {fig['command']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=5000, help="units to code (default 5000)")
    parser.add_argument("--repeat", type=int, default=1, help="repeats; medians are reported")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "eval" / "results" / "throughput.json",
        help="where to write the figures (default eval/results/throughput.json)",
    )
    args = parser.parse_args(argv)
    if args.units < 1 or args.repeat < 1:
        parser.error("--units and --repeat must be at least 1")
    fig = run(args)
    print(table(fig))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(fig, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
