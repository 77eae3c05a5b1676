"""Theme use cases: discover themes (in a project, optionally in a study), assign new units,
list themes, and the themes of freshly coded units.

Discovery reuses the stored unit embeddings (it never re-embeds units) and is deterministic:
the same units and settings give the same themes and assignments. Theme ids are stable; new
units join existing themes without refitting, and the rest wait in the unassigned pool until
``discover(residual=True)`` proposes themes from that pool. Small talk and fillers neither
form nor represent a theme (:mod:`themecoder.pipeline.theme_units`). Review, edits and
counts over time live in :mod:`themecoder.services.theme_edits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from themecoder.codebook.lineage import LineageEvent
from themecoder.config import Settings
from themecoder.domain import ItemResult, ThemeRef
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.pipeline.theme_units import Use, unit_uses
from themecoder.pipeline.themes import (
    BERTopicThemes,
    ThemeModel,
    ThemeParams,
    TooFewUnits,
    assign_to_centroids,
)
from themecoder.services.theme_store import (
    ThemeView,
    audited,
    checked_embedder,
    current_lineage,
    live_ids,
    pool,
    record_events,
    scope_name,
    stamped,
    store_session,
    theme_space,
    theme_views,
)
from themecoder.storage import load_embeddings
from themecoder.storage.themes import (
    ThemeRecord,
    add_assignments,
    assigned_units,
    centroid_bytes,
    known_sources,
    scope_units,
    themes_in,
    unit_texts,
)

if TYPE_CHECKING:
    from themecoder.services.projects import Principal

__all__ = ["Assignment", "Discovery", "Study", "ThemeView", "assign_new", "discover"]


@dataclass(frozen=True)
class Study:
    """A study: the units of some sources (file names) and/or of a period
    (``since <= date < until``; the item's date, else the date it was coded)."""

    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        # A path names its file: items store the file name they came from.
        object.__setattr__(
            self, "sources", tuple(dict.fromkeys(Path(s).name for s in self.sources))
        )
        for end in ("since", "until"):  # in UTC, as stored dates are; naive days are UTC
            at = getattr(self, end)
            if at is not None:
                try:
                    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
                except OverflowError:
                    raise InvalidInput(f"{end} {at} is out of range", field=end) from None
                object.__setattr__(self, end, at)
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput(f"--since {self.since:%Y-%m-%d} is not before --until")

    def filters(self) -> dict[str, Any]:
        return {"sources": self.sources, "since": self.since, "until": self.until}

    def describe(self) -> str | None:
        """``"sources a.txt, b.txt from 2026-01-01 until 2026-04-01"``; ``None``: no study."""
        parts = [f"sources {', '.join(self.sources)}"] if self.sources else []
        parts += [f"from {self.since:%Y-%m-%d}"] if self.since else []
        parts += [f"until {self.until:%Y-%m-%d}"] if self.until else []
        return " ".join(parts) or None


@dataclass
class Discovery:
    """What one discovery run found over ``n_units`` units.

    ``n_skipped`` units were small talk or fillers (never themed), ``n_fitted`` were
    clustered, ``n_unassigned`` of the others got no theme; ``message`` says why no theme
    was found and what to try, when none was.
    """

    themes: list[ThemeView]
    bucket: str | None
    residual: bool
    n_units: int
    n_unassigned: int
    n_raw_outliers: int
    n_skipped: int = 0
    n_fitted: int = 0
    min_theme_size: int = 0
    study: str | None = None
    message: str | None = None

    @property
    def unassigned_share(self) -> float:
        """Share of the units with content that got no theme."""
        n = self.n_units - self.n_skipped
        return self.n_unassigned / n if n else 0.0


@dataclass
class Assignment:
    """Units given to existing themes, and the pool left over in the scope."""

    n_units: int
    n_assigned: int
    n_pool: int


#: Every status a theme can have (``themes list --status``, ``GET /v1/themes?status=``).
THEME_STATUSES = ("active", "proposed", "archived", "merged")


def discover(
    s: Settings,
    bucket: str | None = None,
    residual: bool = False,
    *,
    embedder: Any = None,
    params: ThemeParams | None = None,
    model: ThemeModel | None = None,
    project_id: int | None = None,
    study: Study | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> Discovery:
    """Fit themes on the stored units of a scope (all units, or one bucket's) and store them.

    Themes belong to one project: only its units are used and the themes carry its id
    (``project_id`` ``None``: the units and themes of no project, the CLI's). A ``study``
    narrows the units fitted to some sources and/or a period; the themes are the project's.
    Units with no content (small talk, fillers) are left out; units with little content
    join the themes afterwards but do not shape them. For small studies the smallest theme
    shrinks with the number of units (:meth:`ThemeParams.for_units`).

    With ``residual`` only the unassigned pool is used and the themes are stored as
    proposals for a reviewer to accept or reject. In a project the run is audited.

    Raises:
        InvalidInput: ``bucket`` is not a bucket, or the study's period is empty.
        NotFound: The scope (or the pool) has no units with embeddings, or a study source
            is not in the store.
        TooFewUnits: Fewer units with content than one discovery needs.
        Conflict: The scope has themes already (without ``residual``) or open proposals.
    """
    base = params or ThemeParams()
    where = scope_name(bucket)
    study = study or Study()
    with store_session(s, session) as db:
        lineage = current_lineage(db)
        live = live_ids(db, lineage, bucket, project_id)
        if themes_in(db, bucket, ("proposed",), project_id):
            raise Conflict(f"{where} has open theme proposals; accept or reject them first")
        if not residual and live:
            n_active = len(themes_in(db, bucket, ("active",), project_id))
            raise Conflict(
                f"{where} already has {n_active} active themes; use --residual to propose themes "
                "from the unassigned units, or archive the themes first"
            )
        _check_sources(db, study, project_id)
        filters = study.filters()
        ids = (
            pool(db, bucket, live, project_id, **filters)
            if residual
            else scope_units(db, bucket, project_id, **filters)
        )
        what = f"the unassigned pool of {where}" if residual else where
        what += f" ({study.describe()})" if study.describe() else ""
        if not ids:
            raise NotFound(f"{what} has no stored units with embeddings; code some data first")
        texts = unit_texts(db, ids)
        uses = unit_uses(texts, base.min_fit_words, base.min_fit_share)
        fit = np.flatnonzero(uses == Use.FIT)
        p = base.for_units(len(fit))
        if len(fit) < p.min_units:
            raise TooFewUnits(
                f"{what} has {len(ids)} units, {len(fit)} with enough content to cluster "
                f"({len(ids) - len(fit)} are small talk, fillers or very short); theme "
                f"discovery needs at least {p.min_units} (min_topic_size {p.min_topic_size}). "
                "Add sources or widen the period",
                n_units=len(fit),
                needed=p.min_units,
            )
        unit_ids, X_all = load_embeddings(db, ids)
        embedder, X_all = theme_space(s, texts, X_all, embedder)
        X = X_all[fit]
        if model is None:
            model = BERTopicThemes(checked_embedder(embedder, X), base, s.seed)
        model.fit([texts[i] for i in fit], X)
        status = "proposed" if residual else "active"
        records = [
            ThemeRecord(
                label=t.label,
                keywords=list(t.keywords),
                quotes=[
                    {"unit_id": int(unit_ids[fit[i]]), "text": texts[fit[i]]} for i in t.quotes
                ],
                centroid=centroid_bytes(t.centroid),
                bucket=bucket,
                status=status,
                version=1,
                project_id=project_id,
            )
            for t in model.themes_
        ]
        db.add_all(records)
        db.flush()
        if records:
            event = LineageEvent("create", (), tuple(r.code for r in records), lineage.version + 1)
            record_events(db, lineage, [stamped(event)])
        centroids = np.array([t.centroid for t in model.themes_]).reshape(len(records), X.shape[1])
        picks: list[list[tuple[int, float]]] = [[] for _ in ids]
        for i, pick in zip(
            fit, assign_to_centroids(X, centroids, p, first=model.labels_), strict=True
        ):
            picks[i] = pick
        extra = np.flatnonzero(uses == Use.ASSIGN)
        for i, pick in zip(extra, assign_to_centroids(X_all[extra], centroids, p), strict=True):
            picks[i] = pick
        add_assignments(db, ids, [[(records[j].id, sc) for j, sc in pk] for pk in picks])
        found = Discovery(
            themes=theme_views(db, lineage, records),
            bucket=bucket,
            residual=residual,
            n_units=len(ids),
            n_unassigned=sum(not pk for pk, use in zip(picks, uses, strict=True) if use),
            n_raw_outliers=int(
                (np.asarray(getattr(model, "raw_labels_", model.labels_)) < 0).sum()
            ),
            n_skipped=int((uses == Use.SKIP).sum()),
            n_fitted=len(fit),
            min_theme_size=p.min_topic_size,
            study=study.describe(),
        )
        if not records:
            found.message = _no_themes(found)
        audited(
            db,
            who,
            project_id,
            "themes_discover",
            f"project:{project_id}",
            {
                "bucket": bucket,
                "residual": residual,
                "study": study.describe(),
                "themes": [r.id for r in records],
                "units": len(ids),
            },
        )
        return found


def _no_themes(found: Discovery) -> str:
    return (
        f"no themes: among the {found.n_fitted} units with content no group of at least "
        f"{found.min_theme_size} similar units stood out from the rest ({found.n_skipped} "
        "small-talk units left out). Try a smaller --min-theme-size, more sources or a longer "
        "period, or all buckets instead of one"
    )


def _check_sources(db: Session, study: Study, project_id: int | None) -> None:
    missing = sorted(set(study.sources) - known_sources(db, project_id))
    if missing:
        known = ", ".join(sorted(known_sources(db, project_id))[:20]) or "none"
        raise NotFound(f"no stored items come from {', '.join(missing)}; sources: {known}")


def assign_new(
    s: Settings,
    unit_ids: Sequence[int] | None = None,
    bucket: str | None = None,
    *,
    params: ThemeParams | None = None,
    project_id: int | None = None,
    session: Session | None = None,
) -> Assignment:
    """Give units (default: every unit of the scope without a theme) to existing themes.

    Nothing is refitted: a unit joins a theme whose centroid it is close enough to (see
    :func:`~themecoder.pipeline.themes.assign_to_centroids`); the others, small talk
    included, stay in the pool.

    Raises:
        NotFound: The scope has no active themes, or a unit does not exist.
    """
    p = params or ThemeParams()
    with store_session(s, session) as db:
        themes = themes_in(db, bucket, ("active",), project_id)
        if not themes:
            raise NotFound(f"{scope_name(bucket)} has no active themes; run discovery first")
        live = live_ids(db, current_lineage(db), bucket, project_id)
        if unit_ids is None:
            ids = pool(db, bucket, live, project_id)
        else:
            done = assigned_units(db, live)
            ids = [int(u) for u in dict.fromkeys(unit_ids) if int(u) not in done]
        texts = unit_texts(db, ids)
        _, X = load_embeddings(db, ids)
        X = theme_space(s, texts, X, None)[1] if ids else X
        centroids = np.array([t.vector for t in themes])
        if ids and X.shape[1] != centroids.shape[1]:
            raise Conflict(
                f"units have {X.shape[1]}-d embeddings, themes {centroids.shape[1]}-d centroids; "
                "they were embedded with different models"
            )
        picks = _assign_content(X, texts, centroids, p)
        add_assignments(db, ids, [[(themes[j].id, sc) for j, sc in pk] for pk in picks])
        n_assigned = sum(bool(pk) for pk in picks)
        return Assignment(len(ids), n_assigned, len(pool(db, bucket, live, project_id)))


def label_results(
    s: Settings,
    results: Sequence[ItemResult],
    *,
    project_id: int | None = None,
    params: ThemeParams | None = None,
    session: Session | None = None,
) -> bool:
    """Give each coded unit of ``results`` the project's active themes it is close to
    (``UnitResult.themes``; the rule of :func:`assign_new`), for the coding output.

    Only the project's global themes (discovered over all buckets) are used. Returns whether
    the project has any; without, the units' ``themes`` stay ``None``. Nothing is stored:
    ``themes assign`` stores assignments.
    """
    p = params or ThemeParams()
    with store_session(s, session) as db:
        themes = [(t.id, t.label, t.vector) for t in themes_in(db, None, ("active",), project_id)]
    if not themes:
        return False
    units = [u for r in results for u in r.units]
    for u in units:
        u.themes = []
    embedded = [u for u in units if u.embedding is not None]
    if embedded:
        texts = [u.unit.text for u in embedded]
        stored = np.array([u.embedding for u in embedded], dtype=np.float32)
        X = theme_space(s, texts, stored, None)[1]
        centroids = np.array([v for _, _, v in themes])
        for u, pick in zip(embedded, _assign_content(X, texts, centroids, p), strict=True):
            u.themes = [ThemeRef(themes[j][0], themes[j][1], sc) for j, sc in pick]
    return True


def _assign_content(
    X: np.ndarray, texts: Sequence[str], centroids: np.ndarray, p: ThemeParams
) -> list[list[tuple[int, float]]]:
    """Themes of units by nearest centroid; small talk and fillers get none."""
    keep = np.flatnonzero(unit_uses(texts, p.min_fit_words, p.min_fit_share) != Use.SKIP)
    picks: list[list[tuple[int, float]]] = [[] for _ in texts]
    for i, pick in zip(keep, assign_to_centroids(X[keep], centroids, p), strict=True):
        picks[i] = pick
    return picks


def list_themes(
    s: Settings,
    bucket: str | None = None,
    statuses: Sequence[str] = ("active", "proposed"),
    project_id: int | None = None,
    *,
    session: Session | None = None,
) -> list[ThemeView]:
    """Themes of a scope (of one project; ``None``: of none) with the given statuses, by id.

    Raises:
        InvalidInput: An unknown bucket or status (the message lists the valid ones).
    """
    scope_name(bucket)
    unknown = [x for x in statuses if x not in THEME_STATUSES]
    if unknown:
        raise InvalidInput(
            f"unknown theme status {', '.join(map(repr, unknown))}; use "
            f"{', '.join(THEME_STATUSES)}",
            field="status",
        )
    with store_session(s, session) as db:
        found = themes_in(db, bucket, statuses, project_id)
        return theme_views(db, current_lineage(db), found)


def get_theme(
    s: Settings, theme_id: int, project_id: int | None, *, session: Session | None = None
) -> ThemeView:
    """One theme of the project (any status).

    Raises:
        NotFound: No such theme in the project.
    """
    with store_session(s, session) as db:
        theme = db.get(ThemeRecord, theme_id)
        if theme is None or theme.project_id != project_id:
            raise NotFound(f"theme {theme_id} not found", theme_id=theme_id)
        return theme_views(db, current_lineage(db), [theme])[0]
