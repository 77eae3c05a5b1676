"""Review queues and reviewer actions, with an append-only audit trail.

Every action names the suggestion ``version`` the reviewer saw. The change is one
``UPDATE ... WHERE id = :id AND version = :seen AND state = :state``: of two reviewers acting
on the same version, exactly one matches a row and the other gets :class:`Conflict` (HTTP 409),
so no decision is ever silently overwritten. The audit event is written in the same
transaction as the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from themecoder.domain import BUCKETS, POLARITIES
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.review.queue import SuggestionState, band, transition
from themecoder.services import audit
from themecoder.services.agreement import complete_units
from themecoder.services.projects import Principal
from themecoder.storage.review import (
    DoubleCodedUnitRecord,
    SuggestionRecord,
    insert_reviewer_code,
    live_model_code,
    revive_reviewer_code,
)
from themecoder.storage.tables import ItemRecord, RunRecord, UnitRecord, utc_now
from themecoder.storage.themes import ThemeRecord, UnitThemeRecord, project_theme

ACTIONS = {
    "approve": SuggestionState.APPROVED,
    "override": SuggestionState.OVERRIDDEN,
    "reject": SuggestionState.REJECTED,
}
BANDS = ("low", "medium", "high")
MAX_PAGE = 500


@dataclass(frozen=True)
class QueueFilter:
    """Which suggestions a queue shows; ``None`` means any."""

    state: str = SuggestionState.PENDING.value
    bucket: str | None = None
    theme_id: int | None = None
    account_id: str | None = None
    band: str | None = None

    def check(self) -> None:
        """Raise :class:`InvalidInput` naming the first bad field."""
        if self.state not in {s.value for s in SuggestionState}:
            raise InvalidInput(f"unknown state {self.state!r}", field="state")
        if self.bucket is not None and self.bucket not in BUCKETS:
            raise InvalidInput(f"unknown bucket {self.bucket!r}", field="bucket")
        if self.band is not None and self.band not in BANDS:
            raise InvalidInput(f"band must be one of {BANDS}, got {self.band!r}", field="band")


def view(s: SuggestionRecord, item: ItemRecord, unit: UnitRecord) -> dict[str, Any]:
    """A suggestion as the API shows it to a reviewer."""
    return {
        "id": s.id,
        "version": s.version,
        "state": s.state,
        "origin": s.origin,
        "bucket": s.bucket,
        "polarity": s.polarity,
        "confidence": s.confidence,
        "band": s.band,
        "priority": s.priority,
        "final": {
            "bucket": s.final_bucket,
            "polarity": s.final_polarity,
            "theme_id": s.final_theme_id,
        },
        "comment": s.comment,
        "unit": {"id": unit.id, "text": unit.text, "start": unit.start_char, "end": unit.end_char},
        "item": {"id": item.id, "external_id": item.external_id, "account_id": item.account_id},
        "model_version": s.model_version,
        "codebook_version": s.codebook_version,
        "double_coded": s.double_coded,
    }


def queue(
    session: Session, project_id: int, flt: QueueFilter, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """One page of a queue, highest expected value of review first (ties: lower id first).

    Suggestions of a unit in blind double coding stay out until both coders are done, so a
    reviewer never sees the model's answer before coding such a unit blind.

    Returns:
        ``(total matching, page)``.
    """
    flt.check()
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be in 1..{MAX_PAGE}, got {limit}", field="limit")
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}", field="offset")
    stmt = (
        select(SuggestionRecord, ItemRecord, UnitRecord)
        .join(ItemRecord, ItemRecord.id == SuggestionRecord.item_id)
        .join(UnitRecord, UnitRecord.id == SuggestionRecord.unit_id)
        .where(
            SuggestionRecord.project_id == project_id,
            SuggestionRecord.state == flt.state,
            or_(
                SuggestionRecord.double_coded.is_(False),
                SuggestionRecord.unit_id.in_(complete_units(project_id)),
            ),
        )
    )
    if flt.bucket:
        stmt = stmt.where(SuggestionRecord.bucket == flt.bucket)
    if flt.band:
        stmt = stmt.where(SuggestionRecord.band == flt.band)
    if flt.account_id:
        stmt = stmt.where(ItemRecord.account_id == flt.account_id)
    if flt.theme_id is not None:  # only a theme of the project: another's matches nothing
        of_theme = (
            select(UnitThemeRecord.unit_id)
            .join(ThemeRecord, ThemeRecord.id == UnitThemeRecord.theme_id)
            .where(UnitThemeRecord.theme_id == flt.theme_id, ThemeRecord.project_id == project_id)
        )
        stmt = stmt.where(SuggestionRecord.unit_id.in_(of_theme))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(
        stmt.order_by(SuggestionRecord.priority.desc(), SuggestionRecord.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return int(total or 0), [view(s, item, unit) for s, item, unit in rows]


def blind_pending(session: Session, unit_ids: list[int]) -> set[int]:
    """Those of ``unit_ids`` picked for double coding that still lack a blind coder."""
    if not unit_ids:
        return set()
    picked = set(
        session.scalars(
            select(DoubleCodedUnitRecord.unit_id).where(DoubleCodedUnitRecord.unit_id.in_(unit_ids))
        )
    )
    done = set(session.scalars(complete_units(unit_ids=unit_ids)))
    return picked - done


def get(
    session: Session, project_id: int, suggestion_id: int, *, blind: bool = False
) -> dict[str, Any]:
    """One suggestion of the project.

    Args:
        blind: The caller is a reviewer, who must not see the model's answer on a unit still
            in blind double coding.

    Raises:
        NotFound: No such suggestion in this project.
        Conflict: ``blind`` and the suggestion's unit still waits for blind coders.
    """
    row = session.execute(
        select(SuggestionRecord, ItemRecord, UnitRecord)
        .join(ItemRecord, ItemRecord.id == SuggestionRecord.item_id)
        .join(UnitRecord, UnitRecord.id == SuggestionRecord.unit_id)
        .where(SuggestionRecord.id == suggestion_id, SuggestionRecord.project_id == project_id)
    ).first()
    if row is None:
        raise NotFound(f"suggestion {suggestion_id} not found")
    if blind and row[0].double_coded and blind_pending(session, [row[0].unit_id]):
        raise Conflict(f"suggestion {suggestion_id} waits for blind double coding")
    return view(*row)


def _snapshot(s: SuggestionRecord) -> dict[str, Any]:
    return {
        "state": s.state,
        "version": s.version,
        "bucket": s.final_bucket or s.bucket,
        "polarity": s.final_polarity or s.polarity,
        "theme_id": s.final_theme_id,
    }


def _check_code(bucket: str | None, polarity: str | None, prefix: str = "") -> None:
    """Raise :class:`InvalidInput` naming ``{prefix}bucket`` or ``{prefix}polarity``."""
    if bucket is not None and bucket not in BUCKETS:
        raise InvalidInput(f"unknown bucket {bucket!r}", field=f"{prefix}bucket")
    if polarity is not None and polarity not in POLARITIES:
        raise InvalidInput(
            f"polarity must be one of {POLARITIES}, got {polarity!r}", field=f"{prefix}polarity"
        )


def _check_override(
    bucket: str | None,
    polarity: str | None,
    theme_id: int | None,
    add: Sequence[tuple[str, str]],
    session: Session,
    project_id: int,
) -> None:
    if bucket is None and polarity is None and theme_id is None and not add:
        raise InvalidInput(
            "an override must change bucket, polarity or theme_id, or add a code", field="bucket"
        )
    _check_code(bucket, polarity)
    for i, (b, p) in enumerate(add):
        _check_code(b, p, f"add.{i}.")
    if theme_id is not None:
        theme = project_theme(session, project_id, theme_id)
        if theme is None or theme.status != "active":
            raise NotFound(f"theme {theme_id} not found or not active")


def act(
    session: Session,
    principal: Principal,
    suggestion_id: int,
    action: str,
    version: int,
    *,
    bucket: str | None = None,
    polarity: str | None = None,
    theme_id: int | None = None,
    add: Sequence[tuple[str, str]] = (),
    comment: str | None = None,
) -> dict[str, Any]:
    """Approve, override or reject a suggestion seen at ``version``.

    An override may move the code to another bucket or polarity, re-theme the unit, and add
    codes the model missed (stored as approved suggestions of origin "reviewer").

    Raises:
        NotFound: No such suggestion in the caller's project (or an unknown theme).
        Conflict: ``version`` is stale, the suggestion is already decided, or its unit still
            waits for blind double coding.
        InvalidInput: An unknown action, bucket or polarity, or an override that changes nothing.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {sorted(ACTIONS)}", field="action")
    s = session.get(SuggestionRecord, suggestion_id)
    if s is None or s.project_id != principal.project_id:
        raise NotFound(f"suggestion {suggestion_id} not found")
    if action == "override":
        _check_override(bucket, polarity, theme_id, add, session, principal.project_id)
        if (
            (bucket or s.bucket, polarity or s.polarity) == (s.bucket, s.polarity)
            and theme_id is None
            and not add
        ):
            raise InvalidInput(
                f"an override must change the code: suggestion {suggestion_id} already is "
                f"{s.bucket}/{s.polarity}; approve it to keep it as it is",
                field="bucket" if bucket is not None else "polarity",
            )
    elif bucket or polarity or theme_id is not None or add:
        raise InvalidInput(f"{action} takes no bucket, polarity, theme_id or add", field="bucket")
    if s.double_coded and blind_pending(session, [s.unit_id]):
        raise Conflict(f"suggestion {suggestion_id} waits for blind double coding")
    target = transition(s.state, ACTIONS[action])
    if s.version != version:
        raise Conflict(
            f"suggestion {suggestion_id} is at version {s.version}, not {version}: "
            "someone else acted on it; reload and decide again",
            current_version=s.version,
        )
    before = _snapshot(s)
    now = utc_now()
    changes: dict[str, Any] = {
        "state": target.value,
        "version": s.version + 1,
        "comment": comment,
        "decided_by": principal.key_id,
        "decided_at": now,
        "final_bucket": None if action == "reject" else (bucket or s.bucket),
        "final_polarity": None if action == "reject" else (polarity or s.polarity),
        "final_theme_id": theme_id,
    }
    result = session.execute(
        update(SuggestionRecord)
        .where(
            SuggestionRecord.id == suggestion_id,
            SuggestionRecord.version == version,
            SuggestionRecord.state == s.state,
        )
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"suggestion {suggestion_id} changed while you decided; reload and decide again"
        )
    session.refresh(s)
    _audit(session, principal, f"suggestion:{s.id}", action, before, _snapshot(s), s, comment)
    if theme_id is not None:
        _retheme(session, s.unit_id, theme_id)
    where = (s.unit_id, s.item_id, s.double_coded, s.model_version, s.codebook_version)
    added = [_new_code(session, principal, where, b, p, comment, now)[0] for b, p in add]
    return {"suggestion": get(session, principal.project_id, s.id), "added": added}


