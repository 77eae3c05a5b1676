"""Interchange edge cases a user hits (an audit of the README's journeys): damaged .qdpx
archives, helpdesk bodies with a bare ``<`` or only markup, tickets an incremental export
lists twice, times that are not times, and webhooks or files the faces used to answer with a
traceback or a 500."""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda_samples import SSO_QDE
from themecoder.cli import app
from themecoder.errors import InvalidInput, Unauthorized
from themecoder.interop import webhook
from themecoder.interop.helpdesk import read_export
from themecoder.interop.qdpx import read_qdpx
from themecoder.services import projects, qda_import
from themecoder.storage import init_db, make_engine, session_factory

# -- REFI-QDA archives ---------------------------------------------------------------------


def _archive(compression: int = zipfile.ZIP_STORED) -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        z.writestr("project.qde", SSO_QDE)
    return bytearray(buf.getvalue())


def _patch_member(data: bytearray, *, flags: int | None = None, method: int | None = None) -> bytes:
    """Set the general-purpose flags or compression method in both headers of the member."""
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    for header, flag_at, method_at in ((local, 6, 8), (central, 8, 10)):
        if flags is not None:
            struct.pack_into("<H", data, header + flag_at, flags)
        if method is not None:
            struct.pack_into("<H", data, header + method_at, method)
    return bytes(data)


def _damaged(compression: int) -> bytes:
    data = _archive(compression)
    start = data.find(b"PK\x03\x04") + 30 + len("project.qde")
    for i in range(start + 10, start + 40):  # inside the member's data, not its headers
        data[i] ^= 0x5A
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_damaged(zipfile.ZIP_STORED), "project.qde is damaged in the archive"),
        (_damaged(zipfile.ZIP_DEFLATED), "project.qde is damaged in the archive"),
        (_patch_member(_archive(), flags=0x1), r"project.qde cannot be read \(.*encrypted"),
        (_patch_member(_archive(), method=9), "project.qde cannot be read"),  # Deflate64
    ],
)
def test_a_damaged_encrypted_or_unsupported_member_is_invalid_input(
    data: bytes, message: str
) -> None:
    # These raised zlib.error, BadZipFile, RuntimeError or NotImplementedError: a 500 from
    # POST /v1/import/qdpx and a traceback with exit status 1 from `themecoder import`.
    with pytest.raises(InvalidInput, match=message):
        read_qdpx(data, "study.qdpx")


def test_cli_import_of_a_damaged_archive_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "study.qdpx"
    path.write_bytes(_damaged(zipfile.ZIP_DEFLATED))
    result = CliRunner().invoke(app, ["import", str(path), "--db", f"sqlite:///{tmp_path}/c.db"])
    assert result.exit_code == 2, (result.output, result.exc_info)
    assert "project.qde is damaged in the archive" in " ".join(result.output.split())


