"""Project settings, API keys and model versions (retraining from review decisions)."""

from __future__ import annotations

from fastapi import APIRouter, status

from themecoder.services import jobs, models, projects
from themecoder_api.contract import JOB_LINK, documented, linked
from themecoder_api.deps import Admin, Anyone, Ctx, Db
from themecoder_api.public import (
    JobPublic,
    KeyCreatedPublic,
    KeyListPublic,
    KeyPublic,
    ModelListPublic,
    ProjectPublic,
    RollbackPublic,
    SettingsPublic,
)
from themecoder_api.schemas import (
    KeyRequest,
    ProjectPatch,
    RetrainRequest,
    RollbackRequest,
    RowId,
)

router = APIRouter(prefix="/v1", tags=["admin"])


@router.get("/project", responses=documented(401))
def get_project(db: Db, who: Anyone) -> ProjectPublic:
    """The caller's project, its review rules and current model, and the caller's role."""
    return ProjectPublic.model_validate(projects.project_view(db, who))


@router.patch("/project", responses=documented(401, 403, 413, 422))
def patch_project(body: ProjectPatch, ctx: Ctx, db: Db, who: Admin) -> SettingsPublic:
    """Change the review rules (double-coding share, gate threshold and minimum units) or the
    personal-data rules (personal metadata columns, keep_original, pii_allow)."""
    settings = projects.update_settings(
        db,
        who.project_id,
        body.model_dump(exclude_none=True),
        actor=who,
        key_configured=ctx.settings.pii_key is not None,
    )
    db.commit()
    return SettingsPublic(settings=settings)


@router.get("/keys", responses=documented(401, 403))
def list_keys(db: Db, who: Admin) -> KeyListPublic:
    """The project's keys (never the keys themselves)."""
    return KeyListPublic.model_validate({"keys": projects.list_keys(db, who.project_id)})


@router.post("/keys", status_code=status.HTTP_201_CREATED, responses=documented(401, 403, 413, 422))
def create_key(body: KeyRequest, db: Db, who: Admin) -> KeyCreatedPublic:
    """Issue a key in the caller's project; the plain key is in this response only."""
    record, plain = projects.create_key(db, who.project_id, body.role, body.name, actor=who)
    db.commit()
    return KeyCreatedPublic.model_validate({**projects.key_view(record), "key": plain})


@router.delete(
    "/keys/{key_id}",
    responses=documented(
        401, 403, 404, 409, 422, s409="The project's last live admin key cannot be revoked."
    ),
)
def revoke_key(key_id: RowId, db: Db, who: Admin) -> KeyPublic:
    """Revoke a key of the project; it stops working at once. The last live admin key of a
    project cannot be revoked (409): create another admin key first."""
    record = projects.revoke_key(db, who.project_id, key_id, actor=who)
    db.commit()
    return KeyPublic.model_validate(projects.key_view(record))


@router.get("/models", responses=documented(401, 403))
def list_models(db: Db, who: Admin) -> ModelListPublic:
    """Model versions trained for the project, with their retrain reports."""
    return ModelListPublic.model_validate({"versions": models.list_versions(db, who.project_id)})


@router.post(
    "/models/rollback",
    responses=documented(
        401,
        403,
        404,
        409,
        413,
        422,
        s404="to_version is not an earlier promoted version.",
        s409="The project uses the shipped model, or the version is missing from the store.",
    ),
)
def rollback(body: RollbackRequest, ctx: Ctx, db: Db, who: Admin) -> RollbackPublic:
    """Take the project back to the model promoted before the current one (or to
    ``to_version``, or ``"shipped"``); audited. A version missing from the model store is
    refused (409)."""
    store = ctx.settings.project_models_dir
    out = models.rollback(db, who.project_id, who, to=body.to_version, store=store)
    db.commit()
    return RollbackPublic.model_validate(out)


@router.post(
    "/models/retrain",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **linked(202, "The queued retrain job.", GetJob=JOB_LINK),
        **documented(401, 403, 413, 422),
    },
)
def retrain(body: RetrainRequest, ctx: Ctx, db: Db, who: Admin) -> JobPublic:
    """Train a new version on reviewed decisions, compare it with the current one on held-out
    reviewed units, promote it only if not worse. A background job: its result holds the
    before/after F1 per bucket and the promotion decision."""
    out = jobs.enqueue_retrain(db, who, body.tolerance)
    db.commit()
    ctx.jobs_queued()
    return JobPublic.model_validate(out)
