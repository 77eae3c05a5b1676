"""Time and peak memory of theme discovery at 10k / 50k / 100k synthetic units.

For each size a first subprocess stores synthetic units in a fresh SQLite file: 384-d
L2-normalised embeddings drawn from a mixture of clusters (plus 5% scattered noise) and short
texts built from each cluster's own words. A second, fresh subprocess then runs
``themecoder.services.themes.discover`` on that store (load embeddings, UMAP, HDBSCAN,
c-TF-IDF, KeyBERT-style + MMR keyphrases with the shipped MiniLM, outlier reduction,
multi-theme assignment, persistence), so its peak RSS is the discovery's alone; the RSS after
imports and the model load is printed beside it.

Example:
    python eval/bench_themes_scale.py --sizes 10000 50000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DIM = 384
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "de", "gu"]
FILLER = ["the", "our", "team", "said", "that", "it", "is", "really", "again", "today", "with"]


def synthetic(n: int, n_clusters: int, seed: int) -> tuple[Any, list[str]]:
    """Clustered unit vectors (cosine to their centre about 0.7) and matching short texts."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, n_clusters, size=n)
    noise = rng.random(n) < 0.05
    X = centres[labels] + rng.normal(size=(n, DIM)) / np.sqrt(DIM)
    X[noise] = rng.normal(size=(int(noise.sum()), DIM))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    words = [["".join(rng.choice(SYLLABLES, size=3)) for _ in range(8)] for _ in range(n_clusters)]
    vocab = [w for ws in words for w in ws]
    texts = []
    for i in range(n):
        own = rng.choice(vocab, 3) if noise[i] else rng.choice(words[labels[i]], 3)
        fill = rng.choice(FILLER, 4)
        texts.append(f"{fill[0]} {own[0]} {fill[1]} {own[1]} {fill[2]} {fill[3]} {own[2]}")
    return X.astype(np.float32), texts


def build(db: Path, n: int, n_clusters: int, seed: int) -> None:
    """Store ``n`` synthetic units (with embeddings) in a fresh store at ``db``."""
    from themecoder.config import Settings
    from themecoder.domain import Item, ItemResult, Unit, UnitResult
    from themecoder.services.coding import store_results

    X, texts = synthetic(n, n_clusters, seed)
    results = [
        ItemResult(
            Item(id=str(i), text=t),
            [UnitResult(Unit(str(i), 0, 0, len(t), t), [], "neutral", 0.0, "none", embedding=x)],
            [],
            "neutral",
            0.0,
            "none",
        )
        for i, (t, x) in enumerate(zip(texts, X, strict=True))
    ]
    store_results(Settings(db_url=f"sqlite:///{db}"), results, "synthetic", "bench", "unit")


def discover_once(db: Path) -> dict[str, Any]:
    """Discovery on ``db`` in this process; time and peak RSS."""
    import numpy as np
    from umap import UMAP

    from themecoder.config import Settings
    from themecoder.pipeline.embed import make_embedder
    from themecoder.services.themes import discover

    s = Settings(db_url=f"sqlite:///{db}")
    embedder = make_embedder(s)
    embedder.encode(["warm up"])
    # numba compiles UMAP (and, from 4,096 points, NN-descent) on the first call in a
    # process, tens of seconds; keep that apart.
    start = time.perf_counter()
    warm = np.random.default_rng(0).normal(size=(5000, DIM)).astype(np.float32)
    UMAP(n_components=5, metric="cosine", random_state=0, n_jobs=1).fit_transform(warm)
    compile_s = time.perf_counter() - start
    base = _peak_mb()
    start = time.perf_counter()
    found = discover(s, embedder=embedder)
    seconds = time.perf_counter() - start
    return {
        "units": found.n_units,
        "themes": len(found.themes),
        "unassigned_share": round(found.unassigned_share, 4),
        "raw_outlier_share": round(found.n_raw_outliers / found.n_units, 4),
        "seconds": round(seconds, 1),
        "umap_compile_seconds": round(compile_s, 1),
        "rss_before_mb": round(base),
        "peak_rss_mb": round(_peak_mb()),
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--clusters", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "eval" / "results" / "themes_scale.json"
    )
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--discover", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.sizes[0], args.clusters, args.seed)
        return
    if args.discover:
        print(json.dumps(discover_once(args.discover)))
        return
    rows = []
    head = ("units", "themes", "outliers", "unassigned", "seconds", "+compile", "RSS before")
    print(" ".join(f"{h:>10}" for h in head) + f"{'peak RSS':>11}", flush=True)
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.db"
            me = [sys.executable, __file__, "--clusters", str(args.clusters)]
            subprocess.run([*me, "--sizes", str(n), "--build", str(db)], check=True)
            done = subprocess.run(
                [*me, "--discover", str(db)], check=True, stdout=subprocess.PIPE, text=True
            )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        cells = (
            f"{row['units']:>10} {row['themes']:>10} {row['raw_outlier_share']:>10.1%} "
            f"{row['unassigned_share']:>10.1%} {row['seconds']:>10.1f} "
            f"{row['umap_compile_seconds']:>10.1f} {row['rss_before_mb']:>7} MB "
            f"{row['peak_rss_mb']:>7} MB"
        )
        print(cells, flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "cpus": os.cpu_count()}, indent=2) + "\n")
    print(f"saved {args.json}")


if __name__ == "__main__":
    main()
