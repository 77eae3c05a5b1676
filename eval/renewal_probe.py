"""Short leaving and staying statements: is renewal found, and with the right polarity?

The dev set holds few of them, and a sentence embedding confuses their direction: "never ...
again" and "never leaving" share words, and the renewal polarity head on coder-2.16937 called
"Never traveling AA again." and "I won't be back." positive. These 25 statements were written
for this check (never taken from a dataset or from the training data) in the registers of
reviews, tweets and NPS answers: 15 say the writer is leaving, 10 that they are staying or
buying again. Each model codes them and the script prints how many carry renewal with the
expected polarity, and the misses.

    HF_HUB_OFFLINE=1 python eval/renewal_probe.py [--model-dir DIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.errors import ModelUnavailable

LEAVING = (
    "Never traveling AA again.",
    "Not ordering from them again.",
    "I won't be back.",
    "Done with this bank.",
    "Cancelled my membership today.",
    "We're moving to a different vendor next quarter.",
    "Never buying a Dell again.",
    "Uninstalled it.",
    "This is the last time I rent from you.",
    "Switching to the other network next month.",
    "Returned it for a refund.",
    "Won't renew our contract.",
    "We'll probably drop it at renewal.",
    "I'm out, going back to paper lists.",
    "Never staying there again, the room was filthy.",
)
STAYING = (
    "I love HP, it's the only computer we will buy.",
    "We'll definitely book again.",
    "Renewed for three more years.",
    "Staying with them, no question.",
    "Third car from this dealer.",
    "I'd never switch banks now.",
    "Never going back to spreadsheets.",
    "Will be back next summer!",
    "Ordered again this week, always reliable.",
    "We're not going anywhere.",
)


def probe(model_dir: Path) -> tuple[str, int, int, list[str]]:
    """Version, statements with renewal found, with the right polarity, and the misses."""
    try:
        coder = Coder.load(Settings(model_dir=model_dir))
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from exc
    found = right = 0
    misses = []
    for gold, texts in (("risk", LEAVING), ("positive", STAYING)):
        for text, result in zip(texts, coder.code(list(texts)), strict=True):
            got = {c.bucket: c.polarity for c in result.buckets}.get("renewal_likelihood")
            found += got is not None
            right += got == gold
            if got != gold:
                misses.append(f"{text!r}: expected renewal {gold}, got {got or 'no renewal code'}")
    return coder.version, found, right, misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model-dir", type=Path, nargs="+", default=[Path("models/coder")])
    args = ap.parse_args(argv)
    total = len(LEAVING) + len(STAYING)
    for model_dir in args.model_dir:
        version, found, right, misses = probe(model_dir)
        print(f"{version} ({model_dir}): renewal in {found} of {total}, right polarity {right}")
        for m in misses:
            print(f"  miss {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
