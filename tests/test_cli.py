"""The command line: every command documents itself; ``code`` end to end on good and bad input.

Tests that code text reuse the session ``coder`` fixture (``Coder.load`` is patched to return
it), so the models load once for the whole test session.
"""

from __future__ import annotations

import copy
import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from themecoder.cli import app
from themecoder.coder import Coder
from themecoder.config import get_settings
from themecoder.domain import BUCKETS
from themecoder.storage import (
    CodeRecord,
    bucket_summary,
    latest_run_id,
    make_engine,
    run_overview,
    session_factory,
)

runner = CliRunner()

TICKETS = [
    ("T-1", "The new per-seat pricing doubles our bill, that's outrageous."),
    ("T-2", "Third ticket about the same sync error and nobody answers."),
    ("T-3", "It saves my team about ten hours a week. Can we add the analytics module?"),
]


def invoke(*args: object) -> tuple[Result, str]:
    """Run the CLI; return the result and its output (stdout and stderr) on one line.

    Whitespace is collapsed because rich wraps long messages at the console width.
    """
    result = runner.invoke(app, [str(a) for a in args])
    # a clean exit, or a clean error exit: never an unhandled exception
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output,
        result.exc_info,
    )
    return result, " ".join(result.output.split())


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = ("id", "text")
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """THEMECODER_DB_URL points at a fresh SQLite file; the cached settings are re-read."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("THEMECODER_DB_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture
def shipped(coder: Coder, monkeypatch: pytest.MonkeyPatch) -> Coder:
    """The CLI codes with the session coder instead of loading the models again."""
    monkeypatch.setattr(Coder, "load", classmethod(lambda cls, *args, **kwargs: coder))
    return coder


def stored(url: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The latest run's overview and its per-bucket summary, read back from the store."""
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            run_id = latest_run_id(session)
            assert run_id is not None
            overview = run_overview(session, run_id)
            summary = {row["bucket"]: row for row in bucket_summary(session, run_id)}
    finally:
        engine.dispose()
    return overview, summary


# -- help ---------------------------------------------------------------------------------


