"""Theme use cases: discover themes, assign new units, list themes.

Discovery reuses the stored unit embeddings (it never re-embeds units) and is deterministic:
the same units and settings give the same themes and assignments. Theme ids are stable; new
units join existing themes without refitting, and the rest wait in the unassigned pool until
``discover(residual=True)`` proposes themes from that pool. Review, edits and counts over
time live in :mod:`themecoder.services.theme_edits`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from themecoder.codebook.lineage import Lineage, LineageEvent
from themecoder.config import Settings
from themecoder.domain import BUCKETS
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.pipeline.themes import (
    BERTopicThemes,
    ThemeModel,
    ThemeParams,
    TooFewUnits,
    assign_to_centroids,
)
from themecoder.storage import init_db, load_embeddings, make_engine, session_factory
from themecoder.storage.themes import (
    ThemeRecord,
    add_assignments,
    append_lineage,
    assigned_units,
    centroid_bytes,
    code_id,
    row_counts,
    scope_units,
    theme_lineage,
    theme_of,
    themes_in,
    unit_texts,
)


@dataclass
class ThemeView:
    """A theme as shown to people: ``size`` counts its units, merged parents' included."""

    id: int
    code: str
    label: str
    keywords: list[str]
    quotes: list[str]
    bucket: str | None
    status: str
    version: int
    size: int


@dataclass
class Discovery:
    """What one discovery run found over ``n_units`` units."""

    themes: list[ThemeView]
    bucket: str | None
    residual: bool
    n_units: int
    n_unassigned: int
    n_raw_outliers: int

    @property
    def unassigned_share(self) -> float:
        return self.n_unassigned / self.n_units if self.n_units else 0.0


@dataclass
class Assignment:
    """Units given to existing themes, and the pool left over in the scope."""

    n_units: int
    n_assigned: int
    n_pool: int


def discover(
    s: Settings,
    bucket: str | None = None,
    residual: bool = False,
    *,
    embedder: Any = None,
    params: ThemeParams | None = None,
    model: ThemeModel | None = None,
    project_id: int | None = None,
) -> Discovery:
    """Fit themes on the stored units of a scope (all units, or one bucket's) and store them.

    Themes belong to one project: only its units are used and the themes carry its id
    (``project_id`` ``None``: the units and themes of no project, the CLI's).

    With ``residual`` only the unassigned pool is used and the themes are stored as
    proposals for a reviewer to accept or reject.

    Raises:
        InvalidInput: ``bucket`` is not a bucket.
        NotFound: The scope (or the pool) has no units with embeddings.
        TooFewUnits: Fewer units than one discovery needs.
        Conflict: The scope has themes already (without ``residual``) or open proposals.
    """
    p = params or ThemeParams()
    where = _scope_name(bucket)
    with store_session(s) as session:
        lineage = current_lineage(session)
        live = _live_ids(session, lineage, bucket, project_id)
        if themes_in(session, bucket, ("proposed",), project_id):
            raise Conflict(f"{where} has open theme proposals; accept or reject them first")
        if not residual and live:
            n_active = len(themes_in(session, bucket, ("active",), project_id))
            raise Conflict(
                f"{where} already has {n_active} active themes; use --residual to propose themes "
                "from the unassigned units, or archive the themes first"
            )
        ids = (
            _pool(session, bucket, live, project_id)
            if residual
            else scope_units(session, bucket, project_id)
        )
        what = f"the unassigned pool of {where}" if residual else where
        if not ids:
            raise NotFound(f"{what} has no stored units with embeddings; code some data first")
        if len(ids) < p.min_units:
            raise TooFewUnits(
                f"{what} has {len(ids)} units; theme discovery needs at least {p.min_units} "
                f"(min_topic_size {p.min_topic_size})",
                n_units=len(ids),
                needed=p.min_units,
            )
        unit_ids, X = load_embeddings(session, ids)
        texts = unit_texts(session, ids)
        embedder, X = _theme_space(s, texts, X, embedder)
        if model is None:
            model = BERTopicThemes(_checked(embedder, X), p, s.seed)
        model.fit(texts, X)
        status = "proposed" if residual else "active"
        records = [
            ThemeRecord(
                label=t.label,
                keywords=list(t.keywords),
                quotes=[{"unit_id": int(unit_ids[i]), "text": texts[i]} for i in t.quotes],
                centroid=centroid_bytes(t.centroid),
                bucket=bucket,
                status=status,
                version=1,
                project_id=project_id,
            )
            for t in model.themes_
        ]
        session.add_all(records)
        session.flush()
        if records:
            event = LineageEvent("create", (), tuple(r.code for r in records), lineage.version + 1)
            record_events(session, lineage, [stamped(event)])
        centroids = np.array([t.centroid for t in model.themes_]).reshape(len(records), X.shape[1])
        picks = assign_to_centroids(X, centroids, p, first=np.asarray(model.labels_))
        add_assignments(session, ids, [[(records[j].id, sc) for j, sc in pk] for pk in picks])
        return Discovery(
            themes=theme_views(session, lineage, records),
            bucket=bucket,
            residual=residual,
            n_units=len(ids),
            n_unassigned=sum(not pk for pk in picks),
            n_raw_outliers=int(
                (np.asarray(getattr(model, "raw_labels_", model.labels_)) < 0).sum()
            ),
        )


