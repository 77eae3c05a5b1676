"""Flag the project's own units whose label a cross-validated model doubts, for a blind recode.

    HF_HUB_OFFLINE=1 python training/audit/flag_suspects.py [--out suspects.json]

Every unit of ``training/data`` is embedded (redacted, as training does) with the *frozen*
all-mpnet-base-v2 (``bash scripts/mpnet.sh`` places it in ``.cache``): the fine-tuned encoder
learnt these very labels and would hide their errors. A balanced logistic head per bucket,
fitted on four fifths and scored on the fifth left out (5 folds, ``random_state=0``), gives each
unit an out-of-fold presence probability. A unit is flagged for a bucket it carries with
probability below ``--low`` (0.05) or for one it lacks with probability above ``--high`` (0.97).
The flags are suggestions to recode, never labels: ``label_audit.py`` says how they were coded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from themecoder.domain import BUCKETS  # noqa: E402
from themecoder.pipeline.embed import SentenceTransformerEmbedder  # noqa: E402
from themecoder.pipeline.redact import RegexRedactor  # noqa: E402
from themecoder.services.embedding_cache import cached_encode  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / ".cache" / "all-mpnet-base-v2")
    ap.add_argument("--low", type=float, default=0.05)
    ap.add_argument("--high", type=float, default=0.97)
    ap.add_argument("--out", type=Path, default=Path("suspects.json"))
    args = ap.parse_args(argv)
    rows = []
    for path in sorted((ROOT / "training" / "data").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                rows.append({**json.loads(line), "at": f"{path.name}:{n}"})
    texts = RegexRedactor().redact([r["text"] for r in rows])
    embedder = SentenceTransformerEmbedder(str(args.model.resolve()), 64, "cpu", None)
    x = cached_encode(embedder, texts, ROOT / ".cache", lambda done, total: None)
    x = x.astype(np.float64)
    y = np.array([[b in r["buckets"] for b in BUCKETS] for r in rows])
    p = np.zeros(y.shape)
    for fit, held in KFold(5, shuffle=True, random_state=0).split(x):
        for b in range(len(BUCKETS)):
            head = LogisticRegression(C=2.0, max_iter=2000, class_weight="balanced")
            p[held, b] = head.fit(x[fit], y[fit, b]).predict_proba(x[held])[:, 1]
    flags = [
        {"at": r["at"], "bucket": b, "p": round(float(p[i, j]), 3), "text": r["text"]}
        for i, r in enumerate(rows)
        for j, b in enumerate(BUCKETS)
        if (y[i, j] and p[i, j] < args.low) or (not y[i, j] and p[i, j] > args.high)
    ]
    args.out.write_text(json.dumps(flags, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    units = len({f["at"] for f in flags})
    print(f"{len(rows)} units, {len(flags)} flags on {units} units -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
