"""What the theme use cases share: a transaction on the store, the theme lineage, views of
themes, the unassigned pool, and the audit event of a change."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from themecoder.codebook.lineage import Lineage, LineageEvent
from themecoder.config import Settings
from themecoder.domain import BUCKETS
from themecoder.errors import Conflict, InvalidInput
from themecoder.services import audit
from themecoder.storage import init_db, interop_queries, make_engine, session_factory
from themecoder.storage.themes import (
    ThemeRecord,
    append_lineage,
    assigned_units,
    code_id,
    row_counts,
    scope_units,
    theme_lineage,
    theme_of,
    themes_in,
)

if TYPE_CHECKING:
    from themecoder.services.projects import Principal


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


@contextmanager
def store_session(s: Settings, session: Session | None = None) -> Iterator[Session]:
    """One transaction on the store: ``session`` when given (the API's, which the caller
    commits), else a new one on a migrated store, committed when the block ends."""
    if session is not None:
        yield session
        return
    engine = make_engine(s.db_url)
    try:
        init_db(engine)
        with session_factory(engine).begin() as own:
            yield own
    finally:
        engine.dispose()


def current_lineage(session: Session) -> Lineage:
    """The theme lineage as stored."""
    return Lineage.from_json(theme_lineage(session))


def live_themes(session: Session) -> dict[int, int]:
    """The theme each merged (or renamed) theme's units now count under: ``{old_id: live_id}``
    for every theme the lineage sends to another single theme. A merge leaves the parents'
    unit rows where they were (history); sizes, unit lists and filters follow them to the
    live theme. A theme split into targets still apart keeps its own id."""
    lineage = current_lineage(session)
    live: dict[int, int] = {}
    for theme_id in row_counts(session):
        code = code_id(theme_id)
        if lineage.knows(code):
            end = lineage.destination(code)
            tail = end.split(":", 1)[-1]
            if end.startswith("theme:") and tail.isdigit() and int(tail) != theme_id:
                live[theme_id] = int(tail)
    return live


def unit_live_themes(
    session: Session, unit_ids: Sequence[int], live: dict[int, int] | None = None
) -> list[dict[str, Any]]:
    """``unit_id, theme_id, label, score, rank`` of the units' live themes, the rows a merge
    left on a merged theme under the theme it went into (a unit in both keeps its own row).
    ``live``: :func:`live_themes`, where the caller has it already."""
    live = live_themes(session) if live is None else live
    rows = interop_queries.unit_themes(session, unit_ids, merged=True)
    labels = interop_queries.theme_labels(
        session, sorted({live[r["theme_id"]] for r in rows if r["theme_id"] in live})
    )
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["theme_id"] in live):  # the unit's own rows first
        if r["theme_id"] in live:
            theme = live[r["theme_id"]]
            r = {**r, "theme_id": theme, "label": labels[theme]}
        elif r["status"] == "merged":  # merged into a theme split since: no single live theme
            continue
        out.setdefault((int(r["unit_id"]), int(r["theme_id"])), r)
    return list(out.values())


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


def audited(
    session: Session,
    who: Principal | None,
    project_id: int | None,
    action: str,
    subject: str,
    after: dict[str, Any],
) -> None:
    """The audit event of a theme change in a project (the CLI's store has no trail)."""
    if project_id is not None:
        audit.record(session, who, project_id, action, subject, None, after)


def live_ids(
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


def pool(
    session: Session,
    bucket: str | None,
    live: set[int],
    project_id: int | None = None,
    **study: Any,
) -> list[int]:
    """Units of the scope (narrowed to a study by ``sources``/``since``/``until``) that
    carry no live theme."""
    done = assigned_units(session, live)
    return [u for u in scope_units(session, bucket, project_id, **study) if u not in done]


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


def scope_name(bucket: str | None) -> str:
    """How messages name a scope; :class:`InvalidInput` for an unknown bucket."""
    if bucket is None:
        return "the store"
    if bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}; use one of {', '.join(BUCKETS)}")
    return f"bucket {bucket!r}"


def project_id_of(s: Settings, slug: str | None) -> int | None:
    """The id of the project ``slug`` (``None``: the CLI's store); :class:`NotFound` if none."""
    if slug is None:
        return None
    from themecoder.services.projects import get_project

    with store_session(s) as db:
        return get_project(db, slug).id


def theme_space(
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


def checked_embedder(embedder: Any, X: np.ndarray) -> Any:
    """``embedder``, if it makes vectors of the stored ones' dimension; else :class:`Conflict`."""
    dim = getattr(embedder, "dim", None)
    if dim is not None and X.size and int(dim) != X.shape[1]:
        raise Conflict(
            f"stored embeddings have {X.shape[1]} dimensions but the embedding model "
            f"{getattr(embedder, 'name', '?')!r} makes {dim}; discover with the model that "
            "coded the units"
        )
    return embedder
