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
        agent_units = session.scalar(
            select(func.count())
            .select_from(UnitRecord)
            .join(ItemRecord, ItemRecord.id == UnitRecord.item_id)
            .where(ItemRecord.external_id == "zendesk:35436:1275")
        )
    engine.dispose()
    assert coded["zendesk:35436:1275"] is False and agent_units == 0  # kept, not coded
    assert coded["zendesk:35436:1274"] is True
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
