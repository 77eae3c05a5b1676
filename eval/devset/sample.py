"""Draw the real-text development set: which rows of ../shared/datasets get labelled.

Deterministic (no randomness beyond sha1 of the dataset's own row id). Only training rows
are drawn:
a dataset's official ``train`` split, else rows with ``sha1(text.strip()) % 5 != 0``; the
B2B quotes' held-out rows (same rule) are never drawn. Per source, half the rows are an
even draw and half are drawn among rows whose text mentions a rarely coded topic (see
``RARE``), so that every bucket gets enough positives; ``units.csv`` records which.
Where a dataset's id column repeats (Panichella's ids name a review, the airline file
repeats tweets), a drawn id stands for the last row that carries it (dropped if that
row is a held-out one), and an id drawn twice counts once; ``row_id`` then names that
row uniquely (``<id>-<k>``).

Writes ``eval/devset/units.csv`` (dataset, row_id, text_sha1, draw, part) and, with
``--texts DIR``, the texts to label as JSONL outside the repository (the texts stay in
../shared; the project stores ids and labels only).

    python eval/devset/sample.py [--texts /tmp/devset]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from themecoder.devset import SOURCES, dev_part, load_rows, sha1_text  # noqa: E402

# How many rows each source contributes (the B2B quotes: all of their development rows).
QUOTA = {
    "b2b": None,
    "banking77": 230,
    "app_reviews_maalej": 260,
    "app_reviews_panichella": 160,
    "semeval_laptops": 200,
    "airline": 260,
}
# A second, smaller draw among rows with a buying signal: upsell is the rarest bucket in
# real feedback, and the first draw found too few to score it.
BUY_QUOTA = {
    "app_reviews_maalej": 70,
    "app_reviews_panichella": 30,
    "banking77": 40,
    "airline": 40,
    "semeval_laptops": 30,
}
BUY = re.compile(
    r"\b(upgrad\w*|premium|pro version|paid version|full version|in-app|would pay|pay for|"
    r"buy\w*|bought|purchas\w*|add(?:ed)? (?:more |another |extra )?(?:seats?|users?|licen[cs]es?)|"
    r"(?:extra|virtual|second|another|new) card|first class|business class)\b",
    re.IGNORECASE,
)
RARE = re.compile(
    r"\b(upgrad\w*|premium|pro version|paid|subscri\w*|seats?|plans?|tiers?|renew\w*|cancel\w*|"
    r"refund\w*|switch\w*|competitor|uninstall\w*|never (?:again|buy|fly|use)|again|"
    r"how (?:do|can|to)|set ?up|first time|tutorial|learn\w*|figure|confus\w*|intuitive|"
    r"easy to|every ?day|daily|saves?|worth|useless|price|pricey|expensive|cheap|fee|charged?)\b",
    re.IGNORECASE,
)


def _rank(key: str) -> int:
    return int(hashlib.sha1(f"devset-draw:{key}".encode()).hexdigest(), 16)


def draw(datasets_dir: Path) -> list[dict[str, str]]:
    out = []
    for source in SOURCES:
        rows = [r for r in load_rows(datasets_dir, source) if r["split"] == "train"]
        last = {r["draw_key"]: r for r in load_rows(datasets_dir, source)}
        seen: set[str] = set()
        uniq = []
        for r in rows:  # one row per distinct text
            norm = r["text"].strip().lower()
            if norm and norm not in seen:
                seen.add(norm)
                uniq.append(r)
        quota = QUOTA[source]
        if quota is None:
            picked = [(r, "all") for r in uniq]
        else:
            ranked = sorted(uniq, key=lambda r: _rank(f"{source}:{r['draw_key']}"))
            even = ranked[: quota // 2]
            taken = {r["draw_key"] for r in even}
            rare = [r for r in ranked if r["draw_key"] not in taken and RARE.search(r["text"])]
            picked = [(r, "even") for r in even] + [(r, "topic") for r in rare[: quota - len(even)]]
        if source in BUY_QUOTA:
            taken = {r["draw_key"] for r, _ in picked}
            buy = [r for r in ranked if r["draw_key"] not in taken and BUY.search(r["text"])]
            picked += [(r, "buying") for r in buy[: BUY_QUOTA[source]]]
        # The row shown is the last with the drawn id; one that is held out is dropped.
        picked = [(last[r["draw_key"]], how) for r, how in picked]
        picked = [(r, how) for r, how in picked if r["split"] == "train"]
        once: dict[str, tuple[dict[str, str], str]] = {}
        for r, how in picked:
            once.setdefault(r["row_id"], (r, how))
        picked = list(once.values())
        for r, how in picked:
            out.append(
                {
                    "dataset": source,
                    "row_id": r["row_id"],
                    "text_sha1": sha1_text(r["text"]),
                    "draw": how,
                    "part": dev_part(source, r["group"]),
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=HERE.parents[2] / "shared" / "datasets")
    ap.add_argument("--texts", type=Path, help="also write the texts to label here (JSONL)")
    args = ap.parse_args()
    units = draw(args.datasets)
    with (HERE / "units.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["dataset", "row_id", "text_sha1", "draw", "part"])
        w.writeheader()
        w.writerows(units)
    print(f"{len(units)} units -> {HERE / 'units.csv'}")
    if args.texts:
        args.texts.mkdir(parents=True, exist_ok=True)
        texts = {(s, r["row_id"]): r["text"] for s in SOURCES for r in load_rows(args.datasets, s)}
        with (args.texts / "units.jsonl").open("w", encoding="utf-8") as fh:
            for u in units:
                key = f"{u['dataset']}:{u['row_id']}"
                fh.write(
                    json.dumps(
                        {"key": key, "text": texts[(u["dataset"], u["row_id"])]}, ensure_ascii=False
                    )
                    + "\n"
                )


if __name__ == "__main__":
    main()
