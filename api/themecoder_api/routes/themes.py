"""Themes of the caller's project: list, discover (optionally in a study), accept, reject,
rename, merge, and the units of one theme."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from themecoder.pipeline.themes import ThemeParams
from themecoder.services import segments, theme_edits, themes
from themecoder.services.segments import SegmentFilter
from themecoder.services.theme_store import ThemeView
from themecoder_api.contract import documented, link, linked
from themecoder_api.deps import Analyst, Ctx, Db, Reader
from themecoder_api.schemas import BucketName, RowId
from themecoder_api.schemas_interop import SegmentsPublic
from themecoder_api.schemas_themes import (
    DiscoverRequest,
    DiscoveryPublic,
    MergeRequest,
    RenameRequest,
    ThemeIdsRequest,
    ThemePublic,
    ThemesPublic,
    ThemeStatus,
)

router = APIRouter(prefix="/v1", tags=["themes"])
UNITS = link("GET", "/v1/themes/{theme_id}/units", theme_id="$response.body#/themes/0/id")
EDIT = documented(
    401, 403, 404, 409, 413, 422, s409="A theme is not in a state this needs (e.g. merged)."
)


def _public(views: list[ThemeView]) -> ThemesPublic:
    return ThemesPublic(themes=[ThemePublic(**asdict(v)) for v in views])


@router.get(
    "/themes",
    responses={**linked(200, "The project's themes.", GetUnits=UNITS), **documented(401, 403, 422)},
)
def list_themes(
    ctx: Ctx,
    db: Db,
    who: Reader,
    bucket: BucketName | None = None,
    status: Annotated[list[ThemeStatus] | None, Query()] = None,
) -> ThemesPublic:
    """The project's themes (default: active and proposed), with sizes, keywords and quotes."""
    found = themes.list_themes(
        ctx.settings,
        bucket,
        status or ("active", "proposed"),
        who.project_id,
        session=db,
    )
    return _public(found)


@router.post(
    "/themes/discover",
    status_code=201,
    responses={
        **linked(201, "The themes found (none, with a message saying why).", GetUnits=UNITS),
        **documented(
            401,
            403,
            404,
            409,
            413,
            422,
            s404="No units in the scope, or a study source the project does not have.",
            s409="The scope has themes already (use residual) or open proposals.",
            s422="Invalid input, or too few units with content in the scope.",
        ),
    },
)
def discover(body: DiscoverRequest, ctx: Ctx, db: Db, who: Analyst) -> DiscoveryPublic:
    """Discover themes in the project's units, or in a study (sources and/or a period);
    small talk and fillers are left out, and the smallest theme adapts to the study's size
    unless ``min_theme_size`` is given (audited)."""
    params = (
        None
        if body.min_theme_size is None
        else ThemeParams(min_topic_size=body.min_theme_size, adaptive=False)
    )
    found = themes.discover(
        ctx.settings,
        body.bucket,
        body.residual,
        params=params,
        project_id=who.project_id,
        study=themes.Study(tuple(body.sources), body.since, body.until),
        session=db,
        who=who,
    )
    db.commit()
    out = asdict(found)
    out["themes"] = [ThemePublic(**t) for t in out["themes"]]
    return DiscoveryPublic(**{k: v for k, v in out.items() if k in DiscoveryPublic.model_fields})


@router.post("/themes/accept", responses=EDIT)
def accept(body: ThemeIdsRequest, ctx: Ctx, db: Db, who: Reader) -> ThemesPublic:
    """Accept proposed themes: their units leave the unassigned pool (audited)."""
    done = theme_edits.accept(
        ctx.settings, body.theme_ids, project_id=who.project_id, session=db, who=who
    )
    db.commit()
    return _public(done)


@router.post("/themes/reject", responses=EDIT)
def reject(body: ThemeIdsRequest, ctx: Ctx, db: Db, who: Reader) -> ThemesPublic:
    """Reject proposed themes: their units return to the unassigned pool (audited)."""
    done = theme_edits.reject(
        ctx.settings, body.theme_ids, project_id=who.project_id, session=db, who=who
    )
    db.commit()
    return _public(done)


@router.post("/themes/merge", responses=EDIT)
def merge(body: MergeRequest, ctx: Ctx, db: Db, who: Reader) -> ThemePublic:
    """Merge themes into the first id; past counts become the sum of the parents' (audited)."""
    done = theme_edits.merge(
        ctx.settings, body.theme_ids, body.label, project_id=who.project_id, session=db, who=who
    )
    db.commit()
    return ThemePublic(**asdict(done))


@router.post("/themes/{theme_id}/rename", responses=EDIT)
def rename(theme_id: RowId, body: RenameRequest, ctx: Ctx, db: Db, who: Reader) -> ThemePublic:
    """Give a theme a new label; its id, units and history stay (audited)."""
    done = theme_edits.rename(
        ctx.settings, theme_id, body.label, project_id=who.project_id, session=db, who=who
    )
    db.commit()
    return ThemePublic(**asdict(done))


@router.get(
    "/themes/{theme_id}/units",
    responses=documented(401, 403, 404, 422, s404="No such theme in the caller's project."),
)
def theme_units(
    theme_id: RowId,
    ctx: Ctx,
    db: Db,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=segments.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SegmentsPublic:
    """The units carrying a theme, with source, position, speaker, context and codes (the
    same as ``/v1/segments?theme=ID``)."""
    themes.get_theme(ctx.settings, theme_id, who.project_id, session=db)  # 404 if not ours
    found = segments.find_segments(
        db, who.project_id, SegmentFilter(theme=theme_id), limit=limit, offset=offset
    )
    return SegmentsPublic(**found)
