"""Topic quality of the themes stage on BBC News (OCTIS), beside the BERTopic paper's rows,
and on real customer text: app reviews and airline tweets.

For nr_topics 10, 20, 30, 40, 50 and 3 seeds, fits :class:`BERTopicThemes` (UMAP + HDBSCAN +
c-TF-IDF, then KeyBERT-style + MMR keyphrases; outliers reduced as shipped) on the OCTIS
preprocessed corpus, embedded with the coder's encoder (`--encoder`), and scores the top 10 words
of every theme exactly as OCTIS does in the paper's evaluation repository:

* NPMI: ``Coherence(texts=corpus, topk=10, measure="c_npmi")``, i.e. gensim
  ``CoherenceModel(topics, texts, dictionary=Dictionary(texts), coherence="c_npmi", topn=10)``
  (boolean sliding window of 10 tokens) over all 2,225 documents;
* diversity: ``TopicDiversity(topk=10)``, unique words / (10 x number of topics).

Two word lists are scored per fit: the c-TF-IDF top 10 (what the paper scored) and the
refined keywords themes show. The target is NPMI >= 0.167 with diversity >= 0.79.

Customer text (``--customer``, on by default): app reviews (Maalej et al. 2016) and airline
tweets (Twitter US Airline Sentiment), train rows only (``sha1(text.strip()) % 5 != 0``; the
sets have no official split), at most ``--max-docs`` of them (those with the smallest sha1, so
the sample is fixed). Each is fitted as discovery runs in the service (unit filter: small
talk left out and short units not clustered; adaptive smallest theme; ``nr_topics`` None)
and, as the baseline in the same run, without the filter (every row clustered). Both word
lists of both fits are scored against the same reference corpus (every sampled row,
tokenised by the themes' vectorizer: lower case, English stop words out), unigrams only so
that every keyword can be scored.

Example:
    python eval/topic_quality.py --json eval/results/topic_quality.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "bbc_news_octis"
TOPICS = (10, 20, 30, 40, 50)
SEEDS = (0, 1, 2)
TOPK = 10
TARGET = {"npmi": 0.167, "diversity": 0.79}
SHARED = ROOT.parent / "shared" / "datasets"
#: name -> (CSV file, text column)
CUSTOMER = {
    "app_reviews": (SHARED / "app_reviews_maalej2016" / "reviews.csv", "text"),
    "airline_tweets": (SHARED / "twitter_airline_sentiment" / "tweets.csv", "text"),
}


def npmi(topics: list[list[str]], texts: list[list[str]]) -> float:
    """OCTIS ``Coherence(texts, topk=10, measure="c_npmi")``."""
    from gensim.corpora.dictionary import Dictionary
    from gensim.models import CoherenceModel

    model = CoherenceModel(
        topics=topics,
        texts=texts,
        dictionary=Dictionary(texts),
        coherence="c_npmi",
        processes=1,
        topn=TOPK,
    )
    return float(model.get_coherence())


def diversity(topics: list[list[str]]) -> float:
    """OCTIS ``TopicDiversity(topk=10)``."""
    unique = set().union(*(set(t[:TOPK]) for t in topics))
    return len(unique) / (TOPK * len(topics))


def in_corpus(topics: list[list[str]], vocab: set[str], fallback: str) -> list[list[str]]:
    """The paper's guard: a word missing from the corpus becomes the corpus's first word."""
    return [[w if w in vocab else fallback for w in t[:TOPK]] for t in topics]


def run(
    data: Path, topics: tuple[int, ...], seeds: tuple[int, ...], encoder: str = "shipped"
) -> dict[str, Any]:
    from themecoder.artifact import load_artifact
    from themecoder.config import get_settings
    from themecoder.pipeline.embed import make_embedder
    from themecoder.pipeline.themes import BERTopicThemes, ThemeParams
    from themecoder.services.embedding_cache import CachedEmbedder

    with (data / "corpus.csv").open(encoding="utf-8", newline="") as fh:
        docs = [row["text"] for row in csv.DictReader(fh)]
    texts = [d.split() for d in docs]
    vocab = {w for t in texts for w in t}
    s = get_settings()
    embedder = make_embedder(s, load_artifact(s.model_dir), base=encoder == "base")
    start = time.perf_counter()
    # A cache of its own, so this script never rewrites the training cache under another job.
    X = CachedEmbedder(embedder, s.cache_dir / "bbc_news_octis").encode(docs)
    print(f"embedded {len(docs)} documents in {time.perf_counter() - start:.0f}s", flush=True)
    runs = []
    for k in topics:
        for seed in seeds:
            # The corpus is already lowercased, lemmatised and stop-word filtered: unigrams,
            # no stop list, as in the paper; everything else is the shipped default.
            params = ThemeParams(nr_topics=k, ngram_range=(1, 1), stop_words=None)
            start = time.perf_counter()
            model = BERTopicThemes(embedder, params, random_state=seed).fit(docs, X)
            seconds = time.perf_counter() - start
            row: dict[str, Any] = {"nr_topics": k, "seed": seed, "found": len(model.themes_)}
            row["unassigned"] = float((model.labels_ < 0).mean())
            for name, attr in (("ctfidf", "ctfidf_words"), ("keywords", "keywords")):
                words = in_corpus([getattr(t, attr) for t in model.themes_], vocab, texts[0][0])
                row[f"{name}_npmi"] = npmi(words, texts)
                row[f"{name}_diversity"] = diversity(words)
            row["seconds"] = round(seconds, 1)
            runs.append(row)
            print(json.dumps(row), flush=True)
    return {"runs": runs, "summary": summarise(runs, topics)}


def summarise(runs: list[dict[str, Any]], topics: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("ctfidf", "keywords"):
        rows = {}
        for k in topics:
            mine = [r for r in runs if r["nr_topics"] == k]
            rows[str(k)] = {
                m: statistics.mean(r[f"{name}_{m}"] for r in mine) for m in ("npmi", "diversity")
            }
        rows["mean"] = {
            m: statistics.mean(r[f"{name}_{m}"] for r in runs) for m in ("npmi", "diversity")
        }
        out[name] = rows
    return out


def reference(data: Path) -> tuple[list[dict[str, str]], dict[tuple[str, str], list[float]]]:
    """The paper's BBC News means, and its per-nr_topics runs per model."""
    with (data / "bertopic_paper_reference_scores.csv").open(encoding="utf-8") as fh:
        means = [r for r in csv.DictReader(fh) if r["dataset"] == "BBC News"]
    per_k: dict[tuple[str, str], list[float]] = {}
    with (data / "bertopic_paper_runs.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["dataset"] == "BBC News":
                key = (r["model"], r["nr_topics"])
                per_k.setdefault(key, []).append(float(r["npmi"]))
                per_k.setdefault((r["model"] + ":div", r["nr_topics"]), []).append(
                    float(r["diversity"])
                )
    return means, per_k


def report(result: dict[str, Any], data: Path, topics: tuple[int, ...]) -> str:
    means, per_k = reference(data)
    summary = result["summary"]
    lines = ["BBC News (OCTIS), top-10 words, mean over seeds", ""]
    head = f"{'model':<34}" + "".join(f"{k:>12}" for k in topics) + f"{'mean':>14}"
    lines += [head + "   (NPMI / diversity)", "-" * len(head)]
    for name, title in (
        ("ctfidf", "themecoder c-TF-IDF"),
        ("keywords", "themecoder keywords"),
    ):
        cells = [
            f"{summary[name][str(k)]['npmi']:.3f}/{summary[name][str(k)]['diversity']:.2f}"
            for k in topics
        ]
        total = summary[name]["mean"]
        lines.append(
            f"{title:<34}"
            + "".join(f"{c:>12}" for c in cells)
            + f"{total['npmi']:>8.3f}/{total['diversity']:.2f}"
        )
    for model in ("bertopic", "bertopic_mini"):
        cells = []
        for k in topics:
            n, d = per_k.get((model, str(k)), []), per_k.get((model + ":div", str(k)), [])
            cells.append(f"{statistics.mean(n):.3f}/{statistics.mean(d):.2f}" if n else "-")
        paper = next(r for r in means if r["model"] == model)
        lines.append(
            f"{'paper ' + model:<34}"
            + "".join(f"{c:>12}" for c in cells)
            + f"{float(paper['npmi_mean']):>8.3f}/{float(paper['diversity_mean']):.2f}"
        )
    lines += ["", "paper means (15 runs each):"]
    lines += [
        f"  {r['model']:<16} NPMI {r['npmi_mean']:>6}  diversity {r['diversity_mean']}"
        for r in means
    ]
    for name in ("ctfidf", "keywords"):
        total = summary[name]["mean"]
        ok = total["npmi"] >= TARGET["npmi"] and total["diversity"] >= TARGET["diversity"]
        lines.append(
            f"target NPMI >= {TARGET['npmi']} with diversity >= {TARGET['diversity']} "
            f"({name}): {'met' if ok else 'NOT met'}"
        )
    return "\n".join(lines)


def train_rows(path: Path, column: str, limit: int) -> list[str]:
    """Distinct train texts (``sha1 % 5 != 0``), the ``limit`` with the smallest sha1."""
    import hashlib

    with path.open(encoding="utf-8", newline="") as fh:
        texts = {row[column].strip() for row in csv.DictReader(fh) if row[column].strip()}
    keyed = sorted((hashlib.sha1(t.encode("utf-8")).hexdigest(), t) for t in texts)
    return [t for h, t in keyed if int(h, 16) % 5 != 0][:limit]


def run_customer(name: str, limit: int, seeds: tuple[int, ...], encoder: str) -> dict[str, Any]:
    """Shipped discovery (unit filter) and the unfiltered baseline on one customer set."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    from themecoder.artifact import load_artifact
    from themecoder.config import get_settings
    from themecoder.pipeline.embed import make_embedder
    from themecoder.pipeline.theme_units import Use, unit_uses
    from themecoder.pipeline.themes import BERTopicThemes, ThemeParams
    from themecoder.services.embedding_cache import CachedEmbedder

    path, column = CUSTOMER[name]
    docs = train_rows(path, column, limit)
    analyse = CountVectorizer(stop_words="english").build_analyzer()
    texts = [analyse(d) for d in docs]
    vocab = {w for t in texts for w in t}
    fallback = next(w for t in texts for w in t)
    s = get_settings()
    embedder = make_embedder(s, load_artifact(s.model_dir), base=encoder == "base")
    X = np.asarray(CachedEmbedder(embedder, s.cache_dir / f"topics_{name}").encode(docs))
    fit = np.flatnonzero(unit_uses(docs) == Use.FIT)
    print(f"{name}: {len(docs)} train rows, {len(fit)} clustered by the unit filter", flush=True)
    runs = []
    for variant, rows in (("baseline", np.arange(len(docs))), ("shipped", fit)):
        for seed in seeds:
            params = ThemeParams(ngram_range=(1, 1))
            start = time.perf_counter()
            model = BERTopicThemes(embedder, params, random_state=seed)
            model.fit([docs[i] for i in rows], X[rows])
            row: dict[str, Any] = {
                "dataset": name,
                "variant": variant,
                "seed": seed,
                "docs": len(rows),
                "found": len(model.themes_),
                "unassigned": float((model.labels_ < 0).mean()),
                "seconds": round(time.perf_counter() - start, 1),
            }
            for kind, attr in (("ctfidf", "ctfidf_words"), ("keywords", "keywords")):
                words = in_corpus([getattr(t, attr) for t in model.themes_], vocab, fallback)
                row[f"{kind}_npmi"] = npmi(words, texts) if words else float("nan")
                row[f"{kind}_diversity"] = diversity(words) if words else float("nan")
            runs.append(row)
            print(json.dumps(row), flush=True)
    return {"docs": len(docs), "clustered": len(fit), "runs": runs}


def customer_report(results: dict[str, Any]) -> str:
    lines = ["", "Customer text, top-10 words, mean over seeds (NPMI / diversity, themes found)"]
    head = f"{'dataset':<16}{'variant':<10}{'rows':>6}{'themes':>8}{'c-TF-IDF':>16}{'keywords':>16}"
    lines += [head, "-" * len(head)]
    for name, result in results.items():
        for variant in ("baseline", "shipped"):
            mine = [r for r in result["runs"] if r["variant"] == variant]
            cells = [
                f"{statistics.mean(r[f'{k}_npmi'] for r in mine):.3f}/"
                f"{statistics.mean(r[f'{k}_diversity'] for r in mine):.2f}"
                for k in ("ctfidf", "keywords")
            ]
            found = statistics.mean(r["found"] for r in mine)
            lines.append(
                f"{name:<16}{variant:<10}{mine[0]['docs']:>6}{found:>8.1f}"
                + "".join(f"{c:>16}" for c in cells)
            )
    lines.append("baseline: every row clustered; shipped: the unit filter of discovery")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--topics", type=int, nargs="+", default=list(TOPICS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument(
        "--json", type=Path, default=ROOT / "eval" / "results" / "topic_quality.json"
    )
    parser.add_argument(
        "--encoder",
        choices=["shipped", "base"],
        default="shipped",
        help="The coder's encoder (stored unit embeddings, which themes use) or the base one.",
    )
    parser.add_argument(
        "--customer",
        nargs="*",
        choices=sorted(CUSTOMER),
        default=sorted(CUSTOMER),
        help="Customer datasets to score beside BBC News (none: BBC News only).",
    )
    parser.add_argument("--max-docs", type=int, default=3000, help="Rows per customer set.")
    parser.add_argument(
        "--customer-seeds", type=int, nargs="+", default=[0], help="Seeds per customer fit."
    )
    args = parser.parse_args()
    topics, seeds = tuple(args.topics), tuple(args.seeds)
    result = run(args.data, topics, seeds, args.encoder)
    result["encoder"] = args.encoder
    text = report(result, args.data, topics)
    customer = {
        name: run_customer(name, args.max_docs, tuple(args.customer_seeds), args.encoder)
        for name in args.customer
    }
    if customer:
        result["customer"] = customer
        text += "\n" + customer_report(customer)
    print(text)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    result.update({"report": text, "target": TARGET, "topk": TOPK, "seeds": list(seeds)})
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"saved {args.json}")


if __name__ == "__main__":
    main()
