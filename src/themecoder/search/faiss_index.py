"""An approximate inner-product index (FAISS HNSW) over unit ids, saved as the FAISS file plus
a JSON sidecar saying what it covers.

HNSW needs no training, so units are added as they arrive; it cannot drop vectors, so a
database that lost units (or changed embedding size) is answered by rebuilding. The sidecar's
``count`` and ``max_id`` are what the caller compares with the database to tell which.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from themecoder.errors import InvalidInput
from themecoder.search.exact import normalise


@dataclass(frozen=True)
class IndexState:
    """What an index holds: vector size, how many vectors, and the largest unit id."""

    dim: int
    count: int
    max_id: int


class FaissIndex:
    """HNSW (inner product on normalised vectors, i.e. cosine) keyed by unit id.

    Args:
        dim: Embedding size.
        m: HNSW links per node.
        ef_construction: Candidate list size while adding.
        ef_search: Candidate list size while searching (raised to ``k`` when smaller).
    """

    def __init__(
        self, dim: int, *, m: int = 32, ef_construction: int = 80, ef_search: int = 128
    ) -> None:
        import faiss  # a compiled extension: loaded on first use, not at import

        self.dim = dim
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        hnsw = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        self.index_ = faiss.IndexIDMap2(hnsw)
        self.max_id_ = -1

    @property
    def state(self) -> IndexState:
        return IndexState(self.dim, int(self.index_.ntotal), int(self.max_id_))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> FaissIndex:
        """Add vectors under their unit ids (which must be new and larger than any held)."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return self
        if vectors.shape != (len(ids), self.dim):
            raise InvalidInput(f"vectors of shape {vectors.shape}, index holds dim {self.dim}")
        if int(ids.min()) <= self.max_id_:
            raise InvalidInput("ids must be larger than every id the index holds")
        self.index_.add_with_ids(normalise(vectors), ids)
        self.max_id_ = int(ids.max())
        return self

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest ids to ``query`` (cosine), best first, only among ``allowed`` ids
        when given. Returns ``(ids, scores)``."""
        import faiss

        if self.index_.ntotal == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        ef = max(self.ef_search, k)
        if allowed is not None and len(allowed):
            # the graph walk skips ids the filter refuses, so a filter keeping a share p of
            # the units needs about k/p candidates to find k of them
            ef = max(ef, min(self.index_.ntotal, -(-k * self.index_.ntotal // len(allowed))))
        params = faiss.SearchParametersHNSW(efSearch=ef)
        # a local name keeps the selector alive through the call: FAISS holds a raw pointer
        selector = None if allowed is None else faiss.IDSelectorBatch(np.asarray(allowed, np.int64))
        if selector is not None:
            params.sel = selector
        n = min(k, self.index_.ntotal)
        scores, ids = self.index_.search(normalise(query), n, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def save(self, path: Path) -> None:
        """Write ``path`` (the FAISS index) and ``path.json`` (state and parameters), each
        through a temporary file so a reader never sees half an index."""
        import faiss

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        faiss.write_index(self.index_, str(tmp))
        meta = {
            **asdict(self.state),
            "m": self.m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "faiss": faiss.__version__,
        }
        side = _sidecar(path)
        tmp_side = side.with_name(side.name + f".{os.getpid()}.tmp")
        tmp_side.write_text(json.dumps(meta, indent=1), encoding="utf-8")
        tmp.replace(path)
        tmp_side.replace(side)

    @classmethod
    def load(cls, path: Path) -> FaissIndex | None:
        """The index saved at ``path``; ``None`` when it is missing or its two files disagree."""
        import faiss

        side = _sidecar(path)
        if not path.is_file() or not side.is_file():
            return None
        meta = json.loads(side.read_text(encoding="utf-8"))
        made = cls(
            int(meta["dim"]),
            m=int(meta["m"]),
            ef_construction=int(meta["ef_construction"]),
            ef_search=int(meta["ef_search"]),
        )
        made.index_ = faiss.read_index(str(path))
        made.max_id_ = int(meta["max_id"])
        if made.index_.ntotal != int(meta["count"]) or made.index_.d != made.dim:
            return None
        return made


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")