def assign_new(
    s: Settings,
    unit_ids: Sequence[int] | None = None,
    bucket: str | None = None,
    *,
    params: ThemeParams | None = None,
    project_id: int | None = None,
) -> Assignment:
    """Give units (default: every unit of the scope without a theme) to existing themes.

    Nothing is refitted: a unit joins a theme whose centroid it is close enough to (see
    :func:`~themecoder.pipeline.themes.assign_to_centroids`); the others stay in the pool.

    Raises:
        NotFound: The scope has no active themes, or a unit does not exist.
    """
    p = params or ThemeParams()
    with store_session(s) as session:
        themes = themes_in(session, bucket, ("active",), project_id)
        if not themes:
            raise NotFound(f"{_scope_name(bucket)} has no active themes; run discovery first")
        live = _live_ids(session, current_lineage(session), bucket, project_id)
        if unit_ids is None:
            ids = _pool(session, bucket, live, project_id)
        else:
            done = assigned_units(session, live)
            ids = [int(u) for u in dict.fromkeys(unit_ids) if int(u) not in done]
        _, X = load_embeddings(session, ids)
        X = _theme_space(s, unit_texts(session, ids), X, None)[1] if ids else X
        centroids = np.array([t.vector for t in themes])
        if ids and X.shape[1] != centroids.shape[1]:
            raise Conflict(
                f"units have {X.shape[1]}-d embeddings, themes {centroids.shape[1]}-d centroids; "
                "they were embedded with different models"
            )
        picks = assign_to_centroids(X, centroids, p) if ids else []
        add_assignments(session, ids, [[(themes[j].id, sc) for j, sc in pk] for pk in picks])
        n_assigned = sum(bool(pk) for pk in picks)
        return Assignment(len(ids), n_assigned, len(_pool(session, bucket, live, project_id)))


def list_themes(
    s: Settings,
    bucket: str | None = None,
    statuses: Sequence[str] = ("active", "proposed"),
    project_id: int | None = None,
) -> list[ThemeView]:
    """Themes of a scope (of one project; ``None``: of none) with the given statuses, by id."""
    with store_session(s) as session:
        found = themes_in(session, bucket, statuses, project_id)
        return theme_views(session, current_lineage(session), found)


# -- helpers shared with theme_edits ------------------------------------------------------


