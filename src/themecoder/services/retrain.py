"""Retraining on review decisions: a candidate model version, compared before it is promoted.

Approved and overridden review decisions (:class:`Correction`) become labelled
:class:`~themecoder.labelled.Example` rows with ``source="review"``. Each reviewed unit falls in
the project's hold-out split by :func:`~themecoder.labelled.split_of` (``sha1(text.strip()) % 5
== 0`` is ``test``), so a unit is either training data or comparison data, never both, and
always the same one however many times it is reviewed. Corrections of the same text merge
bucket by bucket, the later decision winning; a unit with no decided bucket is not used.

:func:`retrain` trains a candidate on the normal training data plus the train-split review
examples, writes it to its own folder (never the current model's), codes the held-out reviewed
units with the current model and the candidate, and applies
:func:`~themecoder.review.promotion.should_promote` to their per-bucket F1.

Scoring, decided here:

* F1 is bucket *presence* F1 (the project's evaluation measure, see
  :func:`~themecoder.services.evaluation.bucket_scores`), counted only over the held-out units
  where the reviewer decided that bucket (present or absent); units where it is unknown do not
  count for or against it.
* A bucket is compared only with enough evidence
  (:func:`~themecoder.review.promotion.has_evidence`: 20 held-out units deciding it, 5 of them
  present). Every other bucket is *kept*: :func:`keep_heads` copies the current model's head
  for it into the candidate, so promotion never moves a bucket nobody measured. With no bucket
  scored, retraining is refused before any training.
* Each scored bucket gets a paired-bootstrap 95% interval of its F1 change; promotion needs its
  lower bound above ``-tolerance`` (non-inferiority, see :mod:`themecoder.review.promotion`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.artifact import load_artifact, save_artifact
from themecoder.coder import Coder
from themecoder.config import Settings
from themecoder.domain import BUCKETS, POLARITIES, Unit, UnitResult
from themecoder.errors import InvalidInput
from themecoder.labelled import Example, split_of
from themecoder.pipeline.embed import make_embedder
from themecoder.review.promotion import (
    DEFAULT_MARGIN,
    MIN_HELDOUT_PER_BUCKET,
    MIN_PRESENT_PER_BUCKET,
    delta_ci,
    f1,
    has_evidence,
    should_promote,
)
from themecoder.services.embedding_cache import CachedEmbedder
from themecoder.services.training import train_coder

REVIEW_SOURCE = "review"
#: Sample weight of a review example; the project's own units weigh 1.0 and external data
#: 0.5 (``training.EXTERNAL_WEIGHT``). Review decisions weigh more than the own units because
#: they are in-domain (the customer's own feedback, which the shipped data only imitates),
#: checked by a person against the guideline, and picked by the review queue where the model
#: was unsure, so each carries more information near a decision boundary than a random unit.
#: They are also few (hundreds next to ~3,600 own units) and usually decide one bucket, so at
#: 1.0 they would barely move a boundary fitted on thousands. Not more than 2: one reviewer's
#: habits should not outvote the guideline-labelled data, and a larger weight fits their noise
#: (a candidate that does is then stopped by the promotion gate, but is wasted work).
REVIEW_WEIGHT = 2.0
REPORT_FILE = "retrain_report.json"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Correction:
    """A reviewer's final word on one unit."""

    text: str  # unit text
    # bucket -> polarity ("positive"/"neutral"/"risk") if the reviewer says present, None if
    # absent; buckets not in the dict are unknown
    decided: dict[str, str | None]
    suggested: dict[str, str] = field(default_factory=dict)  # the model's codes, for reporting