def _retheme(session: Session, unit_id: int, theme_id: int) -> None:
    session.execute(delete(UnitThemeRecord).where(UnitThemeRecord.unit_id == unit_id))
    session.execute(
        insert(UnitThemeRecord),
        [{"unit_id": unit_id, "theme_id": theme_id, "score": 1.0, "rank": 0}],
    )


def add_code(
    session: Session,
    principal: Principal,
    unit_id: int,
    bucket: str,
    polarity: str,
    comment: str | None = None,
    *,
    codebook_version: int | None = None,
    custom: Sequence[str] = (),
) -> tuple[dict[str, Any], bool]:
    """Add a code the model missed to a unit: an approved suggestion of origin "reviewer".

    Idempotent: a unit carries an added code at most once per bucket and polarity; adding
    it again, or adding a code a live model suggestion of the unit already carries, returns
    the stored code and ``created`` false (the API answers 200, not 201).
    A custom code withdrawn earlier (``custom_codes.withdraw``) is live again.

    Args:
        custom: Custom code ids of the codebook ``bucket`` may also name.

    Returns:
        ``(suggestion view, created)``.

    Raises:
        NotFound: No such unit in the caller's project.
        InvalidInput: Unknown bucket (or custom code) or polarity.
        Conflict: The unit still waits for blind double coding.
    """
    _check_code(None if bucket in custom else bucket, polarity)
    row = session.execute(
        select(UnitRecord.id, ItemRecord.id, RunRecord.model_version)
        .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
        .join(RunRecord, RunRecord.id == ItemRecord.run_id)
        .where(UnitRecord.id == unit_id, ItemRecord.project_id == principal.project_id)
    ).first()
    if row is None:
        raise NotFound(f"unit {unit_id} not found")
    if blind_pending(session, [unit_id]):
        raise Conflict(f"unit {unit_id} waits for blind double coding")
    double = session.get(DoubleCodedUnitRecord, unit_id) is not None
    sid, created = _new_code(
        session,
        principal,
        (unit_id, row[1], double, row[2], codebook_version),
        bucket,
        polarity,
        comment,
        utc_now(),
    )
    if not created and revive_reviewer_code(session, sid, principal.key_id, utc_now()):
        record = session.get(SuggestionRecord, sid)
        assert record is not None
        session.refresh(record)
        after = _snapshot(record)
        before = {**after, "state": "rejected", "version": record.version - 1}
        _audit(session, principal, f"suggestion:{sid}", "add", before, after, record, comment)
        created = True
    return get(session, principal.project_id, sid), created


