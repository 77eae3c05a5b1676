"""Messy real-world inputs found in an ingest audit: regressions for what was fixed."""

from __future__ import annotations

import pandas as pd
import pytest

from themecoder.errors import EncodingError, MissingColumn, NoRecords
from themecoder.ingest import read_items


def test_transcript_without_speakers_warns_without_claiming_a_skip(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("The pricing is too high.\nSupport was slow.\n", encoding="utf-8")

    result = read_items(path)

    assert len(result.items) == 1 and result.items[0].coded
    [problem] = result.problems
    assert "no 'Name: text' speaker turns" in problem.message
    assert problem.skipped is False  # the text is coded: a warning, not a skipped record


def test_vtt_without_header_warns_without_claiming_a_skip(tmp_path):
    path = tmp_path / "call.vtt"
    path.write_text("00:00:01.000 --> 00:00:04.000\nBob: Pricing is too high.\n", encoding="utf-8")

    result = read_items(path)

    assert [item.text for item in result.items] == ["Pricing is too high."]
    [problem] = result.problems
    assert "missing 'WEBVTT' header" in problem.message and problem.skipped is False


def test_windows_1252_file_suggests_cp1252_not_latin1(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("id,text\n1,The price is \u20ac50 \u2013 too much\n".encode("cp1252"))

    with pytest.raises(EncodingError) as info:
        read_items(path)

    assert "--encoding cp1252" in str(info.value)
    # and the suggestion reads the euro sign and the dash, not C1 control characters
    assert (
        read_items(path, encoding="cp1252").items[0].text == "The price is \u20ac50 \u2013 too much"
    )


def test_latin1_only_bytes_still_suggest_latin1(tmp_path):
    path = tmp_path / "old.csv"
    path.write_bytes("id,text\n1,caf\u00e9\n".encode("latin-1"))

    with pytest.raises(EncodingError, match="--encoding latin-1"):
        read_items(path)


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_or_tab_separated_csv_is_read(tmp_path, delimiter):
    path = tmp_path / "excel.csv"
    body = (
        f'id{delimiter}text\r\n1{delimiter}"Pricing, sadly, is too high"\r\n2{delimiter}Love it\r\n'
    )
    path.write_text("\ufeff" + body, encoding="utf-8")

    result = read_items(path, id_column="id")

    assert [(item.id, item.text) for item in result.items] == [
        ("1", "Pricing, sadly, is too high"),
        ("2", "Love it"),
    ]
    assert result.problems == []


def test_single_column_csv_keeps_semicolons_in_its_text(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("text\nhello; world\n", encoding="utf-8")

    assert [item.text for item in read_items(path).items] == ["hello; world"]


def test_a_csv_with_a_header_only_says_so(tmp_path):
    """A header-only CSV coded 0 items and wrote an empty output without a word."""
    path = tmp_path / "a.csv"
    path.write_text("id,text\n", encoding="utf-8")

    result = read_items(path)

    assert result.items == []
    assert [(p.message, p.skipped) for p in result.problems] == [
        ("no rows below the header", False)
    ]


def test_a_duplicate_id_is_a_warning_naming_its_lines_not_a_skip(tmp_path):
    """Both rows were coded, yet the id was reported as skipped, with no line."""
    path = tmp_path / "d.csv"
    path.write_text("id,text\nA,one\nB,two\nA,three\nA,four\n", encoding="utf-8")

    result = read_items(path, id_column="id")

    assert [item.text for item in result.items] == ["one", "two", "three", "four"]
    [problem] = result.problems
    assert problem.message == (
        "duplicate id 'A' on lines 2, 4 and 5: all 3 records are kept; ids should be unique"
    )
    assert (problem.skipped, problem.item_ids, problem.source) == (False, ("A",), "d.csv")


def test_an_id_shared_by_two_files_is_a_warning_naming_both(tmp_path):
    (tmp_path / "a.csv").write_text("id,text\nA,one\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"id": "A", "text": "two"}\n', encoding="utf-8")

    [problem] = read_items(tmp_path, id_column="id").problems

    assert "duplicate id 'A' in a.csv and b.jsonl" in problem.message
    assert (problem.skipped, problem.item_ids) == (False, ("A",))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("e.jsonl", ""),
        ("e.jsonl", "\n  \n\n"),
        ("e.csv", ""),
        ("e.csv", "\n\n"),
        ("e.parquet", None),
    ],
)
def test_an_empty_file_says_it_has_no_records(tmp_path, name, content):
    """An empty JSONL file said "column 'text' not found; columns: " (an empty list)."""
    path = tmp_path / name
    if content is None:
        pd.DataFrame().to_parquet(path)
    else:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(NoRecords, match=f"^{name} has no records$") as info:
        read_items(path)
    assert not isinstance(info.value, MissingColumn)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("call.txt", "", "has no turns"),
        ("call.txt", "# account_id: ACC-1\n# interviewer: Dana\n\n", "has no turns"),
        ("call.vtt", "WEBVTT\n\n", "has no cues"),
        ("call.vtt", "", "has no cues"),
        ("call.srt", "\n", "has no cues"),
    ],
)
def test_an_empty_transcript_or_subtitle_file_is_an_error(tmp_path, name, content, says):
    """An empty transcript or subtitle file gave 0 items and no message."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(NoRecords, match=f"^{name} {says}"):
        read_items(path)


def test_an_empty_file_in_a_folder_is_skipped_and_the_rest_read(tmp_path):
    (tmp_path / "a.csv").write_text("text\nThe export keeps timing out.\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("", encoding="utf-8")
    (tmp_path / "c.vtt").write_text("WEBVTT\n", encoding="utf-8")

    result = read_items(tmp_path)

    assert [item.text for item in result.items] == ["The export keeps timing out."]
    assert [(p.source, p.message, p.skipped) for p in result.problems] == [
        ("b.jsonl", "b.jsonl has no records", True),
        ("c.vtt", "c.vtt has no cues", True),
    ]


def test_a_jsonl_file_of_bad_lines_reports_them_not_a_missing_column(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n[1]\n", encoding="utf-8")

    result = read_items(path)

    assert result.items == []
    assert [(p.line, p.skipped) for p in result.problems] == [(1, True), (2, True)]


def test_nul_characters_are_removed_with_a_warning_naming_the_records(tmp_path):
    """A NUL in a CSV cell or a JSONL string went to the store, where PostgreSQL refused it
    with a traceback that lost the whole run."""
    (tmp_path / "a.csv").write_text("id,text,plan\nA,export\x00 fails,pro\x00\nB,ok,x\n")
    (tmp_path / "b.jsonl").write_text(
        '{"id": "C", "text": "price\\u0000 up", "tags": ["x\\u0000"]}\n'
    )

    result = read_items(tmp_path, id_column="id")

    assert [
        (i.id, i.text, i.metadata.get("plan", i.metadata.get("tags"))) for i in result.items
    ] == [
        ("A", "export fails", "pro"),
        ("B", "ok", "x"),
        ("C", "price up", ["x"]),
    ]
    assert [(p.source, p.message, p.skipped, p.item_ids) for p in result.problems] == [
        ("a.csv", "NUL characters removed from 1 record(s) (A)", False, ("A",)),
        ("b.jsonl", "NUL characters removed from 1 record(s) (C)", False, ("C",)),
    ]


def test_a_table_without_the_text_column_in_a_folder_is_skipped_and_the_rest_read(tmp_path):
    """`themecoder code data/sample/` (the README's example) stopped at accounts.csv, a table
    of accounts with no text column."""
    (tmp_path / "accounts.csv").write_text("account_id,plan\nACC-1,pro\n", encoding="utf-8")
    (tmp_path / "tickets.csv").write_text("text\nThe export keeps failing.\n", encoding="utf-8")

    result = read_items(tmp_path)

    assert [item.text for item in result.items] == ["The export keeps failing."]
    [problem] = result.problems
    assert problem.source == "accounts.csv" and problem.skipped
    assert problem.message.startswith("column 'text' not found")
    with pytest.raises(MissingColumn, match="column 'body' not found"):  # in no file: a typo
        read_items(tmp_path, text_column="body")
