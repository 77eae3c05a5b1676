"""The coder: the one place where the pipeline stages are composed.

segment -> redact -> embed (once per unit, batched) -> buckets, sentiment, expression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from themecoder.artifact import Artifact, load_artifact
from themecoder.config import Settings, get_settings
from themecoder.domain import (
    BUCKETS,
    EXPRESSIONS,
    POLARITIES,
    SENTIMENTS,
    BucketCode,
    Item,
    ItemResult,
    Neighbor,
    Unit,
    UnitResult,
)
from themecoder.pipeline.classify import BucketClassifier
from themecoder.pipeline.embed import make_embedder
from themecoder.pipeline.neighbors import NeighborIndex, blend
from themecoder.pipeline.redact import NullRedactor, RegexRedactor
from themecoder.pipeline.segment import SpacySegmenter
from themecoder.pipeline.sentiment import (
    LinearHead,
    VaderFeatures,
    expression_head,
    sentiment_head,
    sentiment_score,
)
from themecoder.pipeline.smalltalk import is_small_talk

Progress = Callable[[int, int], None]
_CHUNK = 512  # units per embedding call, so progress moves on long runs


class Coder:
    """Codes texts into buckets, sentiment and expression type.

    Build with :meth:`load` for the shipped model; pass stages to swap any of them.
    """

    def __init__(
        self,
        embedder: Any,
        classifier: Any,
        sentiment: LinearHead,
        expression: LinearHead,
        segmenter: Any = None,
        redactor: Any = None,
        neighbors: NeighborIndex | None = None,
        version: str = "unversioned",
        knn_presence: tuple[int, float] | None = None,
    ) -> None:
        self.embedder = embedder
        self.classifier = classifier
        self.sentiment = sentiment
        self.expression = expression
        self.segmenter = segmenter or SpacySegmenter()
        self.redactor = redactor or NullRedactor()
        self.neighbors = neighbors
        self.version = version
        self.lexicon = VaderFeatures()
        # (k, weight): a bucket's presence blends the heads' probability with the share of
        # the k nearest training examples coded with it (None: the heads alone).
        self.knn_presence = knn_presence if neighbors is not None else None

    @classmethod
    def load(cls, settings: Settings | None = None, embedder: Any = None) -> Coder:
        """Load the coder artifact named by ``settings.model_dir`` (models load lazily)."""
        s = settings or get_settings()
        art = load_artifact(s.model_dir)
        return cls.from_artifact(art, s, embedder)

    @classmethod
    def from_artifact(cls, art: Artifact, s: Settings, embedder: Any = None) -> Coder:
        emb = embedder or make_embedder(s, art)
        neighbors = None
        knn = art.config.get("knn_presence")
        if "examples.vectors" in art.arrays:
            neighbors = NeighborIndex(
                art.arrays["examples.vectors"],
                [e["text"] for e in art.examples],
                art.arrays["examples.polarity"],
                art.arrays["examples.sentiment"],
                art.arrays["examples.expression"],
                voters=(art.arrays["knn.vectors"], art.arrays["knn.polarity"])
                if "knn.vectors" in art.arrays
                else None,
            )
        return cls(
            embedder=emb,
            classifier=BucketClassifier.from_arrays(art.arrays),
            sentiment=sentiment_head().load_arrays(art.arrays),
            expression=expression_head().load_arrays(art.arrays),
            segmenter=SpacySegmenter(
                s.spacy_model, s.max_unit_chars, s.whole_unit_chars, s.score_sentences
            ),
            redactor=RegexRedactor() if art.config.get("redact", s.redact) else NullRedactor(),
            neighbors=neighbors,
            version=art.version,
            knn_presence=(int(knn["k"]), float(knn["weight"])) if knn else None,
        )

    def code(
        self, texts: Iterable[str | Item], progress: Progress | None = None
    ) -> list[ItemResult]:
        """Code texts (or :class:`Item` objects); one :class:`ItemResult` per input."""
        items = [t if isinstance(t, Item) else Item(id=str(i), text=t) for i, t in enumerate(texts)]
        coded = [it for it in items if it.coded]
        units_per_item = dict(
            zip(
                (id(it) for it in coded),
                self.segmenter.segment_many([(it.text or "", it.id) for it in coded]),
                strict=True,
            )
        )
        flat = [u for it in coded for u in units_per_item[id(it)]]
        unit_results = iter(self.code_units(flat, progress))
        out = []
        for it in items:
            units = [next(unit_results) for _ in units_per_item.get(id(it), [])]
            out.append(self._aggregate(it, units))
        return out

    def code_units(
        self, units: Sequence[Unit], progress: Progress | None = None
    ) -> list[UnitResult]:
        """Code ready-made units: one embedding each (and one per sentence of a unit that
        holds several), batched. A bucket's confidence comes from the span that scores it
        highest, the whole unit or one of its sentences (a sentence's score is the mean of its
        own and the whole unit's, never below the unit's); its evidence and polarity come from
        the best sentence that would be coded on its own, else from that span."""
        spans = [(i, u.start, u.end, u.text) for i, u in enumerate(units)]
        for i, u in enumerate(units):
            spans += [(i, s, e, u.text[s - u.start : e - u.start]) for s, e in u.parts]
        texts = self.redactor.redact([t for *_, t in spans])
        if not texts:
            return []
        X = self._encode(texts, progress)
        presence, polarity, reasons = self._buckets(X)
        n = len(units)
        sent_p, expr_p = self._affect(X[:n], texts[:n])
        scores = sentiment_score(sent_p)
        rows_of: list[list[int]] = [[i] for i in range(n)]
        own = presence.copy() if len(spans) > n else presence  # each span's score on its own
        for row in range(n, len(spans)):
            rows_of[spans[row][0]].append(row)
            # A sentence lifts a bucket halfway from the whole unit's score towards its own:
            # a plain union of sentence scores measured more false codes than it found.
            presence[row] = np.maximum(presence[row], presence[spans[row][0]])
            presence[row] = 0.5 * (presence[row] + presence[spans[row][0]])
        results = []
        for i, unit in enumerate(units):
            rows = np.array(rows_of[i])
            top = rows[np.argmax(presence[rows], axis=0)]  # per bucket, the highest-scoring span
            unit_presence = presence[top, np.arange(len(BUCKETS))]
            best = top
            if len(rows) > 1:
                # A sentence that would be coded on its own carries the code: it is the evidence
                # (and gives the polarity), even where the whole unit scores as high.
                parts = rows[1:]
                carrier = parts[np.argmax(own[parts], axis=0)]
                alone = own[carrier, np.arange(len(BUCKETS))] >= self.thresholds
                best = np.where(alone, carrier, top)
            if is_small_talk(unit.text):  # the guideline: greetings and small talk, no bucket
                unit_presence = np.zeros_like(unit_presence)
            codes = []
            for b in np.flatnonzero(unit_presence >= self.thresholds):
                row = int(best[b])
                _, start, end, text = spans[row]
                pol = int(np.argmax(polarity[row, b]))
                codes.append(
                    BucketCode(
                        bucket=BUCKETS[b],
                        polarity=POLARITIES[pol],
                        confidence=round(float(unit_presence[b]), 4),
                        evidence={"unit": unit.index, "start": start, "end": end, "text": text},
                        neighbors=[Neighbor(t, round(s, 4)) for t, s in reasons.get((row, b), [])],
                        polarity_confidence=round(float(polarity[row, b, pol]), 4),
                    )
                )
            results.append(
                UnitResult(
                    unit=unit,
                    buckets=codes,
                    sentiment=SENTIMENTS[int(np.argmax(sent_p[i]))],
                    sentiment_score=round(float(scores[i]), 4),
                    expression=EXPRESSIONS[int(np.argmax(expr_p[i]))],
                    embedding=X[i],
                    sentiment_proba=sent_p[i],
                    expression_proba=expr_p[i],
                    bucket_proba=unit_presence,
                )
            )
        return results

    def _encode(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Embed in length-ordered chunks (padding like one big encode call), in input order."""
        order = np.argsort([len(t) for t in texts], kind="stable")
        X = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(texts), _CHUNK):
            rows = order[start : start + _CHUNK]
            vectors = self.embedder.encode([texts[i] for i in rows])
            if X.shape[1] == 0:
                X = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            X[rows] = vectors
            if progress:
                progress(min(start + _CHUNK, len(texts)), len(texts))
        return X

    @property
    def thresholds(self) -> np.ndarray:
        return getattr(self.classifier, "thresholds_", np.full(len(BUCKETS), 0.5))

    def _buckets(
        self, X: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], list[tuple[str, float]]]]:
        """Presence and polarity probabilities, and the nearest examples per assignment."""
        presence, polarity = self.classifier.predict_proba(X)
        reasons: dict[tuple[int, int], list[tuple[str, float]]] = {}
        if self.neighbors is None:
            return presence, polarity, reasons
        if self.knn_presence is not None:
            k, weight = self.knn_presence
            presence = (1 - weight) * presence + weight * self.neighbors.presence(X, k)
        for b in range(len(BUCKETS)):
            rows = np.flatnonzero(presence[:, b] >= self.thresholds[b])
            near = self.neighbors.nearest(X[rows], b)
            reasons.update(((int(i), b), n) for i, n in zip(rows, near, strict=True))
        return presence, polarity, reasons

    def _affect(self, X: np.ndarray, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sentiment and expression probabilities, blended with the neighbour vote."""
        lex = self.lexicon.transform(texts)
        sent_p = self.sentiment.predict_proba(X, lex)
        expr_p = self.expression.predict_proba(X, lex)
        if self.neighbors is not None:
            votes = self.neighbors.votes(
                X, {"sentiment": len(SENTIMENTS), "expression": len(EXPRESSIONS)}
            )
            sent_p = blend(sent_p, votes["sentiment"])
            expr_p = blend(expr_p, votes["expression"])
        return sent_p, expr_p

    def _aggregate(self, item: Item, units: list[UnitResult]) -> ItemResult:
        warnings = []
        if item.coded and not units:
            warnings.append(f"item {item.id}: empty text, nothing to code")
        best: dict[str, BucketCode] = {}
        for ur in units:
            for code in ur.buckets:
                if code.bucket not in best or code.confidence > best[code.bucket].confidence:
                    best[code.bucket] = code
        buckets = [best[b] for b in BUCKETS if b in best]
        if not units:
            return ItemResult(item, [], buckets, "neutral", 0.0, "none", warnings)
        weights = np.array([max(len(u.unit.text), 1) for u in units], dtype=float)
        sent = np.average([u.sentiment_proba for u in units], axis=0, weights=weights)
        expr = np.average([u.expression_proba for u in units], axis=0, weights=weights)
        return ItemResult(
            item=item,
            units=units,
            buckets=buckets,
            sentiment=SENTIMENTS[int(np.argmax(sent))],
            sentiment_score=round(float(sentiment_score(sent[None])[0]), 4),
            expression=EXPRESSIONS[int(np.argmax(expr))],
            warnings=warnings,
        )

    def code_frame(
        self,
        df: Any,
        text_column: str = "text",
        id_column: str | None = None,
        level: str = "item",
    ) -> Any:
        """Code ``df[text_column]``; one row per input row (or per unit) with a polarity,
        confidence and evidence column per bucket, sentiment, expression, and the input's
        other columns passed through."""
        import pandas as pd

        from themecoder.errors import MissingColumn
        from themecoder.records import flat_row, records

        for col in (text_column, id_column):
            if col is not None and col not in df.columns:
                found = ", ".join(map(str, df.columns))
                raise MissingColumn(f"column {col!r} not found; columns: {found}")
        ids = df[id_column].astype(str) if id_column else df.index.astype(str)
        meta = df.drop(columns=[text_column]).to_dict(orient="records")
        items = [
            Item(id=i, text="" if pd.isna(t) else str(t), metadata=m)
            for i, t, m in zip(ids, df[text_column], meta, strict=True)
        ]
        rows = [flat_row(r) for r in records(self.code(items), level, self.version)]
        return pd.DataFrame(rows)
