"""Ingest items into a project: code them, store them, and open their review suggestions.

Ingest is idempotent on the caller's external id: an item whose id the project already holds
is reported as existing and neither coded nor stored again. Items are inserted with ``ON
CONFLICT DO NOTHING`` (see :func:`~themecoder.storage.repository.save_results`), so when two
overlapping batches race, the one that stores an item first creates it and the other reports
it as existing; neither fails. Each model code becomes a
suggestion, auto-accepted when its bucket's gate is open (see :mod:`themecoder.services.agreement`)
and pending otherwise; units picked for blind double coding keep every suggestion pending.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from themecoder.coder import Coder
from themecoder.config import Settings, get_settings
from themecoder.domain import Item, ItemResult
from themecoder.errors import InvalidInput, NotFound
from themecoder.review.queue import (
    SuggestionState,
    band,
    expected_value_of_review,
    is_double_coded,
)
from themecoder.services import languages, privacy
from themecoder.services.agreement import gates as project_gates
from themecoder.storage.repository import insert_ids, save_results
from themecoder.storage.review import (
    AuditEventRecord,
    DoubleCodedUnitRecord,
    ProjectRecord,
    SuggestionRecord,
)
from themecoder.storage.tables import CodeRecord, ItemRecord, UnitRecord, utc_now

_IN_CHUNK = 500


@dataclass(frozen=True)
class IncomingItem:
    """One item as a caller sends it."""

    external_id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    speaker: str | None = None
    #: False for turns kept but not coded (a helpdesk agent's reply).
    coded: bool = True


@dataclass
class IngestOutcome:
    """What an ingest call did: ``items`` lists ``(external_id, item id, created)`` in order."""

    items: list[tuple[str, int, bool]]
    n_units: int = 0
    n_suggestions: int = 0
    n_auto_accepted: int = 0
    n_double_coded: int = 0
    model_version: str = ""
    #: The coder's output for the items this call created, by external id.
    results: dict[str, ItemResult] = field(default_factory=dict)

    @property
    def created(self) -> int:
        return sum(1 for *_, c in self.items if c)

    @property
    def existing(self) -> int:
        return len(self.items) - self.created


def existing_ids(session: Session, project_id: int, external_ids: Sequence[str]) -> dict[str, int]:
    """``{external_id: item id}`` of the given ids the project already holds."""
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), _IN_CHUNK):
        chunk = list(external_ids[start : start + _IN_CHUNK])
        rows = session.execute(
            select(ItemRecord.external_id, ItemRecord.id).where(
                ItemRecord.project_id == project_id, ItemRecord.external_id.in_(chunk)
            )
        )
        found.update({ext: int(i) for ext, i in rows})
    return found


def stored_text(session: Session, project_id: int, external_id: str) -> str | None:
    """The text the project stored under ``external_id`` (masked as ingest stored it)."""
    return session.execute(
        select(ItemRecord.text).where(
            ItemRecord.project_id == project_id, ItemRecord.external_id == external_id
        )
    ).scalar_one_or_none()


def _document(metadata: Mapping[str, Any]) -> str | None:
    """The document an item belongs to (``metadata.document``: a transcript's turns share one),
    so pages can show a turn among its neighbours."""
    value = metadata.get("document")
    return str(value)[:200] if isinstance(value, str | int) and str(value) else None


def check_batch(items: Sequence[IncomingItem]) -> None:
    seen: dict[str, int] = {}
    for i, it in enumerate(items):
        if it.external_id in seen:
            raise InvalidInput(
                f"items[{i}].external_id {it.external_id!r} repeats items[{seen[it.external_id]}]",
                field=f"items.{i}.external_id",
            )
        seen[it.external_id] = i


def ingest(
    session: Session,
    project: ProjectRecord,
    coder: Coder,
    items: Sequence[IncomingItem],
    *,
    gates: Mapping[str, bool],
    codebook_version: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    settings: Settings | None = None,
) -> IngestOutcome:
    """Code and store the items the project does not hold yet; open their suggestions.

    Nothing is committed: the caller owns the transaction, so a failure stores nothing. With
    redaction on, items are masked first (:mod:`themecoder.services.privacy`): the stored
    text, units, evidence and the returned results hold placeholders, and the original is
    stored, encrypted, only if the project keeps originals. An item in another language than
    the coder's is stored but not coded, with a warning (:mod:`themecoder.services.languages`).

    Args:
        session: Open session.
        project: The project the items go to.
        coder: The coder (the project's current model).
        items: Items with unique external ids.
        gates: ``{bucket: auto-accept allowed}``; a missing bucket is closed.
        codebook_version: Stored with every code and suggestion.
        progress: Called with ``(units done, units total)`` while coding.
        settings: Redaction, key and name settings (default: the process settings).

    Raises:
        InvalidInput: Two items share an external id.
        ConfigurationError: The project keeps originals and no key is set.
    """
    check_batch(items)
    s = settings or get_settings()
    known = existing_ids(session, project.id, [it.external_id for it in items])
    new = [it for it in items if it.external_id not in known]
    outcome = IngestOutcome(items=[], model_version=coder.version)
    created: dict[str, int] = {}
    if new:
        rules = privacy.policy(s, project.settings or {})
        masked, originals = privacy.mask_items(
            [
                Item(
                    id=it.external_id,
                    text=it.text,
                    metadata=dict(it.metadata),
                    speaker=it.speaker,
                    source=_document(it.metadata),
                    coded=it.coded,
                )
                for it in new
            ],
            privacy.masker_for(s, rules),
            rules,
        )
        sealed = privacy.seal(s, originals) if rules.keep_original else {}
        results = languages.code_checked(coder, masked, s, progress)
        outcome.results = {it.external_id: r for it, r in zip(new, results, strict=True)}
        run_id = save_results(
            session,
            results,
            source=f"api:{project.slug}",
            model_version=coder.version,
            level="unit",
            settings={"project": project.slug},
            codebook_version=codebook_version,
            project_id=project.id,
            originals=sealed,
        )
        created = dict(
            session.execute(
                select(ItemRecord.external_id, ItemRecord.id).where(ItemRecord.run_id == run_id)
            ).all()
        )
        raced = [it.external_id for it in new if it.external_id not in created]
        known.update(existing_ids(session, project.id, raced))  # stored by a concurrent batch
        outcome.results = {e: r for e, r in outcome.results.items() if e in created}
        _open_suggestions(session, project, run_id, gates, codebook_version, outcome)
    for it in items:
        if it.external_id in known:
            outcome.items.append((it.external_id, known[it.external_id], False))
        else:
            outcome.items.append((it.external_id, int(created[it.external_id]), True))
    return outcome


def ingest_into(
    session: Session,
    project_id: int,
    coder_for: Callable[[str | None], Any],
    items: Sequence[IncomingItem],
    *,
    codebook_version: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    settings: Settings | None = None,
) -> IngestOutcome:
    """:func:`ingest` into the project with id ``project_id``, with its model and gates.

    Args:
        coder_for: The coder of a project's model path (``None``: the shipped model), e.g.
            ``CoderRegistry.get``.

    Raises:
        NotFound: No such project.
    """
    project = session.get(ProjectRecord, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    return ingest(
        session,
        project,
        coder_for(project.model_path),
        items,
        gates=project_gates(session, project.id),
        codebook_version=codebook_version,
        progress=progress,
        settings=settings,
    )


def mask_text(settings: Settings, project_settings: Mapping[str, Any] | None, text: str) -> str:
    """``text`` masked as the project's ingest would store it (``POST /v1/code`` answers with
    the masked text's evidence, stored or not)."""
    rules = privacy.policy(settings, project_settings or {})
    return privacy.masker_for(settings, rules).mask(text).text


def _open_suggestions(
    session: Session,
    project: ProjectRecord,
    run_id: int,
    gates: Mapping[str, bool],
    codebook_version: int | None,
    outcome: IngestOutcome,
) -> None:
    share = float((project.settings or {}).get("double_coding_share", 0.0))
    unit_ids = list(
        session.scalars(
            select(UnitRecord.id)
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(ItemRecord.run_id == run_id)
            .order_by(UnitRecord.id)
        )
    )
    double = {u for u in unit_ids if is_double_coded(str(u), share, seed=project.id)}
    if double:
        session.execute(
            insert(DoubleCodedUnitRecord),
            [{"unit_id": u, "project_id": project.id} for u in sorted(double)],
        )
    codes = session.execute(
        select(CodeRecord)
        .join(ItemRecord, ItemRecord.id == CodeRecord.item_id)
        .where(ItemRecord.run_id == run_id)
        .order_by(CodeRecord.id)
    ).scalars()
    now = utc_now()
    rows = []
    for code in codes:
        auto = bool(gates.get(code.bucket)) and code.unit_id not in double
        rows.append(
            {
                "project_id": project.id,
                "unit_id": code.unit_id,
                "item_id": code.item_id,
                "origin": "model",
                "bucket": code.bucket,
                "polarity": code.polarity,
                "confidence": code.confidence,
                "priority": expected_value_of_review(code.confidence, code.polarity),
                "band": band(code.confidence),
                "state": (SuggestionState.AUTO_ACCEPTED if auto else SuggestionState.PENDING).value,
                "version": 1,
                "double_coded": code.unit_id in double,
                "model_version": code.model_version,
                "codebook_version": codebook_version,
                "created_at": now,
            }
        )
    ids = insert_ids(session, SuggestionRecord, rows)
    audit = [
        {
            "project_id": project.id,
            "at": now,
            "actor_id": None,
            "actor": "system",
            "role": "gate",
            "action": "auto_accept",
            "subject": f"suggestion:{sid}",
            "before": None,
            "after": {"state": row["state"], "bucket": row["bucket"], "polarity": row["polarity"]},
            "model_version": row["model_version"],
            "codebook_version": codebook_version,
            "comment": "bucket gate open: model-human alpha lower bound at or above threshold",
        }
        for sid, row in zip(ids, rows, strict=True)
        if row["state"] == SuggestionState.AUTO_ACCEPTED.value
    ]
    if audit:
        session.execute(insert(AuditEventRecord), audit)
    outcome.n_units = len(unit_ids)
    outcome.n_suggestions = len(rows)
    outcome.n_auto_accepted = len(audit)
    outcome.n_double_coded = len(double)