def _qdpx(qde: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("project.qde", qde)
    return buf.getvalue()


def test_a_project_in_another_namespace_is_named_as_such() -> None:
    # The schema's own words were "No matching global declaration available for the
    # validation root".
    data = _qdpx(SSO_QDE.replace("urn:QDA-XML:project:1.0", "urn:QDA-XML:project:2.0"))
    with pytest.raises(InvalidInput, match="not Project in namespace urn:QDA-XML:project:1.0"):
        read_qdpx(data, "study.qdpx")


def test_two_sources_with_one_guid_are_refused_not_merged(tmp_path: Path) -> None:
    # The second source took the first one's item: its segments were stored on the other
    # text in the command line's store, and a project's import failed with an IntegrityError.
    second = (
        '<TextSource guid="22222222-2222-2222-2222-222222222222" name="s2">'
        "<PlainTextContent>Another text.</PlainTextContent></TextSource></Sources>"
    )
    data = _qdpx(SSO_QDE.replace("</Sources>", second))
    with pytest.raises(InvalidInput, match="sources 's1' and 's2' have the same GUID"):
        read_qdpx(data, "dup.qdpx")
    url = f"sqlite:///{tmp_path / 'q.db'}"
    engine = make_engine(url)
    init_db(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        acme = projects.create_project(session, "acme").id
    for project_id in (acme, None):
        with pytest.raises(InvalidInput, match="same GUID"), factory.begin() as session:
            qda_import.import_qdpx(session, project_id, data, filename="dup.qdpx")
    engine.dispose()


def test_two_codes_with_one_guid_are_refused() -> None:
    twin = '<Code guid="66666666-6666-6666-6666-666666666666" name="Pricing" isCodable="true"/>'
    data = _qdpx(SSO_QDE.replace("</Code></Codes>", "</Code>" + twin + "</Codes>"))
    with pytest.raises(InvalidInput, match="codes 'SSO' and 'Pricing' have the same GUID"):
        read_qdpx(data, "dup.qdpx")


def test_a_note_whose_text_is_missing_is_named_a_note() -> None:
    notes = (
        '</Sources><Notes><Note guid="77777777-7777-7777-7777-777777777777" name="memo" '
        'plainTextPath="internal://77777777-7777-7777-7777-777777777777.txt"/></Notes>'
    )
    data = _qdpx(SSO_QDE.replace("</Sources>", notes))
    with pytest.raises(InvalidInput, match="note 'memo' names sources/7777"):  # was "source"
        read_qdpx(data, "study.qdpx")


def test_cli_import_of_a_folder_says_it_is_not_a_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["import", str(tmp_path), "--db", f"sqlite:///{tmp_path}/c.db"]
    )
    assert result.exit_code == 2 and "is not a file" in result.output, result.output


def test_cli_export_into_a_missing_folder_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "study.qdpx"
    db = f"sqlite:///{tmp_path}/c.db"
    result = CliRunner().invoke(app, ["export", "--format", "qdpx", "--out", str(out), "--db", db])
    assert result.exit_code == 2, (result.output, result.exc_info)
    assert "does not exist" in " ".join(result.output.split())


# -- helpdesk bodies, repeats and times -----------------------------------------------------


def _texts(vendor: str, data: object) -> tuple[list[str], list[str]]:
    messages, problems = read_export(vendor, data)
    return [m.text for m in messages], [p.message for p in problems]


def test_plain_text_with_angle_brackets_is_kept_whole() -> None:
    said = "Price went from <$50 to >$100 a seat; if seats<5 and cost>3x we leave. R&D &copy"
    ticket = {
        "id": 1,
        "requester_id": 5,
        "comments": [{"id": 2, "author_id": 5, "plain_body": said}],
    }
    assert _texts("zendesk", {"tickets": [ticket]}) == ([said], [])  # was "...from $100 a seat"
    fresh = [{"id": 3, "description_text": said, "conversations": [{"id": 4, "body_text": said}]}]
    assert _texts("freshdesk", fresh) == ([said, said], [])


def test_html_bodies_lose_styles_and_comments_but_keep_a_bare_less_than() -> None:
    body = (
        "<html><head><style>p {color: red}</style></head><body><!-- quoted -->"
        "<p>Seats &lt;5 cost more</p><p>than 3 &gt; 2<br>x<5</p></body></html>"
    )
    source = {"id": "s", "body": body, "author": {"type": "user"}}
    texts, problems = _texts("intercom", {"conversations": [{"id": "c1", "source": source}]})
    assert texts == ["Seats <5 cost more\nthan 3 > 2\nx<5"] and problems == []


def test_a_body_of_only_markup_is_reported_not_stored_empty() -> None:
    image = {"id": "s", "body": "<p><img src='x.png'></p>", "author": {"type": "user"}}
    parts = {"conversation_parts": [{"id": "p1", "body": "<p>See the screenshot</p>"}]}
    conversation = {"id": "c1", "source": image, "conversation_parts": parts}
    texts, problems = _texts("intercom", {"conversations": [conversation]})
    assert texts == ["See the screenshot"]
    assert problems == [
        "record 0: conversation c1 source field 'body' holds only HTML markup, no text; left out"
    ]
    ticket = {"id": 9, "requester_id": 5, "comments": [{"id": 1, "body": "<div></div>"}]}
    texts, problems = _texts("zendesk", [ticket])
    assert texts == [] and "comment 0 field 'body' holds only HTML markup" in problems[0]
    texts, problems = _texts("freshdesk", [{"id": 8, "description": "<p>&nbsp;</p>"}])
    assert texts == [] and "ticket 8 field 'description' holds only HTML markup" in problems[0]


def test_a_ticket_listed_twice_is_read_once_and_a_changed_turn_reported() -> None:
    # Zendesk's incremental export lists a ticket again each time it changes; the repeat used
    # to refuse the whole export ("items[1].external_id ... repeats items[0]", a 422).
    first = {"id": 1, "comments": [{"id": 10, "author_id": 5, "plain_body": "Billing is wrong"}]}
    later = {
        "id": 1,
        "comments": [
            {"id": 10, "author_id": 5, "plain_body": "Billing is wrong"},
            {"id": 11, "author_id": 5, "plain_body": "Still wrong"},
        ],
    }
    edited = {"id": 1, "comments": [{"id": 10, "author_id": 5, "plain_body": "Billing is OK"}]}
    messages, problems = read_export("zendesk", {"tickets": [first, later, edited]})
    assert [(m.external_id, m.text) for m in messages] == [
        ("zendesk:1:10", "Billing is wrong"),
        ("zendesk:1:11", "Still wrong"),
    ]
    assert [(p.record, p.message) for p in problems] == [
        (2, "record 2: zendesk:1:10 repeats record 0 with a different text; the first kept")
    ]


def test_one_ticket_as_the_show_api_wraps_it_is_read_with_its_side_loads() -> None:
    # GET /api/v2/tickets/{id}.json?include=users answers {"ticket": {...}, "users": [...]};
    # it was refused as "expected a list of records or an object with a 'tickets' list".
    shown = {
        "ticket": {
            "id": 7,
            "requester_id": 5,
            "comments": [
                {"id": 1, "author_id": 5, "plain_body": "Sync fails"},
                {"id": 2, "author_id": 9, "plain_body": "Looking into it"},
            ],
        },
        "users": [{"id": 5, "role": "end-user"}, {"id": 9, "role": "agent"}],
    }
    messages, problems = read_export("zendesk", shown)
    assert [(m.external_id, m.role) for m in messages] == [
        ("zendesk:7:1", "customer"),
        ("zendesk:7:2", "agent"),
    ]
    assert problems == []


def test_a_created_at_that_is_not_a_time_is_reported() -> None:
    # It was stored as given and then read back as no time at all: the turn silently fell
    # out of every time series.
    tickets = [
        {"id": 1, "description_text": "ok", "created_at": "yesterday"},
        {"id": 2, "description_text": "ok", "created_at": "2026-04-01T08:00:00Z"},
    ]
    messages, problems = read_export("freshdesk", tickets)
    assert [m.created_at for m in messages] == [None, "2026-04-01T08:00:00Z"]
    assert problems[0].message == (
        "record 0: ticket 1 field 'created_at' is not an ISO 8601 time ('yesterday'); ignored"
    )


# -- webhook signatures and CLI intake ------------------------------------------------------


def test_a_non_ascii_signature_is_unauthorized_not_a_type_error() -> None:
    now = int(time.time())
    with pytest.raises(Unauthorized, match="bad signature"):  # was TypeError: a 500
        webhook.verify("whsec_x", str(now), "sha256=caf\xe9", b"{}", now)


def test_an_upper_case_hex_signature_verifies_and_milliseconds_are_named() -> None:
    now = int(time.time())
    signature = webhook.sign("whsec_x", now, b"{}")
    upper = "sha256=" + signature.removeprefix("sha256=").upper()  # .NET's hex, for one
    assert webhook.verify("whsec_x", str(now), upper, b"{}", now) == signature[7:]
    with pytest.raises(Unauthorized, match="Unix seconds, not milliseconds"):
        webhook.verify("whsec_x", str(now * 1000), signature, b"{}", now)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not JSON in UTF-8"),
    ],
)
def test_cli_intake_of_a_missing_or_unreadable_file_exits_2(
    tmp_path: Path, acme_cli_db: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "tickets.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(
        app, ["intake", "zendesk", str(path), "-p", "acme", "--db", acme_cli_db]
    )
    assert result.exit_code == 2, (result.output, result.exc_info)  # was a traceback, status 1
    assert message in " ".join(result.output.split())


