"""A project's model versions: reviewed decisions in, a retrained candidate out, promoted or not.

Reviewer decisions become corrections (:class:`~themecoder.services.retrain.Correction`):
an approval says the bucket is present with that polarity, a rejection says it is absent, an
override moves the code (the old bucket absent, the new one present) or changes its polarity,
and a code a reviewer added is present. Blind double codes add every bucket of a unit where
both reviewers agree. :func:`retrain_project` trains a candidate on them and promotes it only
when :func:`themecoder.review.promotion.should_promote` says it is not worse.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from themecoder.config import Settings
from themecoder.domain import BUCKETS
from themecoder.errors import Conflict, NotFound
from themecoder.review.promotion import DEFAULT_MARGIN
from themecoder.review.queue import SuggestionState
from themecoder.services import audit
from themecoder.services.coders import CoderRegistry
from themecoder.services.projects import Principal
from themecoder.services.retrain import Correction, retrain
from themecoder.storage.review import (
    BlindCodeRecord,
    ModelVersionRecord,
    ProjectRecord,
    SuggestionRecord,
)
from themecoder.storage.tables import UnitRecord, utc_now

_DECIDED = (
    SuggestionState.APPROVED.value,
    SuggestionState.OVERRIDDEN.value,
    SuggestionState.REJECTED.value,
)


def collect_corrections(session: Session, project_id: int) -> list[Correction]:
    """The project's reviewed decisions as corrections, one per unit, later decisions winning."""
    decided: dict[int, dict[str, str | None]] = {}
    suggested: dict[int, dict[str, str]] = {}
    rows = session.execute(
        select(SuggestionRecord)
        .where(SuggestionRecord.project_id == project_id, SuggestionRecord.state.in_(_DECIDED))
        .order_by(SuggestionRecord.decided_at, SuggestionRecord.id)
    ).scalars()
    for s in rows:
        labels = decided.setdefault(s.unit_id, {})
        if s.origin == "model":
            suggested.setdefault(s.unit_id, {})[s.bucket] = s.polarity
        if s.state == SuggestionState.REJECTED.value:
            labels[s.bucket] = None
            continue
        final_bucket = s.final_bucket or s.bucket
        if final_bucket != s.bucket:
            labels[s.bucket] = None
        labels[final_bucket] = s.final_polarity or s.polarity
    blind: dict[int, list[dict[str, str | None]]] = {}
    for unit_id, labels in session.execute(
        select(BlindCodeRecord.unit_id, BlindCodeRecord.labels)
        .where(BlindCodeRecord.project_id == project_id)
        .order_by(BlindCodeRecord.id)
    ):
        blind.setdefault(int(unit_id), []).append(labels)
    for unit_id, codings in blind.items():
        if len(codings) < 2:
            continue
        agreed = {b: codings[0].get(b) for b in BUCKETS if codings[0].get(b) == codings[1].get(b)}
        decided[unit_id] = {**agreed, **decided.get(unit_id, {})}
    texts = dict(
        session.execute(
            select(UnitRecord.id, UnitRecord.text).where(UnitRecord.id.in_(list(decided)))
        ).all()
    )
    return [
        Correction(text=texts[u], decided=labels, suggested=suggested.get(u, {}))
        for u, labels in sorted(decided.items())
        if labels and u in texts
    ]


