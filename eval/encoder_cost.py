"""Cheaper encoder settings against the shipped ones: do the codes hold, what do they save?

(1) The int8 encoder (``THEMECODER_ENCODER_INT8``) on each runtime, and a token cap
(``THEMECODER_ENCODER_MAX_TOKENS``), against the float model as shipped (ONNX Runtime).

Codes every dev-set text (``eval/devset``, both parts) with the shipped coder several ways: the
float encoder on ONNX Runtime (the default, the baseline), the int8 setting on ONNX Runtime (the
export's MatMul weights int8 per output channel, ``embed_onnx.quantize_export``) and on torch
(``THEMECODER_ENCODER_RUNTIME=torch``: Linear layers int8 per channel, the feed-forward output
layers float, ``embed.quantize_encoder``). Per variant it reports, against the baseline's
output on the same texts:

  * agreement: share of texts given exactly the same codes (bucket and polarity), share of
    (text, bucket) presence decisions that agree, share with the same sentiment label;
  * bucket macro-F1 (bootstrap 95% CI) on the dev set's ``tune`` part and on ``report``;
  * CPU ms to code one ~60-word ticket (``Coder.code([text])``, one thread, thread CPU time,
    median of ``--n``), which load from other processes inflates far less than wall time.

(2) The encoder's forward batch size (``THEMECODER_BATCH_SIZE``; vectors equal to float
rounding): CPU ms per ticket for a micro-batch of 4 tickets and a bulk call of 64 tickets.

Run:
    HF_HUB_OFFLINE=1 .venv/bin/python eval/encoder_cost.py [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_latency import build_tickets  # noqa: E402

from themecoder.coder import Coder  # noqa: E402
from themecoder.config import get_settings  # noqa: E402
from themecoder.devset import load_devset  # noqa: E402
from themecoder.services.dev_evaluation import dev_scores  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def codes(result: Any) -> frozenset[tuple[str, str]]:
    return frozenset((c.bucket, c.polarity) for c in result.buckets)


def agreement(base: list[Any], other: list[Any]) -> dict[str, float]:
    same = sum(codes(a) == codes(b) for a, b in zip(base, other, strict=True))
    decisions = agree = 0
    for a, b in zip(base, other, strict=True):
        pa, pb = {c.bucket for c in a.buckets}, {c.bucket for c in b.buckets}
        decisions += 6
        agree += 6 - len(pa ^ pb)
    sentiment = sum(a.sentiment == b.sentiment for a, b in zip(base, other, strict=True))
    n = len(base)
    return {
        "same_codes": round(same / n, 4),
        "bucket_decisions": round(agree / decisions, 4),
        "same_sentiment": round(sentiment / n, 4),
    }


def cpu_ms(coder: Coder, tickets: list[str], n: int, k: int = 1) -> float:
    """Median thread CPU ms per ticket of ``coder.code`` over ``n`` calls of ``k`` tickets."""
    coder.code(tickets[:2])
    xs = []
    for i in range(n):
        batch = [tickets[(i * k + j) % len(tickets)] for j in range(k)]
        start = time.thread_time()
        coder.code(batch)
        xs.append(1000 * (time.thread_time() - start) / k)
    return round(statistics.median(xs), 2)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=60, help="single-ticket calls timed per variant")
    p.add_argument("--max-tokens", type=int, default=None, help="also a truncated float variant")
    p.add_argument("--batch-sizes", default="64,32,16,8", help="encoder batch sizes timed")
    p.add_argument("--out", type=Path, default=RESULTS / "encoder_cost.json")
    args = p.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)  # ONNX Runtime takes the same count (OnnxEmbedder threads=None)
    threadpool_limits(1, "blas")  # as the service runs (blas_threads)
    s = get_settings()
    labels = s.devset_dir / "labels.jsonl"
    parts = {part: load_devset(labels, s.datasets_dir, part=part) for part in ("tune", "report")}
    tickets = build_tickets(200)
    variants: dict[str, Any] = {
        "float (ONNX, shipped)": s.model_copy(
            update={"encoder_int8": False, "encoder_runtime": "onnx"}
        ),
        "int8 (ONNX)": s.model_copy(update={"encoder_int8": True, "encoder_runtime": "onnx"}),
        "int8 (torch)": s.model_copy(update={"encoder_int8": True, "encoder_runtime": "torch"}),
    }
    if args.max_tokens:
        variants[f"float, max {args.max_tokens} tokens"] = s.model_copy(
            update={"encoder_int8": False, "encoder_max_tokens": args.max_tokens}
        )
    out: dict[str, Any] = {"variants": {}, "n": {k: len(v) for k, v in parts.items()}}
    base: dict[str, list[Any]] = {}
    for name, vs in variants.items():
        coder = Coder.load(vs)
        results = {part: coder.code([e.text for e in ex]) for part, ex in parts.items()}
        if not base:
            base = results
        entry: dict[str, Any] = {"cpu_ms_per_ticket": cpu_ms(coder, tickets, args.n)}
        both = [r for part in parts for r in results[part]]
        entry["agreement_with_float"] = agreement([r for part in parts for r in base[part]], both)
        for part, ex in parts.items():
            sc = dev_scores(ex, results[part])
            entry[f"macro_f1_{part}"] = sc["macro_f1"]
            entry[f"macro_f1_{part}_ci"] = sc["macro_f1_ci"]
        out["variants"][name] = entry
        print(name, json.dumps(entry), flush=True)
        if name == "float (ONNX, shipped)":
            sizes: dict[str, Any] = {}
            for size in map(int, args.batch_sizes.split(",")):
                coder.embedder.batch_size = size
                sizes[str(size)] = {
                    "cpu_ms_per_ticket_4": cpu_ms(coder, tickets, args.n // 2, 4),
                    "cpu_ms_per_ticket_64": cpu_ms(coder, tickets, 3, 64),
                }
                print("batch size", size, sizes[str(size)], flush=True)
            out["batch_size"] = sizes
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
