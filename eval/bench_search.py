"""Quote search at 100k units: recall@10 of the FAISS HNSW index against exact search, and
query latency p50/p95 of both.

Units: ``--real`` real customer texts (airline tweets and app reviews from
``../shared/datasets``) are embedded with the shipped encoder (``make_embedder``, through the
embedding cache, so a rerun embeds nothing), then ``--n`` unit vectors are made by drawing one
of them and adding Gaussian noise (cosine to its source about 0.85) and normalising: real
neighbourhood structure, the size of a large project. Queries are ``--queries`` other real
texts, held out of the base set and embedded the same way.

Measured, one query at a time on this machine's CPU (``--threads`` FAISS/BLAS threads):

* exact: ``themecoder.search.exact_top_k`` over the whole matrix (the small-project path);
* faiss: ``themecoder.search.FaissIndex`` (HNSW, M=32, efConstruction=80, efSearch=128), the
  index ``services.search`` keeps above ``search_exact_max`` units; built by adding in
  batches, as units arriving over time would be;
* faiss, filtered: the same index with an id filter keeping 10% of the units (a code or an
  account), recall against exact search over those units;
* an incremental add of 1,000 new units, and save + load of the index file.

Example:
    python eval/bench_search.py --n 100000 --real 4000 --queries 200
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from themecoder.artifact import load_artifact  # noqa: E402
from themecoder.config import Settings  # noqa: E402
from themecoder.pipeline.embed import make_embedder  # noqa: E402
from themecoder.search import FaissIndex, exact_top_k, normalise  # noqa: E402
from themecoder.services.embedding_cache import cached_encode  # noqa: E402


def real_texts(s: Settings, n: int, seed: int) -> list[str]:
    """``n`` distinct non-trivial texts, airline tweets and app reviews shuffled."""
    texts: list[str] = []
    for name, file in (
        ("twitter_airline_sentiment", "tweets.csv"),
        ("app_reviews_maalej2016", "reviews.csv"),
    ):
        with open(Path(s.datasets_dir) / name / file, encoding="utf-8", newline="") as f:
            texts += [r["text"].strip() for r in csv.DictReader(f)]
    unique = sorted({t for t in texts if len(t.split()) >= 5})
    rng = np.random.default_rng(seed)
    rng.shuffle(unique)
    return unique[:n]


def perturb(base: np.ndarray, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors, each a random base row plus Gaussian noise (per-dimension sd
    ``noise / sqrt(dim)``), normalised; and the base row each came from."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(base), size=n)
    dim = base.shape[1]
    out = base[rows] + rng.normal(0, noise / np.sqrt(dim), size=(n, dim)).astype(np.float32)
    return normalise(out), rows


def pct(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"p50 {np.percentile(ms, 50):.2f} ms, p95 {np.percentile(ms, 95):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=4000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.62)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(args.threads)
    threadpool_limits(args.threads)
    s = Settings()
    texts = real_texts(s, args.real + args.queries, args.seed)
    embedder = make_embedder(s, load_artifact(s.model_dir))
    t0 = time.perf_counter()
    vectors = normalise(cached_encode(embedder, texts, s.cache_dir))
    print(
        f"embedded {len(texts)} real texts with {embedder.name} in {time.perf_counter() - t0:.1f} s"
    )
    base, queries = vectors[: args.real], vectors[args.real :]
    x, rows = perturb(base, args.n, args.noise, args.seed)
    ids = np.arange(1, args.n + 1, dtype=np.int64)
    cos = float(np.mean(np.sum(x * base[rows], axis=1)))
    print(
        f"{args.n} unit vectors of dim {x.shape[1]} from {args.real} real ones (noise "
        f"{args.noise}: mean cosine to source {cos:.2f}); {len(queries)} held-out queries"
    )

    t0 = time.perf_counter()
    index = FaissIndex(x.shape[1])
    for start in range(0, args.n, 10_000):
        index.add(ids[start : start + 10_000], x[start : start + 10_000])
    build = time.perf_counter() - t0
    print(f"HNSW build (M={index.m}, efConstruction={index.ef_construction}): {build:.1f} s")

    keep = np.random.default_rng(args.seed + 1).random(args.n) < 0.10
    allowed = ids[keep]
    scores = {"exact": [], "faiss": [], "filtered exact": [], "faiss filtered": []}
    recall, recall_f = [], []
    for q in queries:
        t = time.perf_counter()
        truth, _ = exact_top_k(ids, x, q, args.k)
        scores["exact"].append(time.perf_counter() - t)
        t = time.perf_counter()
        got, _ = index.search(q, args.k)
        scores["faiss"].append(time.perf_counter() - t)
        recall.append(len(set(truth) & set(got)) / args.k)
        t = time.perf_counter()
        truth_f, _ = exact_top_k(allowed, x[keep], q, args.k)
        scores["filtered exact"].append(time.perf_counter() - t)
        t = time.perf_counter()
        got_f, _ = index.search(q, args.k, allowed)
        scores["faiss filtered"].append(time.perf_counter() - t)
        recall_f.append(len(set(truth_f) & set(got_f)) / args.k)
    print(f"recall@{args.k} faiss vs exact: {np.mean(recall):.4f} (min {np.min(recall):.1f})")
    print(f"recall@{args.k} faiss vs exact, 10% filter: {np.mean(recall_f):.4f} "
          f"(min {np.min(recall_f):.1f})")  # fmt: skip
    for name, times in scores.items():
        print(f"latency {name:>15} ({len(times)} queries, {args.threads} thread): {pct(times)}")

    new, _ = perturb(base, 1000, args.noise, args.seed + 2)
    t = time.perf_counter()
    index.add(np.arange(args.n + 1, args.n + 1001, dtype=np.int64), new)
    print(f"incremental add of 1000 units: {(time.perf_counter() - t) * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "units.faiss"
        t = time.perf_counter()
        index.save(path)
        saved = time.perf_counter() - t
        t = time.perf_counter()
        FaissIndex.load(path)
        print(f"index file {path.stat().st_size / 2**20:.0f} MiB: save {saved:.2f} s, "
              f"load {time.perf_counter() - t:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
