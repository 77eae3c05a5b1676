"""Sentiment on held-out airline tweets: the shipped coder beside the issue's reference points,
measured in one run on the same split.

- VADER alone (compound >= 0.05 positive, <= -0.05 negative).
- A logistic head on frozen MiniLM embeddings trained on the airline *train* split (the
  in-domain reference; evaluation only, never shipped: the data is CC BY-NC-SA).
- The shipped coder, which never saw airline data.

Usage: python eval/sentiment_reference.py [--json eval/results/sentiment_reference.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from themecoder.coder import Coder  # noqa: E402
from themecoder.config import Settings  # noqa: E402
from themecoder.labelled import EXTERNAL  # noqa: E402
from themecoder.pipeline.embed import make_embedder  # noqa: E402
from themecoder.pipeline.sentiment import VaderFeatures  # noqa: E402
from themecoder.services.embedding_cache import CachedEmbedder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, default=Path("eval/results/sentiment_reference.json"))
    args = parser.parse_args()
    s = Settings()
    rows = EXTERNAL["airline"].loader(s.datasets_dir)
    train = [e for e in rows if e.split == "train"]
    test = [e for e in rows if e.split == "test"]
    gold = [e.sentiment for e in test]
    embedder = CachedEmbedder(make_embedder(s), s.cache_dir)

    compound = VaderFeatures().transform([e.text for e in test])[:, 0]
    vader = np.where(
        compound >= 0.05, "positive", np.where(compound <= -0.05, "negative", "neutral")
    )
    head = LogisticRegression(C=1.0, max_iter=3000).fit(
        embedder.encode([e.text for e in train]), [e.sentiment for e in train]
    )
    in_domain = head.predict(embedder.encode([e.text for e in test]))
    coder = Coder.load(s, embedder=embedder)
    shipped = [r.sentiment for r in coder.code([e.text for e in test])]

    figures = {
        "split": f"airline held-out (sha1 % 5 == 0), n={len(test)}; train n={len(train)}",
        "vader": f1_score(gold, vader, average="macro"),
        "logistic_minilm_trained_on_airline": f1_score(gold, in_domain, average="macro"),
        "shipped_coder_never_saw_airline": f1_score(gold, shipped, average="macro"),
        "model_version": coder.version,
    }
    print(f"{'method':<40} macro-F1")
    for key in ("vader", "logistic_minilm_trained_on_airline", "shipped_coder_never_saw_airline"):
        print(f"{key:<40} {figures[key]:.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
