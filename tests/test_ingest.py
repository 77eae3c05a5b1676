"""Ingestion: one reader per format, problems reported per record, errors with clear messages."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from themecoder.errors import EncodingError, InvalidInput, MissingColumn, NotFound
from themecoder.ingest import SUPPORTED_FORMATS, IngestProblem, IngestResult, read_items

DATA = Path(__file__).parent / "data" / "ingest"


def by_id(result: IngestResult) -> dict:
    return {item.id: item for item in result.items}


# --- CSV -------------------------------------------------------------------------------------


def test_csv_reads_good_rows_and_reports_malformed_row_by_physical_line():
    result = read_items(DATA / "tickets.csv", id_column="id")

    assert [item.id for item in result.items] == ["T1", "T2", "T4", "T5", "T6"]
    # T2 spans lines 3-4, so the 4-field T3 record starts on physical line 5
    assert result.problems == [
        IngestProblem(5, "expected 6 fields, found 4; row skipped", "tickets.csv")
    ]
    assert result.source == str(DATA / "tickets.csv")


def test_csv_quoted_fields_and_metadata_passthrough():
    items = by_id(read_items(DATA / "tickets.csv", id_column="id"))

    assert items["T1"].text == "Login keeps failing, please help"
    assert items["T2"].text == 'Two lines\nand "quotes", commas'
    assert items["T1"].metadata == {
        "id": "T1", "plan": "pro", "role": "customer", "speaker": "Dana", "created": "2024-01-02",
    }  # fmt: skip
    assert "text" not in items["T1"].metadata
    assert items["T1"].source == "tickets.csv"
    assert items["T1"].speaker == "Dana"
    assert items["T1"].source_offset is None


def test_csv_blank_text_is_kept_as_empty_string():
    items = by_id(read_items(DATA / "tickets.csv", id_column="id"))

    assert items["T6"].text == ""
    assert items["T6"].coded is True


def test_role_column_and_skip_speakers_mark_rows_not_coded():
    items = by_id(read_items(DATA / "tickets.csv", id_column="id", skip_speakers=["BOT"]))

    assert items["T4"].coded is False  # role "Agent"
    assert items["T4"].metadata["role"] == "Agent"
    assert items["T5"].coded is False  # speaker "Bot" skipped, case-insensitively
    assert items["T1"].coded is True

    no_roles = by_id(read_items(DATA / "tickets.csv", id_column="id", role_column=None))
    assert no_roles["T4"].coded is True
    assert no_roles["T5"].coded is True


def test_generated_ids_count_data_rows_including_skipped_ones():
    result = read_items(DATA / "tickets.csv")

    assert [item.id for item in result.items] == ["row-1", "row-2", "row-4", "row-5", "row-6"]
    assert result.items[0].metadata["id"] == "T1"


def test_missing_text_column_lists_columns_found():
    with pytest.raises(MissingColumn) as info:
        read_items(DATA / "tickets.csv", text_column="body")

    assert str(info.value) == (
        "column 'body' not found; columns: id, text, plan, role, speaker, created"
    )
    assert info.value.code == "missing_column"


def test_missing_id_column_raises():
    with pytest.raises(MissingColumn, match="column 'ticket_id' not found; columns: id, text"):
        read_items(DATA / "tickets.csv", id_column="ticket_id")


def test_wrong_encoding_names_the_byte_and_the_flag():
    with pytest.raises(EncodingError) as info:
        read_items(DATA / "latin1.csv")

    message = str(info.value)
    assert message.startswith("latin1.csv is not valid utf-8 (byte 0xe9 at position 13")
    assert "--encoding latin-1" in message
    assert isinstance(info.value, InvalidInput)


def test_encoding_option_reads_latin1():
    result = read_items(DATA / "latin1.csv", encoding="latin-1")

    assert [item.text for item in result.items] == ["Café crème", "plain"]


def test_unknown_encoding_is_invalid_input():
    with pytest.raises(InvalidInput, match="unknown encoding 'klingon'"):
        read_items(DATA / "latin1.csv", encoding="klingon")


def test_one_megabyte_text_row_is_read_whole(tmp_path):
    long_text = "word, " * 200_000  # 1.2 MB with commas, so it must be quoted
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(f'id,text\n1,"{long_text}"\n2,short\n')

    result = read_items(path)

    assert [len(item.text) for item in result.items] == [len(long_text), 5]
    assert result.items[0].text == long_text
    assert result.problems == []


def test_unclosed_quote_is_reported_not_raised(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('id,text\n1,fine\n2,"never closed\n3,lost\n', encoding="utf-8")

    result = read_items(path)

    assert [item.text for item in result.items] == ["fine"]
    assert result.problems == [
        IngestProblem(
            3, "unclosed quote runs to the end of the file (line 4); record skipped", "broken.csv"
        )
    ]


def test_bad_quoting_skips_only_that_record(tmp_path):
    path = tmp_path / "stray.csv"
    path.write_text('id,text\n1,"quoted"tail\n2,ok\n', encoding="utf-8")

    result = read_items(path)

    assert [(item.id, item.text) for item in result.items] == [("row-2", "ok")]
    assert result.problems[0].line == 2
    assert "malformed quoting" in result.problems[0].message


def test_a_quote_left_open_reports_every_line_it_swallowed(tmp_path):
    path = tmp_path / "open.csv"
    rows = ['1,"first ok row"', '2,"unterminated quote', '3,"third row"', '4,"fourth row"']
    path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")

    result = read_items(path, id_column="id")

    assert [item.id for item in result.items] == ["1", "4"]
    [problem] = result.problems
    assert problem.line == 3
    assert "lines 3-4 skipped" in problem.message and "left open on line 3" in problem.message


def test_csv_crlf_and_bom(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes('\ufeffid,text\r\n1,"a\r\nb"\r\n2,c\r\n'.encode())

    result = read_items(path, id_column="id")

    assert [(item.id, item.text) for item in result.items] == [("1", "a\r\nb"), ("2", "c")]


# --- JSON Lines ------------------------------------------------------------------------------


def test_jsonl_reports_bad_lines_and_reads_the_rest():
    result = read_items(DATA / "events.jsonl")

    assert [item.text for item in result.items] == ["Pricing is too high", "Great onboarding"]
    assert [(p.line, p.source) for p in result.problems] == [
        (2, "events.jsonl"),
        (3, "events.jsonl"),
    ]
    assert "not valid JSON" in result.problems[0].message
    assert "expected a JSON object, found list" in result.problems[1].message


def test_jsonl_ids_metadata_and_roles():
    result = read_items(DATA / "events.jsonl", id_column="id")
    first, second = result.items

    assert (first.id, second.id) == ("1", "2")
    assert first.metadata == {"id": 1, "score": 3, "tags": ["a", "b"], "when": None}
    assert second.metadata["nested"] == {"k": "v"}
    assert second.coded is False  # role "staff"
    assert [item.id for item in read_items(DATA / "events.jsonl").items] == ["row-1", "row-4"]


# --- Parquet ---------------------------------------------------------------------------------


@pytest.fixture
def parquet_file(tmp_path):
    frame = pd.DataFrame(
        {
            "ticket": [101, 102, 103],
            "text": ["Too expensive", None, "Support was quick"],
            "opened": [datetime(2024, 1, 2, 9, 30), pd.NaT, datetime(2024, 2, 3)],
            "score": [1.5, float("nan"), 3.0],
            "seats": pd.Series([5, 10, 20], dtype="int64"),
            "tags": [["price"], [], ["support", "speed"]],
            "role": ["customer", "customer", "Moderator"],
        }
    )
    path = tmp_path / "answers.parquet"
    frame.to_parquet(path)
    return path


def test_parquet_rows_become_items_with_plain_json_metadata(parquet_file):
    result = read_items(parquet_file, id_column="ticket")
    first, second, third = result.items

    assert [item.id for item in result.items] == ["101", "102", "103"]
    assert first.text == "Too expensive"
    assert second.text == ""
    assert first.metadata["opened"] == datetime(2024, 1, 2, 9, 30).isoformat()
    assert second.metadata["opened"] is None
    assert second.metadata["score"] is None
    assert type(first.metadata["seats"]) is int
    assert third.metadata["tags"] == ["support", "speed"]
    assert "text" not in first.metadata
    assert third.coded is False
    json.dumps([item.metadata for item in result.items])  # plain JSON, no default= needed


def test_parquet_missing_column_lists_columns(parquet_file):
    with pytest.raises(MissingColumn, match="columns: ticket, text, opened, score"):
        read_items(parquet_file, text_column="answer")


def test_unreadable_parquet_is_invalid_input(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_text("not parquet")

    with pytest.raises(InvalidInput, match=r"bad\.parquet is not a readable parquet file"):
        read_items(path)


# --- transcripts -----------------------------------------------------------------------------


def test_transcript_turns_speakers_and_interviewer():
    result = read_items(DATA / "interview.txt")

    assert [item.id for item in result.items] == [f"interview:{n:03d}" for n in range(1, 6)]
    assert [item.speaker for item in result.items] == [
        "Sam", "Dana (Northwind)", "Dana (Northwind)", "Moderator", "Dana (Northwind)",
    ]  # fmt: skip
    # Sam is the header's interviewer; "Moderator" is always one
    assert [item.coded for item in result.items] == [False, True, True, False, True]
    assert result.problems == []


def test_transcript_continuation_lines_stay_in_their_turn():
    items = read_items(DATA / "interview.txt").items

    assert items[1].text == (
        "Honestly, the first week was rough.\nWe had no clear owner for the rollout.\n\n"
        "Note: this is the part that still hurts.\nThen she said: fine, we will manage."
    )
    assert items[4].text == "Yes, most likely."  # "Name:" alone, text on the next line


def test_transcript_offsets_point_into_the_file():
    file_text = (DATA / "interview.txt").read_bytes().decode("utf-8")

    for item in read_items(DATA / "interview.txt").items:
        offset = item.source_offset
        assert file_text[offset : offset + len(item.text)] == item.text


def test_transcript_metadata_has_header_and_turn_fields():
    items = read_items(DATA / "interview.txt").items

    assert items[3].metadata == {
        "account_id": "ACME-42",
        "interviewee": "Dana (Northwind)",
        "role": "Ops lead",
        "date": "2024-03-01",
        "interviewer": "Sam",
        "speaker": "Moderator",
        "turn": 4,
        "timestamp": "00:01:20",  # written [01:20]
        "source_file": "interview.txt",
    }
    assert items[0].metadata["timestamp"] == "00:00:05"
    assert all(item.source == "interview.txt" for item in items)


def test_transcript_without_timestamps_and_crlf(tmp_path):
    path = tmp_path / "chat.txt"
    path.write_bytes(
        b"Alex: Hi there.\r\nNote: this continues Alex.\r\nThen she said: no.\r\n"
        b"Q: Anything else?\r\nBeth Ann Smith: Yes.\r\nMore from Beth.\r\n"
    )

    result = read_items(path, skip_speakers=["beth ann smith"])
    file_text = path.read_bytes().decode("utf-8")

    assert [item.speaker for item in result.items] == ["Alex", "Q", "Beth Ann Smith"]
    assert result.items[0].text == "Hi there.\r\nNote: this continues Alex.\r\nThen she said: no."
    assert [item.coded for item in result.items] == [True, False, False]
    for item in result.items:
        assert file_text[item.source_offset : item.source_offset + len(item.text)] == item.text


def test_transcript_header_keys_are_normalised_and_names_may_have_apostrophes(tmp_path):
    path = tmp_path / "acme.txt"
    path.write_text(
        "# Account ID: A-1\n# Interviewer: Lee van Dyke\n\n"
        "Lee van Dyke: Why did you churn?\nSiobhán O\u2019Brien: The price.\n",
        encoding="utf-8",
    )

    items = read_items(path).items

    assert [(item.speaker, item.coded) for item in items] == [
        ("Lee van Dyke", False),
        ("Siobhán O\u2019Brien", True),
    ]
    assert items[1].metadata["account_id"] == "A-1"
    assert items[1].text == "The price."


def test_transcript_without_speakers_is_one_item_with_a_problem(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nabout the call\n", encoding="utf-8")

    result = read_items(path)

    assert [(item.text, item.speaker) for item in result.items] == [
        ("just some notes\nabout the call", None)
    ]
    assert "no 'Name: text' speaker turns" in result.problems[0].message


def test_transcript_speakers_differing_in_case_or_spacing_are_one_speaker(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text(
        "Sam: Hi there, thanks for joining.\nSAM: Sure thing. The export is slow.\n"
        "SAM  : Still slow.\nInterviewer: ok\nDana  Lee: Fine.\nDANA LEE: Really.\n",
        encoding="utf-8",
    )

    result = read_items(path)

    speakers = ["Sam", "Sam", "Sam", "Interviewer", "Dana Lee", "Dana Lee"]  # first spellings
    assert [item.speaker for item in result.items] == speakers
    assert [item.metadata["speaker"] for item in result.items] == speakers
    skipped = read_items(path, skip_speakers=["  SAM "]).items
    assert [item.coded for item in skipped] == [False, False, False, False, True, True]
    skipped = read_items(path, skip_speakers=["dana   lee"]).items
    assert [item.coded for item in skipped] == [True, True, True, False, False, False]


def test_transcript_header_interviewer_matches_any_case(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text(
        "# interviewer: sam\n\nSam: How is it going?\nSAM: And the export?\nDana: Slow.\n"
        "DANA: Very slow.\n",
        encoding="utf-8",
    )

    result = read_items(path)

    assert [(item.speaker, item.coded) for item in result.items] == [
        ("Sam", False), ("Sam", False), ("Dana", True), ("Dana", True),
    ]  # fmt: skip
    assert result.problems == []


def test_transcript_warning_counts_a_speaker_once_whatever_its_case(tmp_path):
    path = tmp_path / "call.txt"
    path.write_text("Sam: Hi.\nSAM: The export is slow.\nDana: Same here.\n", encoding="utf-8")

    (problem,) = read_items(path).problems

    assert problem.message.startswith("2 speakers ('Sam', 'Dana')")


# --- subtitles -------------------------------------------------------------------------------


def test_vtt_merges_consecutive_cues_of_one_speaker():
    result = read_items(DATA / "call.vtt", skip_speakers=["sam"])
    merged = "It was slow at first, but support & docs helped a lot. We will renew."

    assert [(item.id, item.speaker, item.text) for item in result.items] == [
        ("call:001", "Sam", "How did the rollout go?"),
        ("call:002", "Dana Lee", merged),
        ("call:003", "Sam", "Great, thanks."),
    ]
    assert [item.coded for item in result.items] == [False, True, False]
    assert result.items[1].metadata == {
        "speaker": "Dana Lee",
        "turn": 2,
        "start": "00:00:04.500",
        "end": "00:00:12.000",  # the cue written 00:10.000 --> 00:12.000
        "source_file": "call.vtt",
    }
    assert all(item.source_offset is None and item.source == "call.vtt" for item in result.items)


def test_vtt_bad_cue_is_a_problem_with_its_line():
    result = read_items(DATA / "call.vtt")

    assert result.problems[0] == IngestProblem(
        24, "invalid cue timing '00:00:13 --> soon'; cue skipped", "call.vtt"
    )
    # No header names the interviewer of this two-speaker call: coded whole, with a warning.
    assert len(result.problems) == 2 and "'Sam', 'Dana Lee'" in result.problems[1].message


def test_vtt_cues_of_one_speaker_in_another_case_merge(tmp_path):
    path = tmp_path / "call.vtt"
    path.write_text(
        "WEBVTT\n\n00:00.000 --> 00:02.000\n<v Dana Lee>It was slow.\n\n"
        "00:02.000 --> 00:04.000\n<v DANA  LEE>Then better.\n\n"
        "00:04.000 --> 00:06.000\nInterviewer: Thanks.\n\n"
        "00:06.000 --> 00:08.000\nDANA LEE: Bye.\n",
        encoding="utf-8",
    )

    result = read_items(path, skip_speakers=["DANA LEE"])

    assert [(item.speaker, item.text, item.coded) for item in result.items] == [
        ("Dana Lee", "It was slow. Then better.", False),
        ("Interviewer", "Thanks.", False),
        ("Dana Lee", "Bye.", False),
    ]


def test_srt_name_prefixes_and_unlabelled_cues_continue_the_speaker():
    result = read_items(DATA / "upgrade.srt")

    assert [(item.speaker, item.text, item.coded) for item in result.items] == [
        ("Interviewer", "What would make you upgrade?", False),
        ("Priya", "Better reporting. Mostly exports. And SSO.", True),
        ("Interviewer", "Thanks!", False),
    ]
    assert [item.id for item in result.items] == ["upgrade:001", "upgrade:002", "upgrade:003"]
    assert result.items[1].metadata["start"] == "00:00:03.500"
    assert result.items[1].metadata["end"] == "00:00:08.000"
    assert result.problems == []


# --- dispatch and directories ----------------------------------------------------------------


def test_supported_formats():
    assert SUPPORTED_FORMATS == ("csv", "jsonl", "parquet", "txt", "vtt", "srt")


def test_missing_path_is_not_found(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        read_items(tmp_path / "nope.csv")


def test_unknown_extension_lists_supported_formats(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")

    with pytest.raises(InvalidInput, match="csv, jsonl, parquet, txt, vtt, srt"):
        read_items(path)
    with pytest.raises(InvalidInput, match="unsupported format 'xlsx'"):
        read_items(DATA / "tickets.csv", format="xlsx")


def test_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "call.log"
    shutil.copy(DATA / "upgrade.srt", path)

    result = read_items(path, format="srt")

    assert [item.id for item in result.items] == ["call:001", "call:002", "call:003"]


def test_directory_reads_supported_files_in_name_order(tmp_path):
    for name in ("events.jsonl", "upgrade.srt", "tickets.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "README.md").write_text("not data")

    result = read_items(tmp_path)

    assert [item.source for item in result.items] == (
        ["events.jsonl"] * 2 + ["tickets.csv"] * 5 + ["upgrade.srt"] * 3
    )
    assert result.items[0].id == "events:row-1"  # generated ids stay unique across files
    assert result.items[2].id == "tickets:row-1"
    assert [(p.source, p.line) for p in result.problems] == [
        ("events.jsonl", 2),
        ("events.jsonl", 3),
        ("tickets.csv", 5),
    ]
    assert result.source == str(tmp_path)


def test_directory_with_format_reads_only_that_format(tmp_path):
    for name in ("upgrade.srt", "tickets.csv"):
        shutil.copy(DATA / name, tmp_path / name)

    result = read_items(tmp_path, format="srt")

    assert {item.source for item in result.items} == {"upgrade.srt"}
    with pytest.raises(InvalidInput, match="holds no vtt files"):
        read_items(tmp_path, format="vtt")


def test_duplicate_ids_are_reported(tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("id,text\n1,a\n1,b\n", encoding="utf-8")

    result = read_items(path, id_column="id")

    assert [item.text for item in result.items] == ["a", "b"]
    assert [p.message for p in result.problems] == [
        "duplicate id '1' on lines 2 and 3: both records are kept; ids should be unique"
    ]
