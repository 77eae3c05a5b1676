"""Pages for researchers and analysts: documents with coded spans, the codebook, themes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from themecoder.services import agreement, curation, dashboard, page_filters, pages
from themecoder.services.dashboard import DashboardFilter
from themecoder_api.deps import Ctx, Db
from themecoder_api.schemas import BucketName, RowId
from themecoder_api.web.deps import AnyViewer, FilterForm, ReaderViewer, mark_page, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_page)])


@router.get("/documents", response_class=HTMLResponse)
def documents_page(
    request: Request,
    db: Db,
    v: ReaderViewer,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Transcripts and tickets of the project, newest first, a page at a time."""
    found = pages.documents_page(db, v.who, page)
    return render(request, "documents.html", v.session, v.who, **found)


@router.get("/documents/{item_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    item_id: RowId,
    db: Db,
    v: ReaderViewer,
    bucket: Annotated[BucketName | None, Query()] = None,
) -> HTMLResponse:
    """A document with its coded spans in place; a span links to its review."""
    doc = pages.document_view(db, v.who, item_id, bucket)
    return render(request, "document.html", v.session, v.who, doc=doc, bucket=bucket)


Done = Annotated[str | None, Query(max_length=300)]


@router.get("/codebook", response_class=HTMLResponse)
def codebook_page(request: Request, ctx: Ctx, v: AnyViewer, done: Done = None) -> HTMLResponse:
    """The codes in force with definitions, examples, owners and metrics, and the lineage;
    admins add, rename and merge codes here."""
    editable = curation.editable_codebook(ctx.settings) is not None
    return render(
        request, "codebook.html", v.session, v.who, book=ctx.codebook, editable=editable, done=done
    )


@router.get("/themes", response_class=HTMLResponse)
def themes_page(request: Request, db: Db, v: ReaderViewer, done: Done = None) -> HTMLResponse:
    """Themes of the project's units with sizes, quotes and a trend sparkline; analysts
    accept or reject proposals, rename and merge themes here."""
    themes = pages.themes(db, v.who)
    return render(request, "themes.html", v.session, v.who, themes=themes, done=done)


class AnalyticsQuery(FilterForm):
    """The analytics page's filters (query parameters); empty means everything."""

    bucket: BucketName | None = None
    freq: Literal["week", "month"] = "month"
    source: str | None = Field(None, max_length=200)
    account_id: str | None = Field(None, max_length=200)
    segment: str | None = Field(None, max_length=200)

    def dashboard_filter(self) -> DashboardFilter:
        values = (self.source, self.account_id, self.segment)
        return DashboardFilter(self.bucket, self.freq, *(v or None for v in values))


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    db: Db,
    ctx: Ctx,
    v: ReaderViewer,
    flt: Annotated[AnalyticsQuery, Query()],
) -> HTMLResponse:
    """Risk and positive signals over time with filters, account health, escalations and
    alerts, and agreement per bucket with the gates."""
    view = dashboard.analytics_view(db, v.who, ctx.codebook, flt.dashboard_filter())
    view["choices"] = page_filters.analytics_choices(db, v.who, view["choices"], flt.model_dump())
    return render(
        request,
        "analytics.html",
        v.session,
        v.who,
        view=view,
        filters=flt,
        min_interval_units=agreement.MIN_INTERVAL_UNITS,
    )