@dataclass
class RetrainReport:
    """What :func:`retrain` did and decided."""

    promote: bool
    before: dict[str, float]  # per-bucket F1 of the current model on held-out reviewed units
    after: dict[str, float]  # per-bucket F1 of the candidate, same units and buckets
    deltas: dict[str, float]
    version: str  # candidate version string
    path: Path  # where the candidate artifact was written
    n_train: int  # review examples added to training
    n_heldout: int  # held-out reviewed units used for the comparison
    ci: dict[str, list[float]] = field(default_factory=dict)  # 95% interval of each delta
    kept: list[str] = field(default_factory=list)  # buckets whose current head was kept
    evidence: dict[str, list[int]] = field(default_factory=dict)  # [decided, present] per bucket

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``path`` as a string)."""
        return {**asdict(self), "path": str(self.path)}


def _check(c: Correction, n: int) -> str:
    if not isinstance(c.text, str) or not c.text.strip():
        raise InvalidInput(f"correction {n}: empty unit text")
    for bucket, polarity in c.decided.items():
        if bucket not in BUCKETS:
            raise InvalidInput(
                f"correction {n}: unknown bucket {bucket!r}; expected one of {', '.join(BUCKETS)}"
            )
        if polarity is not None and polarity not in POLARITIES:
            raise InvalidInput(
                f"correction {n}: polarity of {bucket} must be one of {', '.join(POLARITIES)} "
                f"or None (absent), got {polarity!r}"
            )
    return c.text.strip()


def corrections_to_examples(corrections: Sequence[Correction]) -> list[Example]:
    """Review decisions as labelled examples, one per distinct unit text.

    The text is stripped; ``split`` is :func:`~themecoder.labelled.split_of` of it. Several
    corrections of the same text merge bucket by bucket, the later one winning where both
    decide a bucket (a bucket decided only by an earlier one keeps that decision). Examples
    come out in the order their text first appears.

    Raises:
        InvalidInput: An empty text, an unknown bucket or an unknown polarity.
    """
    merged: dict[str, dict[str, str | None]] = {}
    for n, c in enumerate(corrections):
        text = _check(c, n)
        merged.setdefault(text, {}).update(c.decided)
    return [
        Example(text, REVIEW_SOURCE, split_of(text), {b: t[b] for b in BUCKETS if b in t})
        for text, t in merged.items()
    ]


def _review_hash(examples: Sequence[Example], parent: str) -> str:
    """Hash of the review data and of the model version it was reviewed against: the
    candidate's version then differs from the current one even when the data is the same."""
    rows = sorted(json.dumps([e.text, e.truth], sort_keys=True) for e in examples)
    return hashlib.sha256("\n".join([parent, *rows]).encode()).hexdigest()


def _code(coder: Coder, examples: Sequence[Example]) -> list[UnitResult]:
    """Code each reviewed text as the one unit it was reviewed as (no re-segmentation)."""
    units = [Unit(f"review-{i}", 0, 0, len(e.text), e.text) for i, e in enumerate(examples)]
    return coder.code_units(units)


def _evidence(held: Sequence[Example]) -> dict[str, list[int]]:
    """``[held-out units deciding the bucket, of which present]`` per bucket."""
    return {
        b: [
            sum(b in e.truth for e in held),
            sum(e.truth.get(b) is not None for e in held),
        ]
        for b in BUCKETS
    }


def keep_heads(current_dir: Path, candidate_dir: Path, buckets: Sequence[str]) -> None:
    """Give the candidate artifact the current model's heads for ``buckets``.

    Bucket heads are rows of the ``bucket.*`` arrays, in the order of ``config["buckets"]``;
    the candidate then codes those buckets exactly as the current model does (same embedder).
    """
    current, candidate = load_artifact(current_dir), load_artifact(candidate_dir)
    order = list(candidate.config["buckets"])
    if list(current.config["buckets"]) != order:
        raise InvalidInput("the current and candidate models code different buckets")
    rows = [order.index(b) for b in buckets]
    for name, values in candidate.arrays.items():
        if name.startswith("bucket."):
            values = np.array(values, copy=True)
            values[rows] = current.arrays[name][rows]
            candidate.arrays[name] = values
    candidate.config["kept_buckets"] = {"from": current.version, "buckets": list(buckets)}
    save_artifact(candidate, candidate_dir)


def _present(results: Sequence[UnitResult], rows: Sequence[int], bucket: str) -> np.ndarray:
    return np.array([any(c.bucket == bucket for c in results[i].buckets) for i in rows], bool)


