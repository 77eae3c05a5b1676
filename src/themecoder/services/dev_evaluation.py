"""Scores on the real-text dev set, with bootstrap 95% confidence intervals.

Every figure is computed on the same units for each model, and its interval comes from
resampling those units (seeded, so a report is reproducible).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from themecoder.domain import BUCKETS, POLARITIES, SENTIMENTS, ItemResult
from themecoder.labelled import Example

BOOTSTRAP = 1000
SEED = 7


def _matrices(
    examples: Sequence[Example], results: Sequence[ItemResult]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold presence, predicted presence and right-polarity, each ``(n, 6)`` booleans."""
    n, k = len(examples), len(BUCKETS)
    gold, pred, right = (np.zeros((n, k), bool) for _ in range(3))
    for i, (ex, res) in enumerate(zip(examples, results, strict=True)):
        codes = {c.bucket: c.polarity for c in res.buckets}
        for b, bucket in enumerate(BUCKETS):
            g, p = ex.truth.get(bucket), codes.get(bucket)
            gold[i, b], pred[i, b] = g is not None, p is not None
            right[i, b] = g is not None and g == p
    return gold, pred, right


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(b, dtype=float), where=b > 0)


def _ci(samples: np.ndarray) -> list[float]:
    lo, hi = np.percentile(samples, [2.5, 97.5], axis=0)
    return [round(float(lo), 4), round(float(hi), 4)]


def _weights(n: int, n_boot: int) -> np.ndarray:
    """Bootstrap weights over ``n`` units, ``(n_boot + 1, n)``; row 0 is the data itself."""
    weights = np.random.default_rng(SEED).multinomial(n, np.full(n, 1 / n), size=n_boot)
    return np.vstack([np.ones(n, dtype=np.int64), weights]).astype(float)


