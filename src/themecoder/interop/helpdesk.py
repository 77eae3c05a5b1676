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

A record that lacks a required field, or is not an object, is reported (its index, ticket id
and the field) and left out; a comment, part or conversation that lacks one, or is not an
object, is reported and left out of its ticket; an optional field of the wrong JSON type
(``source`` a string, ``conversation_parts`` a list, ``via`` a number...) is reported and
ignored; everything else goes in. HTML fields (Intercom's bodies, Freshdesk's ``description``
and ``body``, Zendesk's ``body``) lose their tags, styles and scripts; a plain text field
(``plain_body``, ``description_text``, ``body_text``) is kept as written. A body that is only
markup (an image), or a ``created_at`` that is not ISO 8601, is reported like a missing field.
A turn listed twice (an incremental export repeats a ticket that changed) is kept once.
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
# A tag opens with a letter (``<p``, ``</div``): a bare ``<`` in text ("<$50", "x<5") is kept.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# Elements whose content is not text the customer wrote (an HTML email's CSS, scripts).
_HIDDEN = re.compile(r"<(style|script|head|title)\b[^>]*>.*?</\1\s*>", re.I | re.S)
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
    """A required field is absent or of the wrong JSON type: what holds it is left out."""


def _kind(value: Any) -> str:
    """The JSON type of a value, for problem reports ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _scalar(value: Any) -> bool:
    """A string or a number (not a boolean): what an id or a text may be."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _need(record: dict[str, Any], key: str, where: str) -> Any:
    """A required string or number field.

    Raises:
        _Missing: Absent, empty, or not a string or number.
    """
    value = record.get(key)
    if value is None or value == "":
        raise _Missing(f"{where} lacks required field {key!r}")
    if not _scalar(value):
        raise _Missing(f"{where} field {key!r} is not a string or number ({_kind(value)})")
    return value


def _text(record: dict[str, Any], key: str, where: str) -> str | None:
    """A text field as a string; None when absent or empty.

    Raises:
        _Missing: Present but not a string (or number).
    """
    value = record.get(key)
    if value is None or value == "":
        return None
    if not _scalar(value):
        raise _Missing(f"{where} field {key!r} is not a string ({_kind(value)})")
    return str(value)


def _opt(record: dict[str, Any], key: str, where: str, report: Callable[[str], None]) -> Any:
    """An optional string or number field (an id); another type is reported and ignored."""
    value = record.get(key)
    if value is None or value == "":
        return None
    if _scalar(value):
        return value
    report(f"{where} field {key!r} is not a string or number ({_kind(value)}); ignored")
    return None


def _obj(value: Any, where: str, report: Callable[[str], None]) -> dict[str, Any]:
    """An optional nested object; null is empty, another type is reported and ignored."""
    if isinstance(value, dict):
        return value
    if value is not None:
        report(f"{where} is not an object ({_kind(value)}); ignored")
    return {}


def _list(value: Any, where: str, report: Callable[[str], None]) -> list[Any]:
    """An optional nested list; null is empty, another type is reported and ignored."""
    if isinstance(value, list):
        return value
    if value is not None:
        report(f"{where} is not a list ({_kind(value)}); ignored")
    return []


def _index(context: dict[str, Any], key: str, attribute: str) -> dict[Any, Any]:
    """A side-load (``users``, ``organizations``) by id; entries that cannot be read are skipped."""
    entries = context.get(key)
    if not isinstance(entries, list):
        return {}
    return {
        e["id"]: e.get(attribute) for e in entries if isinstance(e, dict) and _scalar(e.get("id"))
    }


def _turn(
    c: Any,
    at: str,
    read: Callable[[dict[str, Any]], str | None],
    fields: str,
    report: Callable[[str], None],
) -> tuple[Any, str] | None:
    """A comment's or conversation's ``(id, text)``, the text read by ``read`` (from
    ``fields``); None, reported, when ``c`` is not an object or lacks either."""
    if not isinstance(c, dict):
        report(f"{at} is not an object ({_kind(c)}); left out")
        return None
    try:
        body = read(c)
        if c.get("id") is None or not body:
            raise _Missing(f"{at} lacks required field {'id' if c.get('id') is None else fields}")
        return _need(c, "id", at), body
    except _Missing as exc:
        report(f"{exc}; left out")
        return None


def strip_html(text: str) -> str:
    """The text of an HTML body: tags, comments, styles and scripts removed, entities decoded."""
    text = _HIDDEN.sub("", _COMMENT.sub("", text))
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", text))).strip()


def _html(record: dict[str, Any], key: str, where: str) -> str | None:
    """An HTML text field as plain text; None when absent or empty.

    Raises:
        _Missing: Present but not a string, or only markup (an image, ``<p></p>``).
    """
    body = _text(record, key, where)
    if body is None:
        return None
    text = strip_html(body)
    if not text:
        raise _Missing(f"{where} field {key!r} holds only HTML markup, no text")
    return text


def _time(value: Any, where: str, report: Callable[[str], None]) -> str | None:
    """An ISO time (Unix seconds are converted); another type or an impossible time is
    reported and ignored."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip())
        except ValueError:
            report(f"{where} field 'created_at' is not an ISO 8601 time ({value!r}); ignored")
            return None
        return value
    if _scalar(value):
        try:
            return datetime.fromtimestamp(value, UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            report(f"{where} field 'created_at' is not a valid Unix time ({value!r}); ignored")
            return None
    report(f"{where} field 'created_at' is not a string or number ({_kind(value)}); ignored")
    return None


def _records(data: Any, key: str) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    if isinstance(data, dict) and isinstance(data.get(key[:-1]), dict):
        return [data[key[:-1]]]  # one record as the show API wraps it: {"ticket": {...}}
    if isinstance(data, dict) and "id" in data:
        return [data]  # one record, as a webhook sends it
    raise InvalidInput(
        f"expected a list of records, an object with a {key!r} list or a {key[:-1]!r} object"
    )


def read_export(vendor: str, data: Any) -> tuple[list[Message], list[Problem]]:
    """Messages of a vendor's export (parsed JSON) and the records that could not be read.

    Any JSON value may stand where an object, a list or a text is expected: a record of the
    wrong type is reported and left out; so is a comment, part or conversation; a nested
    field of the wrong type is reported and ignored (left out when it is required).

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
    first: dict[str, tuple[int, Message]] = {}  # external id -> where it was first read
    for i, record in enumerate(_records(data, key)):
        if not isinstance(record, dict):
            problems.append(
                Problem(i, None, f"record {i} is not an object ({_kind(record)}); left out")
            )
            continue
        ticket = str(record["id"]) if _scalar(record.get("id")) else None

        def report(message: str, i: int = i, ticket: str | None = ticket) -> None:
            problems.append(Problem(i, ticket, f"record {i}: {message}"))

        try:
            read = readers[vendor](record, context, report)
        except _Missing as exc:
            report(str(exc))
            continue
        # An incremental export lists a ticket again when it changes: a turn read before is
        # kept once (the store holds the first version too), and a changed text is reported.
        for m in read:
            seen = first.get(m.external_id)
            if seen is None:
                first[m.external_id] = (i, m)
                messages.append(m)
            elif seen[1].text != m.text:
                report(
                    f"{m.external_id} repeats record {seen[0]} with a different text; "
                    "the first kept"
                )
    return messages, problems


def _zendesk(
    t: dict[str, Any], context: dict[str, Any], report: Callable[[str], None]
) -> list[Message]:
    tid = str(_need(t, "id", "ticket"))
    where = f"ticket {tid}"
    roles = _index(context, "users", "role")
    orgs = _index(context, "organizations", "name")
    org = _opt(t, "organization_id", where, report)
    requester = _opt(t, "requester_id", where, report)
    name = orgs.get(org) if org is not None else None
    account = str(name) if _scalar(name) and name != "" else None
    account = account or (str(org) if org is not None else None)
    account = account or (str(requester) if requester is not None else None)
    created = _time(t.get("created_at"), where, report)
    meta = {
        "vendor": "zendesk",
        "ticket_id": tid,
        "subject": t.get("subject"),
        "status": t.get("status"),
        "priority": t.get("priority"),
        "tags": t.get("tags") or [],
        "channel": _obj(t.get("via"), f"{where} field 'via'", report).get("channel"),
    }
    comments = _list(t.get("comments"), f"{where} field 'comments'", report)
    if not comments:
        text = _need(t, "description", f"{where} without comments")
        return [
            Message(
                f"zendesk:{tid}:description", tid, str(text), "customer", created, account, meta
            )
        ]
    out = []
    for j, c in enumerate(comments):
        at = f"{where} comment {j}"
        turn = _turn(
            c,
            at,
            lambda c, at=at: _text(c, "plain_body", at) or _html(c, "body", at),
            "'plain_body' or 'body'",
            report,
        )
        if turn is None:
            continue
        cid, body = turn
        author = _opt(c, "author_id", at, report)
        if roles:
            agent = roles.get(author) in ("agent", "admin")
        else:
            agent = author is not None and author != requester
        out.append(
            Message(
                f"zendesk:{tid}:{cid}",
                tid,
                body,
                "agent" if agent else "customer",
                _time(c.get("created_at"), at, report) or created,
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
    where = f"conversation {cid}"
    contacts = _list(
        _obj(conv.get("contacts"), f"{where} field 'contacts'", report).get("contacts"),
        f"{where} field 'contacts.contacts'",
        report,
    )
    first = _obj(contacts[0] if contacts else None, f"{where} contact 0", report)
    account = _opt(first, "external_id", f"{where} contact 0", report) or _opt(
        first, "id", f"{where} contact 0", report
    )
    account = None if account is None else str(account)
    source = _obj(conv.get("source"), f"{where} field 'source'", report)
    subject = _opt(source, "subject", f"{where} source", report)
    meta = {
        "vendor": "intercom",
        "ticket_id": cid,
        "subject": strip_html(str(subject or "")) or None,
        "state": conv.get("state"),
    }
    agents = ("admin", "bot", "team")
    out = []
    try:
        body = _html(source, "body", f"{where} source")
    except _Missing as exc:
        report(f"{exc}; left out")
        body = None
    if body:
        author = _obj(source.get("author"), f"{where} source field 'author'", report)
        role = "agent" if author.get("type") in agents else "customer"
        out.append(
            Message(
                f"intercom:{cid}:source",
                cid,
                body,
                role,
                _time(conv.get("created_at"), where, report),
                account,
                {**meta, "role": role},
            )
        )
    parts = _list(
        _obj(conv.get("conversation_parts"), f"{where} field 'conversation_parts'", report).get(
            "conversation_parts"
        ),
        f"{where} field 'conversation_parts.conversation_parts'",
        report,
    )
    for j, p in enumerate(parts):
        at = f"{where} part {j}"
        if not isinstance(p, dict):
            report(f"{at} is not an object ({_kind(p)}); part left out")
            continue
        try:
            if not _text(p, "body", at):
                continue  # assignments, state changes: nobody said anything
            body = _html(p, "body", at)
            pid = _need(p, "id", at)
        except _Missing as exc:
            report(f"{exc}; part left out")
            continue
        author = _obj(p.get("author"), f"{at} field 'author'", report)
        role = "agent" if author.get("type") in agents else "customer"
        out.append(
            Message(
                f"intercom:{cid}:{pid}",
                cid,
                body,
                role,
                _time(p.get("created_at"), at, report),
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
    where = f"ticket {tid}"
    account = _opt(t, "company_id", where, report) or _opt(t, "requester_id", where, report)
    account = None if account is None else str(account)
    meta = {
        "vendor": "freshdesk",
        "ticket_id": tid,
        "subject": t.get("subject"),
        "status": t.get("status"),
        "priority": t.get("priority"),
        "tags": t.get("tags") or [],
    }
    text = _text(t, "description_text", where) or _html(t, "description", where)
    if not text:
        raise _Missing(f"ticket {tid} lacks required field 'description_text' or 'description'")
    out = [
        Message(
            f"freshdesk:{tid}:description",
            tid,
            text,
            "customer",
            _time(t.get("created_at"), where, report),
            account,
            {**meta, "role": "customer"},
        )
    ]
    conversations = _list(t.get("conversations"), f"{where} field 'conversations'", report)
    for j, c in enumerate(conversations):
        at = f"{where} conversation {j}"
        turn = _turn(
            c,
            at,
            lambda c, at=at: _text(c, "body_text", at) or _html(c, "body", at),
            "'body_text' or 'body'",
            report,
        )
        if turn is None:
            continue
        cid, body = turn
        role = "customer" if c.get("incoming") else "agent"
        out.append(
            Message(
                f"freshdesk:{tid}:{cid}",
                tid,
                body,
                role,
                _time(c.get("created_at"), at, report),
                account,
                {**meta, "private": bool(c.get("private")), "role": role},
            )
        )
    return out
