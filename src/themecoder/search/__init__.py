"""Nearest-neighbour search over unit embeddings: exact (NumPy) and approximate (FAISS HNSW).

Pure array code: no database, no models. ``services.search`` feeds it the stored embeddings.
"""

from themecoder.search.exact import exact_top_k, normalise
from themecoder.search.faiss_index import FaissIndex, IndexState

__all__ = ["FaissIndex", "IndexState", "exact_top_k", "normalise"]
