"""Pieces every reader shares: result types, options, strict decoding, speaker rules.

The result types live here rather than in ``base`` so that the readers can build them
while ``base`` imports the readers; ``base`` re-exports them as the public names.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from themecoder.domain import Item, speaker_key
from themecoder.errors import EncodingError, InvalidInput

#: Speaker labels that always mean the interviewer in transcripts and subtitles.
INTERVIEWER_NAMES = frozenset({"interviewer", "moderator", "q"})

#: Values of a tabular role column whose rows are kept but not coded.
STAFF_ROLES = frozenset({"interviewer", "agent", "moderator", "staff"})

#: A speaker label: one to five words, then an optional parenthesised part ("Dana (Northwind)").
SPEAKER_PATTERN = (
    r"(?P<name>[^\W_][\w.'\u2019&-]*(?:[ \t]+[^\W_][\w.'\u2019&-]*){0,4}"
    r"(?:[ \t]*\([^()\r\n]{1,40}\))?)"
)

_MAX_SPEAKER_CHARS = 40
_NAME_PARTICLES = frozenset(
    {"al", "bin", "da", "de", "del", "der", "di", "du", "la", "le", "van", "von"}
)
# Labels that prose puts before a colon; a line starting with one continues the turn.
_NOT_SPEAKERS = frozenset(
    {
        "action item", "action items", "e.g", "edit", "example", "fyi", "i.e", "n.b", "nb",
        "next steps", "note", "notes", "p.s", "ps", "re", "subject", "summary", "tip", "todo",
        "update", "warning",
    }
)  # fmt: skip


@dataclass
class IngestProblem:
    """A record that could not be read (the rest of its file still was), or a warning about
    records that were read.

    Attributes:
        line: 1-based physical line where the record starts, or None when the problem is not
            tied to one line.
        message: What is wrong, fit to show a user.
        source: Name of the file the problem is in (tells files apart when a directory is read).
        skipped: Whether records were left out; False for a warning about records that were
            all read (a transcript whose interviewer was not identified, a duplicate id).
        item_ids: Ids of the items a warning is about; empty when it is about its whole file.
    """

    line: int | None
    message: str
    source: str | None = None
    skipped: bool = True
    item_ids: tuple[str, ...] = ()


@dataclass
class IngestResult:
    """Items read from a file or directory, with the records that had to be skipped.

    Attributes:
        items: One item per row, turn or merged subtitle run, in file order.
        problems: Records skipped or repaired, in file order.
        source: The path that was read, as given.
    """

    items: list[Item]
    problems: list[IngestProblem]
    source: str


@dataclass(frozen=True)
class ReadOptions:
    """What ``read_items`` passes to every reader.

    Attributes:
        text_column: Tabular column holding the text.
        id_column: Tabular column holding ids; None numbers rows instead.
        encoding: Text encoding of every text-based format.
        skip_speakers: Speaker names, as :func:`~themecoder.domain.speaker_key` gives them, whose
            turns are kept but not coded.
        role_column: Tabular column holding the writer's role, or None to ignore roles.
        id_prefix: Put before generated row ids (``"tickets:"`` when a directory is read).
    """

    text_column: str = "text"
    id_column: str | None = None
    encoding: str = "utf-8"
    skip_speakers: frozenset[str] = frozenset()
    role_column: str | None = "role"
    id_prefix: str = ""


def read_text(path: Path, encoding: str) -> str:
    """Decode a whole file strictly.

    Args:
        path: File to read.
        encoding: Codec name, e.g. ``"utf-8"`` or ``"latin-1"``.

    Returns:
        The decoded text, byte order mark and line breaks untouched.

    Raises:
        EncodingError: A byte sequence is not valid in ``encoding``.
        InvalidInput: ``encoding`` is not a known codec.
    """
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        raise InvalidInput(f"unknown encoding {encoding!r}", encoding=encoding) from exc
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        other = _other_encoding(data, codec)
        raise EncodingError(
            f"{path.name} is not valid {encoding} (byte 0x{data[exc.start]:02x} at position "
            f"{exc.start}, line {line}); pass --encoding, e.g. --encoding {other}",
            path=str(path),
            encoding=encoding,
            position=exc.start,
            line=line,
        ) from exc


def _other_encoding(data: bytes, codec: str) -> str:
    """The encoding to suggest for bytes that ``codec`` cannot decode.

    Bytes 0x80-0x9f are control characters in latin-1 but letters and punctuation (the euro
    sign, dashes, curly quotes) in Windows-1252, which is what Excel and most Windows tools
    write; suggesting latin-1 for such a file would turn them into invisible controls.
    """
    if codec != "utf-8":
        return "utf-8"
    if re.search(rb"[\x80-\x9f]", data):
        try:
            data.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    return "latin-1"


def is_speaker_name(name: str) -> bool:
    """Tell a speaker label from a sentence that happens to contain a colon.

    Args:
        name: Text matched by ``SPEAKER_PATTERN``.

    Returns:
        True when it reads as a name: at most 40 characters, not a prose label such as
        "Note", first word capitalised, later words capitalised, numbers or name particles.
    """
    if len(name) > _MAX_SPEAKER_CHARS or name.casefold().rstrip(".") in _NOT_SPEAKERS:
        return False
    words = name.split("(", 1)[0].split()
    if not words or not words[0][0].isupper():
        return False
    return all(w[0].isupper() or w[0].isdigit() or w in _NAME_PARTICLES for w in words[1:])


def first_spellings(labels: Iterable[str | None]) -> dict[str, str]:
    """``{speaker_key(label): label}`` with each speaker's first spelling in ``labels``, the
    name shown for all of that speaker's turns."""
    spellings: dict[str, str] = {}
    for label in labels:
        if label:
            spellings.setdefault(speaker_key(label), label)
    return spellings


