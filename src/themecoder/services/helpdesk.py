"""Helpdesk intake: vendor exports and signed webhooks into a project, through ingest.

Each ticket turn becomes an item (``external_id`` ``<vendor>:<ticket>:<comment>``), so
re-sending a ticket, by export or webhook, stores only the turns the project does not hold:
intake is idempotent on the ticket id. Agent turns are stored with ``coded=False``. The
requester's organisation (or the requester) is the item's ``account_id``; the turn's time
its ``created_at``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from themecoder.config import Settings
from themecoder.errors import Conflict, InvalidInput, PayloadTooLarge, Unauthorized
from themecoder.ingest import without_nul
from themecoder.interop import webhook
from themecoder.interop.helpdesk import Message, Problem, read_export
from themecoder.services import audit, intake
from themecoder.services.intake import IncomingItem, IngestOutcome
from themecoder.storage import interop_hooks


def incoming(messages: list[Message]) -> list[IncomingItem]:
    """Ticket turns as the items ingest stores (NUL characters dropped)."""
    out = []
    for m in messages:
        meta = {**m.metadata, "created_at": m.created_at, "account_id": m.account_id}
        meta = {k: v for k, v in meta.items() if v is not None}
        # A ticket's turns are one document, as a transcript's are: pages show the agent's
        # replies beside the customer's turns.
        meta.setdefault("document", f"{m.metadata.get('vendor', 'ticket')}:{m.ticket_id}")
        out.append(
            IncomingItem(
                without_nul(m.external_id),
                without_nul(m.text),
                without_nul(meta),
                None,
                coded=m.coded,
            )
        )
    return out


def _report(
    outcome: IngestOutcome, problems: list[Problem], messages: list[Message]
) -> dict[str, Any]:
    return {
        "tickets": len({m.ticket_id for m in messages}),
        "messages": len(messages),
        "agent_messages": sum(1 for m in messages if not m.coded),
        "created": outcome.created,
        "existing": outcome.existing,
        "units": outcome.n_units,
        "suggestions": outcome.n_suggestions,
        "problems": [
            {"record": p.record, "ticket_id": p.ticket_id, "message": p.message} for p in problems
        ],
    }


def ingest_export(
    session: Session,
    project_id: int,
    coder_for: Callable[[str | None], Any],
    vendor: str,
    data: Any,
    *,
    settings: Settings,
    codebook_version: int | None = None,
    max_items: int | None = None,
    who: Any = None,
) -> dict[str, Any]:
    """Read a vendor export (parsed JSON) and ingest its turns; bad records are reported.

    Raises:
        InvalidInput: Unknown vendor, or not a list of records.
        PayloadTooLarge: More turns than ``max_items``.
    """
    messages, problems = read_export(vendor, data)
    if max_items is not None and len(messages) > max_items:
        raise PayloadTooLarge(
            f"the export holds {len(messages)} messages; at most {max_items} per call"
        )
    outcome = (
        intake.ingest_into(
            session,
            project_id,
            coder_for,
            incoming(messages),
            codebook_version=codebook_version,
            settings=settings,
        )
        if messages
        else IngestOutcome(items=[])
    )
    report = _report(outcome, problems, messages)
    audit.record(
        session,
        who,
        project_id,
        "helpdesk_import",
        f"project:{project_id}",
        None,
        {k: v for k, v in report.items() if k != "problems"}
        | {"vendor": vendor, "problems": len(problems)},
    )
    return report


def create_webhook_secret(session: Session, project_id: int, who: Any = None) -> str:
    """A new signing secret for the project's webhooks (the old one stops working); audited."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    interop_hooks.set_secret(session, project_id, secret)
    audit.record(
        session, who, project_id, "webhook_secret", f"project:{project_id}", None, {"rotated": True}
    )
    return secret


def receive_webhook(
    session: Session,
    slug: str,
    vendor: str,
    body: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    now: float,
    coder_for: Callable[[str | None], Any],
    settings: Settings,
    codebook_version: int | None = None,
) -> dict[str, Any]:
    """Verify and ingest one ticket sent by a helpdesk webhook.

    Raises:
        Unauthorized: Unknown project, no secret set, missing, bad or stale signature.
        Conflict: The same signed request again (a replay).
        InvalidInput: A body that is not the vendor's ticket JSON.
    """
    project_id, secret = interop_hooks.secret_of(session, slug)
    if secret is None or project_id is None:
        raise Unauthorized("no webhook secret is set for this project")
    digest = webhook.verify(secret, timestamp, signature, body, now)
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    except RecursionError:
        raise InvalidInput("the body is JSON nested too deeply to be a ticket") from None
    messages, problems = read_export(vendor, data)
    if not messages:
        raise InvalidInput("; ".join(p.message for p in problems) or "the body holds no ticket")
    ticket = messages[0].ticket_id if messages else ""
    if not interop_hooks.record_delivery(session, project_id, digest, ticket):
        raise Conflict("replayed webhook delivery: this signature was received before")
    outcome = intake.ingest_into(
        session,
        project_id,
        coder_for,
        incoming(messages),
        codebook_version=codebook_version,
        settings=settings,
    )
    return _report(outcome, problems, messages) | {"ticket_id": ticket}
