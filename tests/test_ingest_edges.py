"""Messy real-world inputs found in an ingest audit: regressions for what was fixed."""

from __future__ import annotations

import pytest

from themecoder.errors import EncodingError
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
