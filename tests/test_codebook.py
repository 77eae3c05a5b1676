"""The codebook contract: the default file, validation with lines, edits, versions, the store,
re-counted history, and the ``codebook`` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.cli_codebook import codebook_app, glossary_app
from themecoder.codebook import edits
from themecoder.codebook.model import Code, Codebook, Examples
from themecoder.codebook.problems import CodebookInvalid
from themecoder.codebook.validate import load_codebook
from themecoder.codebook.versioning import diff
from themecoder.domain import BUCKETS, BucketCode, Item, ItemResult, Unit, UnitResult
from themecoder.errors import Conflict, InvalidInput, NotFound
from themecoder.pipeline.embed import HashingEmbedder
from themecoder.services import codebook as svc
from themecoder.storage import CodeRecord, init_db, make_engine, save_results, session_factory
from themecoder.storage.codebooks import codebook_versions, lineage_rows

runner = CliRunner()

BAD = """\
name: test
version: 1
codes:
  - id: a
    name: Alpha
    definition: The first.
    owner: Team A
    parent: c
  - id: b
    name: alpha
    definition: "   "
    owner: Team B
    metrics: [renewal_rate, made_up_metric]
  - id: c
    name: Gamma
    definition: Third.
    parent: a
"""


def problems(text: str) -> list[str]:
    with pytest.raises(CodebookInvalid) as info:
        load_codebook(text=text)
    return [str(p) for p in info.value.problems]


def test_default_codebook_is_the_six_buckets_with_everything_filled():
    book = load_codebook()
    assert book.ids() == list(BUCKETS)
    for code in book.codes:
        assert code.parent is None and code.owner and code.definition
        assert code.include and code.exclude and code.metrics
        assert code.examples.positive and code.examples.neutral and code.examples.risk
        assert code.expressions.satisfaction and code.expressions.frustration
        assert code.expressions.request


def test_validation_names_every_problem_with_its_line():
    assert problems(BAD) == [
        "line 8 (codes[0].parent): cycle in the hierarchy: a -> c -> a",
        "line 10 (codes[1].name): duplicate name 'alpha' (first at line 5)",
        "line 11 (codes[1].definition): code 'b' has an empty definition",
        "line 13 (codes[1].metrics[1]): code 'b' maps to unknown metric 'made_up_metric'; "
        "the glossary defines: " + ", ".join(sorted(load_glossary_ids())),
    ]


def load_glossary_ids() -> set[str]:
    from themecoder.codebook.glossary import load_glossary

    return load_glossary().ids()


def test_structural_problems_name_their_lines():
    text = "name: t\ncodes:\n  - id: a\n    name: A\n    defintion: typo\n    owner: X\n"
    assert problems(text) == [
        "line 3 (codes[0].definition): missing field 'definition'",
        "line 5 (codes[0].defintion): unknown field 'defintion'",
    ]
    dup = "name: t\ncodes:\n  - id: a\n    name: A\n    name: B\n"
    assert problems(dup) == ["line 5 (codes[0]): duplicate key 'name' (first at line 4)"]
    assert problems("name: t\ncodes: [\n")[0].startswith("line 3: not valid YAML")
    ids = "name: t\ncodes:\n  - {id: a, name: A, definition: x, owner: o}\n"
    ids += (
        "  - {id: a, name: B, definition: y, owner: o}\n  - {id: Bad-Id, name: C, definition: z}\n"
    )
    assert problems(ids) == [
        "line 5 (codes[2].id): 'Bad-Id' is not a valid id (lowercase letters, digits, _)"
    ]
    ids = ids.rsplit("  - {id: Bad", 1)[0]
    assert problems(ids) == ["line 4 (codes[1].id): duplicate id 'a' (first at line 3)"]


def test_other_rules_parent_owner_and_lineage():
    text = (
        "name: t\nversion: 2\ncodes:\n  - {id: a, name: A, definition: x}\n"
        "  - {id: b, name: B, definition: y, owner: o, parent: zz}\n"
        "lineage:\n  - {kind: create, targets: [a, b, gone], version: 1}\n"
    )
    assert problems(text) == [
        "line 3 (codes): code 'gone' was removed without a lineage event; retire or merge it "
        "(themecoder codebook retire|merge) so history re-maps",
        "line 4 (codes[0].owner): top-level code 'a' needs an owner",
        "line 5 (codes[1].parent): code 'b' has unknown parent 'zz'",
    ]


def test_edits_make_versions_with_lineage_and_a_readable_diff():
    v1 = load_codebook()
    sso = Code(id="sso_setup", name="SSO setup", parent="onboarding_clarity", definition="SSO.")
    v2 = edits.add_code(v1, sso)
    v3 = edits.rename_code(v2, "pricing_perception", "price_perception", "Price perception")
    v4 = edits.merge_codes(v3, ["value_realization", "price_perception"], "value_for_money")
    v5 = edits.split_code(v4, "value_for_money", [("outcomes", "Results."), ("fairness", "Fair.")])
    v6 = edits.retire_code(v5, "sso_setup")
    assert [b.version for b in (v1, v2, v3, v4, v5, v6)] == [1, 2, 3, 4, 5, 6]
    assert v6.ids() == [
        "renewal_likelihood",
        "upsell_readiness",
        "onboarding_clarity",
        "outcomes",
        "fairness",
        "support_friction",
    ]
    merged = v4.get("value_for_money")
    assert merged.metrics == [
        "roi_realization",
        "adoption_rate",
        "usage_depth",
        "engagement_score",
        "renewal_rate",
        "expansion_revenue",
        "churn_risk_indicators",
    ]
    assert "It's too expensive for what we get." in merged.examples.risk
    assert v6.history().resolve("pricing_perception") == ("outcomes", "fairness")
    assert diff(v1, v6).text() == (
        "signal-buckets v1 -> v6\n"
        "  + added    sso_setup: then changed again (see below)\n"
        "  ~ renamed  pricing_perception: -> price_perception\n"
        "  ~ merged   value_realization, price_perception: -> value_for_money\n"
        "  ~ split    value_for_money: -> outcomes, fairness\n"
        "  - retired  sso_setup"
    )
    assert diff(v2, v3).text().splitlines()[2] == (
        "  ~ changed  price_perception.name: 'Pricing perception' -> 'Price perception'"
    )
    assert Codebook.from_yaml(v6.to_yaml()) == v6


def test_bad_edits_are_refused():
    book = load_codebook()
    with pytest.raises(InvalidInput, match="already in use"):
        edits.rename_code(book, "pricing_perception", "support_friction")
    with pytest.raises(CodebookInvalid, match="duplicate name 'Support friction'"):
        edits.merge_codes(
            book, ["value_realization", "pricing_perception"], "vm", "Support friction"
        )
    with pytest.raises(CodebookInvalid, match="empty definition"):
        edits.split_code(book, "pricing_perception", [("a_a", "A."), ("b_b", " ")])
    child = edits.add_code(
        book, Code(id="kid", name="Kid", parent="support_friction", definition="k")
    )
    with pytest.raises(InvalidInput, match="has sub-codes \\['kid'\\]"):
        edits.retire_code(child, "support_friction")
    with pytest.raises(InvalidInput, match="own sub-code"):
        edits.merge_codes(child, ["support_friction", "kid"], "sf2")


@pytest.fixture
def book_file(tmp_path: Path) -> Path:
    path = tmp_path / "codebook.yaml"
    path.write_text(load_codebook().to_yaml(), encoding="utf-8")
    return path


def versions(settings) -> list[tuple[int, str]]:
    engine = make_engine(settings.db_url)
    init_db(engine)
    with session_factory(engine)() as s:
        out = [(v["version"], v["diff"]) for v in codebook_versions(s, "signal-buckets")]
        out_lineage = lineage_rows(s, "signal-buckets")
    engine.dispose()
    return out, out_lineage


def test_edit_service_stores_versions_and_a_failed_edit_changes_nothing(book_file, settings):
    svc.rename(book_file, "support_friction", "support_experience", settings=settings)
    stored, lineage = versions(settings)
    assert [v for v, _ in stored] == [1, 2]
    assert stored[1][1].startswith("signal-buckets v1 -> v2\n  ~ renamed  support_friction")
    assert [r["kind"] for r in lineage] == ["create", "rename"]
    good = book_file.read_bytes()
    stale = book_file.with_name("stale.yaml")
    stale.write_text(load_codebook().to_yaml(), encoding="utf-8")
    bad_edits = [
        (book_file, lambda: svc.retire(book_file, "no_such_code", settings=settings)),
        (
            book_file,
            lambda: svc.merge(
                book_file,
                ["renewal_likelihood", "upsell_readiness"],
                "x",
                "Pricing perception",
                settings=settings,
            ),
        ),
        (stale, lambda: svc.retire(stale, "pricing_perception", settings=settings)),
    ]
    for path, bad in bad_edits:
        before = path.read_bytes()
        with pytest.raises((InvalidInput, Conflict, NotFound)):
            bad()
        assert path.read_bytes() == before
        assert versions(settings)[0] == stored
    assert book_file.read_bytes() == good
    assert sorted(p.name for p in book_file.parent.iterdir() if p.suffix == ".yaml") == [
        "codebook.yaml",
        "stale.yaml",
    ]


def _result(item_id: str, when: str, buckets: list[str], text: str) -> ItemResult:
    unit = Unit(item_id=item_id, index=0, start=0, end=len(text), text=text)
    vector = HashingEmbedder(64).encode([text])[0]
    codes = [BucketCode(b, "risk", 0.9, {}) for b in buckets]
    ur = UnitResult(unit, codes, "neutral", 0.0, "none", embedding=vector)
    item = Item(id=item_id, text=text, metadata={"created_at": when})
    return ItemResult(item, [ur], codes, "neutral", 0.0, "none")


def test_stored_codes_record_versions_and_recount_under_the_current_codebook(book_file, settings):
    results = [
        _result(
            "1", "2025-01-05", ["value_realization", "pricing_perception"], "the invoice was wrong"
        ),
        _result("2", "2025-01-20", ["pricing_perception"], "price is far too high"),
        _result("3", "2025-02-03", ["value_realization"], "saves hours"),
        _result("4", "2025-02-10", ["support_friction"], "outage again"),
    ]
    engine = make_engine(settings.db_url)
    init_db(engine)
    with session_factory(engine).begin() as s:
        save_results(
            s,
            results,
            source="t",
            model_version="m1",
            level="unit",
            settings={},
            codebook_version=1,
        )
    with session_factory(engine)() as s:
        stored = s.query(CodeRecord).all()
        assert {(c.model_version, c.codebook_version) for c in stored} == {("m1", 1)}
    engine.dispose()

    svc.merge(
        book_file,
        ["value_realization", "support_friction"],
        "value_and_support",
        definition="Outcomes and help.",
        settings=settings,
    )
    book = svc.load(book_file)
    counts = svc.historical_counts(settings, book)
    assert [tuple(r) for r in counts.itertuples(index=False)] == [
        ("2025-01", "pricing_perception", 2),
        ("2025-01", "value_and_support", 1),
        ("2025-02", "value_and_support", 2),
    ]

    svc.split(
        book_file,
        "pricing_perception",
        [("billing", "Invoices and charges."), ("price_level", "How high the price is.")],
        settings=settings,
    )
    book = svc.load(book_file)
    counts = svc.historical_counts(settings, book)
    assert [tuple(r) for r in counts.itertuples(index=False)] == [
        ("2025-01", "pricing_perception (before split)", 2),
        ("2025-01", "value_and_support", 1),
        ("2025-02", "value_and_support", 2),
    ]
    quotes = {"billing": "the invoice was wrong", "price_level": "price is far too high"}
    codes = [
        c.model_copy(update={"examples": Examples(risk=[quotes[c.id]])}) if c.id in quotes else c
        for c in book.codes
    ]
    recount = svc.historical_counts(
        settings, book.model_copy(update={"codes": codes}), embedder=HashingEmbedder(64)
    )
    assert [tuple(r) for r in recount.itertuples(index=False)] == [
        ("2025-01", "billing", 1),
        ("2025-01", "price_level", 1),
        ("2025-01", "value_and_support", 1),
        ("2025-02", "value_and_support", 2),
    ]


# -- command line -------------------------------------------------------------------------


def invoke(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result, " ".join(result.output.split())


def test_every_codebook_command_documents_itself():
    for group, sub in ((codebook_app, "codebook"), (glossary_app, "glossary")):
        assert group.registered_commands
        for command in group.registered_commands:
            name = command.name or command.callback.__name__
            assert "Example:" in (command.callback.__doc__ or ""), name
            result, output = invoke(sub, name, "--help")
            assert result.exit_code == 0 and "Example:" in output, name


def test_cli_validate_reports_lines_and_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result, output = invoke("codebook", "validate", bad)
    assert result.exit_code == 2
    assert "line 10 (codes[1].name): duplicate name 'alpha' (first at line 5)" in output
    result, output = invoke("codebook", "validate")
    assert result.exit_code == 0 and "ok: signal-buckets v1, 6 codes" in output


def test_cli_edits_diff_export_import(tmp_path, book_file, settings):
    db = ["--db", settings.db_url]
    first = tmp_path / "v1.yaml"
    first.write_bytes(book_file.read_bytes())
    result, output = invoke(
        "codebook",
        "add",
        book_file,
        "sso_setup",
        "--parent",
        "onboarding_clarity",
        "--definition",
        "Setting up SSO.",
        "--example",
        "risk:Where does SSO setup live?",
        *db,
    )
    assert (
        result.exit_code == 0 and "+ added sso_setup: Sso setup under onboarding_clarity" in output
    )
    steps = [
        ("rename", "pricing_perception", "price_perception", "--name", "Price perception"),
        ("merge", "value_realization", "price_perception", "--into", "value_for_money"),
        ("split", "value_for_money", "--into", "outcomes=Results.", "--into", "fairness=Fair."),
        ("retire", "sso_setup"),
    ]
    for kind, *rest in steps:
        result, output = invoke("codebook", kind, book_file, *rest, *db)
        assert result.exit_code == 0, output
    assert "(version 6); stored in" in output
    result, output = invoke("codebook", "retire", book_file, "nope", *db)
    assert result.exit_code == 2 and "no code 'nope'" in output
    result, output = invoke("codebook", "diff", first, book_file)
    assert (
        "signal-buckets v1 -> v6" in output
        and "~ split value_for_money: -> outcomes, fairness" in output
    )
    assert [v for v, _ in versions(settings)[0]] == [1, 2, 3, 4, 5, 6]

    qdc = tmp_path / "cb.qdc"
    assert (
        invoke("codebook", "export", book_file, "--format", "qdc", "--out", qdc)[0].exit_code == 0
    )
    back = tmp_path / "back.yaml"
    result, output = invoke("codebook", "import", qdc, "--out", back)
    assert result.exit_code == 0 and "signal-buckets v6, 6 codes" in output
    assert svc.load(back) == svc.load(book_file)
    result, output = invoke("codebook", "import", qdc, "--out", back)
    assert result.exit_code == 1 and "exists" in output
    result = runner.invoke(app, ["codebook", "export", str(book_file), "--format", "csv"])
    assert result.output.splitlines()[0].startswith("id,name,parent,path,definition")
    assert len(result.output.splitlines()) == 7
    result, output = invoke("codebook", "export", "--format", "pdf")
    assert result.exit_code == 2 and "unknown format 'pdf'" in output
