"""Reviewing and editing themes (accept or reject proposals, merge, rename, split, archive)
and counting them over time.

Every change to the set of themes is a lineage event of the codebook's lineage mechanism
(theme ids as code ids, ``"theme:12"``), so historical counts re-map: a merged theme's past
counts are the sum of its parents'. Theme ids never change; a rename only relabels.

Every edit works in one project (``project_id``; ``None`` is the CLI's store, and a theme of
another project is not found), takes the API's ``session`` when given, and writes an audit
event in a project.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from themecoder.codebook.lineage import LineageEvent
from themecoder.config import Settings
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.pipeline.themes import (
    ThemeParams,
    ctfidf_keywords,
    label_from_keywords,
    normalise,
    representative,
)
from themecoder.services.theme_store import (
    ThemeView,
    audited,
    current_lineage,
    live_themes,
    record_events,
    stamped,
    store_session,
    theme_views,
)
from themecoder.storage import load_embeddings
from themecoder.storage.themes import (
    ThemeRecord,
    centroid_bytes,
    code_id,
    dated_rows,
    delete_rows,
    insert_rows,
    row_counts,
    theme_rows,
    themes_in,
    unit_texts,
)

if TYPE_CHECKING:
    from themecoder.services.projects import Principal


def accept(
    s: Settings,
    theme_ids: Sequence[int],
    *,
    project_id: int | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> list[ThemeView]:
    """Make proposed themes active; their units leave the unassigned pool."""
    with store_session(s, session) as db:
        themes = _get(db, project_id, theme_ids, "proposed")
        for t in themes:
            t.status, t.version = "active", t.version + 1
        _audit(db, who, project_id, "theme_accept", themes)
        return theme_views(db, current_lineage(db), themes)


def reject(
    s: Settings,
    theme_ids: Sequence[int],
    *,
    project_id: int | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> list[ThemeView]:
    """Drop proposed themes (retired in the lineage); their units return to the pool."""
    with store_session(s, session) as db:
        themes = _get(db, project_id, theme_ids, "proposed")
        lineage = current_lineage(db)
        event = LineageEvent("retire", tuple(t.code for t in themes), (), lineage.version + 1)
        record_events(db, lineage, [stamped(event)])
        delete_rows(db, [t.id for t in themes])
        for t in themes:
            t.status, t.version = "archived", t.version + 1
        _audit(db, who, project_id, "theme_reject", themes)
        return theme_views(db, lineage, themes)


def rename(
    s: Settings,
    theme_id: int,
    label: str,
    *,
    project_id: int | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> ThemeView:
    """Give a theme a new label; its id, units and history stay."""
    if not label.strip():
        raise InvalidInput("a theme label cannot be empty", field="label")
    with store_session(s, session) as db:
        (theme,) = _get(db, project_id, [theme_id], "active", "proposed")
        before = theme.label
        theme.label, theme.version = label.strip(), theme.version + 1
        _audit(db, who, project_id, "theme_rename", [theme], before=before)
        return theme_views(db, current_lineage(db), [theme])[0]


def archive(
    s: Settings,
    theme_id: int,
    *,
    project_id: int | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> ThemeView:
    """Retire an active theme: its past counts stay (as ``"theme:N (retired)"``), its units
    return to the unassigned pool."""
    with store_session(s, session) as db:
        (theme,) = _get(db, project_id, [theme_id], "active")
        lineage = current_lineage(db)
        event = LineageEvent("retire", (theme.code,), (), lineage.version + 1)
        record_events(db, lineage, [stamped(event)])
        theme.status, theme.version = "archived", theme.version + 1
        _audit(db, who, project_id, "theme_archive", [theme])
        return theme_views(db, lineage, [theme])[0]


def merge(
    s: Settings,
    theme_ids: Sequence[int],
    label: str | None = None,
    *,
    n_quotes: int = 3,
    project_id: int | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> ThemeView:
    """Merge themes into the first one, which keeps its id; the others become ``merged``.

    The merged centroid is the mean of the parents' centroids weighted by their unit counts;
    keywords interleave the parents'; quotes are the parents' quotes nearest the new centroid.
    """
    ids = list(dict.fromkeys(int(t) for t in theme_ids))
    if len(ids) < 2:
        raise InvalidInput("merge needs at least two different themes", field="theme_ids")
    with store_session(s, session) as session:
        themes = _get(session, project_id, ids, "active")
        if len({t.bucket for t in themes}) > 1:
            raise InvalidInput("themes of different buckets cannot be merged")
        if len({t.project_id for t in themes}) > 1:
            raise InvalidInput("themes of different projects cannot be merged")
        target, rest = themes[0], themes[1:]
        counts = row_counts(session)
        weights = np.array([max(counts.get(t.id, 0), 1) for t in themes], dtype=np.float32)
        centroid = normalise(np.average([t.vector for t in themes], axis=0, weights=weights))
        rounds = zip_longest(*(t.keywords for t in themes))
        keywords = list(dict.fromkeys(w for ws in rounds for w in ws if w))
        quotes = [q for t in themes for q in t.quotes]
        _, X = load_embeddings(session, [q["unit_id"] for q in quotes])
        best = representative(X, np.arange(len(quotes)), centroid, len(quotes))
        seen: dict[str, dict[str, object]] = {}
        for i in best:
            seen.setdefault(quotes[i]["text"], quotes[i])
        lineage = current_lineage(session)
        event = LineageEvent(
            "merge", tuple(t.code for t in themes), (target.code,), lineage.version + 1
        )
        record_events(session, lineage, [stamped(event)])
        target.keywords = keywords[: max(len(t.keywords) for t in themes)]
        target.label = label or label_from_keywords(target.keywords)
        target.quotes = list(seen.values())[:n_quotes]
        target.centroid, target.version = centroid_bytes(centroid), target.version + 1
        for t in rest:
            t.status, t.version = "merged", t.version + 1
        _audit(session, who, project_id, "theme_merge", themes)
        return theme_views(session, lineage, [target])[0]


def split(
    s: Settings,
    theme_id: int,
    n: int = 2,
    *,
    params: ThemeParams | None = None,
    project_id: int | None = None,
    session: Session | None = None,
    who: Principal | None = None,
) -> list[ThemeView]:
    """Split a theme into ``n`` new themes by clustering its units' stored embeddings.

    Its units (and so its past counts) move to the new theme nearest each of them; the
    split theme is archived, the lineage records the split and a project's trail the edit.
    """
    from sklearn.cluster import KMeans

    p = params or ThemeParams()
    with store_session(s, session) as session:
        (theme,) = _get(session, project_id, [theme_id], "active")
        # A theme that took in merged themes owns their units too (their rows stayed on them).
        merged_in = [old for old, live in live_themes(session).items() if live == theme.id]
        best: dict[int, tuple[int, int, float, int]] = {}
        for row in theme_rows(session, [theme.id, *merged_in]):  # by unit, best rank first
            best.setdefault(row[0], row)
        rows = list(best.values())
        if len(rows) < 2 * n:
            raise InvalidInput(f"theme {theme.id} has {len(rows)} units, too few to split in {n}")
        unit_ids = [r[0] for r in rows]
        _, X = load_embeddings(session, unit_ids)
        texts = unit_texts(session, unit_ids)
        parts = KMeans(n_clusters=n, n_init=10, random_state=s.seed).fit_predict(X)
        groups = [np.flatnonzero(parts == k) for k in range(n)]
        words = ctfidf_keywords([[texts[i] for i in g] for g in groups], p)
        children = []
        for g, kw in zip(groups, words, strict=True):
            centroid = normalise(X[g].mean(axis=0))
            quotes = representative(X, g, centroid, p.n_quotes)
            children.append(
                ThemeRecord(
                    label=label_from_keywords(kw),
                    keywords=kw,
                    quotes=[{"unit_id": unit_ids[i], "text": texts[i]} for i in quotes],
                    centroid=centroid_bytes(centroid),
                    bucket=theme.bucket,
                    status="active",
                    version=1,
                    project_id=theme.project_id,
                )
            )
        session.add_all(children)
        session.flush()
        lineage = current_lineage(session)
        codes = tuple(c.code for c in children)
        event = LineageEvent("split", (theme.code,), codes, lineage.version + 1)
        record_events(session, lineage, [stamped(event)])
        sims = X @ np.array([c.vector for c in children]).T
        delete_rows(session, [theme.id, *merged_in])
        insert_rows(
            session,
            [
                {"unit_id": u, "theme_id": children[k].id, "score": float(sims[i, k]), "rank": r}
                for i, ((u, _, _, r), k) in enumerate(zip(rows, parts.tolist(), strict=True))
            ],
        )
        theme.status, theme.version = "archived", theme.version + 1
        _audit(session, who, project_id, "theme_split", [theme], into=[c.id for c in children])
        return theme_views(session, lineage, children)


def theme_counts(
    s: Settings, freq: str = "M", bucket: str | None = None, project_id: int | None = None
) -> Any:
    """Units per theme per period, re-mapped through the lineage to today's themes.

    A merged theme's count in every period is the sum of its parents' (and its own).

    Returns:
        A DataFrame with columns ``period``, ``code``, ``label`` and ``count``.
    """
    import pandas as pd

    with store_session(s) as session:
        lineage = current_lineage(session)
        reviewed = ("active", "merged", "archived")  # proposals do not count yet
        themes = {t.id: t for t in themes_in(session, bucket, reviewed, project_id)}
        rows = dated_rows(session, list(themes))
    periods = [pd.Timestamp(at.replace(tzinfo=None)).to_period(freq) for at, _ in rows]
    raw = pd.DataFrame({"period": [str(p) for p in periods], "code": [code_id(t) for _, t in rows]})
    counts = (
        raw.groupby(["period", "code"], as_index=False).size().rename(columns={"size": "count"})
    )
    out = lineage.remap_counts(counts).sort_values(["period", "code"], ignore_index=True)
    names = {t.code: t.label for t in themes.values()}
    return out.assign(label=out["code"].map(lambda c: names.get(c, c)))[
        ["period", "code", "label", "count"]
    ]


def _audit(
    session: Session,
    who: Principal | None,
    project_id: int | None,
    action: str,
    themes: Sequence[ThemeRecord],
    **extra: Any,
) -> None:
    after = {"themes": [t.id for t in themes], "label": themes[0].label, **extra}
    audited(session, who, project_id, action, themes[0].code, after)


def _get(
    session: Session, project_id: int | None, theme_ids: Sequence[int], *statuses: str
) -> list[ThemeRecord]:
    """Themes of the project by id, in the given order, each checked to have one of
    ``statuses``; a theme of another project is not found."""
    out = []
    for theme_id in theme_ids:
        theme = session.get(ThemeRecord, int(theme_id))
        if theme is None or theme.project_id != project_id:
            raise NotFound(f"theme {theme_id} not found", theme_id=theme_id)
        if theme.status not in statuses:
            raise Conflict(
                f"theme {theme_id} is {theme.status}; this needs a theme that is "
                + " or ".join(statuses),
                theme_id=theme_id,
            )
        out.append(theme)
    return out
