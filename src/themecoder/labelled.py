"""Labelled data: the project's own units and the shared datasets through their bucket maps.

Every loader returns :class:`Example` rows with a ``split``. Splits follow the project
rule: a dataset's official ``split`` column where it has one, otherwise
``sha1(text.strip()) % 5 == 0`` is held out (``test``) and the rest is ``train``.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS
from themecoder.errors import InvalidInput, NotFound

Truth = dict[str, str | None]  # bucket -> polarity (present), None (absent); missing = unknown


@dataclass
class Example:
    """One labelled text; any label may be unknown (None / bucket missing from ``truth``)."""

    text: str
    source: str
    split: str
    truth: Truth = field(default_factory=dict)
    sentiment: str | None = None
    expression: str | None = None


@dataclass(frozen=True)
class Source:
    """A labelled source, its license and whether the shipped model may train on it."""

    name: str
    license: str
    shippable: bool
    loader: Callable[[Path], list[Example]]
    citation: str = ""


DATASETS_HINT = "; set THEMECODER_DATASETS_DIR to the folder of the shared datasets"


def split_of(text: str) -> str:
    """The project's hold-out rule for data without an official split."""
    return "test" if int(hashlib.sha1(text.strip().encode()).hexdigest(), 16) % 5 == 0 else "train"


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise NotFound(f"dataset file {path} not found{DATASETS_HINT}")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _polarity(opinion: str) -> str:
    return {"negative": "risk", "positive": "positive"}.get(opinion, "neutral")


MAX_PROBLEMS = 10


def _own_row(row: object) -> str | None:
    """What is wrong with one parsed line of ``training/data/*.jsonl`` (SCHEMA.md), or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    missing = [k for k in ("text", "buckets", "sentiment", "expression") if k not in row]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(row["text"], str) or not row["text"].strip():
        return "text must be a non-empty string"
    if not isinstance(row["buckets"], dict):
        return "buckets must be an object of bucket -> polarity"
    for bucket, polarity in row["buckets"].items():
        if bucket not in BUCKETS:
            return f"unknown bucket {bucket!r} (known: {', '.join(BUCKETS)})"
        if polarity not in POLARITIES:
            return f"{bucket}: unknown polarity {polarity!r} (known: {', '.join(POLARITIES)})"
    for key, known in (("sentiment", SENTIMENTS), ("expression", EXPRESSIONS)):
        if row[key] not in known:
            return f"unknown {key} {row[key]!r} (known: {', '.join(known)})"
    return None


def load_own(directory: Path) -> list[Example]:
    """The project's labelled units (``training/data/*.jsonl``), all six buckets known.

    Every line is checked against ``training/data/SCHEMA.md`` first: a bad line is an error
    naming its file and line (a misspelt bucket would otherwise train as that bucket absent)."""
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        where = "not a folder" if not directory.is_dir() else "no *.jsonl files"
        raise NotFound(
            f"no labelled training data in {directory} ({where}); set THEMECODER_TRAINING_DIR "
            "to a folder of *.jsonl files (training/data/SCHEMA.md)"
        )
    rows, problems = [], []
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            problems.append(f"{path}: not UTF-8 text (byte {exc.start})")
            continue
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not valid JSON ({exc.msg})")
                continue
            problem = _own_row(row)
            if problem:
                problems.append(f"{path}:{number}: {problem}")
            else:
                rows.append(row)
    if problems:
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
        raise InvalidInput(
            f"{len(problems)} bad line(s) in the training data (training/data/SCHEMA.md):\n  "
            + "\n  ".join(shown)
        )
    out, seen = [], set()
    for row in rows:
        text = row["text"].strip()
        if text in seen:
            continue
        seen.add(text)
        truth: Truth = {b: row["buckets"].get(b) for b in BUCKETS}
        out.append(Example(text, "own", split_of(text), truth, row["sentiment"], row["expression"]))
    return out


def load_banking77(root: Path) -> list[Example]:
    """BANKING77 (CC BY 4.0), official split. Strong maps give bucket truth for
    support_friction, pricing_perception and renewal_likelihood; weak maps leave their
    bucket unknown. It has no sentiment labels."""
    d = root / "banking77"
    maps = {r["label"]: r for r in _rows(d / "bucket_map.csv")}
    judged = ("support_friction", "pricing_perception", "renewal_likelihood")
    out = []
    for row in _rows(d / "banking77.csv"):
        m = maps.get(row["label"], {})
        bucket, strong = m.get("bucket") or None, m.get("strength") == "strong"
        truth: Truth = {b: None for b in judged if b != bucket}
        if bucket and strong:
            truth[bucket] = m["polarity"]
        out.append(Example(row["text"], "banking77", row["split"], truth))
    return out


def load_airline(root: Path) -> list[Example]:
    """Twitter US Airline Sentiment (CC BY-NC-SA 4.0): sentiment gold; strong negative
    reasons give support_friction risk, every other bucket is unknown."""
    d = root / "twitter_airline_sentiment"
    maps = {r["negativereason"]: r for r in _rows(d / "bucket_map.csv")}
    out = []
    for row in _rows(d / "tweets.csv"):
        m = maps.get(row["negativereason"], {})
        truth: Truth = {}
        if m.get("strength") == "strong":
            truth[m["bucket"]] = m["polarity"]
        out.append(Example(row["text"], "airline", split_of(row["text"]), truth, row["label"]))
    return out


def load_semeval_laptops(root: Path) -> list[Example]:
    """SemEval-2016 laptops (research use), official split. PRICE opinions give
    pricing_perception truth, SUPPORT/WARRANTY/SHIPPING give support_friction; sentence
    sentiment is the opinions' polarity where they agree (a derived label)."""
    path = root / "semeval2016_absa_laptops" / "sentences.jsonl"
    if not path.is_file():
        raise NotFound(f"dataset file {path} not found{DATASETS_HINT}")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        ops = row["opinions"]
        price = [o["polarity"] for o in ops if o["attribute"] == "PRICE"]
        support = [o["polarity"] for o in ops if o["entity"] in {"SUPPORT", "WARRANTY", "SHIPPING"}]
        # The map codes negative QUALITY / OPERATION_PERFORMANCE as weak support_friction
        # risk; by SIGNALS.md reliability praise ("no problems in two years") is
        # support_friction positive, so either polarity leaves the bucket unknown.
        weak_support = any(o["attribute"] in {"QUALITY", "OPERATION_PERFORMANCE"} for o in ops)
        truth: Truth = {"pricing_perception": _polarity(price[0]) if price else None}
        if support:
            truth["support_friction"] = _polarity(support[0])
        elif not weak_support:
            truth["support_friction"] = None
        pols = {o["polarity"] for o in ops}
        sentiment = pols.pop() if len(pols) == 1 else None
        out.append(Example(row["text"], "semeval_laptops", row["split"], truth, sentiment))
    return out