def retrain_project(
    s: Settings,
    factory: sessionmaker[Session],
    registry: CoderRegistry,
    project_id: int,
    actor: Principal | None = None,
    *,
    tolerance: float = DEFAULT_MARGIN,
    own_limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Retrain the project's model on its reviewed decisions; promote if not worse.

    Returns:
        The retrain report (before/after F1 per bucket, deltas, promote) plus the project's
        model version after the call.

    Raises:
        NotFound: No such project.
        InvalidInput: Not enough reviewed data to train and compare (from ``retrain``).
    """
    with factory() as session:
        project = session.get(ProjectRecord, project_id)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        slug, current_path = project.slug, project.model_path
        corrections = collect_corrections(session, project_id)
    current = registry.get(current_path)
    stamp = utc_now().strftime("%Y%m%dT%H%M%S%f")
    stored_path = f"{slug}/{stamp}"  # relative to the model store, never to the working dir
    out_dir = Path(s.project_models_dir) / stored_path
    step = _stepper(progress)
    report = retrain(
        s.model_copy(update={"model_dir": registry.resolve(current_path)}),
        corrections,
        out_dir,
        current=current.coder,
        embedder=registry.embedder,
        tolerance=tolerance,
        own_limit=own_limit,
        progress=step,
    )
    result = report.to_dict()
    with factory.begin() as session:
        project = session.get(ProjectRecord, project_id)
        assert project is not None
        before_version = project.model_version or current.version
        session.add(
            ModelVersionRecord(
                project_id=project_id,
                version=report.version,
                path=stored_path,
                created_at=utc_now(),
                promoted=report.promote,
                report=result,
            )
        )
        if report.promote:
            project.model_version, project.model_path = report.version, stored_path
        audit.record(
            session,
            actor,
            project_id,
            "promote" if report.promote else "retrain_rejected",
            f"model:{report.version}",
            {"model_version": before_version},
            {"model_version": project.model_version or current.version},
            model_version=report.version,
            comment=f"{len(corrections)} reviewed units; macro-F1 delta "
            f"{_macro(report.deltas):+.4f}",
        )
        result["model_version"] = project.model_version or current.version
    return result


def _macro(deltas: dict[str, float]) -> float:
    return sum(deltas.values()) / len(deltas) if deltas else 0.0


def _stepper(progress: Callable[[int, int], None] | None) -> Any:
    if progress is None:
        return None
    stages = {"embed": 0, "buckets": 1, "sentiment": 2, "expression": 3}

    def step(stage: str, done: int, total: int) -> None:
        progress(stages.get(stage, 3), 4)

    return step


def list_versions(session: Session, project_id: int) -> list[dict[str, Any]]:
    """The project's trained versions, newest first."""
    project = session.get(ProjectRecord, project_id)
    in_use = project.model_version if project else None
    rows = session.scalars(
        select(ModelVersionRecord)
        .where(ModelVersionRecord.project_id == project_id)
        .order_by(ModelVersionRecord.id.desc())
    )
    return [
        {
            "version": r.version,
            "created_at": r.created_at.isoformat(),
            "promoted": r.promoted,
            "rolled_back": r.rolled_back_at is not None,
            "in_use": r.promoted and r.rolled_back_at is None and r.version == in_use,
            "report": r.report,
        }
        for r in rows
    ]


def rollback(
    session: Session,
    project_id: int,
    actor: Principal | None = None,
    to: str | None = None,
    *,
    store: Path | None = None,
) -> dict[str, Any]:
    """Take the project back from its current model to the version promoted before it (or
    ``to``, an earlier promoted version; ``"shipped"`` for the shipped model). Audited as
    ``rollback``; the rolled-back version, and any promoted version ``to`` skips over, is
    marked and never returned to.

    Args:
        store: The model store (``settings.project_models_dir``); when given, a target version
            whose artifact is not in it is refused, so a moved store never leaves the project
            on a model that cannot load with its good version marked rolled back.

    Raises:
        NotFound: No such project, or ``to`` is not an earlier promoted version.
        Conflict: The project is on the shipped model: nothing to roll back; or the target's
            artifact is missing from ``store``.
    """
    project = session.get(ProjectRecord, project_id, with_for_update=True)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    if project.model_version is None:
        raise Conflict("the project uses the shipped model; there is nothing to roll back")
    promoted = list(
        session.scalars(
            select(ModelVersionRecord)
            .where(
                ModelVersionRecord.project_id == project_id,
                ModelVersionRecord.promoted.is_(True),
                ModelVersionRecord.rolled_back_at.is_(None),
            )
            .order_by(ModelVersionRecord.id)
        )
    )
    current = next((r for r in promoted if r.version == project.model_version), None)
    earlier = [r for r in promoted if current is None or r.id < current.id]
    if to is None or to == "shipped":
        target = earlier[-1] if earlier and to is None else None
    else:
        target = next((r for r in earlier if r.version == to), None)
        if target is None:
            raise NotFound(f"model version {to!r} is not an earlier promoted version")
    if target is not None and store is not None:
        folder = Path(store) / target.path
        if not (folder / "config.json").is_file():
            raise Conflict(
                f"model version {target.version!r} is not in the model store (no {folder}); "
                "restore it there or point THEMECODER_PROJECT_MODELS_DIR at the store, or "
                "roll back to 'shipped'"
            )
    gone = project.model_version
    # Versions passed over on the way back to ``to`` are rolled back with the current one, so
    # a later rollback never lands on a version the admin chose to skip.
    skipped = [r for r in earlier if to is not None and (target is None or r.id > target.id)]
    for r in [*skipped, *([current] if current is not None else [])]:
        r.rolled_back_at = utc_now()
    project.model_version = target.version if target else None
    project.model_path = target.path if target else None
    now_on = project.model_version or "shipped"
    audit.record(
        session,
        actor,
        project_id,
        "rollback",
        f"model:{gone}",
        {"model_version": gone},
        {"model_version": now_on},
        model_version=project.model_version,
    )
    return {"rolled_back": gone, "model_version": now_on}
