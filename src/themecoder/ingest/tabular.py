"""Tabular readers (CSV, JSON Lines, Parquet): one item per row.

Every column other than the text column goes to ``Item.metadata`` as plain JSON data. Rows
numbered for generated ids count every record, skipped ones included, so ids stay stable when
a malformed row is fixed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from themecoder.domain import Item, speaker_key
from themecoder.errors import InvalidInput, MissingColumn, NoRecords
from themecoder.ingest._common import (
    MAX_NESTING,
    STAFF_ROLES,
    IngestProblem,
    IngestResult,
    ReadOptions,
    nesting_depth,
    read_text,
    to_json_value,
)

_TOO_DEEP = object()
#: (data row number, physical line or None, values by column)
Row = tuple[int, int | None, Mapping[str, Any]]


def read_csv(path: Path, options: ReadOptions) -> IngestResult:
    """Read a CSV file with a header row.

    Fields are separated by commas; a header without commas that splits on ``;``, tab or
    ``|`` into columns naming the text column sets that separator instead.

    A record whose field count differs from the header's is reported with the line it starts
    on and skipped; quoted fields may hold commas, doubled quotes and line breaks.

    Args:
        path: The file.
        options: Columns, encoding and speakers to skip.

    Returns:
        One item per good row, and the skipped records as problems.

    Raises:
        EncodingError: The file is not valid in ``options.encoding``.
        MissingColumn: The text or id column is not in the header.
        InvalidInput: The header names a column twice.
        NoRecords: The file has no records.
    """
    text = read_text(path, options.encoding).removeprefix("\ufeff")
    # csv's per-field limit (128 KiB by default) is process-wide; raise it, never lower it,
    # so that a long answer is read whole.
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(len(text) + 1)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(text, options), strict=True
    )
    header: list[str] | None = None
    rows: list[Row] = []
    problems: list[IngestProblem] = []
    row_no, next_line = 0, 1
    while True:
        line = next_line
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # strict mode stops at bad quoting instead of guessing; the reader resumes on the
            # next line, so one bad record costs one record
            if header is not None:
                row_no += 1
            problems.append(
                IngestProblem(line, _quoting_message(exc, line, reader.line_num), path.name)
            )
            next_line = reader.line_num + 1
            continue
        next_line = reader.line_num + 1
        if not record:  # blank line
            continue
        if header is None:
            header = _check_header(record, path)
            continue
        row_no += 1
        if len(record) != len(header):
            problems.append(
                IngestProblem(
                    line, _field_count_message(header, record, line, reader.line_num), path.name
                )
            )
            continue
        rows.append((row_no, line, dict(zip(header, record, strict=True))))
    return _build(path, header or [], rows, problems, options)


def read_jsonl(path: Path, options: ReadOptions) -> IngestResult:
    """Read a JSON Lines file: one JSON object per line.

    A line that is not valid JSON, or not an object, is reported and skipped. A row without
    the text column gets empty text; the columns are every key seen, in first-seen order.

    Args:
        path: The file.
        options: Columns, encoding and speakers to skip.

    Returns:
        One item per object, and the skipped lines as problems.

    Raises:
        EncodingError: The file is not valid in ``options.encoding``.
        MissingColumn: No object has the text column, or the id column.
        NoRecords: The file has no records (it is empty or holds only blank lines).
    """
    text = read_text(path, options.encoding).removeprefix("\ufeff")
    columns: dict[str, None] = {}
    rows: list[Row] = []
    problems: list[IngestProblem] = []
    row_no = 0
    # split on "\n" only: JSON strings may hold U+2028 and friends, which splitlines() breaks on
    for line, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        row_no += 1
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            message = f"not valid JSON ({exc.msg} at column {exc.colno}); line skipped"
            problems.append(IngestProblem(line, message, path.name))
            continue
        except RecursionError:  # nesting past the decoder's recursion limit
            value = _TOO_DEEP
        if value is _TOO_DEEP or nesting_depth(value) > MAX_NESTING:
            message = f"JSON nested deeper than {MAX_NESTING} levels; line skipped"
            problems.append(IngestProblem(line, message, path.name))
            continue
        if not isinstance(value, dict):
            message = f"expected a JSON object, found {type(value).__name__}; line skipped"
            problems.append(IngestProblem(line, message, path.name))
            continue
        columns.update(dict.fromkeys(value))
        rows.append((row_no, line, value))
    return _build(path, list(columns), rows, problems, options)


def read_parquet(path: Path, options: ReadOptions) -> IngestResult:
    """Read a Parquet file through pandas and pyarrow.

    Args:
        path: The file.
        options: Columns and speakers to skip (the encoding is not used).

    Returns:
        One item per row.

    Raises:
        InvalidInput: The file is not readable Parquet, or has neither columns nor rows.
        MissingColumn: The text or id column is not in the file.
    """
    # pandas is only needed here; importing it lazily keeps ``import themecoder`` fast
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InvalidInput(
            f"{path.name} is not a readable parquet file: {exc}", path=str(path)
        ) from exc
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict("records")
    rows: list[Row] = []
    problems: list[IngestProblem] = []
    for n, record in enumerate(records, start=1):
        if nesting_depth(record) > MAX_NESTING + 1:
            message = f"row {n}: nested deeper than {MAX_NESTING} levels; row skipped"
            problems.append(IngestProblem(None, message, path.name))
        else:
            rows.append((n, None, record))
    return _build(path, list(frame.columns), rows, problems, options)


def _delimiter(text: str, options: ReadOptions) -> str:
    """``,`` unless the header is one comma-free field that splits on ``;``, tab or ``|``
    into columns naming the text column (a CSV exported with a European-locale Excel)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," in first:
        return ","
    for delimiter in (";", "\t", "|"):
        header = next(csv.reader([first], delimiter=delimiter))
        if len(header) > 1 and options.text_column in header:
            return delimiter
    return ","


