"""Review queues, reviewer actions, blind double coding, agreement and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from themecoder.services import agreement, audit, review
from themecoder.services.review import QueueFilter
from themecoder_api.deps import Analyst, Ctx, Db, Reader, Reviewer
from themecoder_api.schemas import (
    MAX_ID,
    AddedCode,
    BlindCode,
    Decision,
    Override,
    QueryId,
    QueryText,
    RowId,
)

router = APIRouter(prefix="/v1", tags=["review"])


@router.get("/queue")
def get_queue(
    db: Db,
    who: Reviewer,
    state: Annotated[str, Query(max_length=20)] = "pending",
    bucket: Annotated[str | None, Query(max_length=40)] = None,
    theme_id: QueryId = None,
    account_id: QueryText = None,
    band: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=review.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    """Suggestions to review, by bucket, theme, account or confidence band (low, medium,
    high), highest expected value of review (uncertainty x risk) first."""
    flt = QueueFilter(state, bucket, theme_id, account_id, band)
    total, page = review.queue(db, who.project_id, flt, limit=limit, offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "suggestions": page}


@router.get("/suggestions/{suggestion_id}")
def get_suggestion(suggestion_id: RowId, db: Db, who: Reader) -> dict[str, Any]:
    """One suggestion with its unit, item and current version."""
    return review.get(db, who.project_id, suggestion_id, blind=who.role == "reviewer")


def _act(db: Db, who: Reviewer, suggestion_id: int, action: str, **kw: Any) -> dict[str, Any]:
    out = review.act(db, who, suggestion_id, action, **kw)
    db.commit()
    return out


@router.post("/suggestions/{suggestion_id}/approve")
def approve(suggestion_id: RowId, body: Decision, db: Db, who: Reviewer) -> dict[str, Any]:
    """Approve the suggestion at ``version``; 409 if someone acted on it first."""
    return _act(db, who, suggestion_id, "approve", version=body.version, comment=body.comment)


@router.post("/suggestions/{suggestion_id}/reject")
def reject(suggestion_id: RowId, body: Decision, db: Db, who: Reviewer) -> dict[str, Any]:
    """Reject the suggestion (the unit does not carry this code); 409 on a stale version."""
    return _act(db, who, suggestion_id, "reject", version=body.version, comment=body.comment)


@router.post("/suggestions/{suggestion_id}/override")
def override(suggestion_id: RowId, body: Override, db: Db, who: Reviewer) -> dict[str, Any]:
    """Correct the suggestion: another bucket, polarity or theme, and/or add missed codes."""
    return _act(
        db,
        who,
        suggestion_id,
        "override",
        version=body.version,
        comment=body.comment,
        bucket=body.bucket,
        polarity=body.polarity,
        theme_id=body.theme_id,
        add=[(a.bucket, a.polarity) for a in body.add],
    )


@router.post(
    "/units/{unit_id}/codes",
    status_code=201,
    responses={200: {"description": "The unit already carries this code; it is returned."}},
)
def add_code(
    unit_id: RowId, body: AddedCode, ctx: Ctx, db: Db, who: Reviewer, response: Response
) -> dict[str, Any]:
    """Add a code the model missed to a unit (an approved suggestion of origin "reviewer").

    Idempotent per unit, bucket and polarity: 201 when stored, 200 with the stored code when
    the unit already carries it."""
    out, created = review.add_code(
        db,
        who,
        unit_id,
        body.bucket,
        body.polarity,
        body.comment,
        codebook_version=ctx.codebook.version,
    )
    db.commit()
    if not created:
        response.status_code = 200
    return out


@router.get("/blind/next", responses={204: {"description": "Nothing left to code blind."}})
def next_blind(db: Db, who: Reviewer) -> Any:
    """The next unit for you to code blind: its text only, no model or colleague answers."""
    unit = agreement.next_blind_unit(db, who)
    return unit if unit is not None else Response(status_code=204)


@router.post("/blind/{unit_id}", status_code=201)
def submit_blind(unit_id: RowId, body: BlindCode, db: Db, who: Reviewer) -> dict[str, Any]:
    """Your labels for a double-coded unit; 409 if you coded it already or two others did."""
    record = agreement.submit_blind_code(db, who, unit_id, dict(body.labels))
    db.commit()
    return {"unit_id": unit_id, "id": record.id, "labels": record.labels}


@router.get("/agreement")
def get_agreement(db: Db, who: Reader) -> dict[str, Any]:
    """Per bucket: human-human and model-human alpha, kappa and AC1 with bootstrap 95% CIs,
    and which buckets may auto-accept (lower alpha bound >= threshold)."""
    report = dict(agreement.agreement(db, who.project_id))
    report["double_coding"] = agreement.double_coding_status(db, who.project_id)
    return report


@router.get("/audit")
def get_audit(
    db: Db,
    who: Analyst,
    subject: QueryText = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    """The project's append-only audit trail, oldest first (e.g. ``subject=suggestion:12``)."""
    return {"events": audit.trail(db, who.project_id, subject=subject, limit=limit, offset=offset)}
