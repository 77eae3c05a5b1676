"""Two coders (or two sets of builds) on the dev set's tune part, with a paired bootstrap of
the difference.

Model choice is made on the tune part (never the report part). Its two halves of about 450
items each move macro-F1 by 0.02-0.03 between neighbouring settings (``eval/knn_presence_cv.py``),
so a candidate's gain of 0.005 says nothing on its own. This script codes the tune part with a
baseline and a candidate and resamples the items (the same items for both models) to give a 95%
interval for the change in bucket macro-F1, polarity accuracy on the buckets both found, and
sentiment macro-F1 (the headline figures of `themecoder eval`, by
``services.dev_evaluation.paired_change``), overall and on the airline rows (the sentiment
target's domain), and each bucket's F1.

The seed of a build moves these figures as much as a data part does (the shipped data retrained
with seed 14 instead of 13: macro-F1 -0.011, upsell F1 -0.045 on the tune part). Give several
builds per side (the same data and settings, ``THEMECODER_SEED`` changed) and the figures are
each side's mean over its builds:

    HF_HUB_OFFLINE=1 python eval/compare_models.py --baseline models/coder [DIR ...]
        --candidate DIR [DIR ...] [--n-boot 2000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.devset import load_devset
from themecoder.errors import ModelUnavailable
from themecoder.services.dev_evaluation import paired_change_of_means

NAMES = {
    "macro_f1": "bucket macro-F1",
    "polarity_accuracy": "polarity accuracy on found",
    "sentiment_macro_f1": "sentiment macro-F1",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--baseline", type=Path, nargs="+", default=[Path("models/coder")])
    ap.add_argument("--candidate", type=Path, nargs="+", required=True)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    sides = {"baseline": args.baseline, "candidate": args.candidate}
    try:  # all load before any codes, so a wrong path fails at once
        coders = {k: [Coder.load(Settings(model_dir=d)) for d in dirs] for k, dirs in sides.items()}
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from exc
    s = Settings()
    ex = load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir, part="tune")
    texts = [e.text for e in ex]
    results = {k: [c.code(texts) for c in side] for k, side in coders.items()}
    before, after = results["baseline"], results["candidate"]
    airline = [i for i, e in enumerate(ex) if e.source == "dev:airline"]
    overall = paired_change_of_means(ex, before, after, n_boot=args.n_boot, per_bucket=True)
    rows = {NAMES.get(k, k.replace("f1:", "F1 ")): v for k, v in overall.items()}
    rows["sentiment macro-F1, airline rows"] = paired_change_of_means(
        [ex[i] for i in airline],
        *([[r[i] for i in airline] for r in side] for side in (before, after)),
        n_boot=args.n_boot,
    )["sentiment_macro_f1"]

    def named(k: str) -> str:
        return ", ".join(f"{c.version} ({d})" for c, d in zip(coders[k], sides[k], strict=True))

    mean = " (each side the mean of its builds)" if len(before) + len(after) > 2 else ""
    print(
        f"Dev set tune part, {len(ex)} items ({len(airline)} airline); baseline "
        f"{named('baseline')}, candidate {named('candidate')}{mean}; paired bootstrap, "
        f"{args.n_boot} resamples of the items, 95% interval of the change.\n"
    )
    print("| measure | baseline | candidate | change [95% CI] |\n|---|---|---|---|")
    for name, r in rows.items():
        lo, hi = r["change_ci"]
        print(
            f"| {name} | {r['before']:.3f} | {r['after']:.3f} | "
            f"{r['change']:+.3f} [{lo:+.3f}, {hi:+.3f}] |"
        )
    if args.json:
        doc = {
            "baseline": [c.version for c in coders["baseline"]],
            "candidate": [c.version for c in coders["candidate"]],
            "n": len(ex),
            "rows": rows,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
