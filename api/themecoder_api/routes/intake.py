"""Ingest items, code one ticket synchronously, run bulk coding in the background."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from themecoder.errors import InvalidInput, PayloadTooLarge
from themecoder.records import bucket_record
from themecoder.services import intake, items, jobs, languages, projects
from themecoder.services.intake import IncomingItem, IngestOutcome
from themecoder.services.projects import Principal
from themecoder_api.contract import JOB_LINK, documented, link, linked
from themecoder_api.deps import Anyone, Context, Ctx, Db, Ingest, Reader
from themecoder_api.public import CodePublic, IngestPublic, ItemPublic, JobListPublic, JobPublic
from themecoder_api.schemas import MAX_ID, CodeRequest, ExternalId, IngestRequest, ItemIn, RowId

router = APIRouter(prefix="/v1", tags=["ingest and coding"])
ITEM_0 = "$response.body#/items/0/external_id"
SUGGESTION_0 = "$response.body#/suggestions/0/id"


def _incoming(items: list[ItemIn]) -> list[IncomingItem]:
    return [IncomingItem(i.external_id, i.text, dict(i.metadata), i.speaker) for i in items]


def _ingest(ctx: Context, db: Session, who: Principal, items: list[IncomingItem]) -> IngestOutcome:
    """Ingest in one transaction; items a concurrent batch stored first are reported as
    existing (insert-or-ignore in the database), so overlapping batches never fail."""
    outcome = intake.ingest_into(
        db,
        who.project_id,
        ctx.coders.get,
        items,
        codebook_version=ctx.codebook.version,
        settings=ctx.settings,
    )
    db.commit()
    return outcome


def _outcome(o: IngestOutcome) -> dict[str, Any]:
    return {
        "created": o.created,
        "existing": o.existing,
        "units": o.n_units,
        "suggestions": o.n_suggestions,
        "auto_accepted": o.n_auto_accepted,
        "double_coded_units": o.n_double_coded,
        "model_version": o.model_version,
        "items": [{"external_id": e, "id": i, "created": c} for e, i, c in o.items],
    }


def _check_size(ctx: Context, n: int) -> None:
    if n > ctx.settings.max_batch_items:
        raise PayloadTooLarge(
            f"items holds {n} items; at most {ctx.settings.max_batch_items} per call "
            "(use POST /v1/jobs/code for more)",
            field="items",
        )


@router.post(
    "/items",
    status_code=status.HTTP_200_OK,
    responses={
        **linked(
            200,
            "The batch's outcome, item by item.",
            GetItem=link("GET", "/v1/items/{external_id}", external_id=ITEM_0),
        ),
        **documented(401, 403, 413, 422, 503),
    },
)
def ingest_items(body: IngestRequest, ctx: Ctx, db: Db, who: Ingest) -> IngestPublic:
    """Code and store a batch. Idempotent on ``external_id``: re-sent items are not re-created."""
    _check_size(ctx, len(body.items))
    return IngestPublic.model_validate(_outcome(_ingest(ctx, db, who, _incoming(body.items))))


@router.get(
    "/items/{external_id}",
    responses={
        **linked(
            200,
            "The item, its units and suggestions.",
            GetSuggestion=link(
                "GET", "/v1/suggestions/{suggestion_id}", suggestion_id=SUGGESTION_0
            ),
            AddCode=link("POST", "/v1/units/{unit_id}/codes", unit_id="$response.body#/units/0/id"),
        ),
        **documented(401, 403, 404, 422),
    },
)
def get_item(external_id: ExternalId, db: Db, who: Reader) -> ItemPublic:
    """A stored item of the project with its suggestions."""
    return ItemPublic.model_validate(items.item_view(db, who, external_id))


def _coder_and_text(ctx: Context, db: Session, who: Principal, text: str) -> tuple[Any, str]:
    """The project's coder and ``text`` masked as its ingest would store it."""
    model_path = projects.model_path(db, who.project_id)
    project_settings = projects.project_settings(db, who.project_id)
    db.rollback()  # end the read transaction before the model runs
    return ctx.coders.get(model_path), intake.mask_text(ctx.settings, project_settings, text)


