"""Semantic quote search: "what did customers say like X" over a project's stored units.

The query is embedded with the same model that embedded the units when they were coded
(their vectors are stored with them), and compared by cosine similarity:

* a scope of up to ``exact_max`` embedded units is searched exactly (NumPy over the stored
  vectors);
* a larger one through a FAISS HNSW index kept in ``index_dir``, one file per database and
  project. Before each search the index is brought in step with the database: units stored
  since (ids above the index's largest) are added; an index holding more units than the
  database, or a different vector size, is rebuilt.

Filters (``SearchFilter``) combine with AND and narrow the candidates before ranking. A
filtered set of up to ``exact_max`` units is ranked exactly even in a large project, so a
narrow filter never loses hits to the approximate graph.

pgvector is detected on PostgreSQL (``pg_available_extensions``) and reported; it is not used.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import Conflict, InvalidInput
from themecoder.search import FaissIndex, exact_top_k
from themecoder.services.theme_store import unit_live_themes
from themecoder.storage import interop_queries as q
from themecoder.storage import search as store

MAX_K = 100
MAX_QUERY_CHARS = 1000
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class SearchFilter:
    """Which units to search; ``None`` fields do not filter.

    ``code`` is ``bucket:polarity``, a bucket (any polarity), ``theme:ID`` or a custom code
    (alone or as ``code:polarity``); ``since`` (inclusive) and ``until`` (exclusive) bound
    the item's date.
    """

    code: str | None = None
    account: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def item_filters(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "source": self.source,
            "since": self.since,
            "until": self.until,
        }

    @property
    def narrows(self) -> bool:
        return any(v is not None for v in (self.code, *self.item_filters().values()))


class IndexCache:
    """The FAISS indexes a process holds, by file; each brought in step before use.

    Args:
        directory: Where index files live (``settings.search_index_dir``).
        exact_max: Scopes (or filtered candidate sets) up to this size are searched exactly.
    """

    def __init__(self, directory: Path, exact_max: int) -> None:
        self.directory = Path(directory)
        self.exact_max = exact_max
        self._held: dict[Path, FaissIndex] = {}
        self._lock = threading.Lock()

    def path(self, session: Session, project_id: int | None) -> Path:
        """The index file of a database and project (the URL is hashed, password left out)."""
        url = session.get_bind().engine.url.render_as_string(hide_password=True)
        db = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
        return self.directory / f"units-{db}-{'cli' if project_id is None else project_id}.faiss"

    def synced(self, session: Session, project_id: int | None) -> tuple[FaissIndex, str]:
        """The scope's index in step with the database, and what that took: ``"current"``
        (nothing), ``"added N"`` or ``"rebuilt"``."""
        count, top = store.embedded_stats(session, project_id)
        path = self.path(session, project_id)
        with self._lock:
            index = self._held.get(path) or FaissIndex.load(path)
            done = "current"
            if index is not None and (index.state.count > count or index.state.max_id > top):
                index = None  # units went away (or another database took the path): rebuild
            if index is not None and top > index.state.max_id:
                ids, x = store.unit_vectors(session, project_id, after_id=index.state.max_id)
                if x.shape[1] == index.dim:
                    index.add(ids, x)
                    done = f"added {len(ids)}"
                else:
                    index = None
            if index is None or index.state.count != count:
                ids, x = store.unit_vectors(session, project_id)
                index = FaissIndex(x.shape[1] if len(ids) else 0).add(ids, x)
                done = "rebuilt"
            if done != "current":
                index.save(path)
            self._held[path] = index
            return index, done


def search_quotes(
    session: Session,
    project_id: int | None,
    query: str,
    embed: Embed,
    indexes: IndexCache,
    where: SearchFilter | None = None,
    *,
    k: int = 10,
    custom: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``k`` stored units most like ``query`` in the scope, best first.

    Args:
        session: Open session (read only; the index file may be written).
        project_id: The project (``None``: the command line's store).
        query: What to look for ("the SSO setup took weeks").
        embed: Texts -> embeddings, the model the units were embedded with.
        indexes: The process's index cache (where files live, the exact-search size).
        where: Filters; ``None`` searches everything.
        k: How many hits (1..100).
        custom: The codebook's custom codes, which the code filter may name besides the six
            buckets and the codes the scope's units carry.

    Returns:
        ``query``, ``backend`` (``exact`` or ``faiss``), ``index`` (what syncing did, or
        ``None``), ``pgvector`` (``available, not used`` or ``unavailable``), ``units`` (embedded
        units in scope), ``candidates`` (after filters) and ``hits``: unit id, score, text,
        offsets, item id, source, account, speaker, date and codes.

    Raises:
        InvalidInput: An empty or over-long query, ``k`` outside 1..100, or a code filter
            naming an unknown code or polarity, or a theme by anything but its id (the
            message lists the valid ones).
        Conflict: The query's embedding size differs from the stored units'.
    """
    where = where or SearchFilter()
    # naive bounds are UTC (as stored dates are); aware and naive ones then compare
    where = replace(where, since=_utc(where.since), until=_utc(where.until))
    query = (query or "").strip()
    if not query or len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query must have 1..{MAX_QUERY_CHARS} characters", field="query")
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}", field="k")
    if where.since and where.until and where.since >= where.until:
        raise InvalidInput("since must be before until", field="since")
    total, _ = store.embedded_stats(session, project_id)
    held = _model_codes(session, project_id)
    if where.code is not None:
        check_code(where.code, known_codes(held, custom))
    allowed = _candidates(session, project_id, where, held) if where.narrows else None
    n_candidates = total if allowed is None else len(allowed)
    vector = np.asarray(embed([query]), dtype=np.float32).reshape(1, -1)
    backend, synced = "exact", None
    if n_candidates == 0:
        ids, scores = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    elif n_candidates <= indexes.exact_max:
        ids, x = store.unit_vectors(session, project_id, unit_ids=allowed)
        _check_dim(vector, x.shape[1])
        ids, scores = exact_top_k(ids, x, vector, k)
    else:
        index, synced = indexes.synced(session, project_id)
        _check_dim(vector, index.dim)
        backend = "faiss"
        chosen = None if allowed is None else np.asarray(allowed, dtype=np.int64)
        ids, scores = index.search(vector, k, chosen)
    rows = store.unit_rows(session, [int(i) for i in ids])
    codes = _codes_of(session, list(rows), held)
    hits = [
        {**rows[int(i)], "score": float(s), "codes": codes.get(int(i), [])}
        for i, s in zip(ids, scores, strict=True)
    ]
    return {
        "query": query,
        "backend": backend,
        "index": synced,
        "pgvector": "available, not used" if store.pgvector_available(session) else "unavailable",
        "units": total,
        "candidates": n_candidates,
        "hits": hits,
    }


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _check_dim(vector: np.ndarray, dim: int) -> None:
    if vector.shape[1] != dim:
        raise Conflict(
            f"the query embeds to {vector.shape[1]} dimensions, the stored units to {dim}: "
            "they were coded with another embedding model"
        )