def _counts(
    examples: Sequence[Example], results: Sequence[ItemResult], weights: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Weighted true positives, false positives, false negatives and found-with-the-right-
    polarity per bucket, each ``(len(weights), 6)``, and the gold presence ``(n, 6)``."""
    gold, pred, right = _matrices(examples, results)
    tp = weights @ (gold & pred)
    fp = weights @ (~gold & pred)
    fn = weights @ (gold & ~pred)
    return tp, fp, fn, weights @ (right & pred), gold, pred


def headline(
    examples: Sequence[Example],
    results: Sequence[ItemResult],
    weights: np.ndarray,
    per_bucket: bool = False,
) -> dict[str, np.ndarray]:
    """Bucket macro-F1, polarity accuracy on found buckets and sentiment macro-F1 for each
    row of ``weights`` (row 0: the data), the figures :func:`dev_scores` headlines; with
    ``per_bucket`` also each bucket's F1 (keys ``f1:<bucket>``)."""
    tp, fp, fn, found_right, _, _ = _counts(examples, results, weights)
    f1 = _f1(tp, fp, fn)
    out = {
        "macro_f1": f1.mean(axis=1),
        "polarity_accuracy": _ratio(found_right.sum(axis=1), tp.sum(axis=1)),
    }
    sentiment = _sentiment_macro(examples, results, weights)
    if sentiment is not None:
        out["sentiment_macro_f1"] = sentiment
    if per_bucket:
        out |= {f"f1:{bucket}": f1[:, b] for b, bucket in enumerate(BUCKETS)}
    return out


def paired_change(
    examples: Sequence[Example],
    before: Sequence[ItemResult],
    after: Sequence[ItemResult],
    n_boot: int = BOOTSTRAP,
    per_bucket: bool = False,
) -> dict[str, dict[str, Any]]:
    """Each :func:`headline` figure for two models' results on the same units, and a
    bootstrap 95% CI of ``after - before`` that resamples the units once for both (paired),
    so the interval reflects the change, not the two models' separate noise."""
    return paired_change_of_means(examples, [before], [after], n_boot, per_bucket)


def paired_change_of_means(
    examples: Sequence[Example],
    befores: Sequence[Sequence[ItemResult]],
    afters: Sequence[Sequence[ItemResult]],
    n_boot: int = BOOTSTRAP,
    per_bucket: bool = False,
) -> dict[str, dict[str, Any]]:
    """:func:`paired_change` of the mean figure of several builds on each side (the same
    data trained with different seeds): a build's seed moves the tune part's figures about as
    much as a data part does, so one build per side compares two draws of that noise."""
    weights = _weights(len(examples), n_boot)

    def mean(side: Sequence[Sequence[ItemResult]]) -> dict[str, np.ndarray]:
        each = [headline(examples, results, weights, per_bucket) for results in side]
        return {key: np.mean([h[key] for h in each], axis=0) for key in each[0]}

    a, b = mean(befores), mean(afters)
    out = {}
    for key in a:
        delta = b[key] - a[key]
        out[key] = {
            "before": round(float(a[key][0]), 4),
            "after": round(float(b[key][0]), 4),
            "change": round(float(delta[0]), 4),
            "change_ci": _ci(delta[1:]),
        }
    return out


def dev_scores(
    examples: Sequence[Example], results: Sequence[ItemResult], n_boot: int = BOOTSTRAP
) -> dict[str, Any]:
    """Per-bucket precision, recall, F1 and polarity accuracy, macro-F1, sentiment
    macro-F1, each with a bootstrap 95% CI over units."""
    n = len(examples)
    weights = _weights(n, n_boot)
    tp, fp, fn, found_right, gold, pred = _counts(examples, results, weights)
    f1, prec, rec = _f1(tp, fp, fn), _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    pol = _ratio(found_right, tp)
    macro = f1.mean(axis=1)
    pol_all = _ratio(found_right.sum(axis=1), tp.sum(axis=1))
    out: dict[str, Any] = {"n": n, "buckets": {}}
    for b, bucket in enumerate(BUCKETS):
        out["buckets"][bucket] = {
            "support": int(gold[:, b].sum()),
            "predicted": int(pred[:, b].sum()),
            "precision": round(float(prec[0, b]), 4),
            "recall": round(float(rec[0, b]), 4),
            "recall_ci": _ci(rec[1:, b]),
            "f1": round(float(f1[0, b]), 4),
            "f1_ci": _ci(f1[1:, b]),
            "polarity_accuracy": round(float(pol[0, b]), 4),
            "polarity_n": int(tp[0, b]),
        }
    out["macro_f1"] = round(float(macro[0]), 4)
    out["macro_f1_ci"] = _ci(macro[1:])
    out["min_recall"] = round(float(rec[0].min()), 4)
    out["polarity_accuracy"] = round(float(pol_all[0]), 4)
    out["polarity_accuracy_ci"] = _ci(pol_all[1:])
    out["sentiment"] = _sentiment(examples, results, weights)
    return out


def _sentiment_macro(
    examples: Sequence[Example], results: Sequence[ItemResult], weights: np.ndarray
) -> np.ndarray | None:
    """Sentiment macro-F1 per row of ``weights`` over the units with a gold sentiment."""
    rows = [
        (SENTIMENTS.index(e.sentiment), SENTIMENTS.index(r.sentiment))
        for e, r in zip(examples, results, strict=True)
        if e.sentiment
    ]
    if not rows:
        return None
    keep = np.array([bool(e.sentiment) for e in examples])
    g, p = (np.array(x) for x in zip(*rows, strict=True))
    w = weights[:, keep]
    per = []
    for c in range(len(SENTIMENTS)):
        tp = w @ ((g == c) & (p == c))
        fp = w @ ((g != c) & (p == c))
        fn = w @ ((g == c) & (p != c))
        per.append(_f1(tp, fp, fn))
    return np.mean(per, axis=0)


def _sentiment(
    examples: Sequence[Example], results: Sequence[ItemResult], weights: np.ndarray
) -> dict[str, Any]:
    macro = _sentiment_macro(examples, results, weights)
    if macro is None:
        return {}
    n = sum(bool(e.sentiment) for e in examples)
    return {"macro_f1": round(float(macro[0]), 4), "macro_f1_ci": _ci(macro[1:]), "n": n}


def by_source(
    examples: Sequence[Example], results: Sequence[ItemResult]
) -> dict[str, dict[str, Any]]:
    """Macro-F1 (over buckets with at least 5 positives there) per dev-set source."""
    out = {}
    for source in sorted({e.source for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.source == source]
        gold, pred, _ = _matrices([examples[i] for i in idx], [results[i] for i in idx])
        tp, fp, fn = ((a & b).sum(0) for a, b in ((gold, pred), (~gold, pred), (gold, ~pred)))
        judged = gold.sum(0) >= 5
        f1 = _f1(tp, fp, fn)
        out[source.removeprefix("dev:")] = {
            "n": len(idx),
            "macro_f1": round(float(f1[judged].mean()), 4) if judged.any() else None,
            "over": [b for b, j in zip(BUCKETS, judged, strict=True) if j],
        }
    return out


def polarity_confusion(
    examples: Sequence[Example], results: Sequence[ItemResult]
) -> dict[str, int]:
    """Counts of gold -> predicted polarity on correctly found buckets."""
    counts: dict[str, int] = {}
    for ex, res in zip(examples, results, strict=True):
        for c in res.buckets:
            g = ex.truth.get(c.bucket)
            if g is not None and g in POLARITIES:
                key = f"{g}->{c.polarity}"
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def evaluate_devset(coders: dict[str, Any], s: Any, progress: Any = None) -> dict[str, Any]:
    """Score each named coder on the dev set: the ``report`` part is the headline, the
    ``tune`` part (used for thresholds and model choice) is shown apart. Also units/s."""
    import time

    from themecoder.devset import load_devset

    labels = s.devset_dir / "labels.jsonl"
    out: dict[str, Any] = {"labels": str(labels), "parts": {}}
    for part in ("report", "tune"):
        examples = load_devset(labels, s.datasets_dir, part=part)
        entry: dict[str, Any] = {"n": len(examples), "models": {}}
        for name, coder in coders.items():
            if progress:
                progress(f"dev set ({part}): {name}", 0, 1)
            start = time.perf_counter()
            results = coder.code([e.text for e in examples])
            seconds = time.perf_counter() - start
            entry["models"][name] = {
                "version": coder.version,
                **dev_scores(examples, results),
                "by_source": by_source(examples, results),
                "polarity_confusion": polarity_confusion(examples, results),
                "texts_per_second": round(len(examples) / seconds, 1),
            }
        out["parts"][part] = entry
    return out
