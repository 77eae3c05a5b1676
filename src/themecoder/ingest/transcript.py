"""Plain-text interview transcripts: ``Name: text`` turns under an optional header.

A file looks like::

    # account_id: ACME-42
    # interviewer: Sam

    [00:00:05] Sam: How has onboarding gone?
    [00:00:12] Dana (Northwind): Rough at first.
    We had no owner for the rollout.

Header lines (``# key: value``) come first; their keys go into every item's metadata. The
header's ``interviewer`` matches turns by name or first name ("Dana (Northwind)" turns under
"interviewer: Dana Whitfield (Northwind Research)"); those turns are kept but not coded. A turn
starts at a line opening with an optional ``[hh:mm:ss]`` / ``[mm:ss]`` timestamp, a speaker
label and a colon; any other line continues the current turn. Labels that differ only in case
or spacing ("Sam", "SAM") are one speaker, shown as first spelt. When the first turn carries a
timestamp, later turns must too, so that prose such as "Then she said: fine" stays in its turn.

Each item's text is the exact slice of the decoded file holding the turn (continuation lines
and their line breaks included), and ``source_offset`` is where that slice starts, so
``path.read_bytes().decode(encoding)[off:off + len(text)] == text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from themecoder.domain import Item, speaker_key
from themecoder.errors import NoRecords
from themecoder.ingest._common import (
    SPEAKER_PATTERN,
    IngestProblem,
    IngestResult,
    ReadOptions,
    first_spellings,
    interviewer_warning,
    is_interviewer,
    is_speaker_name,
    read_text,
)

_HEADER = re.compile(r"#[ \t]*(?P<key>[^:#]+?)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*")
_TURN = re.compile(
    r"(?:\[(?P<clock>\d{1,2}:\d{2}(?::\d{2})?)(?:[.,]\d{1,3})?\][ \t]*)?"
    + SPEAKER_PATTERN
    + r"[ \t]*:(?:[ \t]+|$)"
)


@dataclass
class Turn:
    """One speaker turn: the speaker and the slice ``text[start:end]`` holding what was said."""

    speaker: str | None
    timestamp: str | None
    start: int
    end: int


def read_transcript(path: Path, options: ReadOptions) -> IngestResult:
    """Read a transcript, one item per turn; interviewer turns are kept with ``coded=False``.

    Args:
        path: The ``.txt`` file.
        options: Encoding and speakers to skip (tabular options are not used).

    Returns:
        Items with ids ``"<file stem>:001"`` onwards. Text before the first turn becomes an
        item without a speaker; a file with no turns at all is one such item, with a problem.

    Raises:
        EncodingError: The file is not valid in ``options.encoding``.
        NoRecords: The file holds no text outside its header.
    """
    text = read_text(path, options.encoding)
    header, turns = parse_transcript(text)
    if not turns:
        raise NoRecords(f"{path.name} has no turns (no text outside its header)", path=str(path))
    interviewer = header.get("interviewer")
    items = []
    for number, turn in enumerate(turns, start=1):
        metadata = {
            **header,
            "speaker": turn.speaker,
            "turn": number,
            "timestamp": turn.timestamp,
            "source_file": path.name,
        }
        items.append(
            Item(
                id=f"{path.stem}:{number:03d}",
                text=text[turn.start : turn.end],
                metadata=metadata,
                speaker=turn.speaker,
                coded=not is_interviewer(turn.speaker, options.skip_speakers, interviewer),
                source=path.name,
                source_offset=turn.start,
            )
        )
    problems = []
    if turns and all(turn.speaker is None for turn in turns):
        message = "no 'Name: text' speaker turns found; the whole text is one item"
        problems.append(IngestProblem(None, message, path.name, skipped=False))
    problems.extend(interviewer_warning(items, path.name))
    return IngestResult(items, problems, str(path))


def parse_transcript(text: str) -> tuple[dict[str, str], list[Turn]]:
    """Split transcript text into its header and its turns.

    Args:
        text: The decoded file.

    Returns:
        The header as ``{key: value}`` (keys lower-cased, spaces as underscores) and the turns
        in order, with offsets into ``text``. Labels differing only in case or spacing name
        one speaker, under its first spelling ("Sam:" then "SAM:" are both "Sam").
    """
    header: dict[str, str] = {}
    turns: list[Turn] = []
    in_header = True
    timestamped: bool | None = None
    for offset, content in _lines(text):
        stripped = content.strip()
        if in_header and (not stripped or stripped.startswith("#")):
            match = _HEADER.fullmatch(stripped)
            if match:
                header[re.sub(r"\s+", "_", match["key"].lower())] = match["value"]
            continue
        in_header = False
        if not stripped:
            continue
        match = _TURN.match(content)
        if match and is_speaker_name(match["name"]) and (match["clock"] or not timestamped):
            if timestamped is None:
                timestamped = match["clock"] is not None
            start = offset + match.end()
            end = max(start, offset + len(content.rstrip()))
            turns.append(Turn(" ".join(match["name"].split()), _clock(match["clock"]), start, end))
            continue
        line_start = offset + len(content) - len(content.lstrip())
        line_end = offset + len(content.rstrip())
        if not turns:
            turns.append(Turn(None, None, line_start, line_end))
        elif turns[-1].start == turns[-1].end:  # "Name:" alone; the text starts on this line
            turns[-1].start, turns[-1].end = line_start, line_end
        else:
            turns[-1].end = line_end
    spellings = first_spellings(turn.speaker for turn in turns)
    for turn in turns:
        if turn.speaker:
            turn.speaker = spellings[speaker_key(turn.speaker)]
    return header, turns


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield ``(offset, content)`` per line, content without its line break."""
    offset = 1 if text.startswith("\ufeff") else 0
    for raw in text[offset:].split("\n"):
        yield offset, raw.removesuffix("\r")
        offset += len(raw) + 1


def _clock(clock: str | None) -> str | None:
    if clock is None:
        return None
    parts = [int(part) for part in clock.split(":")]
    if len(parts) == 2:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"