@router.post(
    "/code",
    responses={
        **linked(
            200,
            "The ticket's codes.",
            GetItem=link(
                "GET", "/v1/items/{external_id}", external_id="$response.body#/external_id"
            ),
        ),
        **documented(401, 403, 413, 422, 503),
    },
)
async def code_one(body: CodeRequest, ctx: Ctx, db: Db, who: Ingest) -> CodePublic:
    """Code one ticket synchronously: buckets with polarity and metrics, sentiment, expression.

    With ``store: true`` the ticket is also stored (idempotent on ``external_id``) and its
    suggestions enter review. Concurrent requests are coded together in one coder call
    (micro-batching, ``THEMECODER_CODE_BATCHING``).
    """
    if body.store and not body.external_id:
        raise InvalidInput("external_id is required when store is true", field="external_id")
    metrics = {c.id: list(c.metrics) for c in ctx.codebook.codes}
    # Queries, model loading, masking and storing block: they run on the thread pool, the
    # event loop only gathers texts into batches.
    coder, masked = await run_in_threadpool(_coder_and_text, ctx, db, who, body.text)
    stored = None
    if body.store:  # ingest codes the ticket once; its result is the response
        item = IncomingItem(str(body.external_id), body.text, dict(body.metadata))
        stored = await run_in_threadpool(_ingest, ctx, db, who, [item])
    result = (stored.results if stored else {}).get(str(body.external_id))
    if result is None:  # not stored, or stored earlier (an idempotent re-send)
        item, whole = await run_in_threadpool(languages.hold_one, ctx.settings, masked)
        if item.coded:
            result = await ctx.batchers.code(coder, masked)
        else:  # wholly in another language: nothing to encode
            result = (await run_in_threadpool(coder.code, [item]))[0]
        await run_in_threadpool(languages.flag_one, ctx.settings, result, whole)
    out: dict[str, Any] = {
        "external_id": body.external_id,
        "text": result.item.text if body.with_text else None,
        "model_version": coder.version,
        "codebook_version": ctx.codebook.version,
        "buckets": {
            c.bucket: {**bucket_record(c), "metrics": metrics.get(c.bucket, [])}
            for c in result.buckets
        },
        "sentiment": {"label": result.sentiment, "score": result.sentiment_score},
        "expression": result.expression,
        "units": [
            {
                "index": u.unit.index,
                "start": u.unit.start,
                "end": u.unit.end,
                "buckets": {
                    c.bucket: {"polarity": c.polarity, "confidence": c.confidence}
                    for c in u.buckets
                },
                "sentiment": u.sentiment,
                "expression": u.expression,
            }
            for u in result.units
        ],
        "language": result.language,
        "warnings": list(result.warnings),
    }
    if stored is not None:
        out["stored"] = _outcome(stored)
        if stored.existing and await run_in_threadpool(_resent_other_text, db, who, body, masked):
            out["warnings"].append(
                f"external_id {body.external_id!r} was stored before with other text: the "
                "stored item and its codes are kept; these codes are for the text sent now "
                "(send it under a new external_id to store it)"
            )
    return CodePublic.model_validate(out)


def _resent_other_text(db: Session, who: Principal, body: CodeRequest, masked: str) -> bool:
    stored = intake.stored_text(db, who.project_id, str(body.external_id))
    db.rollback()
    return stored is not None and stored != masked


@router.post(
    "/jobs/code",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **linked(202, "The queued job.", GetJob=JOB_LINK),
        **documented(401, 403, 413, 422),
    },
)
def bulk_code(body: IngestRequest, ctx: Ctx, db: Db, who: Ingest) -> JobPublic:
    """Ingest a large batch in the background; poll ``GET /v1/jobs/{id}`` for progress.

    A worker stores the items in chunks, each in its own transaction with the job's
    checkpoint, so progress is durable and a job whose worker stopped is resumed from its last
    chunk by another (ingest is idempotent, so re-sending the batch is safe too).
    """
    batch = _incoming(body.items)
    intake.check_batch(batch)
    out = jobs.enqueue_code(db, who, batch, ctx.settings.job_chunk_items)
    db.commit()
    ctx.jobs_queued()
    return JobPublic.model_validate(out)


@router.get("/jobs/{job_id}", responses=documented(401, 404, 422))
def get_job(job_id: RowId, db: Db, who: Anyone) -> JobPublic:
    """A background job of the project: state, progress and, when done, its result."""
    return JobPublic.model_validate(jobs.get_job(db, who.project_id, job_id))


@router.get("/jobs", responses=documented(401, 422))
def list_jobs(
    db: Db,
    who: Anyone,
    state: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> JobListPublic:
    """The project's background jobs, newest first (``state=running`` for those in progress)."""
    page = jobs.list_jobs(db, who.project_id, state, limit, offset)
    return JobListPublic.model_validate({**page, "limit": limit, "offset": offset})


@router.post(
    "/jobs/{job_id}/cancel",
    responses=documented(
        401,
        403,
        404,
        409,
        422,
        s403="A retrain job, and the key is not an admin's; or the key may not ingest.",
        s409="The job has already ended, or is a retrain that is running.",
    ),
)
def cancel_job(job_id: RowId, db: Db, who: Ingest) -> JobPublic:
    """Cancel a queued or running job (audited). A bulk job keeps the chunks it stored before
    it stopped (``done``, ``result``); the chunk in flight is rolled back."""
    out = jobs.cancel_job(db, who.project_id, job_id, who)
    db.commit()
    return JobPublic.model_validate(out)
