"""Analytics: time series, risk routing and escalations, health, digest, anomalies,
outcomes and linkage, coverage. Thin: each route calls one service function.

Statuses: 401 without a key, 403 for a role without access, 404 for an unknown escalation
or missing imported outcomes, 409 for an escalation not in a state the change starts from,
422 for bad input (an unknown column lists the known ones).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from themecoder.analytics.frames import parse_filters
from themecoder.analytics.risk import RiskParams
from themecoder.services import analytics as svc
from themecoder.services import escalations, outcomes
from themecoder_api.deps import Analyst, Ctx, Db, Reader
from themecoder_api.schemas import RowId
from themecoder_api.schemas_analytics import (
    AccountHealthPublic,
    AnomalyPublic,
    CoveragePublic,
    DigestPublic,
    EscalationListPublic,
    EscalationPublic,
    LinkagePublic,
    OutcomeImportPublic,
    OutcomesIn,
    RiskPublic,
    RouteIn,
    RoutePublic,
    StatusChange,
    TimeSeriesPublic,
    rows_of,
)

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
Name = Annotated[str, Query(max_length=40)]
Names = Annotated[list[str] | None, Query(max_length=20)]
ERRORS = {
    401: {"description": "no or bad key"},
    403: {"description": "role not allowed"},
    422: {"description": "bad input; an unknown column lists the known ones"},
}
#: Routes with a body can also meet the body limit.
WRITE = {**ERRORS, 413: {"description": "the body is over the size limit"}}


@router.get(
    "/timeseries",
    response_model=TimeSeriesPublic,
    responses={**ERRORS, 404: {"description": "weighted counts need imported accounts"}},
)
def timeseries(
    db: Db,
    ctx: Ctx,
    who: Reader,
    measure: Name = "buckets",
    freq: Name = "month",
    by: Names = None,
    where: Names = None,
    series: Names = None,
    start: Annotated[str | None, Query(max_length=30)] = None,
    end: Annotated[str | None, Query(max_length=30)] = None,
    weighted: bool = False,
) -> dict:
    """Counts and shares per period (``where=plan=team,business``; ``by=channel``)."""
    weights = outcomes.item_weights(db, who.project_id) if weighted else None
    frame = svc.timeseries(
        db,
        ctx.codebook,
        project_id=who.project_id,
        measure=measure,
        freq=freq,
        group_by=by or [],
        filters=parse_filters(where or []),
        series=series or [],
        start=start,
        end=end,
        weights=weights,
    )
    return {
        "measure": measure,
        "freq": freq,
        "group_by": by or [],
        "weighted": weighted,
        "rows": rows_of(svc.records(frame), by or []),
    }


@router.get("/risk", response_model=RiskPublic, responses=ERRORS)
def risk(db: Db, who: Reader, top: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    """The highest-risk signals with their components and route."""
    frame = escalations.scored(db, who.project_id).sort_values("score", ascending=False)
    signals = [
        {
            "item": r.external_id,
            "account_id": r.account_id,
            "bucket": r.bucket,
            "polarity": r.polarity,
            "sentiment": r.sentiment_c,
            "frequency": r.frequency_c,
            "impact": r.impact_c,
            "score": r.score,
            "route": r.route,
            "text": r.unit_text,
        }
        for r in frame.head(top).itertuples()
    ]
    return {"total": len(frame), "signals": signals}


@router.post("/route", response_model=RoutePublic, responses=WRITE)
def route(body: RouteIn, db: Db, ctx: Ctx, who: Analyst) -> dict:
    """Route every signal of the project; new escalations go to their bucket's owner.
    Send ``{}`` for the documented weights and thresholds."""
    params = RiskParams(**body.model_dump())
    done = escalations.route(db, ctx.codebook, who.project_id, who, params)
    db.commit()
    return done


@router.get("/escalations", response_model=EscalationListPublic, responses=ERRORS)
def list_escalations(
    db: Db, who: Reader, status: Annotated[str | None, Query(max_length=20)] = None
) -> dict:
    """Escalations, highest score first; ``status`` open, acknowledged or closed."""
    return {"escalations": escalations.list_escalations(db, who.project_id, status)}


def _change(db: Db, who: Reader, escalation_id: int, status: str, body: StatusChange) -> dict:
    done = escalations.set_status(db, who.project_id, escalation_id, status, who, body.comment)
    db.commit()
    return done


CHANGE = {
    **WRITE,
    404: {"description": "no such escalation"},
    409: {"description": "not in a state this change starts from"},
}


@router.post(
    "/escalations/{escalation_id}/acknowledge", response_model=EscalationPublic, responses=CHANGE
)
def acknowledge(escalation_id: RowId, body: StatusChange, db: Db, who: Reader) -> dict:
    """Acknowledge an open escalation (audited)."""
    return _change(db, who, escalation_id, "acknowledged", body)


@router.post(
    "/escalations/{escalation_id}/close", response_model=EscalationPublic, responses=CHANGE
)
def close(escalation_id: RowId, body: StatusChange, db: Db, who: Reader) -> dict:
    """Close an escalation (audited)."""
    return _change(db, who, escalation_id, "closed", body)


@router.get("/health", response_model=AccountHealthPublic, responses=ERRORS)
def health(db: Db, who: Reader, as_of: Annotated[str | None, Query(max_length=30)] = None) -> dict:
    """Green / gray / red per account, worst first."""
    return {"accounts": svc.records(svc.health(db, who.project_id, as_of))}


@router.get("/digest", response_model=DigestPublic, responses=ERRORS)
def digest(db: Db, who: Reader, week: Annotated[str | None, Query(max_length=10)] = None) -> dict:
    """The weekly digest of ISO ``week`` (``2026-W36``; default: the week of the latest
    signal), JSON with its Markdown."""
    return svc.weekly_digest(db, week, who.project_id)


@router.get("/anomalies", response_model=AnomalyPublic, responses=ERRORS)
def anomalies(
    db: Db, ctx: Ctx, who: Reader, measure: Name = "buckets", freq: Name = "week", by: Names = None
) -> dict:
    """Series whose share departs from its baseline, with the test and the causing items."""
    return svc.anomaly_alerts(
        db, ctx.codebook, project_id=who.project_id, measure=measure, freq=freq, group_by=by or []
    )


@router.post("/outcomes", response_model=OutcomeImportPublic, responses=WRITE)
def import_outcomes(body: OutcomesIn, db: Db, who: Analyst) -> dict:
    """Import accounts and a dated outcome from CSV text; bad rows come back by line."""
    done = outcomes.import_outcomes(
        db,
        body.csv,
        project_id=who.project_id,
        outcome=body.outcome,
        date_column=body.date_column,
        account_column=body.account_column,
        user_column=body.user_column,
        allow_unknown=body.allow_unknown,
    )
    db.commit()
    return done


@router.get(
    "/linkage",
    response_model=LinkagePublic,
    responses={
        **ERRORS,
        404: {"description": "outcome not imported, or no accounts to weight or adjust by"},
    },
)
def linkage(
    db: Db,
    ctx: Ctx,
    who: Reader,
    outcome: Name = "renewed",
    level: Name = "account",
    adjust_for: Names = None,
    weighted: bool = False,
    weight_by: Names = None,
    themes: bool = True,
) -> dict:
    """Outcome rates with and without each signal, difference and risk ratio with CIs;
    ``level=user`` for outcomes imported per user, ``weighted`` post-stratifies to the
    imported accounts' mix of ``weight_by`` (default segment)."""
    found = outcomes.linkage(
        db,
        ctx.codebook,
        project_id=who.project_id,
        outcome=outcome,
        level=level,
        adjust_for=adjust_for or [],
        weighted=weighted,
        weight_by=weight_by or ["segment"],
        themes=themes,
    )
    return {**{k: v for k, v in found.items() if k != "table"}, "rows": svc.records(found["table"])}


@router.get(
    "/coverage",
    response_model=CoveragePublic,
    responses={**ERRORS, 404: {"description": "no accounts imported"}},
)
def coverage(db: Db, who: Reader, by: Names = None) -> dict:
    """Who gave feedback against the imported customer base; under-heard groups flagged."""
    table = outcomes.coverage(db, who.project_id, by or None)
    return {"rows": svc.records(table)}
