"""REFI-QDA project export and import (.qdpx, QDA-XML 1.0), through the library and the API.

The MAXQDA 24 export is read from ../shared (never copied into the repository).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qda_samples import SSO_QDE
from themecoder.errors import InvalidInput
from themecoder.interop.qdpx import guid, read_qdpx, schema_errors, to_xml
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


# -- re-import into the command line's store; the bucket codes of a themecoder export ---------

CODED = [  # (text, bucket, polarity) of one unit per ticket
    ("The renewal is approved, the reports save us hours.", "value_realization", "positive"),
    ("We use the reports weekly.", "value_realization", "neutral"),
    ("Nobody on our team opens the dashboards.", "value_realization", "risk"),
    ("The price per seat is fine for now.", "pricing_perception", "neutral"),
]


def _store(url: str):
    engine = make_engine(url)
    init_db(engine)
    return engine, session_factory(engine)


def _seed_coded_cli_store(factory) -> None:
    """Items of the command line's store with one coded unit each, as ``themecoder code``
    stores them (written directly: no model)."""
    from themecoder.storage.tables import CodeRecord, RunRecord

    with factory.begin() as session:
        run = RunRecord(
            source="tickets.csv", model_version="coder-test", level="item", n_items=4, n_units=4
        )
        run.settings = {}
        session.add(run)
        session.flush()
        for i, (text, bucket, polarity) in enumerate(CODED):
            item = ItemRecord(
                run_id=run.id,
                external_id=f"T-{i}",
                text=text,
                coded=True,
                source="tickets.csv",
                source_offset=0,
                meta={"account_id": "ACC-1"},
                sentiment="neutral",
                sentiment_score=0.0,
                expression="none",
                account_id="ACC-1",
            )
            session.add(item)
            session.flush()
            unit = UnitRecord(
                item_id=item.id,
                idx=0,
                start_char=0,
                end_char=len(text),
                text=text,
                sentiment="neutral",
                sentiment_score=0.0,
                expression="none",
                embedding_dim=0,
            )
            session.add(unit)
            session.flush()
            session.add(
                CodeRecord(
                    unit_id=unit.id,
                    item_id=item.id,
                    bucket=bucket,
                    polarity=polarity,
                    confidence=0.9,
                    polarity_confidence=0.8,
                    model_version="coder-test",
                    neighbors=[],
                )
            )


def _themecoder_export(tmp_path: Path) -> bytes:
    engine, factory = _store(f"sqlite:///{tmp_path / 'coded.db'}")
    _seed_coded_cli_store(factory)
    with factory.begin() as session:
        data = qda_export.export_qdpx(session, None)
    engine.dispose()
    return data


def _all_counts(factory) -> tuple[int, ...]:
    from themecoder.storage.tables import CodebookVersionRecord, RunRecord

    with factory() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(t))
            for t in (ItemRecord, QdaImportRecord, CodedSegmentRecord, RunRecord)
        ) + (
            session.scalar(
                select(func.count())
                .select_from(CodebookVersionRecord)
                .where(CodebookVersionRecord.name.like("qdpx-%"))
            ),
        )


def test_reimport_into_the_command_line_store_is_refused_whole(db_url: str, tmp_path) -> None:
    """Without a project the unique (project, external id) constraint does not hold (NULLs are
    distinct): a second import of the same file must still be refused, storing nothing."""
    from themecoder.errors import Conflict

    data = _themecoder_export(tmp_path)
    engine, factory = _store(db_url)
    try:
        with factory.begin() as session:
            first = qda_import.import_qdpx(session, None, data, filename="tickets.qdpx")
        assert first["sources"] == 1 and first["segments"] == len(CODED)
        once = _all_counts(factory)
        assert once == (1, 1, len(CODED), 1, 1)
        refused = r"store already holds source\(s\) tickets\.csv \(imported before\)"
        with pytest.raises(Conflict, match=refused), factory.begin() as session:
            qda_import.import_qdpx(session, None, data, filename="tickets.qdpx")
        assert _all_counts(factory) == once
        # A project is another store: the same file imports there once.
        with factory.begin() as session:
            acme = projects.create_project(session, "acme")
            qda_import.import_qdpx(session, acme.id, data, project_slug="acme")
        with pytest.raises(Conflict, match="project already holds"), factory.begin() as session:
            qda_import.import_qdpx(session, acme.id, data, project_slug="acme")
        with pytest.raises(Conflict), factory.begin() as session:
            qda_import.import_qdpx(session, None, data)
    finally:
        engine.dispose()


def test_concurrent_imports_of_one_file_store_it_once(db_url: str, tmp_path, monkeypatch) -> None:
    """Two imports of the same file at once into the command line's store: one stores it, the
    other is refused. Both checks are held at a barrier before writing; without the import lock
    both would find nothing held and store the file twice."""
    import contextlib
    import threading

    from themecoder.errors import Conflict
    from themecoder.storage import interop_queries

    data = _themecoder_export(tmp_path)
    engine, factory = _store(db_url)
    barrier = threading.Barrier(2)
    checked = interop_queries.held_external_ids

    def check_then_wait(*args, **kwargs):
        held = checked(*args, **kwargs)
        # The other import waits on the lock: the barrier breaks and this one goes on.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return held

    monkeypatch.setattr(interop_queries, "held_external_ids", check_then_wait)
    outcomes: list[str] = []

    def run() -> None:
        try:
            with factory.begin() as session:
                qda_import.import_qdpx(session, None, data, filename="tickets.qdpx")
            outcomes.append("stored")
        except Conflict:
            outcomes.append("refused")

    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) == ["refused", "stored"]
        assert _all_counts(factory) == (1, 1, len(CODED), 1, 1)
    finally:
        engine.dispose()


def test_cli_reimport_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from themecoder.cli import app

    path = tmp_path / "tickets.qdpx"
    path.write_bytes(_themecoder_export(tmp_path))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(path), "--db", db])
    assert result.exit_code == 0, result.output
    assert f"1 sources, 24 codes and {len(CODED)} coded segments" in result.output
    engine, factory = _store(db)
    once = _all_counts(factory)
    result = runner.invoke(app, ["import", str(path), "--db", db])
    assert result.exit_code == 1, result.output
    assert "already holds source(s) tickets.csv" in " ".join(result.output.split())
    assert _all_counts(factory) == once
    engine.dispose()


def test_themecoder_export_imports_back_with_bucket_polarity_codes(tmp_path: Path) -> None:
    """export -> import keeps each polarity sub-code as ``bucket:polarity`` (no ``neutral_4``)
    with its examples under that polarity, and export again gives the same codes and segments."""
    from themecoder.codebook.model import Codebook
    from themecoder.storage import interop_queries
    from themecoder.storage.codebooks import load_codebook_yaml

    data = _themecoder_export(tmp_path)
    engine, factory = _store(f"sqlite:///{tmp_path / 'back.db'}")
    with factory.begin() as session:
        report = qda_import.import_qdpx(session, None, data, filename="tickets.qdpx")
    with factory() as session:
        book = Codebook.from_yaml(load_codebook_yaml(session, report["codebook"]))
        record = session.scalars(select(QdaImportRecord)).one()
        stored = {s["text"]: s.get("label") for s in interop_queries.coded_segments(session, None)}
        again = read_qdpx(qda_export.export_qdpx(session, None))
    engine.dispose()
    assert not [i for i in book.ids() if i.rsplit("_", 1)[-1].isdigit()]  # no neutral_4
    neutral = book.get("value_realization__neutral")
    assert (neutral.name, neutral.parent) == ("neutral", "value_realization")
    paths = {info["path"] for info in record.codes.values()}
    assert "value_realization:neutral" in paths and "pricing_perception:risk" in paths
    assert stored == {text: f"{bucket}:{polarity}" for text, bucket, polarity in CODED}
    first = read_qdpx(data)
    assert again.code_paths() == first.code_paths()
    assert _segments(again) == _segments(first)
    # Each segment's text is an example of its code under the polarity of the code's path
    # (``value_realization:risk`` -> ``risk``), not under ``neutral``.
    filed = {
        (code.id, polarity, quote)
        for code in book.codes
        for polarity, quote in code.examples.by_polarity()
    }
    assert filed == {(f"{bucket}__{polarity}", polarity, text) for text, bucket, polarity in CODED}


def test_examples_of_codes_without_a_polarity_level_stay_neutral(factory) -> None:
    """Another tool's codes carry no polarity: their examples are filed under ``neutral``."""
    from themecoder.codebook.model import Codebook
    from themecoder.storage.codebooks import load_codebook_yaml

    with factory.begin() as session:
        report = qda_import.import_qdpx(session, None, _zip({"project.qde": SSO_QDE.encode()}))
        book = Codebook.from_yaml(load_codebook_yaml(session, report["codebook"]))
    sso = book.get("onboarding__sso")
    assert list(sso.examples.by_polarity()) == [("neutral", "Nobody owns the SSO setup.")]
    assert not list(book.get("onboarding").examples.by_polarity())