def _new_code(
    session: Session,
    principal: Principal,
    where: tuple[int, int, bool, str, int | None],
    bucket: str,
    polarity: str,
    comment: str | None,
    now: Any,
) -> tuple[int, bool]:
    """Store an added code once per unit, bucket and polarity: ``(suggestion id, created)``.

    A code the unit already carries (a twin request, a race of identical requests, or a live
    model suggestion with that code, pending or decided) is not stored or audited again; its
    id comes back with ``created`` false.
    """
    unit_id, item_id, double_coded, model_version, codebook_version = where
    carried = live_model_code(session, unit_id, bucket, polarity)  # no twin beside it
    if carried is not None:
        return int(carried), False
    sid, created = insert_reviewer_code(
        session,
        {
            "project_id": principal.project_id,
            "unit_id": unit_id,
            "item_id": item_id,
            "origin": "reviewer",
            "bucket": bucket,
            "polarity": polarity,
            "confidence": 1.0,
            "priority": 0.0,
            "band": band(1.0),
            "state": SuggestionState.APPROVED.value,
            "version": 1,
            "double_coded": double_coded,
            "model_version": model_version,
            "codebook_version": codebook_version,
            "final_bucket": bucket,
            "final_polarity": polarity,
            "comment": comment,
            "decided_by": principal.key_id,
            "decided_at": now,
            "created_at": now,
        },
    )
    if created:
        record = session.get(SuggestionRecord, sid)
        assert record is not None
        _audit(
            session, principal, f"suggestion:{sid}", "add", None, _snapshot(record), record, comment
        )
    return sid, created


def _audit(
    session: Session,
    principal: Principal,
    subject: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    s: SuggestionRecord,
    comment: str | None,
) -> None:
    audit.record(
        session,
        principal,
        principal.project_id,
        action,
        subject,
        before,
        after,
        model_version=s.model_version,
        codebook_version=s.codebook_version,
        comment=comment,
    )
