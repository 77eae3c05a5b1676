"""Quality evaluation on held-out data: buckets, polarity, sentiment, expression, calibration."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from themecoder.config import Settings
from themecoder.devset import load_devset
from themecoder.domain import BUCKETS, EXPRESSIONS, SENTIMENTS, ItemResult
from themecoder.errors import InvalidInput
from themecoder.labelled import EXTERNAL, Example, load_own

EVAL_SOURCES = ("own", *EXTERNAL)
# Airline bucket truth has positives only (negative reasons), so it gives recall, not F1.
RECALL_ONLY = {"airline"}
MIN_POSITIVES = 20


def check_sources(sources: Sequence[str]) -> Sequence[str]:
    """``sources`` if each is one :func:`evaluate` knows, else :class:`InvalidInput`."""
    unknown = sorted(set(sources) - set(EVAL_SOURCES))
    if unknown:
        raise InvalidInput(
            f"unknown source {', '.join(map(repr, unknown))}; known: {', '.join(EVAL_SOURCES)}"
        )
    return sources


def held_out(s: Settings, source: str, limit: int | None = None) -> list[Example]:
    rows = load_own(s.training_dir) if source == "own" else EXTERNAL[source].loader(s.datasets_dir)
    return [e for e in rows if e.split == "test"][:limit]


def _presence(result: ItemResult) -> np.ndarray:
    if not result.units:
        return np.zeros(len(BUCKETS))
    return np.max([u.bucket_proba for u in result.units], axis=0)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "support": tp + fn,
    }


def bucket_scores(examples: Sequence[Example], results: Sequence[ItemResult]) -> dict[str, Any]:
    """Per-bucket P/R/F1 and polarity accuracy over the buckets each example has truth for."""
    out: dict[str, Any] = {}
    for bucket in BUCKETS:
        tp = fp = fn = pol_ok = pol_n = 0
        for ex, res in zip(examples, results, strict=True):
            if bucket not in ex.truth:
                continue
            gold = ex.truth[bucket]
            pred = {c.bucket: c.polarity for c in res.buckets}.get(bucket)
            tp += gold is not None and pred is not None
            fp += gold is None and pred is not None
            fn += gold is not None and pred is None
            if gold is not None and pred is not None:
                pol_n += 1
                pol_ok += gold == pred
        if tp + fp + fn:
            out[bucket] = {
                **_prf(tp, fp, fn),
                "polarity_accuracy": round(pol_ok / pol_n, 4) if pol_n else None,
                "polarity_n": pol_n,
            }
    return out


def calibration_error(
    examples: Sequence[Example], results: Sequence[ItemResult], bins: int = 10
) -> float:
    """Expected calibration error of bucket presence confidences (equal-width bins)."""
    conf, hit = [], []
    for ex, res in zip(examples, results, strict=True):
        p = _presence(res)
        for b, bucket in enumerate(BUCKETS):
            if bucket in ex.truth:
                conf.append(p[b])
                hit.append(ex.truth[bucket] is not None)
    c, h = np.array(conf), np.array(hit, dtype=float)
    if not len(c):
        return float("nan")
    idx = np.minimum((c * bins).astype(int), bins - 1)
    ece = sum(
        abs(h[idx == k].mean() - c[idx == k].mean()) * (idx == k).mean()
        for k in range(bins)
        if (idx == k).any()
    )
    return round(float(ece), 4)


def _macro_f1(gold: list[str], pred: list[str], labels: Sequence[str]) -> dict[str, Any]:
    per = f1_score(gold, pred, labels=list(labels), average=None, zero_division=0)
    return {
        "macro_f1": round(float(np.mean(per)), 4),
        "n": len(gold),
        "per_class": {k: round(float(v), 4) for k, v in zip(labels, per, strict=True)},
    }


def _pooled(examples: list[Example], results: list[ItemResult]) -> dict[str, Any]:
    scores = bucket_scores(examples, results)
    judged = {b: v for b, v in scores.items() if v["support"] >= MIN_POSITIVES}
    return {
        "buckets": scores,
        "macro_f1": round(float(np.mean([v["f1"] for v in judged.values()])), 4)
        if judged
        else None,
        "macro_over": sorted(judged),
        "calibration_error": calibration_error(examples, results),
    }


def evaluate(
    coder: Any,
    s: Settings,
    sources: Sequence[str] = EVAL_SOURCES,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Code each source's held-out split and score it. Returns a JSON-ready report."""
    report: dict[str, Any] = {"model_version": coder.version, "sources": {}}
    pooled_ex: list[Example] = []
    pooled_res: list[ItemResult] = []
    # Every source is read before any is coded: a missing dataset fails in seconds, not
    # after the sources before it were coded.
    held = {source: held_out(s, source, limit) for source in check_sources(sources)}
    for n, source in enumerate(sources):
        if progress:
            progress(source, n, len(sources))
        examples = held[source]
        results = coder.code([e.text for e in examples])
        entry: dict[str, Any] = {"n": len(examples), "buckets": bucket_scores(examples, results)}
        if source in RECALL_ONLY:
            entry["buckets"] = {
                b: {"recall": v["recall"], "support": v["support"]}
                for b, v in entry["buckets"].items()
            }
        else:
            entry["calibration_error"] = calibration_error(examples, results)
        if source != "own" and source not in RECALL_ONLY:
            pooled_ex += examples
            pooled_res += results
        for field, labels in (("sentiment", SENTIMENTS), ("expression", EXPRESSIONS)):
            pairs = [
                (getattr(e, field), getattr(r, field))
                for e, r in zip(examples, results, strict=True)
                if getattr(e, field)
            ]
            if pairs:
                entry[field] = _macro_f1(*map(list, zip(*pairs, strict=True)), labels)
        report["sources"][source] = entry
    report["real_text"] = _pooled(pooled_ex, pooled_res)
    # BANKING77's train split is in the shipped training data: the pool without it shows
    # how the coder does on domains it never saw.
    unseen = [(e, r) for e, r in zip(pooled_ex, pooled_res, strict=True) if e.source != "banking77"]
    report["real_text_unseen"] = _pooled(*map(list, zip(*unseen, strict=True))) if unseen else {}
    own = report["sources"].get("own", {}).get("buckets", {})
    if own:
        report["own_macro_f1"] = round(float(np.mean([v["f1"] for v in own.values()])), 4)
    return report


