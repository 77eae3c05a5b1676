"""Quote search by meaning and the insight repository."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BeforeValidator

from themecoder.services import insights
from themecoder.services.custom_codes import custom_code_ids
from themecoder.services.search import MAX_K, MAX_QUERY_CHARS, SearchFilter, search_quotes
from themecoder_api.contract import documented, link, linked
from themecoder_api.deps import Ctx, Db, Reader
from themecoder_api.schemas import QueryText, RowId, Text, not_blank
from themecoder_api.schemas_research import (
    InsightCreate,
    InsightLinks,
    InsightMetric,
    InsightPublic,
    InsightsPublic,
    InsightStatusChange,
    SearchPublic,
    StatusName,
)

router = APIRouter(prefix="/v1", tags=["research"])


#: What to search for: 1..MAX_QUERY_CHARS characters, not only spaces.
SearchText = Annotated[
    Text,
    BeforeValidator(partial(not_blank, max_chars=MAX_QUERY_CHARS)),
    Query(min_length=1, max_length=MAX_QUERY_CHARS),
]
_ONE = "/v1/insights/{insight_id}"
_LINKS = {
    "GetInsight": link("GET", _ONE, insight_id="$response.body#/id"),
    "LinkInsight": link("POST", _ONE + "/links", insight_id="$response.body#/id"),
    "SetStatus": link("POST", _ONE + "/status", insight_id="$response.body#/id"),
}


@router.get(
    "/search",
    response_model=SearchPublic,
    responses=documented(
        401,
        403,
        409,
        422,
        503,
        s409="The stored units were embedded by another model.",
        s422="Invalid input: an empty q, or a code filter naming an unknown code or polarity "
        "(the message lists the valid ones).",
    ),
)
def search(
    ctx: Ctx,
    db: Db,
    who: Reader,
    q: SearchText,
    code: QueryText = None,
    account: QueryText = None,
    source: QueryText = None,
    since: datetime | None = None,
    until: datetime | None = None,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
) -> SearchPublic:
    """The project's quotes most like ``q`` (cosine over the units' stored embeddings), best
    first; filtered by code (``bucket:polarity``, a bucket, ``theme:ID``, a custom code),
    account, source and period (``since`` inclusive, ``until`` exclusive); 422 for an empty
    ``q`` or a code filter naming an unknown code or polarity (the message lists the valid ones)."""
    where = SearchFilter(code=code, account=account, source=source, since=since, until=until)
    embed = ctx.coders.get(None).encode
    custom = custom_code_ids(ctx.codebook)
    found = search_quotes(db, who.project_id, q, embed, ctx.search, where, k=k, custom=custom)
    return SearchPublic.model_validate(found)


@router.post(
    "/insights",
    status_code=201,
    responses={**linked(201, "The new insight.", **_LINKS), **documented(401, 403, 413, 422)},
)
def create_insight(body: InsightCreate, db: Db, who: Reader) -> InsightPublic:
    """Add an insight or hypothesis card ("SSO setup friction delays activation"), audited."""
    card = insights.create_insight(
        db, who.project_id, body.title, body.statement, status=body.status, who=who
    )
    db.commit()
    return InsightPublic.model_validate(card)


@router.get("/insights", responses=documented(401, 403, 422))
def list_insights(
    db: Db,
    who: Reader,
    status: StatusName | None = None,
    q: QueryText = None,
    limit: Annotated[int, Query(ge=1, le=insights.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InsightsPublic:
    """The project's insights, newest first; ``q`` keeps those whose title or statement holds
    every word of it."""
    found = insights.list_insights(
        db, who.project_id, status=status, query=q, limit=limit, offset=offset
    )
    return InsightsPublic.model_validate(found)


@router.get(_ONE.removeprefix("/v1"), responses=documented(401, 403, 404, 422))
def get_insight(insight_id: RowId, db: Db, who: Reader) -> InsightPublic:
    """One insight with its quotes, themes, codes, accounts, metric snapshot and history."""
    return InsightPublic.model_validate(insights.get_insight(db, who.project_id, insight_id))


@router.post(_ONE.removeprefix("/v1") + "/links", responses=documented(401, 403, 404, 413, 422))
def link_insight(
    insight_id: RowId, body: InsightLinks, ctx: Ctx, db: Db, who: Reader
) -> InsightPublic:
    """Link quotes (unit ids), themes, codes and accounts of the project (audited); 422 for a
    code no quote search filter could name (the message lists the valid ones)."""
    card = insights.link_insight(
        db,
        who.project_id,
        insight_id,
        quotes=body.quotes,
        themes=body.themes,
        codes=body.codes,
        accounts=body.accounts,
        custom=custom_code_ids(ctx.codebook),
        who=who,
    )
    db.commit()
    return InsightPublic.model_validate(card)


@router.post(
    _ONE.removeprefix("/v1") + "/status",
    responses=documented(401, 403, 404, 409, 413, 422, s409="The insight has that status."),
)
def set_status(insight_id: RowId, body: InsightStatusChange, db: Db, who: Reader) -> InsightPublic:
    """Move the insight to proposed, testing, supported or refuted; kept in its history."""
    card = insights.set_status(db, who.project_id, insight_id, body.status, note=body.note, who=who)
    db.commit()
    return InsightPublic.model_validate(card)


@router.post(
    _ONE.removeprefix("/v1") + "/metric",
    responses=documented(
        401, 403, 404, 413, 422, s404="No such insight, or no such outcome imported."
    ),
)
def attach_metric(
    insight_id: RowId, body: InsightMetric, ctx: Ctx, db: Db, who: Reader
) -> InsightPublic:
    """Snapshot the linkage of a signal to an outcome (effect and 95% CI, counts) on the card."""
    card = insights.attach_metric(
        db,
        who.project_id,
        insight_id,
        ctx.codebook,
        signal=body.signal,
        outcome=body.outcome,
        who=who,
    )
    db.commit()
    return InsightPublic.model_validate(card)
