"""The review screen (one unit at a time, decided by keyboard) and blind double coding."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from themecoder.services import agreement, custom_codes, page_filters, pages
from themecoder.services.pages import UnitDecision, UnitFilter
from themecoder_api.deps import Ctx, Db
from themecoder_api.schemas import (
    MAX_ID,
    AddedCode,
    BucketName,
    PolarityName,
    QueryId,
    RowId,
    Strict,
)
from themecoder_api.web.deps import FilterForm, ReviewerViewer, mark_page, render
from themecoder_api.web.session import CSRF_FIELD, CSRF_HEADER, check_csrf

Token = Annotated[str, Form(alias=CSRF_FIELD, max_length=200)]

router = APIRouter(include_in_schema=False)
pages_router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])
BLIND_LABELS = ("absent", "positive", "neutral", "risk")


class Filters(FilterForm):
    """The queue filters of the review screen (query parameters)."""

    bucket: BucketName | None = None
    band: Literal["low", "medium", "high"] | None = None
    account: str | None = Field(None, max_length=200)
    theme: int | None = Field(None, ge=1, le=MAX_ID)
    source: str | None = Field(None, max_length=200)

    def unit_filter(self) -> UnitFilter:
        return UnitFilter(self.bucket, self.band, self.account or None, self.theme, self.source)

    def query(self, **extra: Any) -> str:
        values = {**self.model_dump(exclude_none=True), **extra}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _url(flt: Filters, unit_id: int | None) -> str | None:
    return None if unit_id is None else f"/review?{flt.query(unit=unit_id)}"


@pages_router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    db: Db,
    ctx: Ctx,
    v: ReviewerViewer,
    flt: Annotated[Filters, Query()],
    unit: QueryId = None,
) -> HTMLResponse:
    """One unit with every bucket at once; keys: a j k u 1-6 p n r."""
    choices = page_filters.filter_choices(db, v.who, flt.unit_filter())
    order = pages.review_order(db, v.who, flt.unit_filter())
    unit_id = unit if unit is not None else (order[0][0] if order else None)
    view = pages.unit_view(db, v.who, unit_id) if unit_id is not None else None
    custom = custom_codes.unit_custom_codes(db, v.who, unit_id, ctx.codebook) if view else None
    nav = pages.neighbours(db, order, unit_id) if unit_id is not None else None
    return render(
        request,
        "review.html",
        v.session,
        v.who,
        view=view,
        custom=custom,
        nav=nav,
        prev_url=_url(flt, nav and nav["prev"]),
        next_url=_url(flt, nav and nav["next"]),
        filters=flt,
        filter_query=flt.query(),
        choices=choices,
        progress=pages.progress(db, v.who),
        queue_size=len(order),
    )


class DecisionIn(Strict):
    suggestion_id: int = Field(ge=1, le=MAX_ID)
    version: int = Field(ge=1)
    action: Literal["approve", "reject", "override"]
    polarity: PolarityName | None = None
    bucket: BucketName | None = None


class UnitDecide(Strict):
    decisions: list[DecisionIn] = Field(default_factory=list, max_length=60)
    add: list[AddedCode] = Field(default_factory=list, max_length=6)


class UnitDecided(BaseModel):
    """Per decision "ok" or "conflict" (with the current suggestion); where to go next."""

    results: list[dict[str, Any]]
    added: list[dict[str, Any]]
    conflicts: int
    next_url: str | None


@router.post("/review/units/{unit_id}/decide", response_model=UnitDecided)
def decide(
    unit_id: RowId,
    body: UnitDecide,
    ctx: Ctx,
    db: Db,
    v: ReviewerViewer,
    flt: Annotated[Filters, Query()],
    csrf: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
) -> UnitDecided:
    """The review screen's decisions on one unit (JSON, CSRF token in a header)."""
    check_csrf(v.session, csrf)
    out = pages.decide_unit(
        db,
        v.who,
        unit_id,
        [UnitDecision(**d.model_dump()) for d in body.decisions],
        [(a.bucket, a.polarity) for a in body.add],
        codebook_version=ctx.codebook.version,
    )
    db.commit()
    nav = pages.neighbours(db, pages.review_order(db, v.who, flt.unit_filter()), unit_id)
    conflicts = sum(r["status"] == "conflict" for r in out["results"])
    return UnitDecided(**out, conflicts=conflicts, next_url=_url(flt, nav["next"]) or "/review")


@pages_router.get("/blind", response_class=HTMLResponse)
def blind_page(request: Request, db: Db, v: ReviewerViewer, done: QueryId = None) -> HTMLResponse:
    """The next unit to code blind: its text only, every bucket to label, no model answer."""
    unit = agreement.next_blind_unit(db, v.who)
    status = agreement.double_coding_status(db, v.who.project_id)
    return render(
        request,
        "blind.html",
        v.session,
        v.who,
        unit=unit,
        done=done,
        status=status,
        labels=BLIND_LABELS,
    )


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as strings (the blind form's field names vary with the buckets)."""
    form = await request.form(max_fields=50, max_files=0)
    return {k: str(val)[:200] for k, val in form.items()}


@pages_router.post("/blind/{unit_id}")
def blind_submit(
    unit_id: RowId,
    db: Db,
    v: ReviewerViewer,
    form: Annotated[dict[str, str], Depends(form_fields)],
) -> RedirectResponse:
    """One reviewer's blind labels; then the next unit."""
    check_csrf(v.session, form.get(CSRF_FIELD))
    labels = {k.removeprefix("label_"): val for k, val in form.items() if k.startswith("label_")}
    agreement.submit_blind_code(db, v.who, unit_id, labels)
    db.commit()
    return RedirectResponse(f"/blind?done={unit_id}", status_code=303)


@pages_router.post("/review/units/{unit_id}/custom")
def add_custom_code(
    unit_id: RowId,
    ctx: Ctx,
    db: Db,
    v: ReviewerViewer,
    code: Annotated[str, Form(min_length=1, max_length=80)],
    polarity: Annotated[PolarityName, Form()],
    flt: Annotated[Filters, Query()],
    csrf_token: Token = "",
) -> RedirectResponse:
    """Put one of the codebook's custom codes on the unit; back to the unit in its queue."""
    check_csrf(v.session, csrf_token)
    custom_codes.add(db, v.who, unit_id, code, polarity, ctx.codebook)
    db.commit()
    return RedirectResponse(f"{_url(flt, unit_id)}#custom", status_code=303)


@pages_router.post("/review/units/{unit_id}/custom/{suggestion_id}/remove")
def remove_custom_code(
    unit_id: RowId,
    suggestion_id: RowId,
    db: Db,
    v: ReviewerViewer,
    version: Annotated[int, Form(ge=1)],
    flt: Annotated[Filters, Query()],
    csrf_token: Token = "",
) -> RedirectResponse:
    """Take a custom code off the unit (409 if someone changed it first); back to the unit
    in its queue."""
    check_csrf(v.session, csrf_token)
    custom_codes.withdraw(db, v.who, unit_id, suggestion_id, version)
    db.commit()
    return RedirectResponse(f"{_url(flt, unit_id)}#custom", status_code=303)
