"""Two coders on the dev set's tune part, with a paired bootstrap of the difference.

Model choice is made on the tune part (never the report part). Its two halves of about 450
items each move macro-F1 by 0.02-0.03 between neighbouring settings (``eval/knn_presence_cv.py``),
so a candidate's gain of 0.005 says nothing on its own. This script codes the tune part with a
baseline and a candidate and resamples the items (the same items for both models) to give a 95%
interval for the change in bucket macro-F1, polarity accuracy on the buckets both found, and
sentiment macro-F1, overall and on the airline rows (the sentiment target's domain).

    HF_HUB_OFFLINE=1 python eval/compare_models.py --baseline models/coder --candidate DIR
        [--n-boot 2000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.devset import load_devset
from themecoder.domain import BUCKETS, POLARITIES

SENTIMENTS = ("negative", "neutral", "positive")


def code_part(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Presence ``(n, 6)`` bool, polarity index ``(n, 6)`` (-1 absent), sentiment index ``(n,)``."""
    coder = Coder.load(Settings(model_dir=model_dir))
    results = coder.code(texts)
    pres = np.zeros((len(texts), len(BUCKETS)), dtype=bool)
    pol = np.full((len(texts), len(BUCKETS)), -1)
    sent = np.zeros(len(texts), dtype=int)
    for i, r in enumerate(results):
        for c in r.buckets:
            b = BUCKETS.index(c.bucket)
            pres[i, b] = True
            pol[i, b] = POLARITIES.index(c.polarity)
        label = getattr(r.sentiment, "label", r.sentiment)
        sent[i] = SENTIMENTS.index(label)
    return pres, pol, sent, coder.version


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Bucket macro-F1 per resample: ``truth``/``pred`` are ``(r, n, 6)`` bool."""
    tp = np.sum(truth & pred, axis=1)
    wrong = np.sum(truth != pred, axis=1)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)
    return f1.mean(axis=1)


def polarity_acc(gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Accuracy of polarity where gold and prediction both hold the bucket: ``(r, n, 6)``."""
    found = (gold >= 0) & (pred >= 0)
    right = found & (gold == pred)
    return right.sum(axis=(1, 2)) / np.maximum(found.sum(axis=(1, 2)), 1)


def sentiment_f1(gold: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Sentiment macro-F1 per resample over rows with a gold label: ``(r, n)`` ints (-1 none)."""
    out = []
    for k in range(len(SENTIMENTS)):
        g, p = (gold == k), (pred == k) & (gold >= 0)
        tp = np.sum(g & p, axis=1)
        denom = np.sum(g, axis=1) + np.sum(p, axis=1)
        out.append(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0))
    return np.mean(out, axis=0)


def paired(stat, gold, a, b, items: np.ndarray, n_boot: int, seed: int) -> dict:
    """Point values on ``items`` and the 95% interval of ``b - a`` over paired resamples of them."""
    full = items[None, :]
    va, vb = float(stat(gold[full], a[full])[0]), float(stat(gold[full], b[full])[0])
    idx = items[np.random.default_rng(seed).integers(0, len(items), size=(n_boot, len(items)))]
    deltas = stat(gold[idx], b[idx]) - stat(gold[idx], a[idx])
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return {
        "baseline": round(va, 4),
        "candidate": round(vb, 4),
        "delta": round(vb - va, 4),
        "ci": [round(float(lo), 4), round(float(hi), 4)],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--baseline", type=Path, default=Path("models/coder"))
    ap.add_argument("--candidate", type=Path, required=True)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    s = Settings()
    ex = load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir, part="tune")
    texts = [e.text for e in ex]
    gold_pres = np.array([[bool(e.truth.get(b)) for b in BUCKETS] for e in ex])
    gold_pol = np.array(
        [[POLARITIES.index(e.truth[b]) if e.truth.get(b) else -1 for b in BUCKETS] for e in ex]
    )
    gold_sent = np.array([SENTIMENTS.index(e.sentiment) if e.sentiment else -1 for e in ex])
    a_pres, a_pol, a_sent, a_version = code_part(args.baseline, texts)
    b_pres, b_pol, b_sent, b_version = code_part(args.candidate, texts)

    every = np.arange(len(ex))
    airline = np.array([e.source == "dev:airline" for e in ex])
    boot = {"n_boot": args.n_boot, "seed": args.seed}
    rows = {
        "bucket macro-F1": paired(macro_f1, gold_pres, a_pres, b_pres, every, **boot),
        "polarity accuracy on found": paired(polarity_acc, gold_pol, a_pol, b_pol, every, **boot),
        "sentiment macro-F1": paired(sentiment_f1, gold_sent, a_sent, b_sent, every, **boot),
        "sentiment macro-F1, airline rows": paired(
            sentiment_f1, gold_sent, a_sent, b_sent, np.flatnonzero(airline), **boot
        ),
    }

    print(
        f"Dev set tune part, {len(ex)} items ({int(airline.sum())} airline); baseline "
        f"{a_version} ({args.baseline}), candidate {b_version} ({args.candidate}); paired "
        f"bootstrap, {args.n_boot} resamples of the items, 95% interval of the change.\n"
    )
    print("| measure | baseline | candidate | change [95% CI] |\n|---|---|---|---|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['baseline']:.3f} | {r['candidate']:.3f} | "
            f"{r['delta']:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] |"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"baseline": a_version, "candidate": b_version, "n": len(ex), "rows": rows},
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
