"""REFI-QDA project export and import, coded-segment retrieval and the code matrix."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from themecoder.services import qda_export, qda_import, segments
from themecoder.services.custom_codes import custom_code_ids
from themecoder.services.segments import SegmentFilter
from themecoder_api.deps import Admin, Ctx, Db, Reader
from themecoder_api.schemas import QueryId, QueryText
from themecoder_api.schemas_interop import MatrixPublic, QdaImportPublic, SegmentsPublic

router = APIRouter(prefix="/v1", tags=["interchange"])
_ERRORS = {401: {"description": "No or bad key"}, 403: {"description": "Role may not"}}
_QDPX = "application/vnd.refi-qda.qdpx+zip"


@router.get(
    "/export/qdpx",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "A .qdpx archive"},
        **_ERRORS,
        422: {"description": "Bad group"},
    },
)
def export_qdpx(
    ctx: Ctx, db: Db, who: Reader, group: Literal["source", "account"] = "source"
) -> Response:
    """The project as a REFI-QDA project (.qdpx): sources, codes, coded segments, reviewers,
    notes, variables and cases, for MAXQDA, NVivo, ATLAS.ti or QualCoder (audited)."""
    data = qda_export.export_qdpx(db, who.project_id, group=group, codebook=ctx.codebook, who=who)
    slug = qda_export.project_slug(db, who.project_id)
    db.commit()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{slug}.qdpx"'},
    )


@router.post(
    "/import/qdpx",
    response_model=QdaImportPublic,
    status_code=201,
    responses={
        **_ERRORS,
        409: {"description": "Sources imported before"},
        413: {"description": "Body too large"},
        422: {"description": "Not a zip, no project.qde, fails the schema"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("application/octet-stream", "application/zip", _QDPX)
            },
            "required": True,
        }
    },
)
async def import_qdpx(
    request: Request,
    ctx: Ctx,
    db: Db,
    who: Admin,
    filename: Annotated[str, Query(max_length=200)] = "upload.qdpx",
) -> QdaImportPublic:
    """Import a .qdpx from another QDA tool (the raw archive as the body): its sources as
    items, its codes as a custom codebook, its coded segments as labelled examples. All or
    nothing (audited)."""
    data = await request.body()
    slug = qda_export.project_slug(db, who.project_id)
    report = qda_import.import_qdpx(
        db,
        who.project_id,
        data,
        filename=filename,
        project_slug=slug,
        who=who,
        settings=ctx.settings,
    )
    db.commit()
    return QdaImportPublic(**report)


@router.get(
    "/segments",
    response_model=SegmentsPublic,
    responses={
        **_ERRORS,
        422: {
            "description": "Bad filter: a code filter naming an unknown code or polarity (the "
            "message lists the valid ones)"
        },
    },
)
def find_segments(
    ctx: Ctx,
    db: Db,
    who: Reader,
    code: QueryText = None,
    account: QueryText = None,
    theme: QueryId = None,
    source: QueryText = None,
    limit: Annotated[int, Query(ge=1, le=segments.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SegmentsPublic:
    """Coded quotes by code (``pricing_perception:risk``, a bucket, ``theme:12``, a custom code
    or an imported code path), account, theme and source, with position, speaker, context and
    who decided; 422 for a code filter naming an unknown code or polarity, as ``/v1/search``."""
    where = SegmentFilter(code=code, account=account, theme=theme, source=source)
    custom = custom_code_ids(ctx.codebook)
    found = segments.find_segments(
        db, who.project_id, where, limit=limit, offset=offset, custom=custom
    )
    return SegmentsPublic(**found)


@router.get(
    "/segments/matrix",
    response_model=MatrixPublic,
    responses={**_ERRORS, 422: {"description": "Bad by"}},
)
def code_matrix(
    db: Db,
    who: Reader,
    by: Literal["source", "account"] = "source",
    account: QueryText = None,
    theme: QueryId = None,
    source: QueryText = None,
) -> MatrixPublic:
    """Segments per code (rows) and per source or account (columns), with totals."""
    where = SegmentFilter(account=account, theme=theme, source=source)
    return MatrixPublic(**segments.code_matrix(db, who.project_id, by=by, where=where))
