"""Do codes survive an opener that changes nothing? A check of meaning-preserving edits.

People start what they say with words that carry no code: "Honestly, ", "So, ", "Look, I
think ". A coder that reads meaning gives "Honestly, the onboarding was rough." the codes of
"The onboarding was rough."; coder-2.18640 gave the first onboarding *positive* at 0.99. This
script codes the dev set's tune part as it is and again with each opener in front of every
text (its first letter lowered unless it reads as a name or "I", as ``with_opener`` does), and
counts, over the codes of the plain texts and per opener, how many keep their bucket and
polarity, flip polarity, are lost, and how many codes appear that the plain text did not have.
No labels are read: it measures consistency, not correctness.

The default openers are two that fine-tuning with ``THEMECODER_FINETUNE_OPENER_SHARE`` can see
("Honestly, ", "So, ") and one it never sees ("Look, I think ").

    HF_HUB_OFFLINE=1 python eval/opener_robustness.py [--model-dir DIR ...]
        [--opener "Honestly, " ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.devset import load_devset
from themecoder.domain import ItemResult
from themecoder.errors import ModelUnavailable
from themecoder.pipeline.finetune import with_opener

OPENERS = ("Honestly, ", "So, ", "Look, I think ")


def changes(plain: list[ItemResult], edited: list[ItemResult]) -> dict[str, int]:
    """Codes of ``plain`` kept, flipped in polarity or lost in ``edited``, and codes gained."""
    out = {"codes": 0, "kept": 0, "flipped": 0, "lost": 0, "gained": 0}
    for a, b in zip(plain, edited, strict=True):
        before = {c.bucket: c.polarity for c in a.buckets}
        after = {c.bucket: c.polarity for c in b.buckets}
        out["codes"] += len(before)
        for bucket, polarity in before.items():
            if bucket not in after:
                out["lost"] += 1
            else:
                out["kept" if after[bucket] == polarity else "flipped"] += 1
        out["gained"] += len(after.keys() - before.keys())
    out["changed"] = out["flipped"] + out["lost"] + out["gained"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model-dir", type=Path, nargs="+", default=[Path("models/coder")])
    ap.add_argument("--opener", action="append", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    openers = args.opener or list(OPENERS)
    s = Settings()
    texts = [e.text for e in load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir, "tune")]
    report: dict[str, Any] = {"texts": len(texts), "models": {}}
    print(f"Dev set tune part, {len(texts)} texts; codes of the plain texts against the same")
    print("texts with an opener in front.\n")
    print("| model | opener | codes | kept | polarity flipped | lost | gained | changed |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args.model_dir:
        try:
            coder = Coder.load(Settings(model_dir=d))
        except ModelUnavailable as exc:
            raise SystemExit(str(exc)) from exc
        plain = coder.code(texts)
        rows = {}
        for opener in openers:
            edited = coder.code([with_opener(t, opener) for t in texts])
            c = rows[opener] = changes(plain, edited)
            print(
                f"| {coder.version} ({d}) | {opener!r} | {c['codes']} | {c['kept']} | "
                f"{c['flipped']} | {c['lost']} | {c['gained']} | {c['changed']} |"
            )
        report["models"][str(d)] = {"version": coder.version, "openers": rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
