"""Coded-segment retrieval and the code matrix: CLI on a coded transcript, API on a project."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from qda_samples import SSO_QDE
from themecoder.cli import app
from themecoder.services import segments
from themecoder.services.segments import SegmentFilter
from themecoder.storage import init_db, make_engine, session_factory

pytestmark = pytest.mark.model
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
INTERVIEW = SAMPLE / "interview_03_ACC-024.txt"


def test_cli_segments_of_a_transcript_with_file_offsets(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    coded = runner.invoke(
        app, ["code", str(INTERVIEW), "--db", db, "--out", str(tmp_path / "o.jsonl")]
    )
    assert coded.exit_code == 0, coded.output
    engine = make_engine(db)
    init_db(engine)
    with session_factory(engine)() as session:
        found = segments.find_segments(
            session, None, SegmentFilter(source=INTERVIEW.name), limit=1000
        )
        matrix = segments.code_matrix(session, None, by="source")
    engine.dispose()
    assert found["total"] > 0
    stored = INTERVIEW.read_text(encoding="utf-8")
    for seg in found["segments"]:
        assert seg["source"] == INTERVIEW.name
        assert seg["text"] in seg["context"]
        assert seg["decided_by"] and all(d.startswith("model coder-") for d in seg["decided_by"])
        if seg["speaker"] and "[" not in seg["text"]:  # unmasked text: offsets index the file
            at = seg["source_offset"] + seg["start"]
            assert stored[at : at + len(seg["text"])] == seg["text"]
    code = found["segments"][0]["codes"][0]
    assert all(code in s["codes"] for s in _by_code(db, code))
    assert matrix["columns"] == [INTERVIEW.name]
    assert sum(r["total"] for r in matrix["rows"]) >= found["total"]
    shown = runner.invoke(app, ["segments", "--source", INTERVIEW.name, "--code", code, "--db", db])
    assert shown.exit_code == 0 and "context:" in shown.output, shown.output
    table = runner.invoke(app, ["segments", "--matrix", "source", "--db", db])
    assert table.exit_code == 0 and code in table.output


def _by_code(db: str, code: str) -> list[dict]:
    engine = make_engine(db)
    with session_factory(engine)() as session:
        rows = segments.find_segments(session, None, SegmentFilter(code=code), limit=1000)
    engine.dispose()
    return rows["segments"]


def test_api_segments_filters_and_matrix(api) -> None:
    r = api.client.patch("/v1/project", headers=api.h(), json={"double_coding_share": 0.0})
    assert r.status_code == 200
    texts = [
        "The new per-seat pricing doubles our bill and nobody warned us.",
        "Your invoice charged us twice this month, please refund.",
        "Support fixed the sync error within an hour, great job.",
        "We're evaluating other vendors before our contract ends.",
    ]
    api.ingest(
        [
            {
                "external_id": f"T-{i}",
                "text": t,
                "metadata": {"account_id": ["ACC-011", "ACC-2"][i % 2]},
            }
            for i, t in enumerate(texts)
        ]
    )
    queue = api.client.get("/v1/queue", headers=api.h("reviewer")).json()["suggestions"]
    first = queue[0]
    r = api.client.post(
        f"/v1/suggestions/{first['id']}/approve", headers=api.h("reviewer"), json={"version": 1}
    )
    assert r.status_code == 200
    everything = api.client.get("/v1/segments", headers=api.h("analyst")).json()
    assert everything["total"] >= 1
    code = f"{first['bucket']}:{first['polarity']}"
    hits = api.client.get("/v1/segments", headers=api.h("analyst"), params={"code": code}).json()
    assert hits["total"] >= 1 and all(code in s["codes"] for s in hits["segments"])
    assert any("reviewer key" in s["decided_by"] for s in hits["segments"])
    one = api.client.get(
        "/v1/segments", headers=api.h("reviewer"), params={"account": "ACC-011"}
    ).json()
    assert all(s["account_id"] == "ACC-011" for s in one["segments"])
    matrix = api.client.get(
        "/v1/segments/matrix", headers=api.h("analyst"), params={"by": "account"}
    )
    assert matrix.status_code == 200
    body = matrix.json()
    assert set(body["columns"]) <= {"ACC-011", "ACC-2"}
    row = next(r for r in body["rows"] if r["code"] == code)
    assert row["total"] == sum(row["counts"].values()) >= 1
    assert api.client.get("/v1/segments", headers=api.h("ingest")).status_code == 403
    assert api.client.get("/v1/segments", headers=api.h("other")).json()["total"] == 0
    bad = api.client.get("/v1/segments/matrix", headers=api.h("analyst"), params={"by": "speaker"})
    assert bad.status_code == 422


def test_a_code_filter_finds_the_code_and_every_code_below_it() -> None:
    _matches = segments._matches
    row = {"codes": ["themes:community:meetups", "pricing_perception:risk", "theme:12"]}
    found = [
        code
        for code in ("themes", "themes:community", "themes:community:meetups", "pricing_perception")
        if _matches(row, SegmentFilter(code=code))
    ]
    assert found == ["themes", "themes:community", "themes:community:meetups", "pricing_perception"]
    for code in ("themes:comm", "pricing_perception:positive", "theme:1", "pricing"):
        assert not _matches(row, SegmentFilter(code=code)), code


def test_cli_segments_refuse_an_unknown_code_as_search_does(tmp_path: Path) -> None:
    """Before: ``segments --code nonsense`` printed "0 of 0 segments" (exit 0), where ``search``
    refuses it (exit 2, listing the valid codes). Now both run ``search.check_code``; a code
    that exists in an imported hierarchy, and every code above it, is still accepted."""
    import zipfile

    from themecoder.domain import BUCKETS
    from themecoder.errors import InvalidInput

    archive = tmp_path / "hierarchy.qdpx"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("project.qde", SSO_QDE)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    imported = runner.invoke(app, ["import", str(archive), "--db", db])
    assert imported.exit_code == 0, imported.output

    def segments_(*args: str) -> tuple[int, str]:
        r = runner.invoke(app, ["segments", *args, "--db", db])
        return r.exit_code, " ".join(r.output.split())  # the console wraps long lines

    for code in ("onboarding", "onboarding:sso"):  # the imported code and its parent
        status, said = segments_("--code", code)
        assert status == 0 and "1 of 1 segments" in said, (code, said)
    for code in ("pricing_perception", "pricing_perception:risk", "theme:3"):  # known, none yet
        assert segments_("--code", code)[0] == 0, code
    status, said = segments_("--code", "nonsense")
    assert status == 2 and "unknown code 'nonsense'" in said, said
    assert all(b in said for b in (*BUCKETS, "onboarding")), said
    assert "of 0 segments" not in said
    searched = runner.invoke(app, ["search", "billing", "--code", "nonsense", "--db", db])
    assert searched.exit_code == 2
    assert said.split("; valid codes:")[0] in " ".join(searched.output.split())
    for code, says in (
        ("pricing_perception:bad", "unknown polarity 'bad'"),
        ("onboarding:ss", "'onboarding:ss'"),
        ("onboarding:sso:x", "'onboarding:sso:x'"),
        ("theme:abc", "a theme is named by its id"),
    ):
        status, said = segments_("--code", code)
        assert status == 2 and says in said, (code, said)
    status, said = segments_("--matrix", "source", "--code", "nonsense")
    assert status == 2 and "unknown code 'nonsense'" in said, said
    engine = make_engine(db)
    with session_factory(engine)() as session:
        with pytest.raises(InvalidInput) as refused:
            segments.find_segments(session, None, SegmentFilter(code="nonsense"))
        assert refused.value.details["field"] == "code"
        assert {*BUCKETS, "onboarding"} <= set(refused.value.details["known"])
        found = segments.find_segments(session, None, SegmentFilter(code="onboarding"))
    engine.dispose()
    assert [s["codes"] for s in found["segments"]] == [["onboarding:sso"]]


def test_api_segments_refuse_an_unknown_code_as_search_does(api) -> None:
    """Before: ``GET /v1/segments?code=nonsense`` answered 200 with no segments; now 422 naming
    the code and listing the valid ones, in the words of ``/v1/search``."""
    from themecoder.domain import BUCKETS

    api.ingest([{"external_id": "T-1", "text": "The new per-seat pricing doubles our bill."}])

    def get(url: str, **params: str):
        return api.client.get(url, headers=api.h("analyst"), params=params)

    r = get("/v1/segments", code="nonsense")
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert [f["field"] for f in err["fields"]] == ["code"]
    assert "unknown code 'nonsense'" in err["message"]
    assert all(b in err["message"] for b in BUCKETS)
    searched = get("/v1/search", q="billing", code="nonsense")
    assert searched.status_code == 422 and searched.json()["error"] == err
    r = get("/v1/segments", code="pricing_perception:bad")
    assert r.status_code == 422 and "unknown polarity 'bad'" in r.json()["error"]["message"]
    for code in ("pricing_perception", "pricing_perception:risk", "theme:3"):
        assert get("/v1/segments", code=code).status_code == 200, code
