"""The second label audit (2026-12-07): units a cross-validated model doubted, recoded blind by
two coders, and what became of the changes (tried, not applied).

    python training/audit/label_audit.py

``flag_suspects.py`` (run on the labels of commit 43b2170) flagged 522 units. Two coders, each
seeing only SIGNALS.md and the unit's text and channel (never the label, the flag or the other's
codes), coded all six buckets of every unit. Adjudication, per flagged bucket: where both coders
agreed with each other and not with the label (both left out a labelled bucket, or both gave an
unlabelled one the same polarity), the label changed; otherwise it stayed. Where both coders
gave a labelled bucket another polarity, the adjudicator read the unit and changed it in 6 of 9
("no reason to upgrade" stayed upsell risk; a savings question stayed upsell neutral).
``label_audit.jsonl``: per unit its file, ``text_sha1``, the flags (bucket, out-of-fold
probability), the labels ``before``, ``coder_a``, ``coder_b`` and ``final`` (the adjudicated).

The shipped recipe retrained on the adjudicated labels scored -0.006 [-0.030, +0.016] bucket
macro-F1 on the dev set's tune part against the mean of the shipped model's two seeds, which
fails the rule set before its training (not lower), so the training files keep the ``before``
labels: this script reports how many units carry which.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from agreement import written_units  # noqa: E402 (this folder: the script's own)

from themecoder.domain import BUCKETS  # noqa: E402
from themecoder.review.agreement import bootstrap_ci, krippendorff_alpha  # noqa: E402


def main() -> None:
    rows = [json.loads(x) for x in (HERE / "label_audit.jsonl").read_text().splitlines()]
    written = written_units(rows)
    print(f"{len(rows)} flagged units; Krippendorff's alpha of bucket presence, 95% bootstrap CI")
    print("| bucket | coder A vs coder B | label before vs coder A | label before vs coder B |")
    print("|---|---|---|---|")
    for b in BUCKETS:
        cells = []
        for one, two in (("coder_a", "coder_b"), ("before", "coder_a"), ("before", "coder_b")):
            pairs = [[b in r[one], b in r[two]] for r in rows]
            lo, hi = bootstrap_ci(krippendorff_alpha, pairs, n_boot=300, seed=3)
            cells.append(f"{krippendorff_alpha(pairs):.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"| {b} | {' | '.join(cells)} |")
    changes: Counter[str] = Counter()
    for r in rows:
        for b in BUCKETS:
            was, now = r["before"].get(b), r["final"].get(b)
            if was != now:
                kind = "added" if was is None else "removed" if now is None else "polarity"
                changes[f"{b} {kind}"] += 1
    print("changes:", ", ".join(f"{k} {v}" for k, v in sorted(changes.items())))
    changed = [r for r in rows if r["before"] != r["final"]]
    kept = sum(written[r["text_sha1"]]["buckets"] == r["before"] for r in changed)
    print(
        f"{len(changed)} units changed by adjudication; the training files carry the labels "
        f"from before the audit on {kept} of them (not applied)"
    )


if __name__ == "__main__":
    main()
