"""Merge the two blind coders' labels of the dev set, report agreement, adjudicate.

    python eval/devset/merge.py disagreements --coded DIR        # -> DIR/disagreements.jsonl
    python eval/devset/merge.py merge --coded DIR [--adjudicated FILE] [--out FILE]
    python eval/devset/merge.py agreement                        # -> agreement.md

``DIR`` holds ``units.jsonl`` (key, text: what the coders saw) and the coders' files
``labels_c1_*.jsonl`` and ``labels_c2_*.jsonl`` (key, buckets, sentiment, expression). Those
files stay outside the repository (they hold the texts' keys as shown); ``labels.jsonl``
keeps, per row, both coders' labels and the final (agreed or adjudicated) one, by dataset
and row id, never the text. Agreement (Krippendorff's alpha, nominal: absent / positive /
neutral / risk per bucket, and presence alone) is computed from ``labels.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

from themecoder.devset import SOURCES, dev_part, load_rows, sha1_text  # noqa: E402
from themecoder.domain import BUCKETS  # noqa: E402
from themecoder.review.agreement import bootstrap_ci, krippendorff_alpha  # noqa: E402

FIELDS = ("buckets", "sentiment", "expression")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _coded(directory: Path) -> tuple[dict[str, str], dict[str, dict], dict[str, dict]]:
    texts = {r["key"]: r["text"] for r in _jsonl(directory / "units.jsonl")}
    coders = []
    for name in ("c1", "c2"):
        got: dict[str, dict] = {}
        for path in sorted(directory.glob(f"labels_{name}_*.jsonl")):
            for r in _jsonl(path):
                got[r["key"]] = {f: r[f] for f in FIELDS}
        coders.append(got)
    return texts, coders[0], coders[1]


def _rows_by_text(datasets: Path, manifest: Path | None) -> dict[tuple[str, str], dict]:
    """(source, sha1 of text) -> the row it is: from a manifest (the dev set's units.csv
    names its rows), else every row of the datasets (first row with that text)."""
    import csv

    if manifest is not None:
        units = list(csv.DictReader(manifest.open(encoding="utf-8")))
        return {(u["dataset"], u["text_sha1"]): u for u in units}
    out: dict[tuple[str, str], dict] = {}
    for source in SOURCES:
        for r in load_rows(datasets, source):
            key = (source, sha1_text(r["text"]))
            out.setdefault(key, {"row_id": r["row_id"], "text_sha1": key[1]})
    return out


def disagreements(directory: Path) -> None:
    texts, c1, c2 = _coded(directory)
    out = directory / "disagreements.jsonl"
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for key, text in texts.items():
            a, b = c1.get(key), c2.get(key)
            if a is None or b is None:
                raise SystemExit(f"{key}: coded by {'c2' if a is None else 'c1'} only")
            if a["buckets"] != b["buckets"]:
                n += 1
                fh.write(
                    json.dumps(
                        {"key": key, "text": text, "a": a["buckets"], "b": b["buckets"]},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    print(f"{n} of {len(texts)} units disagree on buckets -> {out}")


def merge(directory: Path, adjudicated: Path | None, datasets: Path, out_path: Path) -> None:
    texts, c1, c2 = _coded(directory)
    decided = {r["key"]: r["buckets"] for r in _jsonl(adjudicated)} if adjudicated else {}
    dev = out_path == HERE / "labels.jsonl"
    rows = _rows_by_text(datasets, HERE / "units.csv" if dev else None)
    out, seen, missing = [], set(), []
    for key, text in texts.items():
        source = key.split(":", 1)[0]
        row = rows.get((source, sha1_text(text)))
        if row is None or row["row_id"] in seen:
            continue  # an id drawn twice is one row (see sample.py)
        seen.add(row["row_id"])
        a, b = c1[key], c2[key]
        if a["buckets"] == b["buckets"]:
            final, how = a["buckets"], "agreed"
        elif key in decided:
            final, how = decided[key], "adjudicated"
        else:
            missing.append(key)
            continue
        # Sentiment / expression: agreed value, else the adjudicated row's, else c1's
        # (the coders disagree on tone far less than on buckets; ties are recorded).
        out.append(
            {
                "dataset": source,
                "row_id": row["row_id"],
                "text_sha1": row["text_sha1"],
                "buckets": {k: final[k] for k in BUCKETS if k in final},
                "sentiment": a["sentiment"] if a["sentiment"] == b["sentiment"] else None,
                "expression": a["expression"] if a["expression"] == b["expression"] else None,
                "decision": how,
                "c1": a,
                "c2": b,
            }
        )
    if missing:
        raise SystemExit(f"{len(missing)} disagreements have no adjudication, e.g. {missing[:3]}")
    with out_path.open("w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(out)} rows -> {out_path}")


def agreement() -> None:

    labels = _jsonl(HERE / "labels.jsonl")
    lines = [
        "# Dev set: inter-coder agreement (two blind coders, before adjudication)",
        "",
        f"{len(labels)} units; Krippendorff's alpha (nominal) with bootstrap 95% CI over units.",
        "`4-way`: absent / positive / neutral / risk; `presence`: coded or not.",
        "",
        "| bucket | alpha 4-way | 95% CI | alpha presence | 95% CI | units coded (final) |",
        "|---|---:|---|---:|---|---:|",
    ]
    for b in BUCKETS:
        four = [[r[c]["buckets"].get(b, "absent") for c in ("c1", "c2")] for r in labels]
        pres = [[b in r[c]["buckets"] for c in ("c1", "c2")] for r in labels]
        cells = []
        for data in (four, pres):
            est = krippendorff_alpha(data)
            lo, hi = bootstrap_ci(krippendorff_alpha, data, n_boot=500, seed=11)
            cells += [f"{est:.3f}", f"[{lo:.3f}, {hi:.3f}]"]
        n = sum(b in r["buckets"] for r in labels)
        lines.append(f"| {b} | {' | '.join(cells)} | {n} |")
    for field in ("sentiment", "expression"):
        data = [[r[c][field] for c in ("c1", "c2")] for r in labels]
        lines.append(
            f"\n{field}: alpha {krippendorff_alpha(data):.3f}; "
            f"{sum(r[field] is None for r in labels)} units where the coders differ "
            "carry no label for it."
        )
    adj = sum(r["decision"] == "adjudicated" for r in labels)
    lines.append(
        f"\n{adj} units ({adj / len(labels):.0%}) disagreed on buckets and were "
        "adjudicated by a third coder who saw both codings and SIGNALS.md."
    )
    groups = {(s, r["row_id"]): r["group"] for s in SOURCES for r in load_rows(DATASETS, s)}
    parts: dict[tuple[str, str], int] = {}
    for r in labels:
        key = (r["dataset"], dev_part(r["dataset"], groups[(r["dataset"], r["row_id"])]))
        parts[key] = parts.get(key, 0) + 1
    lines += ["", "| source | tune | report |", "|---|---:|---:|"]
    for s in SOURCES:
        lines.append(f"| {s} | {parts.get((s, 'tune'), 0)} | {parts.get((s, 'report'), 0)} |")
    (HERE / "agreement.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


DATASETS = HERE.parents[2] / "shared" / "datasets"

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["disagreements", "merge", "agreement"])
    ap.add_argument("--coded", type=Path)
    ap.add_argument("--adjudicated", type=Path)
    ap.add_argument("--out", type=Path, default=HERE / "labels.jsonl")
    args = ap.parse_args()
    if args.step == "disagreements":
        disagreements(args.coded)
    elif args.step == "merge":
        merge(args.coded, args.adjudicated, DATASETS, args.out)
    else:
        agreement()
