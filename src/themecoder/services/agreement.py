"""Blind double coding and the agreement numbers that gate auto-accept.

A double-coded unit goes to two reviewers who see only its text: never the model's
suggestions, never each other's labels. Each gives every bucket a label ("absent" or a
polarity). From these the service computes, per bucket, human-human agreement (the two
reviewers) and model-human agreement (the model's codes at ingest against the first reviewer,
so each unit counts once), with Krippendorff's alpha, Cohen's kappa and Gwet's AC1 and
bootstrap 95% intervals (:func:`themecoder.review.agreement.agreement_report`; none below
:data:`MIN_INTERVAL_UNITS` units, where they would rest on a single unit). A bucket's
gate is open while the lower bound of its model-human alpha is at or above the project's
threshold (:func:`themecoder.review.gating.gate_buckets`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.review.agreement import BUCKET_LABELS, agreement_report, min_bootstrap_units
from themecoder.review.gating import gate_buckets
from themecoder.services import audit
from themecoder.services.projects import DEFAULT_PROJECT_SETTINGS, Principal
from themecoder.storage.review import (
    BlindCodeRecord,
    DoubleCodedUnitRecord,
    ProjectRecord,
)
from themecoder.storage.tables import CodeRecord, UnitRecord, utc_now

CODERS_PER_UNIT = 2
N_BOOT = 1000
LEVEL = 0.95
#: A bucket with fewer double-coded units gets its statistics but no intervals.
MIN_INTERVAL_UNITS = min_bootstrap_units(LEVEL)
_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()


def complete_units(project_id: int | None = None, unit_ids: list[int] | None = None) -> Any:
    """A SELECT of the unit ids (of a project, or among ``unit_ids``) with both blind coders."""
    stmt = select(BlindCodeRecord.unit_id)
    if project_id is not None:
        stmt = stmt.where(BlindCodeRecord.project_id == project_id)
    if unit_ids is not None:
        stmt = stmt.where(BlindCodeRecord.unit_id.in_(unit_ids))
    return stmt.group_by(BlindCodeRecord.unit_id).having(func.count() >= CODERS_PER_UNIT)


def next_blind_unit(session: Session, principal: Principal) -> dict[str, Any] | None:
    """The next double-coded unit this reviewer has not coded and that lacks two coders.

    Returns only what a blind coder may see: the unit id and text, and the buckets to label.
    """
    coded_by_me = select(BlindCodeRecord.unit_id).where(
        BlindCodeRecord.reviewer_id == principal.key_id
    )
    full = complete_units(principal.project_id)
    row = session.execute(
        select(UnitRecord.id, UnitRecord.text)
        .join(DoubleCodedUnitRecord, DoubleCodedUnitRecord.unit_id == UnitRecord.id)
        .where(
            DoubleCodedUnitRecord.project_id == principal.project_id,
            UnitRecord.id.not_in(coded_by_me),
            UnitRecord.id.not_in(full),
        )
        .order_by(UnitRecord.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"unit_id": int(row[0]), "text": row[1], "buckets": list(BUCKETS)}


def _labels(raw: Mapping[str, Any]) -> dict[str, str | None]:
    unknown = sorted(set(raw) - set(BUCKETS))
    if unknown:
        raise InvalidInput(f"unknown buckets {unknown}", field=f"labels.{unknown[0]}")
    out: dict[str, str | None] = {}
    for bucket in BUCKETS:
        value = raw.get(bucket)
        if value in (None, "absent"):
            out[bucket] = None
        elif value in POLARITIES:
            out[bucket] = str(value)
        else:
            raise InvalidInput(
                f"labels.{bucket} must be absent, positive, neutral or risk, got {value!r}",
                field=f"labels.{bucket}",
            )
    return out


def submit_blind_code(
    session: Session, principal: Principal, unit_id: int, labels: Mapping[str, Any]
) -> BlindCodeRecord:
    """Store one reviewer's blind labels for a double-coded unit (buckets left out: absent).

    Raises:
        NotFound: The unit is not a double-coded unit of this project.
        Conflict: This reviewer already coded it, or two reviewers already did.
        InvalidInput: An unknown bucket or label.
    """
    clean = _labels(labels)
    picked = session.get(DoubleCodedUnitRecord, unit_id)
    if picked is None or picked.project_id != principal.project_id:
        raise NotFound(f"unit {unit_id} is not waiting for blind double coding")
    coders = list(
        session.scalars(
            select(BlindCodeRecord.reviewer_id).where(BlindCodeRecord.unit_id == unit_id)
        )
    )
    if principal.key_id in coders:
        raise Conflict(f"you already coded unit {unit_id}")
    if len(coders) >= CODERS_PER_UNIT:
        raise Conflict(f"unit {unit_id} already has {CODERS_PER_UNIT} blind coders")
    record = BlindCodeRecord(
        project_id=principal.project_id,
        unit_id=unit_id,
        reviewer_id=principal.key_id,
        labels=clean,
        created_at=utc_now(),
    )
    session.add(record)
    audit.record(
        session,
        principal,
        principal.project_id,
        "blind_code",
        f"unit:{unit_id}",
        None,
        {"labels": clean},
    )
    session.flush()
    return record


def _label(value: str | None) -> str:
    return "absent" if value is None else value


def agreement_pairs(
    session: Session, project_id: int
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    """Label pairs per bucket: ``(human_human, model_human)``, one pair per unit."""
    rows = session.execute(
        select(BlindCodeRecord.unit_id, BlindCodeRecord.labels)
        .where(BlindCodeRecord.project_id == project_id)
        .order_by(BlindCodeRecord.unit_id, BlindCodeRecord.id)
    ).all()
    by_unit: dict[int, list[dict[str, str | None]]] = {}
    for unit_id, labels in rows:
        by_unit.setdefault(int(unit_id), []).append(labels)
    model: dict[int, dict[str, str]] = {u: {} for u in by_unit}
    units = list(by_unit)
    for start in range(0, len(units), 500):
        chunk = units[start : start + 500]
        for unit_id, bucket, polarity in session.execute(
            select(CodeRecord.unit_id, CodeRecord.bucket, CodeRecord.polarity).where(
                CodeRecord.unit_id.in_(chunk)
            )
        ):
            model[int(unit_id)][bucket] = polarity
    human: dict[str, list[tuple[str, str]]] = {b: [] for b in BUCKETS}
    machine: dict[str, list[tuple[str, str]]] = {b: [] for b in BUCKETS}
    for unit_id, codings in by_unit.items():
        for b in BUCKETS:
            machine[b].append((_label(model[unit_id].get(b)), _label(codings[0].get(b))))
            if len(codings) >= CODERS_PER_UNIT:
                human[b].append((_label(codings[0].get(b)), _label(codings[1].get(b))))
    return human, machine


def _rules(project: ProjectRecord) -> tuple[float, int]:
    rules = {**DEFAULT_PROJECT_SETTINGS, **(project.settings or {})}
    return float(rules["gate_threshold"]), int(rules["gate_min_units"])


def agreement(session: Session, project_id: int) -> dict[str, Any]:
    """Human-human and model-human agreement per bucket, and the gates they set.

    Results are cached per project and state of its blind codes (count and last id), so
    ingest can ask for the gates on every call at the cost of two small queries.
    """
    project = session.get(ProjectRecord, project_id)
    if project is None:
        raise NotFound(f"project {project_id} not found")
    threshold, min_units = _rules(project)
    n, last = session.execute(
        select(func.count(BlindCodeRecord.id), func.max(BlindCodeRecord.id)).where(
            BlindCodeRecord.project_id == project_id
        )
    ).one()
    key = (session.get_bind().engine.url, project_id, int(n or 0), last, threshold, min_units)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    human, machine = agreement_pairs(session, project_id)
    options = {"categories": BUCKET_LABELS, "n_boot": N_BOOT, "level": LEVEL, "seed": 0}
    model_human = agreement_report(machine, **options)
    report = {
        "human_human": agreement_report(human, **options),
        "model_human": model_human,
        "gates": gate_buckets(model_human, threshold, min_units=min_units, buckets=BUCKETS),
        "threshold": threshold,
        "min_units": min_units,
        "n_blind_codes": int(n or 0),
        "labels": list(BUCKET_LABELS),
    }
    with _cache_lock:
        _cache[key] = report
        while len(_cache) > 64:
            _cache.popitem(last=False)
    return report


def gates(session: Session, project_id: int) -> dict[str, bool]:
    """``{bucket: auto-accept allowed}`` for the project now."""
    return dict(agreement(session, project_id)["gates"])


def double_coding_status(session: Session, project_id: int) -> dict[str, int]:
    """How many units are picked for double coding and how many have both coders."""
    picked = session.scalar(
        select(func.count()).where(DoubleCodedUnitRecord.project_id == project_id)
    )
    done = session.scalar(select(func.count()).select_from(complete_units(project_id).subquery()))
    return {"picked": int(picked or 0), "complete": int(done or 0)}


__all__ = [
    "CODERS_PER_UNIT",
    "MIN_INTERVAL_UNITS",
    "agreement",
    "agreement_pairs",
    "complete_units",
    "double_coding_status",
    "gates",
    "next_blind_unit",
    "submit_blind_code",
]
