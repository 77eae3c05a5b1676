"""ONNX Runtime against torch for the float encoder (``THEMECODER_ENCODER_RUNTIME``).

The same model (the shipped artifact's, adapter merged) run two ways when coding:

  * agreement: on the first ``--n-texts`` texts of the dev set's ``tune`` part, the largest
    absolute difference between the two runtimes' vectors, and the share of texts that the
    shipped coder (``Coder.load``) gives exactly the same codes (bucket and polarity) and the
    same sentiment;
  * cost, with ``--threads`` torch / ONNX Runtime threads (1: as ``THEMECODER_CODER_THREADS=1``):
    encoder wall and thread-CPU ms per ~60-word ticket (``bench_api_latency.build_tickets``) for
    a single ticket and for batches of 4 and 16, and the whole ``Coder.code`` wall ms for one
    ticket; medians over ``--rounds`` rounds that alternate the runtimes (interleaved, so load
    from other processes hits both alike: compare the ratios). The load average is printed.

Run:
    HF_HUB_OFFLINE=1 .venv/bin/python eval/encoder_runtime.py [--threads 1] [--rounds 40]
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_latency import build_tickets  # noqa: E402

from themecoder.coder import Coder  # noqa: E402
from themecoder.config import get_settings  # noqa: E402
from themecoder.devset import load_devset  # noqa: E402


def codes(result: Any) -> tuple[frozenset[tuple[str, str]], str]:
    return frozenset((c.bucket, c.polarity) for c in result.buckets), result.sentiment


def timed(fn: Any, arg: list[str]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    fn(arg)
    return 1000 * (time.perf_counter() - wall), 1000 * (time.thread_time() - cpu)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n-texts", type=int, default=500, help="dev-set tune texts compared")
    p.add_argument("--threads", type=int, default=1, help="torch and ONNX Runtime threads")
    p.add_argument("--rounds", type=int, default=40, help="interleaved timing rounds")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(1, "blas")  # as the service runs (blas_threads)
    s = get_settings()
    print("load average at start", os.getloadavg(), flush=True)
    coders = {
        rt: Coder.load(s.model_copy(update={"encoder_runtime": rt, "encoder_int8": False}))
        for rt in ("torch", "onnx")
    }
    ex = load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir, part="tune")
    texts = [e.text for e in ex][: args.n_texts]
    vectors = {rt: c.embedder.encode(texts) for rt, c in coders.items()}
    results = {rt: [codes(r) for r in c.code(texts)] for rt, c in coders.items()}
    same = [a == b for a, b in zip(results["torch"], results["onnx"], strict=True)]
    same_buckets = [a[0] == b[0] for a, b in zip(results["torch"], results["onnx"], strict=True)]
    out: dict[str, Any] = {
        "n_texts": len(texts),
        "max_abs_vector_diff": float(np.abs(vectors["torch"] - vectors["onnx"]).max()),
        "same_codes_and_sentiment": round(sum(same) / len(same), 4),
        "same_codes": round(sum(same_buckets) / len(same), 4),
    }
    print(json.dumps(out), flush=True)

    tickets = build_tickets(200)
    jobs = {
        "encoder_1": (1, lambda rt: coders[rt].embedder.encode),
        "encoder_4": (4, lambda rt: coders[rt].embedder.encode),
        "encoder_16": (16, lambda rt: coders[rt].embedder.encode),
        "code_1": (1, lambda rt: coders[rt].code),
    }
    for rt in coders:  # warm up
        coders[rt].code(tickets[:16])
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {
        job: {rt: [] for rt in coders} for job in jobs
    }
    for i in range(args.rounds):
        order = ("torch", "onnx") if i % 2 == 0 else ("onnx", "torch")
        for job, (k, get) in jobs.items():
            batch = [tickets[(i * 16 + j) % len(tickets)] for j in range(k)]
            for rt in order:
                wall, cpu = timed(get(rt), batch)
                samples[job][rt].append((wall / k, cpu / k))
    cost: dict[str, Any] = {}
    for job, by_rt in samples.items():
        row = {}
        for rt, xs in by_rt.items():
            row[f"{rt}_wall_ms"] = round(statistics.median(x[0] for x in xs), 2)
            row[f"{rt}_cpu_ms"] = round(statistics.median(x[1] for x in xs), 2)
        row["onnx/torch_wall"] = round(row["onnx_wall_ms"] / row["torch_wall_ms"], 3)
        row["onnx/torch_cpu"] = round(row["onnx_cpu_ms"] / row["torch_cpu_ms"], 3)
        cost[job] = row
        print(job, "(per ticket)", json.dumps(row), flush=True)
    out.update(threads=args.threads, rounds=args.rounds, per_ticket=cost)
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print("load average at end", out["load_average_at_end"], flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