@contextmanager
def store_session(s: Settings) -> Iterator[Session]:
    """A migrated store and one transaction on it, committed when the block ends."""
    engine = make_engine(s.db_url)
    try:
        init_db(engine)
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def current_lineage(session: Session) -> Lineage:
    """The theme lineage as stored."""
    return Lineage.from_json(theme_lineage(session))


def record_events(session: Session, lineage: Lineage, events: Sequence[LineageEvent]) -> None:
    """Check ``events`` against the lineage, then store them."""
    before = len(lineage)
    for event in events:
        lineage.add(event)
    append_lineage(session, lineage.to_json()[before:])


def stamped(event: LineageEvent) -> LineageEvent:
    """``event`` with the current UTC time."""
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    return LineageEvent(event.kind, event.sources, event.targets, event.version, at)


def _live_ids(
    session: Session, lineage: Lineage, bucket: str | None, project_id: int | None = None
) -> set[int]:
    """Themes whose units count as assigned: active ones, and those merged into one."""
    themes = themes_in(session, bucket, ("active", "merged"), project_id)
    active = {t.id for t in themes if t.status == "active"}
    merged = {
        t.id
        for t in themes
        if t.status == "merged" and any(theme_of(c) in active for c in lineage.resolve(t.code))
    }
    return active | merged


def _pool(
    session: Session, bucket: str | None, live: set[int], project_id: int | None = None
) -> list[int]:
    """Units of the scope that carry no live theme."""
    done = assigned_units(session, live)
    return [u for u in scope_units(session, bucket, project_id) if u not in done]


def theme_views(
    session: Session, lineage: Lineage, themes: Sequence[ThemeRecord]
) -> list[ThemeView]:
    """Views of ``themes``; an active theme's size includes its merged parents' units."""
    own = row_counts(session)
    sizes: dict[str, int] = {}
    for theme_id, n in own.items():
        if lineage.knows(code_id(theme_id)):
            end = lineage.destination(code_id(theme_id))
            sizes[end] = sizes.get(end, 0) + n
    return [
        ThemeView(
            id=t.id,
            code=t.code,
            label=t.label,
            keywords=list(t.keywords),
            quotes=[q["text"] for q in t.quotes],
            bucket=t.bucket,
            status=t.status,
            version=t.version,
            size=sizes.get(t.code, 0) if t.status == "active" else own.get(t.id, 0),
        )
        for t in themes
    ]


def _scope_name(bucket: str | None) -> str:
    if bucket is None:
        return "the store"
    if bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}")
    return f"bucket {bucket!r}"


def _theme_space(
    s: Settings, texts: Sequence[str], stored: np.ndarray, embedder: Any
) -> tuple[Any, np.ndarray]:
    """The encoder and unit vectors themes are fitted and assigned with.

    Stored unit vectors come from the coder's encoder. When that carries a fine-tuned adapter
    (which organises units by signal, not topic), themes use the base encoder instead: the
    units are embedded again through the disk cache (each text once), whatever ``embedder``
    the caller passed. Otherwise the stored vectors and the caller's encoder are used."""
    from themecoder.artifact import load_artifact
    from themecoder.pipeline.embed import make_embedder
    from themecoder.services.embedding_cache import CachedEmbedder

    art = load_artifact(s.model_dir)  # read once: the adapter check and the base encoder
    base_encoder = make_embedder(s, art, base=True)
    if not art.config.get("encoder_adapter"):
        return embedder or base_encoder, stored
    base = CachedEmbedder(base_encoder, Path(s.cache_dir) / "themes")
    return base, np.asarray(base.encode(list(texts)), dtype=np.float32)


def _checked(embedder: Any, X: np.ndarray) -> Any:
    dim = getattr(embedder, "dim", None)
    if dim is not None and X.size and int(dim) != X.shape[1]:
        raise Conflict(
            f"stored embeddings have {X.shape[1]} dimensions but the embedding model "
            f"{getattr(embedder, 'name', '?')!r} makes {dim}; discover with the model that "
            "coded the units"
        )
    return embedder