def commands(
    typer_app: Any = app, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(command path, CommandInfo)`` of every command, sub-command groups included."""
    for command in typer_app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        yield (*prefix, name), command
    for group in typer_app.registered_groups:
        yield from commands(group.typer_instance, (*prefix, group.name))


def test_every_command_documents_itself_with_an_example():
    found = list(commands())
    assert {path[0] for path, _ in found} >= {"code", "demo", "train", "eval", "info"}
    for path, command in found:
        doc = command.help or command.callback.__doc__ or ""
        assert "Example:" in doc, f"{' '.join(path)}: docstring lacks an 'Example:'"
        result, output = invoke(*path, "--help")
        assert result.exit_code == 0 and "Example:" in output, path


# -- coding files -------------------------------------------------------------------------


@pytest.mark.model
def test_info_masks_the_session_secret_and_the_database_password(monkeypatch):
    secret = "s3cr3t-" + "x" * 40
    monkeypatch.setenv("THEMECODER_SESSION_SECRET", secret)
    monkeypatch.setenv("THEMECODER_PII_KEY", "k" * 44)
    monkeypatch.setenv("THEMECODER_DB_URL", "postgresql+psycopg://coder:hunter2@db.internal/tc")
    get_settings.cache_clear()
    try:
        result, output = invoke("info")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, output
    assert secret not in output and "hunter2" not in output and "k" * 44 not in output
    settings = json.loads(result.output)["settings"]
    assert settings["session_secret"] == settings["pii_key"] == "**********"
    assert settings["db_url"] == "postgresql+psycopg://coder:***@db.internal/tc"


def test_code_csv_to_jsonl_one_record_per_row_and_stored(tmp_path, db_url, shipped):
    source = write_csv(tmp_path / "tickets.csv", TICKETS)
    out = tmp_path / "coded.jsonl"

    result, output = invoke("code", source, "--id-column", "id", "--out", out)

    assert result.exit_code == 0, output
    assert "coded 3 items" in output
    records = read_jsonl(out)
    assert [r["id"] for r in records] == [t for t, _ in TICKETS]
    for rec, (_, text) in zip(records, TICKETS, strict=True):
        assert set(rec) >= {"id", "buckets", "sentiment", "expression", "units"}
        assert set(rec["sentiment"]) == {"label", "score"}
        assert -1 <= rec["sentiment"]["score"] <= 1
        assert set(rec["buckets"]) <= set(BUCKETS)
        assert rec["units"]
        assert all(0 <= u["start"] < u["end"] <= len(text) for u in rec["units"])
    assert "pricing_perception" in records[0]["buckets"]
    assert "support_friction" in records[1]["buckets"]

    overview, summary = stored(db_url)
    assert overview["n_items"] == 3
    assert overview["n_units"] == sum(len(r["units"]) for r in records)
    per_bucket = Counter(b for r in records for u in r["units"] for b in u["buckets"])
    assert {b: row["units"] for b, row in summary.items() if row["units"]} == dict(per_bucket)
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            versions = session.execute(
                select(CodeRecord.model_version, CodeRecord.codebook_version).distinct()
            ).all()
    finally:
        engine.dispose()
    assert [tuple(v) for v in versions] == [(records[0]["model_version"], 1)]


@pytest.mark.model
def test_code_unit_level_csv_one_row_per_unit(tmp_path, db_url, shipped):
    long_text = (
        "Hi all, thanks for making the time to talk with us again this week about the account. "
        "The new per-seat pricing doubles our bill. "
        "I'll send the file with the list of teams tomorrow morning, once legal has signed off "
        "on sharing it with you and the procurement people have had a look at the numbers."
    )
    rows = [*TICKETS, ("T-4", long_text)]
    source = write_csv(tmp_path / "tickets.csv", rows)
    out = tmp_path / "units.csv"

    result, output = invoke("code", source, "--id-column", "id", "--level", "unit", "--out", out)

    assert result.exit_code == 0, output
    with out.open(encoding="utf-8", newline="") as fh:
        units = list(csv.DictReader(fh))
    texts = dict(rows)
    assert {"item_id", "start", "end", "text"} <= set(units[0])
    assert set(BUCKETS) | {f"{b}_confidence" for b in BUCKETS} <= set(units[0])
    assert [u["item_id"] for u in units].count("T-4") == 3
    assert len(units) == len(rows) - 1 + 3
    for unit in units:
        assert texts[unit["item_id"]][int(unit["start"]) : int(unit["end"])] == unit["text"]
    pricing = [u for u in units if u["text"].startswith("The new per-seat pricing")]
    assert pricing and pricing[0]["pricing_perception"] in {"positive", "neutral", "risk"}

    overview, _ = stored(db_url)
    assert (overview["level"], overview["n_items"], overview["n_units"]) == ("unit", 4, len(units))


@pytest.mark.model
def test_code_transcript_keeps_interviewer_turns_uncoded(tmp_path, db_url, shipped):
    transcript = tmp_path / "interview.txt"
    transcript.write_text(
        "# account_id: ACC-7\n"
        "\n"
        "[00:00:01] Interviewer: Is the new pricing a problem, and is support too slow?\n"
        "[00:00:09] Dana: The per-seat pricing doubles our bill and support never answers.\n"
        "[00:00:20] Sam: Support will follow up on your open tickets about pricing today.\n"
        "[00:00:25] Interviewer: Would you renew the contract?\n"
        "[00:00:30] Dana: We're evaluating other vendors before the contract ends.\n",
        encoding="utf-8",
    )
    out = tmp_path / "coded.jsonl"

    result, output = invoke("code", transcript, "--skip-speaker", "Sam", "--out", out)

    assert result.exit_code == 0, output
    records = defaultdict(list)
    for rec in read_jsonl(out):
        records[rec["speaker"]].append(rec)
    # speaker names are personal data: pseudonyms in order of appearance (redaction is on)
    dana, sam = "[SPEAKER 1]", "[SPEAKER 2]"
    assert {k: len(v) for k, v in records.items()} == {"Interviewer": 2, dana: 2, sam: 1}
    for rec in records["Interviewer"] + records[sam]:
        assert rec["coded"] is False
        assert rec["buckets"] == {} and rec["units"] == []
    assert all(rec["coded"] is True and rec["units"] for rec in records[dana])
    assert any(rec["buckets"] for rec in records[dana])
    overview, _ = stored(db_url)
    assert (overview["n_items"], overview["n_coded_items"]) == (5, 2)


@pytest.mark.model
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_unit_level_keeps_uncoded_turns_in_document_order(tmp_path, db_url, shipped, suffix):
    """Interviewer turns were left out of --level unit output (--level item keeps them)."""
    transcript = tmp_path / "interview.txt"
    transcript.write_text(
        "Interviewer: Is the new pricing a problem?\n"
        "Dana: The per-seat pricing doubles our bill and support never answers.\n"
        "Interviewer: Would you renew the contract?\n"
        "Dana: We're evaluating other vendors before the contract ends.\n",
        encoding="utf-8",
    )
    out = tmp_path / f"units{suffix}"

    result, output = invoke("code", transcript, "--level", "unit", "--out", out, "--no-store")

    assert result.exit_code == 0, output
    if suffix == ".csv":
        with out.open(encoding="utf-8", newline="") as fh:
            units = [{**u, "coded": u["coded"] == "True"} for u in csv.DictReader(fh)]
    else:
        units = read_jsonl(out)
        assert len({frozenset(u) for u in units}) == 1  # the same keys, coded or not
    ids = [f"interview:{n:03d}" for n in range(1, 5)]
    assert list(dict.fromkeys(u["item_id"] for u in units)) == ids
    questions = [u for u in units if not u["coded"]]
    assert [(q["item_id"], q["speaker"], q["text"]) for q in questions] == [
        (ids[0], "Interviewer", "Is the new pricing a problem?"),
        (ids[2], "Interviewer", "Would you renew the contract?"),
    ]
    for question in questions:  # the whole turn, with no bucket
        assert (int(question["start"]), int(question["end"])) == (0, len(question["text"]))
        assert not question.get("buckets") and not question.get("pricing_perception")
    assert all(u["coded"] for u in units if u["speaker"] != "Interviewer")


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.model
def test_latin1_input_asks_for_encoding_then_codes_with_it(tmp_path, db_url, shipped):
    source = tmp_path / "latin1.csv"
    source.write_bytes(
        "id,text\n1,The café support team is far too slow for us.\n".encode("latin-1")
    )
    out = tmp_path / "coded.jsonl"

    result, output = invoke("code", source, "--out", out)
    assert result.exit_code == 2
    assert "--encoding" in output and "Traceback" not in output
    assert not out.exists()

    result, output = invoke("code", source, "--encoding", "latin-1", "--out", out)
    assert result.exit_code == 0, output
    (record,) = read_jsonl(out)
    assert record["units"] and record["units"][0]["end"] == len(
        "The café support team is far too slow for us."
    )


def test_missing_text_column_lists_the_columns_found(tmp_path, db_url):
    source = write_csv(tmp_path / "tickets.csv", TICKETS, header=("ticket_id", "body"))

    result, output = invoke("code", source, "--out", tmp_path / "x.jsonl")

    assert result.exit_code == 2
    assert "'text'" in output and "columns: ticket_id, body" in output


def test_an_empty_file_is_an_input_error_saying_so(tmp_path, db_url):
    """An empty JSONL file said "column 'text' not found; columns: ", listing nothing."""
    source = tmp_path / "empty.jsonl"
    source.write_text("", encoding="utf-8")

    result, output = invoke("code", source, "--no-store")

    assert result.exit_code == 2
    assert "empty.jsonl has no records" in output and "missing_column" not in output


@pytest.mark.model
def test_a_duplicate_id_is_a_warning_on_both_records_not_a_skip(tmp_path, db_url, shipped):
    """Both rows were coded, yet the console said the duplicate id was skipped."""
    rows = [("A", "The export keeps timing out."), ("A", "Billing charged us twice.")]
    source = write_csv(tmp_path / "d.csv", rows)
    out = tmp_path / "d.jsonl"

    result, output = invoke("code", source, "--id-column", "id", "--no-store", "--out", out)

    assert result.exit_code == 0, output
    warning = "duplicate id 'A' on lines 2 and 3: both records are kept"
    assert f"warning d.csv: {warning}" in output and "skipped" not in output
    assert output.count(warning) == 1  # not printed again for each record
    assert [any(warning in w for w in r["warnings"]) for r in read_jsonl(out)] == [True, True]


@pytest.mark.model
def test_malformed_row_reported_with_its_line_good_rows_coded(tmp_path, db_url, shipped):
    source = tmp_path / "tickets.csv"
    source.write_text(
        "id,text\n"
        "T-1,The new per-seat pricing doubles our bill.\n"
        "T-2,this row has,one field too many\n"
        "T-3,Support answered within an hour.\n",
        encoding="utf-8",
    )
    out = tmp_path / "coded.jsonl"

    result, output = invoke("code", source, "--id-column", "id", "--out", out)

    assert result.exit_code == 0, output
    assert "line 3" in output and "expected 2 fields, found 3" in output
    assert [r["id"] for r in read_jsonl(out)] == ["T-1", "T-3"]
    overview, _ = stored(db_url)
    assert overview["n_items"] == 2


@pytest.mark.model
def test_blank_text_is_coded_empty_with_a_warning(tmp_path, db_url, shipped):
    source = write_csv(tmp_path / "nps.csv", [("N-1", "Great product."), ("N-2", "   ")])
    out = tmp_path / "coded.jsonl"

    result, output = invoke("code", source, "--id-column", "id", "--out", out)

    assert result.exit_code == 0, output
    assert "warning" in output and "N-2" in output
    good, blank = read_jsonl(out)
    assert good["units"] and not good["warnings"]
    assert blank["id"] == "N-2" and blank["buckets"] == {} and blank["units"] == []
    assert blank["warnings"] and blank["sentiment"]["label"] == "neutral"


class DistinctOnce:
    """Embeds each distinct text once per call: a 1 MB row repeats its few sentences, and
    embedding thousands of copies would test the model's speed rather than the CLI."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.batch_size = inner.batch_size

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        unique = list(dict.fromkeys(texts))
        row = {t: i for i, t in enumerate(unique)}
        return self.inner.encode(unique)[[row[t] for t in texts]]


@pytest.mark.model
def test_a_one_megabyte_row_is_coded(tmp_path, db_url, coder, monkeypatch):
    fast = copy.copy(coder)
    fast.embedder = DistinctOnce(coder.embedder)
    monkeypatch.setattr(Coder, "load", classmethod(lambda cls, *args, **kwargs: fast))
    sentences = [
        "The export to the finance system keeps timing out whenever the monthly report runs "
        "over a few thousand rows, and the workaround support gave us only helps half the time.",
        "Our admins still cannot find where single sign-on is configured after the last update, "
        "which means every new hire waits a day or two before they can even log in properly.",
        "Honestly the price increase at renewal was hard to justify to our CFO this year.",
        "On the bright side the new dashboards save my team several hours every single week.",
    ]
    paragraph = " ".join(sentences) + "\n"
    huge = paragraph * (1_000_000 // len(paragraph) + 1)
    assert len(huge) > 1_000_000
    source = write_csv(tmp_path / "huge.csv", [("H-1", huge), ("H-2", "Support was great.")])
    out = tmp_path / "coded.jsonl"

    result, output = invoke("code", source, "--id-column", "id", "--out", out)

    assert result.exit_code == 0, output
    big, small = read_jsonl(out)
    assert big["id"] == "H-1" and len(big["units"]) > 100
    assert all(u["end"] - u["start"] <= 500 for u in big["units"])
    assert big["buckets"] and small["units"]


def test_unknown_out_extension_is_refused(tmp_path, db_url):
    source = write_csv(tmp_path / "tickets.csv", TICKETS)

    result, output = invoke("code", source, "--out", tmp_path / "coded.xlsx")

    assert result.exit_code == 2
    assert "--out must end in .jsonl or .csv" in output and "coded.xlsx" in output


def test_missing_input_is_a_clean_error(tmp_path, db_url):
    missing = tmp_path / "nope.csv"

    result, output = invoke("code", missing)

    assert result.exit_code != 0
    assert "does not exist" in output and "nope.csv" in output
    assert "Traceback" not in output


def test_user_text_in_messages_is_not_read_as_markup(tmp_path, db_url):
    source = write_csv(tmp_path / "tickets.csv", TICKETS, header=("[id]", "body"))
    result, output = invoke("code", source)
    assert result.exit_code == 2 and "columns: [id], body" in output

    result, output = invoke("code", tmp_path / "a[/]b.csv")
    assert "does not exist" in output and "a[/]b.csv" in output
