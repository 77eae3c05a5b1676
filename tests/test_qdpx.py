"""REFI-QDA project export and import (.qdpx, QDA-XML 1.0), through the library and the API.

The MAXQDA 24 export is read from ../shared (never copied into the repository).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from themecoder.errors import InvalidInput
from themecoder.interop.qdpx import read_qdpx, schema_errors, to_xml
from themecoder.services import projects, qda_export, qda_import
from themecoder.storage import ItemRecord, UnitRecord, init_db, make_engine, session_factory
from themecoder.storage.interop import CodedSegmentRecord, QdaImportRecord

REFI = Path(__file__).resolve().parents[2] / "shared" / "standards" / "refi-qda"
MAXQDA = REFI / "maxqda24_export.qdpx"
needs_maxqda = pytest.mark.skipif(not MAXQDA.exists(), reason="../shared/standards not present")

TICKETS = [
    "The new per-seat pricing doubles our bill and nobody warned us.",
    "Support fixed the sync error within an hour, great job.",
    "We plan to renew next quarter, the budget is approved.",
    "I couldn't figure out where the SSO setup lives.",
    "We're evaluating other vendors before our contract ends.",
]
TURNS = [
    ("Interviewer", "How has the rollout gone so far?"),
    ("Dana", "Honestly the onboarding was confusing. We had no owner for SSO."),
    ("Dana", "But the reports save us hours every week, so the price feels fair."),
]


@pytest.fixture
def factory(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    init_db(engine)
    yield session_factory(engine)
    engine.dispose()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@needs_maxqda
def test_maxqda_export_imports_with_every_code_and_source(factory) -> None:
    data = MAXQDA.read_bytes()
    qda = read_qdpx(data)
    with factory.begin() as session:
        acme = projects.create_project(session, "acme")
        report = qda_import.import_qdpx(
            session, acme.id, data, filename="maxqda.qdpx", project_slug="acme"
        )
    assert report["codes"] == 307 and report["sources"] == 10
    with factory() as session:
        names = set(
            session.scalars(select(ItemRecord.source).where(ItemRecord.project_id == acme.id))
        )
        assert names == {s.name for s in qda.sources}
        texts = {i.source: i.text for i in session.scalars(select(ItemRecord))}
        assert all(texts[s.name] == s.text for s in qda.sources)
        out = read_qdpx(qda_export.export_qdpx(session, acme.id))
    # Every code comes back with its GUID, name, description, colour and place in the tree.
    assert out.code_paths() == qda.code_paths()
    before = {c.guid: (c.description, c.color) for t in qda.codes for _, c in t.walk()}
    after = {c.guid: (c.description, c.color) for t in out.codes for _, c in t.walk()}
    assert after == before


@needs_maxqda
def test_imported_codes_are_custom_codes_with_descriptions(factory) -> None:
    from themecoder.codebook.model import Codebook
    from themecoder.storage.codebooks import load_codebook_yaml

    with factory.begin() as session:
        report = qda_import.import_qdpx(session, None, MAXQDA.read_bytes())
        book = Codebook.from_yaml(load_codebook_yaml(session, report["codebook"]))
    assert len(book.codes) == 307
    affinity = next(c for c in book.codes if c.name == "THEME - Affinity Spaces (Gee)")
    assert "affinity spaces" in affinity.definition and affinity.parent is not None


def _counts(factory) -> tuple[int, int, int]:
    with factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(t))
            for t in (ItemRecord, QdaImportRecord, CodedSegmentRecord)
        )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"plain text, not an archive", "not a .qdpx file"),
        (_zip({"readme.txt": b"hello"}), "no project.qde"),
        (_zip({"project.qde": b"<Project"}), "not well-formed"),
        (
            _zip({"project.qde": b'<Project xmlns="urn:QDA-XML:project:1.0"><Bogus/></Project>'}),
            "fails the REFI-QDA project schema",
        ),
    ],
)
def test_bad_archives_are_refused_whole(factory, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message), factory.begin() as session:
        qda_import.import_qdpx(session, None, data, filename="bad.qdpx")
    assert _counts(factory) == (0, 0, 0)


def test_a_selection_outside_its_source_stores_nothing(factory) -> None:
    xml = (
        '<Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>'
        '<Code guid="11111111-1111-1111-1111-111111111111" name="a" isCodable="true"/>'
        "</Codes></CodeBook><Sources>"
        '<TextSource guid="22222222-2222-2222-2222-222222222222" name="s1">'
        "<PlainTextContent>short</PlainTextContent></TextSource>"
        '<TextSource guid="33333333-3333-3333-3333-333333333333" name="s2">'
        "<PlainTextContent>tiny</PlainTextContent>"
        '<PlainTextSelection guid="44444444-4444-4444-4444-444444444444" startPosition="0" '
        'endPosition="99"><Coding guid="55555555-5555-5555-5555-555555555555">'
        '<CodeRef targetGUID="11111111-1111-1111-1111-111111111111"/></Coding>'
        "</PlainTextSelection></TextSource></Sources></Project>"
    )
    with pytest.raises(InvalidInput, match="outside"), factory.begin() as session:
        qda_import.import_qdpx(session, None, _zip({"project.qde": xml.encode()}))
    assert _counts(factory) == (0, 0, 0)


@pytest.mark.model
def test_imported_sources_are_masked_and_segments_follow(factory) -> None:
    """Personal data in an imported source is masked as ingest masks it; a coded segment after
    it moves onto the masked text and still covers the same words."""
    from themecoder.config import Settings

    text = (
        "Mail me at dana.whitfield@example.com or call +44 20 7946 0958. "
        "The SSO setup was confusing."
    )
    start = text.index("The SSO setup")
    xml = (
        '<Project xmlns="urn:QDA-XML:project:1.0" name="p"><CodeBook><Codes>'
        '<Code guid="11111111-1111-1111-1111-111111111111" name="onboarding" isCodable="true"/>'
        "</Codes></CodeBook><Sources>"
        '<TextSource guid="22222222-2222-2222-2222-222222222222" name="s1">'
        f"<PlainTextContent>{text}</PlainTextContent>"
        f'<PlainTextSelection guid="44444444-4444-4444-4444-444444444444" startPosition="{start}" '
        f'endPosition="{len(text)}"><Coding guid="55555555-5555-5555-5555-555555555555">'
        '<CodeRef targetGUID="11111111-1111-1111-1111-111111111111"/></Coding>'
        "</PlainTextSelection></TextSource></Sources></Project>"
    )
    with factory.begin() as session:
        qda_import.import_qdpx(
            session, None, _zip({"project.qde": xml.encode()}), settings=Settings()
        )
    with factory() as session:
        stored = session.scalar(select(ItemRecord.text))
        seg = session.scalars(select(CodedSegmentRecord)).one()
    assert "example.com" not in stored and "7946" not in stored
    assert "[EMAIL]" in stored and "[PHONE]" in stored
    assert stored[seg.start_char : seg.end_char] == seg.text == "The SSO setup was confusing."


# -- export of coded, reviewed units through the API --------------------------------------


def _coded_project(api) -> None:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200, r.text
    api.ingest(
        [
            {
                "external_id": f"T-{i}",
                "text": t,
                "metadata": {"account_id": f"ACC-{i % 2}", "plan": "pro"},
            }
            for i, t in enumerate(TICKETS)
        ]
        + [
            {
                "external_id": f"I-{i}",
                "text": t,
                "speaker": s,
                "metadata": {"account_id": "ACC-011"},
            }
            for i, (s, t) in enumerate(TURNS)
        ]
    )
    queue = api.client.get("/v1/queue", headers=api.h("reviewer")).json()["suggestions"]
    r = api.client.post(
        f"/v1/suggestions/{queue[0]['id']}/approve", headers=api.h("reviewer"), json={"version": 1}
    )
    assert r.status_code == 200, r.text


def _export(api, role: str = "analyst", **params) -> bytes:
    r = api.client.get("/v1/export/qdpx", headers=api.h(role), params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    return r.content


def _segments(qda) -> set[tuple[str, int, int, tuple[str, ...]]]:
    paths = qda.code_paths()
    return {
        (s.name, sel.start, sel.end, paths[c.code_guid])
        for s in qda.sources
        for sel in s.selections
        for c in sel.codings
    }


@pytest.mark.model
def test_export_validates_and_offsets_are_exact(api) -> None:
    _coded_project(api)
    data = _export(api, group="account")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert schema_errors(z.read("project.qde")) == []
    qda = read_qdpx(data)
    assert schema_errors(to_xml(qda)) == []
    engine = make_engine(api.settings.db_url)
    with session_factory(engine)() as session:
        units = set(session.scalars(select(UnitRecord.text)))
    engine.dispose()
    paths = qda.code_paths()
    selections = [(s, sel) for s in qda.sources for sel in s.selections]
    assert selections
    for source, sel in selections:
        assert source.text[sel.start : sel.end] in units  # exact offsets of stored units
        for coding in sel.codings:
            path = paths[coding.code_guid]
            assert path[0] in {"themes"} or (
                len(path) == 2 and path[1] in ("positive", "neutral", "risk")
            )
        assert "confidence" in (sel.note or "")
    assert "[SPEAKER 1]: Honestly" in next(s.text for s in qda.sources if s.name == "ACC-011")
    assert {c.name for c in qda.cases} == {"ACC-0", "ACC-1", "ACC-011"}
    assert "plan" in {v.name for v in qda.variables}
    assert "reviewer key" in qda.users.values()  # the approving reviewer codes the approved unit
    assert any(n.startswith("themecoder coder-") for n in qda.users.values())
    audit = api.client.get("/v1/audit", headers=api.h("analyst")).json()
    assert any(e["action"] == "export" for e in audit["events"])


@pytest.mark.model
def test_export_import_export_gives_same_codes_and_segments(api) -> None:
    _coded_project(api)
    first = read_qdpx(_export(api))
    r = api.client.post(
        "/v1/import/qdpx",
        headers={**api.h("other"), "Content-Type": "application/zip"},
        content=_export(api),
        params={"filename": "acme.qdpx"},
    )
    assert r.status_code == 201, r.text
    again = api.client.post(
        "/v1/import/qdpx",
        headers={**api.h("other"), "Content-Type": "application/zip"},
        content=_export(api),
    )
    assert again.status_code == 409, again.text
    r = api.client.get("/v1/export/qdpx", headers=api.h("other"))
    second = read_qdpx(r.content)
    assert second.code_paths() == first.code_paths()
    assert _segments(second) == _segments(first)
    assert {s.name: s.text for s in second.sources} == {s.name: s.text for s in first.sources}
    assert set(second.users.values()) == set(first.users.values())


def test_import_route_refuses_bad_archives_and_roles(api) -> None:
    r = api.client.post("/v1/import/qdpx", headers=api.h(), content=b"not a zip")
    assert r.status_code == 422 and "not a .qdpx file" in r.json()["error"]["message"]
    r = api.client.post("/v1/import/qdpx", headers=api.h("reviewer"), content=b"x")
    assert r.status_code == 403
    assert api.client.get("/v1/export/qdpx", headers=api.h("ingest")).status_code == 403


@needs_maxqda
def test_cli_import_then_export(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from themecoder.cli import app

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(MAXQDA), "--db", db])
    assert result.exit_code == 0, result.output
    assert "10 sources, 307 codes" in result.output
    study = tmp_path / "study.qdpx"
    result = runner.invoke(app, ["export", "--format", "qdpx", "--out", str(study), "--db", db])
    assert result.exit_code == 0, result.output
    assert len(read_qdpx(study.read_bytes()).code_paths()) == 307
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"nope")
    result = runner.invoke(app, ["import", str(bad), "--db", db])
    assert result.exit_code == 2 and "not a .qdpx file" in result.output
