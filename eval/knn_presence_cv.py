"""Does reading a bucket's presence off the nearest training examples help? 2-fold CV on the
dev set's tune part (never the report part).

The tune part is split in two by ``sha1(text) % 2``. For each held-out half, every setting
``(k, weight)`` of the blend ``(1 - weight) * head + weight * share of the k nearest own training
examples coded with the bucket`` gets per-bucket F1-optimal thresholds on the other half; the
setting with the best fit on that half is then scored on the held-out half, beside the heads
alone (weight 0) with thresholds fitted the same way. Item presence is the maximum over its
units, as the coder aggregates. The model's own blend is switched off while coding, so the
heads' probabilities are read as they are.

    HF_HUB_OFFLINE=1 python eval/knn_presence_cv.py [--model-dir models/coder]
        [--out eval/results/knn_presence_cv.json] [--k 15 25 40] [--weights 0.2 0.35 0.5]

The setting with the best mean over the two held-out halves is printed last; for
coder-2.18640 (fine-tuned all-mpnet-base-v2) that was k 25, weight 0.35, the default since
(``eval/results/knn_presence_cv_mpnet.json``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.devset import load_devset
from themecoder.domain import BUCKETS
from themecoder.errors import ModelUnavailable
from themecoder.review.promotion import f1

K_GRID, W_GRID = [10, 15, 25], [0.35, 0.5, 0.65]
CUTS = np.arange(0.05, 0.95, 0.01)


def _macro(P: np.ndarray, Y: np.ndarray, thr: np.ndarray) -> float:
    return float(np.mean([f1(Y[:, b], P[:, b] >= thr[b]) for b in range(len(BUCKETS))]))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("eval/results/knn_presence_cv.json"))
    p.add_argument("--k", type=int, nargs="+", default=K_GRID, help="neighbour counts")
    p.add_argument("--weights", type=float, nargs="+", default=W_GRID, help="blend weights")
    args = p.parse_args(argv)
    grid = [(k, w) for k in args.k for w in args.weights]
    s = Settings(**({"model_dir": args.model_dir} if args.model_dir else {}))
    tune = load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir, part="tune")
    try:
        coder = Coder.load(s)
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from exc
    if coder.neighbors is None:
        raise SystemExit(f"{s.model_dir} holds no training examples to read neighbours from")
    coder.knn_presence = None  # the heads alone; each blend is computed below
    results = coder.code([e.text for e in tune])
    Y = np.array([[e.truth.get(b) is not None for b in BUCKETS] for e in tune])
    fold = np.array([int(hashlib.sha1(e.text.encode()).hexdigest(), 16) % 2 for e in tune])
    scores = {}
    for k, w in [(0, 0.0), *grid]:
        P = np.zeros((len(tune), len(BUCKETS)))
        for i, r in enumerate(results):
            if r.units:
                X = np.stack([u.embedding for u in r.units])
                head = np.stack([u.bucket_proba for u in r.units])
                share = coder.neighbors.presence(X, k) if w else 0.0
                P[i] = ((1 - w) * head + w * share).max(axis=0)
        scores[(k, w)] = P
    command = " ".join(["python eval/knn_presence_cv.py", *(argv or sys.argv[1:])])
    report = {"command": command, "model": coder.version, "n": len(tune), "folds": []}
    for held in (0, 1):
        fit, test = fold != held, fold == held
        row = {}
        for key, P in scores.items():
            thr = coder.classifier.fit_thresholds(P[fit], Y[fit], grid=CUTS)
            row[key] = (_macro(P[fit], Y[fit], thr), _macro(P[test], Y[test], thr))
        chosen = max(grid, key=lambda g: row[g][0])
        out = {
            "held_out_half": held,
            "n_held_out": int(test.sum()),
            "heads_alone": round(row[(0, 0.0)][1], 4),
            "chosen": {"k": chosen[0], "weight": chosen[1]},
            "chosen_held_out": round(row[chosen][1], 4),
            "every_setting_held_out": {f"k{k} w{w}": round(v[1], 4) for (k, w), v in row.items()},
        }
        report["folds"].append(out)
        print(
            f"held-out half {held} ({out['n_held_out']} items): heads alone "
            f"{out['heads_alone']:.3f}; chosen on the other half k={chosen[0]} w={chosen[1]}: "
            f"{out['chosen_held_out']:.3f}"
        )
    settings = report["folds"][0]["every_setting_held_out"]
    held = {key: [f["every_setting_held_out"][key] for f in report["folds"]] for key in settings}
    best = max(held, key=lambda key: sum(held[key]))
    report["best_mean_held_out"] = {"setting": best, "mean": round(sum(held[best]) / 2, 4)}
    print(f"best mean of the two held-out halves: {best} {report['best_mean_held_out']['mean']}")
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