def _model_codes(session: Session, project_id: int | None) -> dict[int, list[str]]:
    """Each unit's codes as the review left them: ``bucket:polarity`` (and ``theme:ID`` a
    reviewer set)."""
    out: dict[int, list[str]] = defaultdict(list)
    for c in q.unit_codes(session, project_id):
        out[int(c["unit_id"])].append(f"{c['bucket']}:{c['polarity']}")
        if c["theme_id"]:
            out[int(c["unit_id"])].append(f"theme:{c['theme_id']}")
    return out


def _codes_of(
    session: Session, unit_ids: Sequence[int], held: dict[int, list[str]]
) -> dict[int, list[str]]:
    """``held`` codes of ``unit_ids`` with their live themes added."""
    out = {i: list(held.get(i, [])) for i in unit_ids}
    for t in unit_live_themes(session, list(unit_ids)):
        name = f"theme:{t['theme_id']}"
        if name not in out[int(t["unit_id"])]:
            out[int(t["unit_id"])].append(name)
    return out


def _candidates(
    session: Session,
    project_id: int | None,
    where: SearchFilter,
    held: dict[int, list[str]],
) -> list[int]:
    ids = store.candidate_units(session, project_id, **where.item_filters())
    if where.code is None:
        return ids
    codes = _codes_of(session, ids, held)
    return [i for i in ids if _has_code(codes[i], where.code)]


def known_codes(held: dict[int, list[str]], custom: Sequence[str] = ()) -> list[str]:
    """The codes a code filter may name: the six buckets, the codebook's custom codes and any
    other code the units carry (a custom code since dropped from the codebook)."""
    carried = {c.split(":", 1)[0] for codes in held.values() for c in codes}
    carried.discard("theme")
    return list(dict.fromkeys([*BUCKETS, *custom, *sorted(carried)]))


def check_code(
    code: str,
    known: Sequence[str],
    paths: Collection[str] = (),
    *,
    field: str = "code",
    label: str = "code filter",
) -> None:
    """Raise :class:`InvalidInput` (listing what is valid) unless ``code`` is a known code,
    ``code:polarity`` with a known code and polarity, ``theme:ID``, or one of ``paths``.

    The one check of a code filter, for quote search and coded-segment retrieval alike (the
    command line exits 2 on it, the API answers 422 naming ``code``).

    Args:
        code: The filter as given.
        known: The codes the filter may name (:func:`known_codes`).
        paths: Code paths the scope holds beyond ``code:polarity``: an imported code
            (``parent:child``) and every code above it, accepted as they are.
        field: The input the error names (``codes`` for an insight's code links).
        label: What the message calls the code.
    """
    if code in paths:
        return
    name, sep, rest = code.partition(":")
    if name == "theme" and sep:
        if not (rest.isascii() and rest.isdigit() and int(rest) >= 1):
            raise InvalidInput(
                f"{label} {code!r}: a theme is named by its id, e.g. theme:12", field=field
            )
        return
    if name not in known:
        raise InvalidInput(
            f"{label} {code!r}: unknown code {name!r}; valid codes: {', '.join(known)} "
            f"(alone or as code:polarity with polarity {', '.join(POLARITIES)}), or theme:ID",
            field=field,
            known=list(known),
        )
    below = sorted(
        p for p in paths if p.startswith(f"{name}:") and p.split(":")[1] not in POLARITIES
    )
    if sep and rest not in POLARITIES and below:
        raise InvalidInput(
            f"{label} {code!r}: unknown code {code!r}; the codes below {name!r} are "
            f"{', '.join(below)} (or {name}:polarity with polarity {', '.join(POLARITIES)})",
            field=field,
            known=below,
        )
    if sep and rest not in POLARITIES:
        raise InvalidInput(
            f"{label} {code!r}: unknown polarity {rest!r}; valid polarities: "
            f"{', '.join(POLARITIES)}",
            field=field,
            known=list(POLARITIES),
        )


def _has_code(held: list[str], wanted: str) -> bool:
    if ":" in wanted:
        return wanted in held
    return any(c.split(":", 1)[0] == wanted for c in held)
