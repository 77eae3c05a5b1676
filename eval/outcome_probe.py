"""Outcomes and mixed verdicts: does a code's direction follow the meaning, not the vocabulary?

A sample interview showed it: "Penalties we did not pay to our customers." was coded pricing
risk and an ROI estimate of avoided penalties value and pricing risk; "So support was very
good, but the guide was, let's say, not helpful." support risk. These 24 statements were
written for this check (never taken from a dataset or from the training data), in the registers
of interview answers, NPS comments and reviews: 8 results told in problem words (value
positive), 6 lacks of result told in friendly words (value risk) and 10 mixed verdicts whose
two buckets point opposite ways. Each model codes them; the script prints how many of the 36
expected codes it finds with the expected polarity, how many it finds with the other one, and
the misses.

    HF_HUB_OFFLINE=1 python eval/outcome_probe.py [--model-dir DIR ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.errors import ModelUnavailable

V, P, S, ON, R, U = (
    "value_realization",
    "pricing_perception",
    "support_friction",
    "onboarding_clarity",
    "renewal_likelihood",
    "upsell_readiness",
)
EXPECTED: tuple[tuple[str, dict[str, str]], ...] = (
    # results told in problem words
    ("We stopped paying late fees on supplier invoices the month we went live.", {V: "positive"}),
    ("Honestly the number of angry calls from dispatch went down by half.", {V: "positive"}),
    ("Errors we used to find at quarter end now show up the same afternoon.", {V: "positive"}),
    ("No more retyping every order into the ERP, that alone was two people.", {V: "positive"}),
    ("We would have lost the Hansen contract without those delay alerts.", {V: "positive"}),
    ("uh, the fines from the port authority, we basically don't get them anymore", {V: "positive"}),
    ("Without it we'd be back to chasing timesheets by email every Friday.", {V: "positive"}),
    (
        "The overtime we avoided in March more than covered what we pay for the licence.",
        {V: "positive", P: "positive"},
    ),
    # no result, told in friendly words
    ("The dashboards are lovely, nobody on the team actually opens them.", {V: "risk"}),
    ("Nice tool, but we still do the monthly report in Excel.", {V: "risk"}),
    ("They promised fewer stockouts and, well, it's the same as last year.", {V: "risk"}),
    ("It's pleasant enough, I just can't point to anything it changed for us.", {V: "risk"}),
    ("We pay for forty seats and maybe six people log in.", {V: "risk", P: "risk"}),
    ("Great demo, but six months in it hasn't saved us a single hour.", {V: "risk"}),
    # mixed verdicts
    (
        "Support was brilliant, but the setup guide was honestly no help at all.",
        {S: "positive", ON: "risk"},
    ),
    ("The price is fair, we just barely use it.", {P: "positive", V: "risk"}),
    (
        "It saves us hours every week, but the sync breaks every other Monday.",
        {V: "positive", S: "risk"},
    ),
    ("Onboarding was smooth, the renewal quote is a joke.", {ON: "positive", P: "risk"}),
    (
        "The agents answer within minutes, shame nobody told us the price doubles in year two.",
        {S: "positive", P: "risk"},
    ),
    (
        "Took us weeks to get it configured, but now the planners can't live without it.",
        {ON: "risk", V: "positive"},
    ),
    ("Cheap for what it does, though the docs are a mess.", {P: "positive", ON: "risk"}),
    (
        "We're renewing, but the price jump this year hurt.",
        {R: "positive", P: "risk"},
    ),
    (
        "Happy to buy ten more seats, the sync errors just have to stop first.",
        {U: "positive", S: "risk"},
    ),
    (
        "Finance wants it too now, though the first week for them was rough.",
        {U: "positive", ON: "risk"},
    ),
)


def probe(model_dir: Path) -> tuple[str, int, int, int, list[str]]:
    """Version, expected codes, found with the expected polarity, with another one, misses."""
    try:
        coder = Coder.load(Settings(model_dir=model_dir))
    except ModelUnavailable as exc:
        raise SystemExit(str(exc)) from exc
    total = right = wrong = 0
    misses = []
    texts = [t for t, _ in EXPECTED]
    for (text, want), result in zip(EXPECTED, coder.code(texts), strict=True):
        got = {c.bucket: c.polarity for c in result.buckets}
        for bucket, polarity in want.items():
            total += 1
            right += got.get(bucket) == polarity
            wrong += got.get(bucket) not in (None, polarity)
        if any(got.get(b) != p for b, p in want.items()):
            misses.append(f"{text!r}: expected {want}, got {got}")
    return coder.version, total, right, wrong, misses


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model-dir", type=Path, nargs="+", default=[Path("models/coder")])
    args = ap.parse_args(argv)
    for model_dir in args.model_dir:
        version, total, right, wrong, misses = probe(model_dir)
        print(
            f"{version} ({model_dir}): {right} of {total} expected codes with the expected "
            f"polarity, {wrong} with the other one"
        )
        for m in misses:
            print(f"  miss {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