@pytest.mark.model
def test_api_intake_and_webhook_edges(api) -> None:
    repeated = {"tickets": [{"id": 1, "description": "The price doubled"}] * 2}
    r = api.client.post("/v1/intake/zendesk", headers=api.h("ingest"), json=repeated)
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1 and r.json()["problems"] == []
    secret = api.client.post("/v1/webhooks/secret", headers=api.h()).json()["secret"]
    now = int(time.time())
    url = "/v1/webhooks/acme/zendesk"
    body = json.dumps({"id": 77, "description": "The invoice is wrong"}).encode()
    sent = {"X-Themecoder-Timestamp": str(now), "X-Themecoder-Signature": b"sha256=\xe9"}
    r = api.client.post(url, content=body, headers=sent)
    assert r.status_code == 401 and "bad signature" in r.text  # was a 500
    deep = b"[" * 100_000 + b"]" * 100_000
    signed = {
        "X-Themecoder-Timestamp": str(now),
        "X-Themecoder-Signature": webhook.sign(secret, now, deep),
    }
    r = api.client.post(url, content=deep, headers=signed)
    assert r.status_code == 422 and "nested too deeply" in r.text  # was a 500
    r = api.client.post(
        "/v1/import/qdpx",
        headers={**api.h(), "Content-Type": "application/zip"},
        content=_damaged(zipfile.ZIP_DEFLATED),
    )
    assert r.status_code == 422 and "damaged in the archive" in r.text, r.text  # was a 500


