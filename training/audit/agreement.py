"""Agreement between the writers' labels and a blind second coder on a sample of the
project's own training units, and how the adjudicated labels were applied.

    python training/audit/agreement.py

``blind_sample.jsonl``: for 500 units of each of parts 9-12 (the first 500 by
``sha1("check:" + text)``) and for every unit of parts 13 to 15, the writer's buckets, a second
coder's blind codes (text only), and the final buckets after a third coder adjudicated each
disagreement; the training files carry the final buckets. Sentiment and expression agreement
compare against the training file's values (the writers'), which adjudication did not change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from themecoder.domain import BUCKETS  # noqa: E402
from themecoder.review.agreement import bootstrap_ci, krippendorff_alpha  # noqa: E402

FIRST_RELEASE = ("part9", "part10", "part11", "part12")


def written_units(rows: list[dict]) -> dict[str, dict]:
    """The training files' units, by ``sha1(text.strip())``, of the files ``rows`` name."""
    written = {}
    for name in sorted({r["file"] for r in rows}):
        for line in (HERE.parent / "data" / name).read_text(encoding="utf-8").splitlines():
            unit = json.loads(line)
            written[hashlib.sha1(unit["text"].strip().encode()).hexdigest()] = unit
    return written


def main() -> None:
    rows = [json.loads(x) for x in (HERE / "blind_sample.jsonl").read_text().splitlines()]
    written = written_units(rows)
    print(f"{len(rows)} units; Krippendorff's alpha, writer vs blind coder, 95% bootstrap CI")
    print("| bucket | alpha 4-way | alpha presence |\n|---|---|---|")
    for b in BUCKETS:
        cells = []
        for f in (lambda x, b=b: x.get(b, "absent"), lambda x, b=b: b in x):
            pairs = [[f(r["writer"]), f(r["blind"]["buckets"])] for r in rows]
            lo, hi = bootstrap_ci(krippendorff_alpha, pairs, n_boot=300, seed=3)
            cells.append(f"{krippendorff_alpha(pairs):.3f} [{lo:.3f}, {hi:.3f}]")
        print(f"| {b} | {' | '.join(cells)} |")
    for field in ("sentiment", "expression"):
        pairs = [[written[r["text_sha1"]][field], r["blind"][field]] for r in rows]
        print(f"{field}: alpha {krippendorff_alpha(pairs):.3f}")
    releases: dict[str, list[dict]] = {}
    for r in rows:
        part = r["file"].split("_")[0]
        # Parts 9-12 were one release (500 blind-coded units each); later parts stand alone.
        label = "parts 9-12" if part in FIRST_RELEASE else part.replace("part", "part ")
        releases.setdefault(label, []).append(r)
    for label, part in sorted(releases.items()):
        cells = []
        for b in BUCKETS:
            pairs = [[b in r["writer"], b in r["blind"]["buckets"]] for r in part]
            cells.append(f"{b} {krippendorff_alpha(pairs):.3f}")
        print(f"{label} ({len(part)} units), alpha presence: {', '.join(cells)}")
    disagreed = sum(r["writer"] != r["blind"]["buckets"] for r in rows)
    applied = sum(written[r["text_sha1"]]["buckets"] == r["final"] for r in rows)
    print(
        f"{disagreed} units disagreed on buckets and were adjudicated; "
        f"{applied} of {len(rows)} training units carry the final labels"
    )


if __name__ == "__main__":
    main()