def _app_review(name: str, rows: list[dict[str, str]], bug_label: str) -> list[Example]:
    out = []
    for row in rows:
        text = row["text"]
        truth: Truth = {"support_friction": "risk" if row["label"] == bug_label else None}
        out.append(Example(text, name, split_of(text), truth))
    return out


def load_app_reviews_maalej(root: Path) -> list[Example]:
    """Maalej et al. 2016 app reviews (no license stated): bug reports are
    support_friction risk; a review with no bug_report label is support_friction absent."""
    path = root / "app_reviews_maalej2016" / "reviews_multilabel.jsonl"
    if not path.is_file():
        raise NotFound(f"dataset file {path} not found{DATASETS_HINT}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    flat = [
        {"text": r["text"], "label": "bug_report" if "bug_report" in r["labels"] else "x"}
        for r in rows
        if r["text"].strip()
    ]
    return _app_review("app_reviews_maalej", flat, "bug_report")


def load_app_reviews_panichella(root: Path) -> list[Example]:
    """Panichella et al. 2015 review sentences (no license stated): problem discovery is
    support_friction risk, the other classes support_friction absent."""
    rows = _rows(root / "app_reviews_panichella2015" / "sentences.csv")
    return _app_review("app_reviews_panichella", rows, "problem_discovery")


EXTERNAL: dict[str, Source] = {
    s.name: s
    for s in [
        Source(
            "banking77",
            "CC BY 4.0",
            True,
            load_banking77,
            "Casanueva et al. 2020, Efficient Intent Detection with Dual Sentence Encoders",
        ),
        Source(
            "airline",
            "CC BY-NC-SA 4.0",
            False,
            load_airline,
            "CrowdFlower Twitter US Airline Sentiment (2015)",
        ),
        Source(
            "semeval_laptops",
            "none stated (SemEval research data)",
            False,
            load_semeval_laptops,
            "Pontiki et al. 2016, SemEval-2016 Task 5",
        ),
        Source(
            "app_reviews_maalej",
            "none stated",
            False,
            load_app_reviews_maalej,
            "Maalej et al. 2016, On the automatic classification of app reviews",
        ),
        Source(
            "app_reviews_panichella",
            "none stated",
            False,
            load_app_reviews_panichella,
            "Panichella et al. 2015, How can I improve my app?",
        ),
    ]
}
