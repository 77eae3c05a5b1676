"""Helpdesk intake: vendor exports (Zendesk, Intercom, Freshdesk) and signed webhooks."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Request
from starlette.concurrency import run_in_threadpool

from themecoder.services import helpdesk
from themecoder_api.deps import Admin, Ctx, Db, Ingest
from themecoder_api.schemas_interop import HelpdeskPublic, WebhookSecretPublic

router = APIRouter(prefix="/v1", tags=["helpdesk intake"])
Vendor = Literal["zendesk", "intercom", "freshdesk"]


@router.post(
    "/intake/{vendor}",
    response_model=HelpdeskPublic,
    responses={
        401: {},
        403: {},
        404: {"description": "Unknown vendor path"},
        413: {"description": "Too many messages"},
        422: {},
    },
)
def intake_export(
    vendor: Vendor, data: Annotated[Any, Body()], ctx: Ctx, db: Db, who: Ingest
) -> HelpdeskPublic:
    """Ingest a vendor's ticket export (its API's JSON): customer turns are coded, agent turns
    kept uncoded; records missing a required field are reported in ``problems``; re-sent
    tickets store only new turns."""
    report = helpdesk.ingest_export(
        db,
        who.project_id,
        ctx.coders.get,
        vendor,
        data,
        settings=ctx.settings,
        codebook_version=ctx.codebook.version,
        max_items=ctx.settings.max_batch_items,
        who=who,
    )
    db.commit()
    return HelpdeskPublic(**report)


@router.post(
    "/webhooks/secret",
    response_model=WebhookSecretPublic,
    status_code=201,
    responses={401: {}, 403: {}},
)
def webhook_secret(db: Db, who: Admin) -> WebhookSecretPublic:
    """A new webhook signing secret for the project, shown once (the previous one stops)."""
    secret = helpdesk.create_webhook_secret(db, who.project_id, who)
    db.commit()
    return WebhookSecretPublic(secret=secret)


@router.post(
    "/webhooks/{project}/{vendor}",
    response_model=HelpdeskPublic,
    responses={
        401: {"description": "Bad or stale signature"},
        404: {"description": "No such project"},
        409: {"description": "Replay"},
        422: {},
    },
)
async def receive_webhook(
    project: str,
    vendor: Vendor,
    request: Request,
    ctx: Ctx,
    db: Db,
    x_themecoder_timestamp: Annotated[str | None, Header()] = None,
    x_themecoder_signature: Annotated[str | None, Header()] = None,
) -> HelpdeskPublic:
    """A new or updated ticket from a helpdesk webhook, signed with HMAC-SHA256 over
    ``"{timestamp}." + raw body`` (no API key). Bad or stale signature: 401, nothing stored;
    the same signed request again: 409; idempotent on the ticket id."""
    body = await request.body()

    def run() -> dict[str, Any]:
        report = helpdesk.receive_webhook(
            db,
            project,
            vendor,
            body,
            timestamp=x_themecoder_timestamp,
            signature=x_themecoder_signature,
            now=time.time(),
            coder_for=ctx.coders.get,
            settings=ctx.settings,
            codebook_version=ctx.codebook.version,
        )
        db.commit()
        return report

    return HelpdeskPublic(**await run_in_threadpool(run))