def retrain(
    s: Settings,
    corrections: Sequence[Correction],
    out_dir: Path,
    *,
    current: Coder | None = None,
    embedder: Any = None,
    tolerance: float = DEFAULT_MARGIN,
    own_limit: int | None = None,
    progress: Progress | None = None,
) -> RetrainReport:
    """Train a candidate on the review decisions, compare it with the current model, decide.

    The candidate is trained on the shipped recipe
    (:func:`~themecoder.services.training.training_examples`: the project's own units and
    BANKING77) plus the train-split review examples at :data:`REVIEW_WEIGHT`,
    embedded through the cache. Its version is the training version plus ``-r`` and 8 hex
    digits of a hash of the review data and the current model's version, so it never equals
    the current one. Current and candidate then code the held-out reviewed units, each as
    the one unit it was reviewed as (the candidate with ``embedder``, by default the current
    model's own, so both see the same vectors).

    Args:
        s: Settings; ``s.model_dir`` names the current model (loaded unless ``current`` is
            given, and never written), ``s.cache_dir`` the embedding cache used for training.
        corrections: Reviewer decisions, in the order they were made.
        out_dir: Folder the candidate artifact (and ``retrain_report.json``) is written to.
        current: The model in use; default ``Coder.load(s)``.
        embedder: Embedder shared by training and both coders; default ``current``'s, else
            the settings' sentence-transformers model.
        tolerance: Largest allowed F1 drop of any single bucket (see ``should_promote``).
        own_limit: Use only this many of the project's own units (tests, quick runs).
        progress: Called as ``progress(stage, done, total)``.

    Returns:
        The :class:`RetrainReport`; the candidate is promoted when ``report.promote``.

    Raises:
        InvalidInput: No corrections, a malformed correction, no held-out reviewed unit, no
            bucket present on any held-out unit, a bad ``tolerance``, or ``out_dir`` being the
            current model's folder.
    """
    if not corrections:
        raise InvalidInput("no review decisions to retrain on: review some suggestions first")
    if not (isinstance(tolerance, int | float) and tolerance >= 0):
        raise InvalidInput(f"tolerance must be a number >= 0, got {tolerance!r}")
    examples = [e for e in corrections_to_examples(corrections) if e.truth]
    train = [e for e in examples if e.split == "train"]
    held = [e for e in examples if e.split == "test"]
    if not held:
        raise InvalidInput(
            f"no held-out reviewed units to compare on: none of the {len(examples)} reviewed "
            "units with a decision falls in the held-out split (sha1(text) % 5 == 0, about one "
            "unit in five); review more units"
        )
    buckets = [b for b in BUCKETS if any(e.truth.get(b) is not None for e in held)]
    if not buckets:
        raise InvalidInput(
            f"the {len(held)} held-out reviewed units have no bucket present, so no bucket has "
            "an F1 to compare; review units where a bucket applies"
        )
    evidence = _evidence(held)
    scored = [b for b in buckets if has_evidence(*evidence[b])]
    if not scored:
        have = ", ".join(f"{b} {n} ({p} present)" for b, (n, p) in evidence.items() if n)
        raise InvalidInput(
            f"not enough held-out reviewed units to compare any bucket: each needs "
            f"{MIN_HELDOUT_PER_BUCKET} held-out units deciding it, {MIN_PRESENT_PER_BUCKET} of "
            f"them present; have {have}; review more units"
        )
    kept = [b for b in BUCKETS if b not in scored]
    out = Path(out_dir)
    if out.resolve() == Path(s.model_dir).resolve():
        raise InvalidInput(f"out_dir {out} is the current model's folder; pick a new folder")

    emb = embedder or (current.embedder if current is not None else None)
    emb = emb or make_embedder(s, load_artifact(s.model_dir))
    raw = emb.embedder if isinstance(emb, CachedEmbedder) else emb
    current = current or Coder.load(s, embedder=emb)  # lazy: models load on first use
    review_hash = _review_hash(examples, current.version)
    # Review decisions also vote on bucket presence among the nearest examples; a kept bucket
    # must stay as it was, so its decisions are left out there (its heads are copied below).
    voting = [replace(e, truth={b: v for b, v in e.truth.items() if b in scored}) for e in train]
    result = train_coder(
        s,
        out,
        embedder=raw,
        own_limit=own_limit,
        progress=progress,
        extra_examples=voting,
        extra_weight=REVIEW_WEIGHT,
        extra_source={
            "name": REVIEW_SOURCE,
            "license": "the project's own review decisions",
            "review_sha256": review_hash,
            "heldout_rows": len(held),
        },
        # The cache needs the embedder's name; a test double without one embeds directly.
        cache_dir=s.cache_dir if hasattr(raw, "name") else None,
        version_suffix=f"-r{review_hash[:8]}",
    )

    def step(name: str, done: int) -> None:
        if progress:
            progress(name, done, 1)

    if kept:
        keep_heads(Path(s.model_dir), result.path, kept)
    step("score current", 0)
    now = _code(current, held)
    step("score candidate", 0)
    candidate = Coder.from_artifact(load_artifact(result.path), s, embedder=emb)
    new = _code(candidate, held)
    step("score candidate", 1)
    before, after, ci = {}, {}, {}
    for b in scored:
        rows = [i for i, e in enumerate(held) if b in e.truth]
        truth = np.array([held[i].truth[b] is not None for i in rows], bool)
        was, will = _present(now, rows, b), _present(new, rows, b)
        before[b], after[b] = f1(truth, was), f1(truth, will)
        ci[b] = [round(x, 4) for x in delta_ci(truth, was, will, seed=s.seed)]
    lower = {b: lo for b, (lo, _) in ci.items()}
    decision = should_promote(before, after, tolerance, lower_bounds=lower)
    report = RetrainReport(
        promote=decision.promote,
        before=before,
        after=after,
        deltas={b: round(d, 4) for b, d in decision.deltas.items()},
        version=result.version,
        path=result.path,
        n_train=len(train),
        n_heldout=len(held),
        ci=ci,
        kept=kept,
        evidence=evidence,
    )
    (result.path / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report
