"""Helpdesk exports into messages: Zendesk, Intercom and Freshdesk, per each vendor's API schema.

Each ticket becomes one message per customer or agent turn; agent turns are kept but not coded.
Fields used (anything else in a record is accepted and ignored):

* **Zendesk** (Tickets API / incremental ticket export, comments from the Ticket Comments
  API, ``users`` and ``organizations`` side-loads): ticket ``id`` (required), ``subject``,
  ``description``, ``requester_id``, ``organization_id``, ``created_at``, ``status``,
  ``priority``, ``tags``, ``via.channel``; ``comments[]``: ``id`` (required), ``author_id``,
  ``plain_body`` or ``body`` (required), ``public``, ``created_at``. An author is an agent when
  the side-loaded user's ``role`` is ``agent`` or ``admin`` (without users: when the author is not
  the requester). A ticket without comments is its ``description``, from the requester.
  Account: the organisation's name (side-loaded), else ``organization_id``, else
  ``requester_id``.
* **Intercom** (Conversations API: ``{"conversations": [...]}``): ``id`` (required),
  ``created_at`` (Unix seconds), ``source.id``, ``source.body`` (HTML), ``source.subject``,
  ``source.author.type``, ``contacts.contacts[].external_id`` or ``.id``, ``state``, ``tags``;
  ``conversation_parts.conversation_parts[]``: ``id`` (required), ``part_type``, ``body``
  (HTML; parts without a body, such as assignments, are skipped), ``created_at``,
  ``author.type``. Authors of type ``admin``, ``bot`` or ``team`` are agents; ``user``,
  ``lead`` and ``contact`` are customers. Account: the first contact.
* **Freshdesk** (Tickets API v2, ``include=conversations``; a list or ``{"tickets": [...]}``):
  ``id`` (required), ``subject``, ``description_text`` or ``description`` (HTML),
  ``requester_id``, ``company_id``, ``created_at``, ``status``, ``priority``, ``tags``;
  ``conversations[]``: ``id`` (required), ``body_text`` or ``body`` (required), ``incoming``,
  ``private``, ``user_id``, ``created_at``. A conversation is the customer's when ``incoming``
  is true, else an agent's reply or private note. Account: ``company_id``, else
  ``requester_id``.

A record that lacks a required field is reported (its index, ticket id and the field) and
left out; a comment, part or conversation that lacks one is reported and left out of its
ticket; everything else goes in.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from themecoder.errors import InvalidInput

VENDORS = ("zendesk", "intercom", "freshdesk")
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li)\s*/?>", re.I)


@dataclass
class Message:
    """One turn of a ticket: the customer's (coded) or an agent's (kept, not coded)."""

    external_id: str
    ticket_id: str
    text: str
    role: str  # "customer" or "agent"
    created_at: str | None
    account_id: str | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def coded(self) -> bool:
        return self.role == "customer"


@dataclass
class Problem:
    record: int
    ticket_id: str | None
    message: str


class _Missing(Exception):
    pass


def _need(record: dict[str, Any], key: str, where: str) -> Any:
    value = record.get(key)
    if value is None or value == "":
        raise _Missing(f"{where} lacks required field {key!r}")
    return value


def strip_html(text: str) -> str:
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", text))).strip()


def _time(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return str(value)


def _records(data: Any, key: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    if isinstance(data, dict) and "id" in data:
        return [data]  # one record, as a webhook sends it
    raise InvalidInput(f"expected a list of records or an object with a {key!r} list")


def read_export(vendor: str, data: Any) -> tuple[list[Message], list[Problem]]:
    """Messages of a vendor's export (parsed JSON) and the records that could not be read.

    Raises:
        InvalidInput: An unknown vendor, or data that is not a list of records.
    """
    readers: dict[str, Callable[..., list[Message]]] = {
        "zendesk": _zendesk,
        "intercom": _intercom,
        "freshdesk": _freshdesk,
    }
    if vendor not in readers:
        raise InvalidInput(
            f"vendor must be one of {', '.join(VENDORS)}, not {vendor!r}", field="vendor"
        )
    key = {"zendesk": "tickets", "intercom": "conversations", "freshdesk": "tickets"}[vendor]
    context = data if isinstance(data, dict) else {}
    messages: list[Message] = []
    problems: list[Problem] = []
    for i, record in enumerate(_records(data, key)):
        ticket = (
            str(record.get("id"))
            if isinstance(record, dict) and record.get("id") is not None
            else None
        )
        if not isinstance(record, dict):
            problems.append(Problem(i, None, f"record {i} is not an object"))
            continue

        def report(message: str, i: int = i, ticket: str | None = ticket) -> None:
            problems.append(Problem(i, ticket, f"record {i}: {message}"))

        try:
            messages.extend(readers[vendor](record, context, report))
        except _Missing as exc:
            report(str(exc))
    return messages, problems


def _zendesk(
    t: dict[str, Any], context: dict[str, Any], report: Callable[[str], None]
) -> list[Message]:
    tid = str(_need(t, "id", "ticket"))
    roles = {u.get("id"): u.get("role") for u in context.get("users", []) if isinstance(u, dict)}
    orgs = {
        o.get("id"): o.get("name") for o in context.get("organizations", []) if isinstance(o, dict)
    }
    org = t.get("organization_id")
    account = orgs.get(org) or (str(org) if org is not None else None)
    account = account or (str(t["requester_id"]) if t.get("requester_id") is not None else None)
    meta = {
        "vendor": "zendesk",
        "ticket_id": tid,
        "subject": t.get("subject"),
        "status": t.get("status"),
        "priority": t.get("priority"),
        "tags": t.get("tags") or [],
        "channel": (t.get("via") or {}).get("channel") if isinstance(t.get("via"), dict) else None,
    }
    comments = t.get("comments")
    if not comments:
        text = _need(t, "description", f"ticket {tid} without comments")
        return [
            Message(
                f"zendesk:{tid}:description",
                tid,
                str(text),
                "customer",
                _time(t.get("created_at")),
                account,
                meta,
            )
        ]
    out = []
    for j, c in enumerate(comments):
        body = c.get("plain_body") or c.get("body")
        if c.get("id") is None or not body:
            field_ = "id" if c.get("id") is None else "'plain_body' or 'body'"
            report(f"ticket {tid} comment {j} lacks required field {field_}; left out")
            continue
        cid = c["id"]
        author = c.get("author_id")
        if roles:
            agent = roles.get(author) in ("agent", "admin")
        else:
            agent = author is not None and author != t.get("requester_id")
        out.append(
            Message(
                f"zendesk:{tid}:{cid}",
                tid,
                strip_html(str(body)),
                "agent" if agent else "customer",
                _time(c.get("created_at") or t.get("created_at")),
                account,
                {
                    **meta,
                    "comment_id": cid,
                    "public": c.get("public", True),
                    "role": "agent" if agent else "customer",
                },
            )
        )
    return out


def _intercom(
    conv: dict[str, Any], context: dict[str, Any], report: Callable[[str], None]
) -> list[Message]:
    cid = str(_need(conv, "id", "conversation"))
    contacts = (
        ((conv.get("contacts") or {}).get("contacts") or [])
        if isinstance(conv.get("contacts"), dict)
        else []
    )
    first = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
    account = first.get("external_id") or first.get("id")
    source = conv.get("source") or {}
    meta = {
        "vendor": "intercom",
        "ticket_id": cid,
        "subject": strip_html(str(source.get("subject") or "")) or None,
        "state": conv.get("state"),
    }
    agents = ("admin", "bot", "team")
    out = []
    if source.get("body"):
        role = "agent" if (source.get("author") or {}).get("type") in agents else "customer"
        out.append(
            Message(
                f"intercom:{cid}:source",
                cid,
                strip_html(str(source["body"])),
                role,
                _time(conv.get("created_at")),
                account,
                {**meta, "role": role},
            )
        )
    parts = (conv.get("conversation_parts") or {}).get("conversation_parts") or []
    for j, p in enumerate(parts):
        if not p.get("body"):
            continue  # assignments, state changes: nobody said anything
        if p.get("id") is None:
            report(f"conversation {cid} part {j} lacks required field 'id'; part left out")
            continue
        pid = p["id"]
        role = "agent" if (p.get("author") or {}).get("type") in agents else "customer"
        out.append(
            Message(
                f"intercom:{cid}:{pid}",
                cid,
                strip_html(str(p["body"])),
                role,
                _time(p.get("created_at")),
                account,
                {**meta, "part_type": p.get("part_type"), "role": role},
            )
        )
    if not out:
        raise _Missing(f"conversation {cid} has no message with a 'body'")
    return out


def _freshdesk(
    t: dict[str, Any], context: dict[str, Any], report: Callable[[str], None]
) -> list[Message]:
    tid = str(_need(t, "id", "ticket"))
    account = t.get("company_id") or t.get("requester_id")
    account = None if account is None else str(account)
    meta = {
        "vendor": "freshdesk",
        "ticket_id": tid,
        "subject": t.get("subject"),
        "status": t.get("status"),
        "priority": t.get("priority"),
        "tags": t.get("tags") or [],
    }
    text = t.get("description_text") or strip_html(str(t.get("description") or ""))
    if not text:
        raise _Missing(f"ticket {tid} lacks required field 'description_text' or 'description'")
    out = [
        Message(
            f"freshdesk:{tid}:description",
            tid,
            str(text),
            "customer",
            _time(t.get("created_at")),
            account,
            {**meta, "role": "customer"},
        )
    ]
    for j, c in enumerate(t.get("conversations") or []):
        body = c.get("body_text") or strip_html(str(c.get("body") or ""))
        if c.get("id") is None or not body:
            field_ = "id" if c.get("id") is None else "'body_text' or 'body'"
            report(f"ticket {tid} conversation {j} lacks required field {field_}; left out")
            continue
        cid = c["id"]
        role = "customer" if c.get("incoming") else "agent"
        out.append(
            Message(
                f"freshdesk:{tid}:{cid}",
                tid,
                body,
                role,
                _time(c.get("created_at")),
                account,
                {**meta, "private": bool(c.get("private")), "role": role},
            )
        )
    return out
