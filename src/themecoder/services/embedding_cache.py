"""A disk cache of embeddings by text hash, so training and evaluation embed each text once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached_encode(
    embedder: Any, texts: Sequence[str], cache_dir: Path | None, progress: Any = None
) -> np.ndarray:
    """Embed ``texts`` with ``embedder``, reusing and extending ``cache_dir``'s vectors."""
    if cache_dir is None:
        return embedder.encode(list(texts))
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(embedder.name))[-80:]
    path = Path(cache_dir) / f"embeddings-{slug}.npz"
    store: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as data:
            store = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [_key(t) for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in store}.items())
    if missing:
        step = 1024
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            vectors = embedder.encode([t for _, t in chunk])
            store.update(zip((k for k, _ in chunk), vectors, strict=True))
            if progress:
                progress(min(start + step, len(missing)), len(missing))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(store)), vectors=np.array(list(store.values())))
        tmp.replace(path)
    dim = len(next(iter(store.values()))) if store else 0
    return np.array([store[k] for k in keys], dtype=np.float32).reshape(len(texts), dim)


class CachedEmbedder:
    """Wraps an embedder so repeated texts (training, evaluation) are embedded once."""

    def __init__(self, embedder: Any, cache_dir: Path) -> None:
        self.embedder = embedder
        self.cache_dir = cache_dir
        self.name = embedder.name

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        return cached_encode(self.embedder, texts, self.cache_dir)
