"""Review queues, reviewer actions, blind double coding, agreement and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from themecoder.services import agreement, audit, review
from themecoder.services.review import QueueFilter
from themecoder_api.contract import documented, link, linked
from themecoder_api.deps import Analyst, Ctx, Db, Reader, Reviewer
from themecoder_api.public import (
    AgreementPublic,
    AuditPublic,
    BlindCodePublic,
    BlindUnitPublic,
    DecisionPublic,
    QueuePublic,
    SuggestionPublic,
)
from themecoder_api.schemas import (
    MAX_ID,
    AddedCode,
    BandName,
    BlindCode,
    BucketName,
    Decision,
    Override,
    QueryId,
    QueryText,
    RowId,
    StateName,
)

router = APIRouter(prefix="/v1", tags=["review"])
SUGGESTION_0 = "$response.body#/suggestions/0/id"


def _decisions(id_: str, version: str) -> dict[str, dict]:
    """Links from a response naming a suggestion to the decisions on it."""
    return {
        f"{action.title()}": link(
            "POST",
            f"/v1/suggestions/{{suggestion_id}}/{action}",
            body={"version": version},
            suggestion_id=id_,
        )
        for action in ("approve", "reject")
    }


#: A decision on a suggestion: its id, the version seen, a body.
DECIDE = documented(
    401,
    403,
    404,
    409,
    413,
    422,
    s409="Someone acted on this version first, or the unit waits for blind double coding.",
)


@router.get(
    "/queue",
    responses={
        **linked(
            200,
            "A page of the queue.",
            GetSuggestion=link(
                "GET", "/v1/suggestions/{suggestion_id}", suggestion_id=SUGGESTION_0
            ),
            **_decisions(SUGGESTION_0, "$response.body#/suggestions/0/version"),
        ),
        **documented(401, 403, 404, 422, s404="No such theme."),
    },
)
def get_queue(
    db: Db,
    who: Reviewer,
    state: StateName = "pending",
    bucket: BucketName | None = None,
    theme_id: QueryId = None,
    account_id: QueryText = None,
    band: BandName | None = None,
    limit: Annotated[int, Query(ge=1, le=review.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> QueuePublic:
    """Suggestions to review, by bucket, theme, account or confidence band (low, medium,
    high), highest expected value of review (uncertainty x risk) first."""
    flt = QueueFilter(state, bucket, theme_id, account_id, band)
    total, page = review.queue(db, who.project_id, flt, limit=limit, offset=offset)
    return QueuePublic.model_validate(
        {"total": total, "limit": limit, "offset": offset, "suggestions": page}
    )


@router.get(
    "/suggestions/{suggestion_id}",
    responses={
        **linked(
            200,
            "The suggestion.",
            **_decisions("$response.body#/id", "$response.body#/version"),
        ),
        **documented(
            401, 403, 404, 409, 422, s409="The unit waits for blind double coding (reviewers)."
        ),
    },
)
def get_suggestion(suggestion_id: RowId, db: Db, who: Reader) -> SuggestionPublic:
    """One suggestion with its unit, item and current version."""
    return SuggestionPublic.model_validate(
        review.get(db, who.project_id, suggestion_id, blind=who.role == "reviewer")
    )


def _act(db: Db, who: Reviewer, suggestion_id: int, action: str, **kw: Any) -> DecisionPublic:
    out = review.act(db, who, suggestion_id, action, **kw)
    db.commit()
    return DecisionPublic.model_validate(out)


@router.post("/suggestions/{suggestion_id}/approve", responses=DECIDE)
def approve(suggestion_id: RowId, body: Decision, db: Db, who: Reviewer) -> DecisionPublic:
    """Approve the suggestion at ``version``; 409 if someone acted on it first."""
    return _act(db, who, suggestion_id, "approve", version=body.version, comment=body.comment)


@router.post("/suggestions/{suggestion_id}/reject", responses=DECIDE)
def reject(suggestion_id: RowId, body: Decision, db: Db, who: Reviewer) -> DecisionPublic:
    """Reject the suggestion (the unit does not carry this code); 409 on a stale version."""
    return _act(db, who, suggestion_id, "reject", version=body.version, comment=body.comment)


@router.post("/suggestions/{suggestion_id}/override", responses=DECIDE)
def override(suggestion_id: RowId, body: Override, db: Db, who: Reviewer) -> DecisionPublic:
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
    responses={
        200: {
            "model": SuggestionPublic,
            "description": "The unit already carries this code; it is returned.",
        },
        **linked(
            201,
            "The added code, an approved suggestion.",
            GetSuggestion=link(
                "GET", "/v1/suggestions/{suggestion_id}", suggestion_id="$response.body#/id"
            ),
        ),
        **documented(401, 403, 404, 409, 413, 422, s409="The unit waits for blind double coding."),
    },
)
def add_code(
    unit_id: RowId, body: AddedCode, ctx: Ctx, db: Db, who: Reviewer, response: Response
) -> SuggestionPublic:
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
    return SuggestionPublic.model_validate(out)


@router.get(
    "/blind/next",
    response_model=BlindUnitPublic,
    responses={
        **linked(
            200,
            "A unit to code blind.",
            CodeBlind=link("POST", "/v1/blind/{unit_id}", unit_id="$response.body#/unit_id"),
        ),
        204: {"description": "Nothing left to code blind."},
        **documented(401, 403),
    },
)
def next_blind(db: Db, who: Reviewer) -> Any:
    """The next unit for you to code blind: its text only, no model or colleague answers."""
    unit = agreement.next_blind_unit(db, who)
    return BlindUnitPublic.model_validate(unit) if unit is not None else Response(status_code=204)


@router.post(
    "/blind/{unit_id}",
    status_code=201,
    responses=documented(
        401,
        403,
        404,
        409,
        413,
        422,
        s404="No such unit waiting for blind double coding.",
        s409="You coded this unit already, or two others did.",
    ),
)
def submit_blind(unit_id: RowId, body: BlindCode, db: Db, who: Reviewer) -> BlindCodePublic:
    """Your labels for a double-coded unit; 409 if you coded it already or two others did."""
    record = agreement.submit_blind_code(db, who, unit_id, dict(body.labels))
    db.commit()
    return BlindCodePublic(unit_id=unit_id, id=record.id, labels=record.labels)


@router.get("/agreement", responses=documented(401, 403))
def get_agreement(db: Db, who: Reader) -> AgreementPublic:
    """Per bucket: human-human and model-human alpha, kappa and AC1 with bootstrap 95% CIs,
    and which buckets may auto-accept (lower alpha bound >= threshold)."""
    report = dict(agreement.agreement(db, who.project_id))
    report["double_coding"] = agreement.double_coding_status(db, who.project_id)
    return AgreementPublic.model_validate(report)


@router.get("/audit", responses=documented(401, 403, 422))
def get_audit(
    db: Db,
    who: Analyst,
    subject: QueryText = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditPublic:
    """The project's append-only audit trail, oldest first (e.g. ``subject=suggestion:12``)."""
    events = audit.trail(db, who.project_id, subject=subject, limit=limit, offset=offset)
    return AuditPublic.model_validate({"events": events})
