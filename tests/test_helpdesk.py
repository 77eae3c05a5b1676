"""Helpdesk intake: Zendesk, Intercom and Freshdesk exports (fixtures follow each vendor's API
schema, unknown fields included) and the signed webhook (HMAC-SHA256, time window, replays)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from themecoder.errors import Unauthorized
from themecoder.interop import webhook
from themecoder.interop.helpdesk import read_export
from themecoder.storage import ItemRecord, UnitRecord, make_engine, session_factory

DATA = Path(__file__).parent / "data" / "helpdesk"


def _load(vendor: str) -> object:
    return json.loads((DATA / f"{vendor}.json").read_text(encoding="utf-8"))


def test_zendesk_roles_accounts_times_and_problems() -> None:
    messages, problems = read_export("zendesk", _load("zendesk"))
    by_id = {m.external_id: m for m in messages}
    assert [m.role for m in messages if m.ticket_id == "35436"] == ["customer", "agent", "customer"]
    assert by_id["zendesk:35436:1274"].account_id == "ACC-011"  # the side-loaded organisation
    assert by_id["zendesk:35436:1276"].created_at == "2026-03-03T08:30:00Z"
    assert by_id["zendesk:35437:description"].account_id == "20978400"  # no org: the requester
    assert len(problems) == 1 and problems[0].record == 2 and "'id'" in problems[0].message


def test_intercom_parts_html_and_unix_times() -> None:
    messages, problems = read_export("intercom", _load("intercom"))
    assert [(m.role, m.text) for m in messages] == [
        ("customer", "The dashboard keeps timing out since the last release."),
        ("agent", "Thanks for flagging & sorry! We're on it."),
        ("customer", "It's fixed now, great support as always."),
    ]
    assert messages[0].account_id == "ACC-017"
    assert messages[0].created_at.startswith("2026-03-02T")
    assert [p.record for p in problems] == [1]


def test_freshdesk_incoming_and_a_bad_conversation_reported() -> None:
    messages, problems = read_export("freshdesk", _load("freshdesk"))
    assert [(m.external_id, m.role) for m in messages] == [
        ("freshdesk:20:description", "customer"),
        ("freshdesk:20:301", "agent"),
        ("freshdesk:20:302", "customer"),
    ]
    assert all(m.account_id == "77" for m in messages)
    assert len(problems) == 1 and "conversation 2" in problems[0].message


# Malformed records (a user audit): any JSON value where an object is expected is reported,
# naming the record, and the rest of the payload goes in. These used to raise AttributeError.
ZENDESK_GOOD = {"id": 101, "description": "Where is the SSO setting?", "requester_id": 5}


def _messages(problems) -> list[str]:
    return [p.message for p in problems]


def test_zendesk_comment_that_is_not_an_object_is_reported() -> None:
    messages, problems = read_export(
        "zendesk", {"tickets": [{"id": 102, "comments": ["hello there"]}, ZENDESK_GOOD]}
    )
    assert [m.external_id for m in messages] == ["zendesk:101:description"]
    assert [(p.record, p.ticket_id) for p in problems] == [(0, "102")]
    assert _messages(problems) == [
        "record 0: ticket 102 comment 0 is not an object (a string); left out"
    ]


def test_zendesk_webhook_ticket_with_a_string_comment_keeps_the_good_ones() -> None:
    ticket = {"id": 556, "comments": ["x", {"id": 9, "body": "Billing is wrong", "author_id": 5}]}
    messages, problems = read_export("zendesk", ticket)
    assert [(m.external_id, m.text) for m in messages] == [("zendesk:556:9", "Billing is wrong")]
    assert _messages(problems) == [
        "record 0: ticket 556 comment 0 is not an object (a string); left out"
    ]
    messages, problems = read_export("zendesk", {"id": 556, "comments": ["x"]})
    assert messages == [] and [p.ticket_id for p in problems] == ["556"]


def test_zendesk_nested_fields_of_the_wrong_type_are_reported_and_ignored() -> None:
    data = {
        "tickets": [
            {
                "id": 103,
                "description": "Slow exports",
                "via": "email",
                "organization_id": [1],
                "requester_id": 7,
                "created_at": {"at": 1},
                "comments": [None, 3, [], {"id": {"x": 1}, "body": "hi"}, {"id": 4, "body": ["a"]}],
            },
            {"id": 104, "comments": "not a list", "description": "Falls back to the description"},
            {"id": [1], "description": "an id that is a list"},
        ],
        "users": "not a list",
        "organizations": [{"id": [1], "name": "X"}, "y"],
    }
    messages, problems = read_export("zendesk", data)
    assert [(m.external_id, m.account_id) for m in messages] == [("zendesk:104:description", None)]
    assert [(p.record, p.ticket_id) for p in problems] == [(0, "103")] * 8 + [(1, "104"), (2, None)]
    said = "\n".join(_messages(problems))
    for expected in [
        "ticket 103 field 'organization_id' is not a string or number (a list); ignored",
        "ticket 103 field 'created_at' is not a string or number (an object); ignored",
        "ticket 103 field 'via' is not an object (a string); ignored",
        "ticket 103 comment 0 is not an object (null); left out",
        "ticket 103 comment 1 is not an object (a number); left out",
        "ticket 103 comment 2 is not an object (a list); left out",
        "ticket 103 comment 3 field 'id' is not a string or number (an object); left out",
        "ticket 103 comment 4 field 'body' is not a string (a list); left out",
        "ticket 104 field 'comments' is not a list (a string); ignored",
        "record 2: ticket field 'id' is not a string or number (a list)",
    ]:
        assert expected in said


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            [{"id": 7, "description_text": "SSO setup is confusing", "conversations": ["x"]}],
            "record 0: ticket 7 conversation 0 is not an object (a string); left out",
        ),
        (
            [{"id": 7, "description_text": "SSO setup is confusing", "conversations": "x"}],
            "record 0: ticket 7 field 'conversations' is not a list (a string); ignored",
        ),
        (
            {
                "tickets": [
                    {
                        "id": 7,
                        "description_text": "SSO setup is confusing",
                        "conversations": [{"id": 1, "body_text": {"a": 1}}],
                    }
                ]
            },
            "record 0: ticket 7 conversation 0 field 'body_text' is not a string (an object); "
            "left out",
        ),
    ],
)
def test_freshdesk_conversation_that_is_not_an_object_is_reported(data, expected) -> None:
    messages, problems = read_export("freshdesk", data)
    assert [m.external_id for m in messages] == ["freshdesk:7:description"]
    assert _messages(problems) == [expected] and problems[0].ticket_id == "7"


def test_freshdesk_records_that_are_not_objects_are_reported_by_position() -> None:
    good = {"id": 8, "description": "<p>Exports fail</p>", "company_id": {"x": 1}}
    messages, problems = read_export("freshdesk", [None, "t", 5, [], good])
    assert [(m.external_id, m.text, m.account_id) for m in messages] == [
        ("freshdesk:8:description", "Exports fail", None)
    ]
    assert [(p.record, p.ticket_id) for p in problems] == [
        (0, None),
        (1, None),
        (2, None),
        (3, None),
        (4, "8"),
    ]
    assert _messages(problems)[:4] == [
        "record 0 is not an object (null); left out",
        "record 1 is not an object (a string); left out",
        "record 2 is not an object (a number); left out",
        "record 3 is not an object (a list); left out",
    ]
    assert "field 'company_id' is not a string or number (an object)" in problems[4].message


INTERCOM_SOURCE = {"body": "<p>Dashboards time out</p>", "author": {"type": "user"}}


@pytest.mark.parametrize(
    ("conversation", "texts", "expected"),
    [
        (
            {"id": "c2", "source": "hello"},
            [],
            [
                "record 0: conversation c2 field 'source' is not an object (a string); ignored",
                "record 0: conversation c2 has no message with a 'body'",
            ],
        ),
        (
            {
                "id": "c2",
                "source": INTERCOM_SOURCE,
                "conversation_parts": [{"id": "p1", "body": "hi"}],
            },
            ["Dashboards time out"],
            [
                "record 0: conversation c2 field 'conversation_parts' is not an object (a list); "
                "ignored"
            ],
        ),
        (
            {
                "id": "c2",
                "source": INTERCOM_SOURCE,
                "conversation_parts": {
                    "conversation_parts": [
                        "a string",
                        {"id": "p2", "body": "ok", "author": "admin"},
                    ]
                },
            },
            ["Dashboards time out", "ok"],
            [
                "record 0: conversation c2 part 0 is not an object (a string); part left out",
                "record 0: conversation c2 part 1 field 'author' is not an object (a string); "
                "ignored",
            ],
        ),
        (
            {
                "id": "c2",
                "source": {"body": "hi", "author": 3, "subject": ["s"]},
                "contacts": {"contacts": ["someone"]},
                "created_at": 1e300,
                "conversation_parts": {"conversation_parts": "parts"},
            },
            ["hi"],
            [
                "record 0: conversation c2 contact 0 is not an object (a string); ignored",
                "record 0: conversation c2 source field 'subject' is not a string or number "
                "(a list); ignored",
                "record 0: conversation c2 source field 'author' is not an object (a number); "
                "ignored",
                "record 0: conversation c2 field 'created_at' is not a valid Unix time (1e+300); "
                "ignored",
                "record 0: conversation c2 field 'conversation_parts.conversation_parts' is not a "
                "list (a string); ignored",
            ],
        ),
    ],
)
def test_intercom_source_and_parts_of_the_wrong_type_are_reported(
    conversation, texts, expected
) -> None:
    good = {"id": "c3", "source": INTERCOM_SOURCE}
    messages, problems = read_export("intercom", {"conversations": [conversation, good]})
    assert [m.text for m in messages if m.ticket_id == "c2"] == texts
    assert [m.external_id for m in messages if m.ticket_id == "c3"] == ["intercom:c3:source"]
    assert _messages(problems) == expected
    assert {(p.record, p.ticket_id) for p in problems} == {(0, "c2")}


def test_signature_window_and_tampering() -> None:
    body, now = b'{"id": 1}', 1_800_000_000
    sig = webhook.sign("s3cret", now, body)
    assert webhook.verify("s3cret", str(now), sig, body, now + 10)
    for args in [
        ("s3cret", str(now), sig, body + b" ", now),  # body changed
        ("other", str(now), sig, body, now),  # wrong secret
        ("s3cret", str(now), sig, body, now + 301),  # stale
        ("s3cret", str(now + 5), sig, body, now),  # timestamp changed
        ("s3cret", None, sig, body, now),
    ]:
        with pytest.raises(Unauthorized):
            webhook.verify(*args)


def _items(api) -> int:
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as session:
        n = session.scalar(select(func.count()).select_from(ItemRecord))
    engine.dispose()
    return int(n)


@pytest.mark.model
def test_api_intake_codes_customers_keeps_agents_and_is_idempotent(api) -> None:
    r = api.client.post("/v1/intake/zendesk", headers=api.h("ingest"), json=_load("zendesk"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["messages"] == 4 and body["agent_messages"] == 1 and body["created"] == 4
    assert len(body["problems"]) == 1
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as session:
        coded = dict(session.execute(select(ItemRecord.external_id, ItemRecord.coded)).all())
        documents = dict(session.execute(select(ItemRecord.external_id, ItemRecord.source)).all())
        agent_units = session.scalar(
            select(func.count())
            .select_from(UnitRecord)
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(ItemRecord.external_id == "zendesk:35436:1275")
        )
    engine.dispose()
    assert coded["zendesk:35436:1275"] is False and agent_units == 0  # kept, not coded
    assert coded["zendesk:35436:1274"] is True
    # A ticket's turns are one document (pages show the agent's reply beside the customer's).
    assert documents["zendesk:35436:1274"] == documents["zendesk:35436:1275"] == "zendesk:35436"
    again = api.client.post("/v1/intake/zendesk", headers=api.h("ingest"), json=_load("zendesk"))
    assert again.json()["created"] == 0 and again.json()["existing"] == 4
    r = api.client.post("/v1/intake/freshdesk", headers=api.h("ingest"), json=_load("freshdesk"))
    assert r.status_code == 200 and r.json()["created"] == 3
    assert (
        api.client.post("/v1/intake/zendesk", headers=api.h("reviewer"), json=[]).status_code == 403
    )
    assert api.client.post("/v1/intake/kayako", headers=api.h("ingest"), json=[]).status_code == 422


@pytest.mark.model
def test_webhook_signed_stale_replayed_and_idempotent(api) -> None:
    secret = api.client.post("/v1/webhooks/secret", headers=api.h()).json()["secret"]
    ticket = _load("intercom")["conversations"][0]
    raw = json.dumps(ticket).encode()
    url = "/v1/webhooks/acme/intercom"

    def send(body: bytes, ts: int, sig: str | None = None):
        headers = {
            "X-Themecoder-Timestamp": str(ts),
            "X-Themecoder-Signature": sig or webhook.sign(secret, ts, body),
            "Content-Type": "application/json",
        }
        return api.client.post(url, content=body, headers=headers)

    now = int(time.time())
    assert send(raw, now, sig="sha256=" + "0" * 64).status_code == 401
    assert send(raw, now - 3600).status_code == 401  # stale
    assert send(raw, now, sig=webhook.sign("not the secret", now, raw)).status_code == 401
    assert _items(api) == 0  # nothing stored on a bad or stale signature
    first = send(raw, now)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 3 and first.json()["ticket_id"] == "147"
    assert send(raw, now).status_code == 409  # the same signed request: a replay
    later = send(raw, now + 1)  # a fresh delivery of the same ticket
    assert later.status_code == 200 and later.json()["created"] == 0
    assert later.json()["existing"] == 3
    assert _items(api) == 3
    other = api.client.post(
        "/v1/webhooks/other/intercom",
        content=raw,
        headers={
            "X-Themecoder-Timestamp": str(now),
            "X-Themecoder-Signature": webhook.sign(secret, now, raw),
        },
    )
    assert other.status_code == 401  # another project's (unset) secret


MALFORMED = [
    ("zendesk", {"tickets": [{"id": 102, "comments": ["hello there"]}, ZENDESK_GOOD]}, 1),
    (
        "freshdesk",
        [{"id": 7, "description_text": "SSO setup is confusing", "conversations": ["x"]}],
        1,
    ),
    ("freshdesk", [None], 0),
    ("intercom", {"conversations": [{"id": "c2", "source": "hello"}]}, 0),
    (
        "intercom",
        {"conversations": [{"id": "c2", "source": INTERCOM_SOURCE, "conversation_parts": []}]},
        1,
    ),
    (
        "intercom",
        {
            "conversations": [
                {
                    "id": "c4",
                    "source": INTERCOM_SOURCE,
                    "conversation_parts": {"conversation_parts": ["x"]},
                }
            ]
        },
        1,
    ),
]


@pytest.mark.model
def test_api_intake_reports_malformed_records_and_ingests_the_rest(api) -> None:
    for vendor, data, created in MALFORMED:
        r = api.client.post(f"/v1/intake/{vendor}", headers=api.h("ingest"), json=data)
        assert r.status_code == 200, (vendor, data, r.text)
        assert r.json()["created"] == created and r.json()["problems"], (vendor, r.json())
        assert all(isinstance(p["message"], str) for p in r.json()["problems"])
    r = api.client.post("/v1/intake/zendesk", headers=api.h("ingest"), json=MALFORMED[0][1])
    assert r.json()["problems"] == [
        {
            "record": 0,
            "ticket_id": "102",
            "message": "record 0: ticket 102 comment 0 is not an object (a string); left out",
        }
    ]


@pytest.mark.model
def test_webhook_with_malformed_comments_is_not_a_server_error(api) -> None:
    secret = api.client.post("/v1/webhooks/secret", headers=api.h()).json()["secret"]
    now = int(time.time())

    def send(ticket: object, ts: int):
        body = json.dumps(ticket).encode()
        headers = {
            "X-Themecoder-Timestamp": str(ts),
            "X-Themecoder-Signature": webhook.sign(secret, ts, body),
            "Content-Type": "application/json",
        }
        return api.client.post("/v1/webhooks/acme/zendesk", content=body, headers=headers)

    bad = send({"id": 556, "comments": ["x"]}, now)
    assert bad.status_code == 422, bad.text  # nothing to ingest: reported, not a 500
    assert "ticket 556 comment 0 is not an object (a string)" in bad.text
    good = {"id": 556, "comments": ["x", {"id": 9, "body": "Billing is wrong", "author_id": 5}]}
    r = send(good, now + 1)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1 and r.json()["ticket_id"] == "556"
    assert [p["ticket_id"] for p in r.json()["problems"]] == ["556"]


@pytest.mark.model
def test_cli_intake_reports_malformed_records_without_a_traceback(
    tmp_path: Path, acme_cli_db: str, coder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from themecoder.cli import app
    from themecoder.coder import Coder

    monkeypatch.setattr(Coder, "load", classmethod(lambda cls, *args, **kwargs: coder))
    url = acme_cli_db
    export = tmp_path / "tickets.json"
    export.write_text(json.dumps(MALFORMED[0][1]), encoding="utf-8")
    result = CliRunner().invoke(app, ["intake", "zendesk", str(export), "-p", "acme", "--db", url])
    assert result.exit_code == 0 and result.exception is None, (result.output, result.exc_info)
    output = " ".join(result.output.split())
    assert "skipped: record 0: ticket 102 comment 0 is not an object (a string); left out" in output
    assert "1 stored" in output