def _check_header(header: list[str], path: Path) -> list[str]:
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InvalidInput(
            f"{path.name} names columns more than once: {', '.join(duplicates)}",
            path=str(path),
            columns=duplicates,
        )
    return header


def _field_count_message(
    header: Sequence[str], record: Sequence[str], first: int, last: int
) -> str:
    message = f"expected {len(header)} fields, found {len(record)}; row skipped"
    if last > first:
        message += f" (record spans lines {first}-{last}; check for an unclosed quote)"
    return message


def _quoting_message(exc: csv.Error, first: int, last: int) -> str:
    if "unexpected end of data" in str(exc):
        return f"unclosed quote runs to the end of the file (line {last}); record skipped"
    if last > first:  # a quote opened on the first line took the next lines into the record
        return (
            f"malformed quoting ({exc}); lines {first}-{last} skipped: a quote left open on "
            f"line {first} ran into the rows after it"
        )
    return f"malformed quoting ({exc}); record skipped"


def _require(column: str, columns: Sequence[str], path: Path) -> None:
    if column not in columns:
        raise MissingColumn(
            f"column {column!r} not found; columns: {', '.join(columns)}",
            path=str(path),
            column=column,
            columns=list(columns),
        )


def _build(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Row],
    problems: list[IngestProblem],
    options: ReadOptions,
) -> IngestResult:
    rows = list(rows)
    if not columns and not rows:  # no header, object or column to look for the text in
        return _nothing_read(path, problems)
    _require(options.text_column, columns, path)
    if options.id_column is not None:
        _require(options.id_column, columns, path)
    kept = [
        (row, _to_item(row, path.name, options, problems))
        for row in rows
        if _is_text(row, path.name, options, problems)
    ]
    if not rows and not problems:  # a header only (or an empty table): say so, lose nothing
        problems.append(IngestProblem(None, "no rows below the header", path.name, skipped=False))
    problems.extend(_duplicate_ids(kept, path.name))
    problems.sort(key=lambda p: p.line or 0)
    return IngestResult([item for _, item in kept], problems, str(path))


def _nothing_read(path: Path, problems: list[IngestProblem]) -> IngestResult:
    """The result of a file without a readable record: its bad records when it had some (each
    reported and skipped), else an error, since an empty file is no table to code."""
    if not problems:
        raise NoRecords(f"{path.name} has no records", path=str(path))
    return IngestResult([], problems, str(path))


def _duplicate_ids(kept: list[tuple[Row, Item]], source: str) -> list[IngestProblem]:
    """A warning per id that rows of one file share, attached to their items: each of the rows
    is still read, not skipped."""
    rows_by_id: dict[str, list[Row]] = {}
    for row, item in kept:
        rows_by_id.setdefault(item.id, []).append(row)
    return [
        IngestProblem(
            None, _duplicate_message(item_id, rows), source, skipped=False, item_ids=(item_id,)
        )
        for item_id, rows in rows_by_id.items()
        if len(rows) > 1
    ]


def _duplicate_message(item_id: str, rows: list[Row]) -> str:
    """``duplicate id 'A' on lines 2 and 3: both records are kept; ...`` (rows for Parquet)."""
    kind = "lines" if rows[0][1] is not None else "rows"  # a Parquet row has no line
    places = [str(n if line is None else line) for n, line, _ in rows]
    listed = ", ".join(places[:-1]) + " and " + places[-1]
    count = "both" if len(rows) == 2 else f"all {len(rows)}"
    return (
        f"duplicate id {item_id!r} on {kind} {listed}: {count} records are kept; "
        "ids should be unique"
    )


def _is_text(row: Row, source: str, options: ReadOptions, problems: list[IngestProblem]) -> bool:
    """Whether the row's text cell is text (or missing); a number, boolean, list or object
    is reported and the row skipped, never coded as its string form."""
    row_no, line, values = row
    value = values.get(options.text_column)
    if value is None or isinstance(value, str):
        return True
    where = "" if line is not None else f"row {row_no}: "
    kind = {bool: "a boolean", dict: "an object", list: "a list"}.get(type(value), "a number")
    if not isinstance(value, bool | dict | list | int | float):
        kind = f"a {type(value).__name__}"
    message = f"{where}{options.text_column!r} is {kind}, not text; row skipped"
    problems.append(IngestProblem(line, message, source))
    return False


def _to_item(row: Row, source: str, options: ReadOptions, problems: list[IngestProblem]) -> Item:
    row_no, line, values = row
    metadata = {k: to_json_value(v) for k, v in values.items() if k != options.text_column}
    item_id = f"{options.id_prefix}row-{row_no}"
    if options.id_column is not None:
        given = _as_text(metadata.get(options.id_column))
        if given:
            item_id = given
        else:
            message = f"empty id in column {options.id_column!r}; using {item_id!r}"
            problems.append(IngestProblem(line, message, source))
    speaker = _as_text(metadata.get("speaker")) or None
    role = metadata.get(options.role_column) if options.role_column else None
    staff = isinstance(role, str) and role.strip().casefold() in STAFF_ROLES
    skipped = speaker is not None and speaker_key(speaker) in options.skip_speakers
    return Item(
        id=item_id,
        text=_text(values.get(options.text_column)),
        metadata=metadata,
        speaker=speaker,
        coded=not (staff or skipped),
        source=source,
    )


def _text(value: Any) -> str:
    """The text cell: kept exactly, except that blank or missing text becomes ""."""
    if isinstance(value, str):
        return value if value.strip() else ""
    text = _as_text(to_json_value(value))
    return text if text.strip() else ""


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))  # ids read as 12.0 from a column with gaps mean "12"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
