"""The real-text development set: rows of ../shared/datasets labelled by the project.

The project stores only ``(dataset, row_id)``, the sha1 of the text and the labels
(``eval/devset/labels.jsonl``); texts are read from ../shared at use. The set is split
once, by :func:`dev_part`: ``tune`` rows serve choices (thresholds, model selection),
``report`` rows only the headline figure. Rows of one page (B2B quotes) or one review
(SemEval) fall in the same part, so a part never sees a sibling of the other's text.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from themecoder.domain import BUCKETS
from themecoder.errors import InvalidInput, NotFound
from themecoder.labelled import DATASETS_HINT, Example, split_of

SOURCES = (
    "b2b",
    "banking77",
    "app_reviews_maalej",
    "app_reviews_panichella",
    "semeval_laptops",
    "airline",
)
# Which labelled rows may train a shipped model (by the dataset's license).
TRAINABLE = {"banking77"}
PARTS = ("tune", "report")


def sha1_text(text: str) -> str:
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()


def _csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise NotFound(f"dataset file {path} not found{DATASETS_HINT}")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise NotFound(f"dataset file {path} not found{DATASETS_HINT}")
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _numbered(rows: list[dict[str, str]], id_field: str) -> list[str]:
    """Unique row ids for a dataset whose id column repeats: ``<id>-<k>``, k counting the
    rows that carry that id in file order (Panichella's ids name a review, not a sentence;
    the airline file repeats some tweets)."""
    seen: dict[str, int] = {}
    out = []
    for r in rows:
        k = seen.get(r[id_field], 0)
        seen[r[id_field]] = k + 1
        out.append(f"{r[id_field]}-{k}")
    return out


def _row(row_id: str, text: str, split: str, group: str, draw_key: str) -> dict[str, str]:
    return {"row_id": row_id, "text": text, "split": split, "group": group, "draw_key": draw_key}


def _b2b(root: Path) -> list[dict[str, str]]:
    rows = _jsonl(root / "b2b_feedback_public" / "quotes.jsonl")
    return [_row(r["id"], r["text"], split_of(r["text"]), r["source_url"], r["id"]) for r in rows]


def _banking77(root: Path) -> list[dict[str, str]]:
    rows = _csv(root / "banking77" / "banking77.csv")
    return [_row(str(i), r["text"], r["split"], str(i), str(i)) for i, r in enumerate(rows)]


def _maalej(root: Path) -> list[dict[str, str]]:
    rows = _jsonl(root / "app_reviews_maalej2016" / "reviews_multilabel.jsonl")
    out = []
    for r in rows:
        rid = str(min(r["source_ids"]))
        out.append(_row(rid, r["text"], split_of(r["text"]), rid, rid))
    return out


def _panichella(root: Path) -> list[dict[str, str]]:
    rows = _csv(root / "app_reviews_panichella2015" / "sentences.csv")
    return [
        _row(rid, r["text"], split_of(r["text"]), rid, r["id"])
        for rid, r in zip(_numbered(rows, "id"), rows, strict=True)
    ]


def _laptops(root: Path) -> list[dict[str, str]]:
    rows = _jsonl(root / "semeval2016_absa_laptops" / "sentences.jsonl")
    return [_row(r["id"], r["text"], r["split"], r["review_id"], r["id"]) for r in rows]


def _airline(root: Path) -> list[dict[str, str]]:
    rows = _csv(root / "twitter_airline_sentiment" / "tweets.csv")
    return [
        _row(rid, r["text"], split_of(r["text"]), rid, r["tweet_id"])
        for rid, r in zip(_numbered(rows, "tweet_id"), rows, strict=True)
    ]


_READERS = {
    "b2b": _b2b,
    "banking77": _banking77,
    "app_reviews_maalej": _maalej,
    "app_reviews_panichella": _panichella,
    "semeval_laptops": _laptops,
    "airline": _airline,
}


def load_rows(root: Path, source: str) -> list[dict[str, str]]:
    """Rows of one source as ``{row_id, text, split, group, draw_key}``; ``split`` is
    train/test; ``draw_key`` is the dataset's own id, which the dev-set draw ranked."""
    reader = _READERS.get(source)
    if reader is None:
        raise InvalidInput(f"unknown dev-set source {source!r}; known: {', '.join(SOURCES)}")
    return reader(root)


def devset_hashes(devset_dir: Path) -> set[str]:
    """sha1 of every dev-set text (``units.csv``), so training can leave them out."""
    path = devset_dir / "units.csv"
    if not path.is_file():
        return set()
    return {r["text_sha1"] for r in _csv(path)}


def dev_part(source: str, group: str) -> str:
    """The fixed split of the dev set: half the groups for choices, half for the report."""
    h = int(hashlib.sha1(f"themecoder-devset:{source}:{group}".encode()).hexdigest(), 16)
    return PARTS[h % 2]


def load_devset(
    labels_path: Path, root: Path, part: str | None = None, sources: tuple[str, ...] = SOURCES
) -> list[Example]:
    """The labelled dev-set rows as :class:`Example` (all six buckets known), texts from
    ``root``; ``part`` picks ``tune`` or ``report``. A row whose text changed is refused."""
    if part is not None and part not in PARTS:
        raise InvalidInput(f"unknown dev-set part {part!r}; known: {', '.join(PARTS)}")
    labels = _jsonl(labels_path)
    needed = {lab["dataset"] for lab in labels} & set(sources)
    index = {(s, r["row_id"]): r for s in needed for r in load_rows(root, s)}
    out = []
    for lab in labels:
        if lab["dataset"] not in sources:
            continue
        row = index.get((lab["dataset"], lab["row_id"]))
        if row is None:
            raise NotFound(f"dev-set row {lab['dataset']}:{lab['row_id']} not in {root}")
        if sha1_text(row["text"]) != lab["text_sha1"]:
            raise InvalidInput(f"dev-set row {lab['dataset']}:{lab['row_id']}: text changed")
        p = dev_part(lab["dataset"], row["group"])
        if part is not None and p != part:
            continue
        truth = {b: lab["buckets"].get(b) for b in BUCKETS}
        out.append(
            Example(
                row["text"],
                f"dev:{lab['dataset']}",
                p,
                truth,
                lab.get("sentiment"),
                lab.get("expression"),
            )
        )
    return out