def test_imported_bucket_polarity_codes_are_queryable(tmp_path: Path) -> None:
    """``themecoder segments --code value_realization:neutral`` finds the imported segments."""
    from typer.testing import CliRunner

    from themecoder.cli import app
    from themecoder.services import segments
    from themecoder.services.segments import SegmentFilter

    path = tmp_path / "tickets.qdpx"
    path.write_bytes(_themecoder_export(tmp_path))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(path), "--db", db]).exit_code == 0
    engine, factory = _store(db)
    with factory() as session:
        neutral = segments.find_segments(
            session, None, SegmentFilter(code="value_realization:neutral")
        )
        bucket = segments.find_segments(session, None, SegmentFilter(code="value_realization"))
        matrix = segments.code_matrix(session, None, by="source")
    engine.dispose()
    assert [s["text"] for s in neutral["segments"]] == ["We use the reports weekly."]
    assert bucket["total"] == 3
    assert {r["code"] for r in matrix["rows"]} == {
        f"{bucket}:{polarity}" for _, bucket, polarity in CODED
    }
    shown = runner.invoke(app, ["segments", "--code", "value_realization:neutral", "--db", db])
    assert shown.exit_code == 0 and "1 of 1 segments" in shown.output, shown.output


@needs_maxqda
def test_maxqda_sub_codes_are_qualified_by_their_parent(factory) -> None:
    with factory.begin() as session:
        qda_import.import_qdpx(session, None, MAXQDA.read_bytes())
    with factory() as session:
        record = session.scalars(select(QdaImportRecord)).one()
    depth = {
        c.guid: len(path) for t in read_qdpx(MAXQDA.read_bytes()).codes for path, c in t.walk()
    }
    paths = [info["path"] for info in record.codes.values()]
    assert len(set(paths)) == len(paths) == 307
    for code_id, info in record.codes.items():
        assert len(info["path"].split(":")) == depth[info["guid"]]
        assert code_id == info["path"].replace(":", "__")
    assert "additional_themes_and_ideas:theme_affinity_spaces_gee" in paths


def test_code_paths_are_numbered_only_among_siblings() -> None:
    from themecoder.interop.qdpx import QdaCode

    made: list[str] = []

    def code(name: str, *children: QdaCode) -> QdaCode:
        made.append(name)
        return QdaCode(guid("test code", len(made)), name, children=list(children))

    tree = [
        code("Value realization", code("neutral"), code("Risk")),
        code("pricing perception", code("neutral"), code("neutral"), code("neutral 2")),
        code("Value-Realization"),
    ]
    ids, parents, paths = qda_import._code_ids(tree)
    assert [paths[c.guid] for t in tree for _, c in t.walk()] == [
        "value_realization",
        "value_realization:neutral",
        "value_realization:risk",
        "pricing_perception",
        "pricing_perception:neutral",
        "pricing_perception:neutral_2",
        "pricing_perception:neutral_2_2",
        "value_realization_2",
    ]
    assert ids[tree[0].children[0].guid] == "value_realization__neutral"
    assert parents[tree[1].children[2].guid] == "pricing_perception"
