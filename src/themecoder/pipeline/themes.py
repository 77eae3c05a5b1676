"""Theme discovery: UMAP -> HDBSCAN -> c-TF-IDF -> KeyBERT-style + MMR keyphrases.

The stage works on stored embeddings and never embeds units itself; the embedder is only used
to embed candidate keyphrases and a few representative texts for the representation step.
BERTopic, UMAP and HDBSCAN are imported when a model is fitted, never at import time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from themecoder.errors import InvalidInput, NotFitted

#: Fewer units than this never get themes: clusters of a handful of units are anecdotes.
MIN_UNITS = 20


class TooFewUnits(InvalidInput):
    """There are fewer units than theme discovery needs."""

    code = "too_few_units"


@dataclass(frozen=True)
class ThemeParams:
    """Hyperparameters of discovery and assignment; the defaults suit short feedback units."""

    min_topic_size: int = 10  # smallest theme (HDBSCAN min_cluster_size)
    min_samples: int | None = None  # HDBSCAN min_samples (None: min_topic_size)
    n_neighbors: int = 15  # UMAP neighbourhood
    n_components: int = 5  # UMAP output dimensions
    nr_topics: int | None = None  # reduce to this many themes (BERTopic); None keeps all
    top_n_words: int = 10  # keywords kept per theme
    ngram_range: tuple[int, int] = (1, 2)  # word n-grams of the c-TF-IDF vocabulary
    stop_words: str | None = "english"
    representation: str = "keybert_mmr"  # KeyBERT-style then MMR, or "ctfidf"
    n_candidates: int = 15  # top c-TF-IDF terms per theme that KeyBERT picks from
    diversity: float = 0.3  # MMR diversity, 0 (none) to 1
    keywords_from: str = "core"  # "core": HDBSCAN members only; "all": after outlier reduction
    outlier_threshold: float = 0.35  # an outlier this close (cosine) to a theme joins it
    assign_threshold: float = 0.35  # a new unit this close to a theme joins it
    multi_threshold: float = 0.5  # a further theme (rank 2..k) needs this similarity
    max_themes: int = 3  # themes per unit (k)
    n_quotes: int = 3  # representative quotes per theme
    adaptive: bool = True  # shrink min_topic_size and n_neighbors for small studies
    min_fit_words: int = 3  # content words a unit needs to be clustered (theme_units)
    min_fit_share: float = 0.25  # ... and their share of its words

    @property
    def min_units(self) -> int:
        """Fewest units discovery accepts: two themes' worth, a UMAP neighbourhood, and
        :data:`MIN_UNITS` however small the themes may be."""
        return max(2 * self.min_topic_size, self.n_neighbors + 1, MIN_UNITS)

    def for_units(self, n: int) -> ThemeParams:
        """The parameters for fitting ``n`` units.

        With ``adaptive`` (the default) the smallest theme is ``n // 15`` units, at least 3
        and at most ``min_topic_size``, and the UMAP neighbourhood ``n // 3``, at least 5 and
        at most ``n_neighbors``: 45 units give themes of 3+ units over 15 neighbours, 90 give
        6+, and from 150 units on the configured values (10 and 15) apply. Without it the
        parameters are used as given.
        """
        if not self.adaptive:
            return self
        return replace(
            self,
            min_topic_size=min(self.min_topic_size, max(3, n // 15)),
            n_neighbors=min(self.n_neighbors, max(5, n // 3)),
        )


@dataclass
class DiscoveredTheme:
    """One fitted theme; ``members`` index the fitted units whose first theme it is."""

    label: str
    keywords: list[str]
    ctfidf_words: list[str]
    quotes: list[int]
    centroid: np.ndarray
    members: np.ndarray = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.members)


@runtime_checkable
class ThemeModel(Protocol):
    """Fits themes on texts with their precomputed embeddings.

    After ``fit``: ``themes_`` (a list of :class:`DiscoveredTheme`), ``labels_`` (each unit's
    theme index, -1 for unassigned) and ``raw_labels_`` (before outlier reduction).
    """

    def fit(self, texts: Sequence[str], embeddings: np.ndarray) -> Self: ...


class NullThemeModel:
    """Finds no themes: every unit stays unassigned."""

    def fit(self, texts: Sequence[str], embeddings: np.ndarray) -> NullThemeModel:
        self.themes_: list[DiscoveredTheme] = []
        self.labels_ = np.full(len(texts), -1, dtype=np.int64)
        self.raw_labels_ = self.labels_.copy()
        return self


class BERTopicThemes:
    """BERTopic with a fixed UMAP seed, HDBSCAN, c-TF-IDF and a refined representation.

    Args:
        embedder: An object with ``encode(texts) -> L2-normalised vectors`` (the coder's
            embedder); it embeds keyphrase candidates, never the units.
        params: Hyperparameters; see :class:`ThemeParams`.
        random_state: Seed of UMAP (and so of the whole fit).
    """

    def __init__(
        self, embedder: Any = None, params: ThemeParams | None = None, random_state: int = 13
    ) -> None:
        self.embedder = embedder
        self.params = params
        self.random_state = random_state

    def fit(self, texts: Sequence[str], embeddings: np.ndarray) -> BERTopicThemes:
        """Discover themes in ``texts`` using their ``embeddings`` (one row per text).

        Raises:
            TooFewUnits: Fewer texts than :attr:`ThemeParams.min_units`.
        """
        texts = [t or "" for t in texts]
        p = (self.params or ThemeParams()).for_units(len(texts))
        X = np.asarray(embeddings, dtype=np.float32)
        if len(texts) != len(X):
            raise InvalidInput(f"{len(texts)} texts but {len(X)} embeddings")
        if len(texts) < p.min_units:
            raise TooFewUnits(
                f"theme discovery needs at least {p.min_units} units (min_topic_size "
                f"{p.min_topic_size}, {p.n_neighbors} UMAP neighbours); got {len(texts)}",
                n_units=len(texts),
                needed=p.min_units,
            )
        model = self._bertopic(p, texts, X)
        raw = np.asarray(model.fit_transform(texts, X)[0], dtype=np.int64)
        labels = raw
        if (raw >= 0).any() and (raw < 0).any():
            labels = np.asarray(
                model.reduce_outliers(
                    texts, raw, strategy="embeddings", embeddings=X, threshold=p.outlier_threshold
                ),
                dtype=np.int64,
            )
        if (labels >= 0).any():
            # Keyphrases are computed once, here, from the clusters' core members or from the
            # final assignment. Setting topics_ (not passing topics=) keeps the topic vectors.
            model.topics_ = (raw if p.keywords_from == "core" else labels).tolist()
            model.update_topics(
                texts,
                top_n_words=p.top_n_words,
                vectorizer_model=self._vectorizer(p),
                ctfidf_model=_ctfidf(),
                representation_model=self._representation(p),
            )
        self.raw_labels_ = raw
        self.labels_ = labels
        self.themes_ = self._themes(model, p, X, labels)
        self.model_ = model
        return self

    def _bertopic(self, p: ThemeParams, texts: list[str], X: np.ndarray) -> Any:
        from bertopic import BERTopic
        from hdbscan import HDBSCAN
        from umap import UMAP

        umap = UMAP(
            n_neighbors=p.n_neighbors,
            n_components=p.n_components,
            min_dist=0.0,
            metric="cosine",
            random_state=self.random_state,
            n_jobs=1,  # a fixed seed needs one thread; saying so avoids UMAP's warning
        )
        hdbscan = HDBSCAN(
            min_cluster_size=p.min_topic_size,
            min_samples=p.min_samples,
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=False,
        )
        return BERTopic(
            embedding_model=_as_bertopic_backend(self.embedder, texts, X),
            umap_model=umap,
            hdbscan_model=hdbscan,
            vectorizer_model=self._vectorizer(p),
            ctfidf_model=_ctfidf(),
            top_n_words=p.top_n_words,
            nr_topics=p.nr_topics,
            calculate_probabilities=False,
        )

    @staticmethod
    def _vectorizer(p: ThemeParams) -> Any:
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(stop_words=p.stop_words, ngram_range=p.ngram_range)

    def _representation(self, p: ThemeParams) -> Any:
        if p.representation == "ctfidf" or self.embedder is None:
            return None
        if p.representation != "keybert_mmr":
            raise InvalidInput(f"unknown representation {p.representation!r}")
        from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

        # KeyBERT picks the keywords among the top c-TF-IDF terms; MMR orders them so that
        # the first few (the label) say different things.
        return [
            KeyBERTInspired(
                top_n_words=p.top_n_words,
                nr_candidate_words=p.n_candidates,
                random_state=self.random_state,
            ),
            MaximalMarginalRelevance(diversity=p.diversity, top_n_words=p.top_n_words),
        ]

    def _themes(
        self, model: Any, p: ThemeParams, X: np.ndarray, labels: np.ndarray
    ) -> list[DiscoveredTheme]:
        vocab = model.vectorizer_model.get_feature_names_out()
        offset = 1 if -1 in model.topic_representations_ else 0
        themes = []
        for topic in range(int(labels.max()) + 1):
            members = np.flatnonzero(labels == topic)
            words = [w for w, _ in model.get_topic(topic) or [] if w][: p.top_n_words]
            row = np.asarray(model.c_tf_idf_[topic + offset].todense()).ravel()
            top = np.argsort(-row, kind="stable")[: p.top_n_words]
            centroid = normalise(X[members].mean(axis=0))
            themes.append(
                DiscoveredTheme(
                    label=label_from_keywords(words),
                    keywords=words,
                    ctfidf_words=[str(vocab[i]) for i in top if row[i] > 0],
                    quotes=representative(X, members, centroid, p.n_quotes),
                    centroid=centroid,
                    members=members,
                )
            )
        return themes

    def assign(self, embeddings: np.ndarray) -> list[list[tuple[int, float]]]:
        """Themes of new units without refitting: see :func:`assign_to_centroids`."""
        if not hasattr(self, "themes_"):
            raise NotFitted("BERTopicThemes.assign called before fit")
        p = self.params or ThemeParams()
        centroids = np.array([t.centroid for t in self.themes_]).reshape(len(self.themes_), -1)
        return assign_to_centroids(embeddings, centroids, p)


def assign_to_centroids(
    embeddings: np.ndarray,
    centroids: np.ndarray,
    params: ThemeParams,
    first: np.ndarray | None = None,
) -> list[list[tuple[int, float]]]:
    """Up to ``max_themes`` themes per unit, as ``(theme index, cosine)`` best first.

    The first theme is ``first[i]`` when given and >= 0 (the fitted theme), else the nearest
    centroid if its similarity reaches ``assign_threshold``; further themes need
    ``multi_threshold``. A unit with no theme gets an empty list (the unassigned pool).
    """
    X = np.asarray(embeddings, dtype=np.float32)
    if len(centroids) == 0 or len(X) == 0:
        return [[] for _ in range(len(X))]
    sims = normalise(X) @ normalise(centroids).T
    out = []
    for i, row in enumerate(sims):
        order = np.argsort(-row, kind="stable")
        top = int(first[i]) if first is not None and first[i] >= 0 else int(order[0])
        if (first is None or first[i] < 0) and row[top] < params.assign_threshold:
            out.append([])
            continue
        picks = [(top, float(row[top]))]
        for j in order:
            if len(picks) >= params.max_themes or row[j] < params.multi_threshold:
                break
            if j != top:
                picks.append((int(j), float(row[j])))
        out.append(picks)
    return out


def representative(X: np.ndarray, members: np.ndarray, centroid: np.ndarray, n: int) -> list[int]:
    """Indices of the ``n`` members nearest the centroid (ties by index)."""
    if len(members) == 0:
        return []
    sims = X[members] @ centroid
    return [int(members[i]) for i in np.argsort(-sims, kind="stable")[:n]]


def label_from_keywords(keywords: Sequence[str], n: int = 3) -> str:
    """A short label: the first ``n`` keyphrases sharing no word (or plural) with earlier ones."""
    picked: list[str] = []
    seen: set[str] = set()
    for phrase in keywords:
        words = {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in phrase.split()}
        if words and not words & seen:
            picked.append(phrase)
            seen |= words
        if len(picked) == n:
            break
    return ", ".join(picked) or "(no keywords)"


def _ctfidf() -> Any:
    from bertopic.vectorizers import ClassTfidfTransformer

    # Damping words frequent in every theme makes keywords more specific (and coherent).
    return ClassTfidfTransformer(reduce_frequent_words=True)


def ctfidf_keywords(groups: Sequence[Sequence[str]], params: ThemeParams) -> list[list[str]]:
    """Top c-TF-IDF keyphrases of each group of texts, for themes made by editing (split)."""
    docs = [" ".join(g) for g in groups]
    vectorizer = BERTopicThemes._vectorizer(params)
    counts = vectorizer.fit_transform(docs)
    scores = np.asarray(_ctfidf().fit_transform(counts).todense())
    vocab = vectorizer.get_feature_names_out()
    return [
        [str(vocab[i]) for i in np.argsort(-row, kind="stable")[: params.top_n_words] if row[i]]
        for row in scores
    ]


def normalise(X: np.ndarray) -> np.ndarray:
    """Unit-length float32 vector(s): a vector, or each row of a matrix."""
    X = np.asarray(X, dtype=np.float32)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-12)


def _as_bertopic_backend(embedder: Any, texts: Sequence[str], X: np.ndarray) -> Any:
    """Wrap our embedder as a BERTopic backend, so BERTopic never loads a model by name.

    The fitted units' stored vectors seed a cache, so the representation step never
    re-embeds a unit, and each keyphrase candidate is embedded once for KeyBERT and MMR.
    """
    if embedder is None:
        return None
    from bertopic.backend import BaseEmbedder

    cache: dict[str, np.ndarray] = {}
    for text, vector in zip(texts, X, strict=True):
        cache.setdefault(text, vector)

    class _Backend(BaseEmbedder):
        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            missing = list(dict.fromkeys(d for d in documents if d not in cache))
            if missing:
                vectors = np.asarray(embedder.encode(missing), dtype=np.float32)
                cache.update(zip(missing, vectors, strict=True))
            return np.array([cache[d] for d in documents], dtype=np.float32)

    return _Backend()