def is_interviewer(
    speaker: str | None, skip_speakers: frozenset[str], interviewer: str | None = None
) -> bool:
    """Whether a transcript or subtitle speaker asks rather than answers.

    Args:
        speaker: The turn's speaker label, if any.
        skip_speakers: Names the caller asked to skip, matched as :func:`speaker_key` does.
        interviewer: The transcript header's ``interviewer`` value, if any.

    Returns:
        True for skipped names, the generic interviewer labels and the header's interviewer.
    """
    if not speaker:
        return False
    key = speaker_key(speaker)
    if key in INTERVIEWER_NAMES or key in {speaker_key(name) for name in skip_speakers}:
        return True
    return interviewer is not None and same_person(speaker, interviewer)


def _person(label: str) -> list[str]:
    """A speaker label's name words: "Dana Whitfield (Northwind Research)" -> dana, whitfield."""
    return re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", label).casefold().split()


def same_person(speaker: str, name: str) -> bool:
    """Whether a turn's ``speaker`` label names the person ``name`` (a header value): the same
    name words, or one is the other's first name ("Dana (Northwind)" is "Dana Whitfield
    (Northwind Customer Research)"); what is in parentheses is ignored."""
    a, b = _person(speaker), _person(name)
    if not a or not b:
        return False
    return a == b or (len(a) == 1 and a[0] == b[0]) or (len(b) == 1 and b[0] == a[0])


def interviewer_warning(items: list[Item], source: str) -> list[IngestProblem]:
    """A problem naming the speakers when a transcript has two or more speakers and none of
    its turns was identified as the interviewer's (every turn would be coded)."""
    speakers = list(first_spellings(it.speaker for it in items).values())
    if len(speakers) < 2 or any(not it.coded for it in items if it.speaker):
        return []
    names = ", ".join(repr(s) for s in speakers[:6]) + (", ..." if len(speakers) > 6 else "")
    message = (
        f"{len(speakers)} speakers ({names}) and no interviewer identified: every turn is "
        "coded; name the interviewer with a header line 'interviewer: NAME' or --skip-speaker"
    )
    return [IngestProblem(None, message, source, skipped=False)]


#: How deeply a record's JSON may nest; deeper ones are reported and skipped (the recursive
#: JSON decoder, encoder and database drivers fail somewhere past a few hundred levels).
MAX_NESTING = 64


def nesting_depth(value: Any, limit: int = MAX_NESTING) -> int:
    """How deeply ``value`` nests lists and dicts, counted without recursion and only up to
    ``limit + 1`` (enough to tell that it is too deep)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(current, Mapping):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list | tuple):
            stack.extend((v, depth + 1) for v in current)
    return deepest


def without_nul(value: Any) -> Any:
    """``value`` (a string, or JSON data) without NUL characters in its strings: binary junk,
    which PostgreSQL stores in neither text nor JSON."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def to_json_value(value: Any) -> Any:
    """Turn a cell value into plain JSON data.

    Missing values (None, NaN, NaT) become None, dates and times ISO strings, numpy scalars
    and arrays Python scalars and lists, decimals floats, durations seconds.

    Args:
        value: A value from csv, json, pandas or pyarrow.

    Returns:
        A value ``json.dumps`` accepts without ``default=``.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        if getattr(getattr(value, "dtype", None), "kind", "") in ("M", "m"):
            # nanosecond datetime64.tolist() gives bare ints; microseconds give datetimes
            value = value.astype(f"{value.dtype.name.split('[')[0]}[us]")
        return to_json_value(value.tolist())
    if isinstance(value, datetime | date | time):
        # pandas' NaT is a datetime that is not equal to itself
        return None if value != value else value.isoformat()  # noqa: PLR0124
    if isinstance(value, timedelta):
        return None if value != value else value.total_seconds()  # noqa: PLR0124
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