@pytest.mark.model
def test_cli_intake_notes_an_ignored_field_without_calling_its_turn_skipped(
    tmp_path: Path, acme_cli_db: str, coder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from themecoder.coder import Coder

    monkeypatch.setattr(Coder, "load", classmethod(lambda cls, *args, **kwargs: coder))
    ticket = {"id": 5, "description_text": "The invoice doubled", "created_at": "last week"}
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps([ticket, ticket]), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["intake", "freshdesk", str(path), "-p", "acme", "--db", acme_cli_db]
    )
    assert result.exit_code == 0, (result.output, result.exc_info)
    output = " ".join(result.output.split())
    assert "note: record 0: ticket 5 field 'created_at' is not an ISO 8601 time" in output
    assert "skipped:" not in output and "1 stored" in output  # was "skipped: ...", yet stored


def test_nul_characters_in_a_vendor_export_are_dropped_not_a_server_error(api) -> None:
    """PostgreSQL stores no NUL in text or JSON: a body, field or id carrying one was a 500."""
    body = {"tickets": [{"id": "7\u00001", "subject": "a\u0000b", "description": "x\u0000y"}]}
    r = api.client.post("/v1/intake/zendesk", headers=api.h("ingest"), json=body)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    stored = api.client.get("/v1/items/zendesk:71:description", headers=api.h())
    assert stored.status_code == 200, stored.text
    assert stored.json()["text"] == "xy" and stored.json()["metadata"]["subject"] == "ab"
