"""Custom codes of a unit on the review screen: the codebook's codes beyond the six buckets.

A reviewer adds one to a unit (stored like an added bucket code: an approved suggestion of
origin "reviewer", audited ``add``) or withdraws it again (the suggestion becomes rejected,
audited ``remove``); analytics count them under the ``codes`` measure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from themecoder.codebook.model import Codebook
from themecoder.domain import BUCKETS
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.services import audit, review
from themecoder.services.projects import Principal
from themecoder.storage import views
from themecoder.storage.review import withdraw_reviewer_code
from themecoder.storage.tables import utc_now

__all__ = ["add", "custom_code_ids", "unit_custom_codes", "withdraw"]


def custom_code_ids(book: Codebook) -> list[str]:
    """The codebook's codes that are not one of the six buckets, in codebook order."""
    return [c.id for c in book.codes if c.id not in BUCKETS]


def unit_custom_codes(
    session: Session, principal: Principal, unit_id: int, book: Codebook
) -> dict[str, Any]:
    """The custom codes a reviewer can put on the unit and those it carries now.

    Returns:
        ``available``: ``{id, name, parent}`` per custom code of the codebook; ``on``: the
        unit's live custom codes with suggestion id, version and polarity (a code no longer in
        the codebook is listed with its stored id as name).
    """
    names = {c.id: c.name for c in book.codes}
    on = [
        {
            "id": s.id,
            "version": s.version,
            "code": s.bucket,
            "name": names.get(s.bucket, s.bucket),
            "polarity": s.final_polarity or s.polarity,
        }
        for s in views.unit_suggestions(session, [unit_id])
        if s.bucket not in BUCKETS and s.origin == "reviewer" and s.state == "approved"
    ]
    available = [
        {"id": c.id, "name": c.name, "parent": c.parent} for c in book.codes if c.id not in BUCKETS
    ]
    return {"available": available, "on": on}


def add(
    session: Session,
    principal: Principal,
    unit_id: int,
    code: str,
    polarity: str,
    book: Codebook,
) -> tuple[dict[str, Any], bool]:
    """Put custom code ``code`` on the unit (see :func:`review.add_code`): once per unit, so
    adding it again with its polarity returns it, and with another polarity is refused.

    Raises:
        InvalidInput: ``code`` is not a custom code of ``book``, or a bad polarity.
        NotFound: No such unit in the caller's project.
        Conflict: The unit carries ``code`` with another polarity (withdraw it first).
    """
    custom = custom_code_ids(book)
    if code not in custom:
        raise InvalidInput(f"{code!r} is not a custom code of the codebook", field="code")
    on = {
        c["code"]: c["polarity"] for c in unit_custom_codes(session, principal, unit_id, book)["on"]
    }
    if code in on and on[code] != polarity:
        raise Conflict(
            f"unit {unit_id} already carries {code!r} as {on[code]}; remove it first to put it "
            f"on as {polarity}",
            field="polarity",
        )
    return review.add_code(
        session, principal, unit_id, code, polarity, codebook_version=book.version, custom=custom
    )


def withdraw(
    session: Session, principal: Principal, unit_id: int, suggestion_id: int, version: int
) -> dict[str, Any]:
    """Take a custom code off its unit; the reviewer saw it at ``version``.

    Raises:
        NotFound: No such custom code on that unit of the caller's project.
        Conflict: Someone changed it since ``version``.
    """
    before = review.get(session, principal.project_id, suggestion_id)
    mine = before["unit"]["id"] == unit_id and before["origin"] == "reviewer"
    if not mine or before["bucket"] in BUCKETS:
        raise NotFound(f"custom code {suggestion_id} not found on unit {unit_id}")
    if not withdraw_reviewer_code(session, suggestion_id, version, principal.key_id, utc_now()):
        raise Conflict(
            f"custom code {suggestion_id} changed since version {version}; reload the unit",
            current_version=before["version"],
        )
    after = review.get(session, principal.project_id, suggestion_id)
    audit.record(
        session,
        principal,
        principal.project_id,
        "remove",
        f"suggestion:{suggestion_id}",
        {"state": before["state"], "version": before["version"], "bucket": before["bucket"]},
        {"state": after["state"], "version": after["version"], "bucket": before["bucket"]},
        codebook_version=before["codebook_version"],
    )
    return after