def frozen_baseline(s: Settings, progress: Callable[[str, int, int], None] | None = None) -> Path:
    """The reference model: the same training data and calibration, encoder not fine-tuned.
    Built once per training data, dev labels, encoder, seed and presence blend, under
    ``s.cache_dir``."""
    import hashlib

    from themecoder.services.training import train_coder

    digest = hashlib.sha256()
    recipe = (s.embedding_model, s.seed, s.knn_presence_k, s.knn_presence_weight)
    digest.update(repr(recipe).encode())
    for path in sorted(s.training_dir.glob("*.jsonl")) + [s.devset_dir / "labels.jsonl"]:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    out = Path(s.cache_dir) / f"baseline-frozen-{digest.hexdigest()[:12]}"
    if not (out / "config.json").is_file():
        frozen = s.model_copy(update={"finetune_encoder": False})
        train_coder(frozen, out, progress=progress, version_suffix="-frozen")
    return out


def run_evaluation(
    s: Settings,
    model_dir: Path,
    sources: Sequence[str] | None = None,
    limit: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], Path]:
    """`themecoder eval`: the held-out sets and, for a full run, the real-text dev set with
    the frozen-encoder baseline beside the model. Writes the report (a full run also the
    model card) and returns it with its path."""
    from themecoder.artifact import load_artifact
    from themecoder.coder import Coder
    from themecoder.pipeline.embed import make_embedder
    from themecoder.services.dev_evaluation import evaluate_devset
    from themecoder.services.embedding_cache import CachedEmbedder
    from themecoder.services.reports import write_card, write_report

    if limit is not None and limit < 1:
        raise InvalidInput(f"limit must be 1 or more, got {limit}")
    check_sources(sources or ())
    s = s.model_copy(update={"model_dir": Path(model_dir)})
    full = not sources and limit is None
    if full and (s.devset_dir / "labels.jsonl").is_file():
        load_devset(s.devset_dir / "labels.jsonl", s.datasets_dir)  # its texts are all there
    embedder = CachedEmbedder(make_embedder(s, load_artifact(s.model_dir)), s.cache_dir)
    coder = Coder.load(s, embedder=embedder)
    report = evaluate(coder, s, sources or EVAL_SOURCES, limit, progress=progress)
    if full and (s.devset_dir / "labels.jsonl").is_file():
        coders = {"shipped": Coder.load(s)}  # no cache: texts/s is measured
        if load_artifact(s.model_dir).config.get("encoder_adapter"):
            base = frozen_baseline(s, progress)
            coders["frozen"] = Coder.load(s.model_copy(update={"model_dir": base}))
        report["devset"] = evaluate_devset(coders, s, progress)
    # Only a full evaluation replaces the published results and the model card.
    path = write_report(report, s.results_dir, "eval" if full else "eval-partial")
    if full:
        write_card(s.model_dir, report)
    return report, path
