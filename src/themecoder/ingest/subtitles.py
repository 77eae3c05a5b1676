"""Subtitle readers (WebVTT and SubRip), parsed by hand.

A cue names its speaker with a WebVTT voice tag (``<v Dana>text``) or a ``Name: text`` prefix;
a cue that names no speaker continues the previous one. Labels that differ only in case or
spacing ("Sam", "SAM") are one speaker, shown as first spelt. Consecutive cues from one
speaker are merged into one turn whose text is the cue texts joined with single spaces (markup
removed, so there are no stable offsets: ``source_offset`` is None).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from themecoder.domain import Item, speaker_key
from themecoder.errors import NoRecords
from themecoder.ingest._common import (
    SPEAKER_PATTERN,
    IngestProblem,
    IngestResult,
    ReadOptions,
    interviewer_warning,
    is_interviewer,
    is_speaker_name,
    read_text,
)

_STAMP = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}"
_TIMING = re.compile(rf"(?P<start>{_STAMP})[ \t]+-->[ \t]+(?P<end>{_STAMP})(?:[ \t].*)?")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
# tags such as <i>, </v>, <c.loud>, <00:00:01.000>, and SubRip's {\an8} positioning codes
_MARKUP = re.compile(r"</?[A-Za-z0-9.][^>]*>|\{\\[^}]*\}")
_PREFIX = re.compile(SPEAKER_PATTERN + r"[ \t]*:(?:[ \t]+(?P<rest>.*))?")
_NON_CUE_BLOCKS = re.compile(r"(?:WEBVTT|NOTE|STYLE|REGION)(?:\s|$)")
#: A header line: ``# key: value`` (either format) or ``key: value`` in a WebVTT NOTE block.
_HEADER_LINE = re.compile(r"#?[ \t]*(?P<key>[A-Za-z][\w \t-]*?)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*")


@dataclass
class Cue:
    """One timed cue: its payload lines and the line its block starts on."""

    line: int
    start: str
    end: str
    payload: list[str]


@dataclass
class _Turn:
    speaker: str | None
    start: str
    end: str
    texts: list[str] = field(default_factory=list)


def read_vtt(path: Path, options: ReadOptions) -> IngestResult:
    """Read a WebVTT file, one item per run of cues from one speaker.

    Args:
        path: The ``.vtt`` file.
        options: Encoding and speakers to skip (tabular options are not used).

    Returns:
        Items with ids ``"<file stem>:001"`` onwards; blocks that are not valid cues are
        reported as problems and skipped.

    Raises:
        EncodingError: The file is not valid in ``options.encoding``.
        NoRecords: The file holds no cue, valid or not.
    """
    return _read(path, options, expect_header=True)


def read_srt(path: Path, options: ReadOptions) -> IngestResult:
    """Read a SubRip file, one item per run of cues from one speaker.

    Args:
        path: The ``.srt`` file.
        options: Encoding and speakers to skip (tabular options are not used).

    Returns:
        Items with ids ``"<file stem>:001"`` onwards; blocks that are not valid cues are
        reported as problems and skipped.

    Raises:
        EncodingError: The file is not valid in ``options.encoding``.
        NoRecords: The file holds no cue, valid or not.
    """
    return _read(path, options, expect_header=False)


def parse_cues(text: str) -> tuple[list[Cue], list[IngestProblem]]:
    """Split subtitle text into timed cues.

    Args:
        text: The decoded file.

    Returns:
        The cues in order (timestamps as ``hh:mm:ss.mmm``) and the blocks that are not cues.
    """
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues: list[Cue] = []
    problems: list[IngestProblem] = []
    for first, block in _blocks(lines):
        at = next((i for i, line in enumerate(block) if "-->" in line), None)
        if at is None:
            if not _NON_CUE_BLOCKS.match(block[0]) and not block[0].lstrip().startswith("#"):
                message = "text outside a cue (no 'start --> end' line); skipped"
                problems.append(IngestProblem(first, message))
            continue
        match = _TIMING.fullmatch(block[at].strip())
        if match is None:
            message = f"invalid cue timing {block[at].strip()!r}; cue skipped"
            problems.append(IngestProblem(first + at, message))
            continue
        cues.append(Cue(first, _stamp(match["start"]), _stamp(match["end"]), block[at + 1 :]))
    return cues, problems


def _read(path: Path, options: ReadOptions, *, expect_header: bool) -> IngestResult:
    text = read_text(path, options.encoding)
    header = parse_header(text)
    interviewer = header.get("interviewer")
    cues, problems = parse_cues(text)
    for problem in problems:
        problem.source = path.name
    if expect_header and not text.removeprefix("\ufeff").startswith("WEBVTT"):
        problems.insert(
            0, IngestProblem(1, "missing 'WEBVTT' header; read anyway", path.name, skipped=False)
        )
    items = []
    for number, turn in enumerate(_turns(cues), start=1):
        metadata = {
            **header,
            "speaker": turn.speaker,
            "turn": number,
            "start": turn.start,
            "end": turn.end,
            "source_file": path.name,
        }
        items.append(
            Item(
                id=f"{path.stem}:{number:03d}",
                text=" ".join(turn.texts),
                metadata=metadata,
                speaker=turn.speaker,
                coded=not is_interviewer(turn.speaker, options.skip_speakers, interviewer),
                source=path.name,
            )
        )
    if not items and not any(p.skipped for p in problems):  # no cue, good or bad
        raise NoRecords(f"{path.name} has no cues", path=str(path))
    problems.extend(interviewer_warning(items, path.name))
    return IngestResult(items, problems, str(path))


def parse_header(text: str) -> dict[str, str]:
    """``key: value`` lines before the first cue: a block of ``# key: value`` lines (SubRip has
    no comments; the block is read, not shown) or a WebVTT ``NOTE`` block of ``key: value``
    lines. Keys lower-cased, spaces as underscores, as in plain-text transcripts."""
    header: dict[str, str] = {}
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for _, block in _blocks(lines):
        if any("-->" in line for line in block):
            break
        note = block[0].split()[0] == "NOTE"
        if not note and not block[0].lstrip().startswith("#"):
            continue
        for line in [block[0].strip()[4:], *block[1:]] if note else block:
            match = _HEADER_LINE.fullmatch(line.strip())
            if match and (note or line.lstrip().startswith("#")):
                header[re.sub(r"\s+", "_", match["key"].lower())] = match["value"]
    return header


def _blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first line number, lines)`` for each run of non-blank lines."""
    block: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not block:
                first = number
            block.append(line)
        elif block:
            yield first, block
            block = []
    if block:
        yield first, block


def _turns(cues: list[Cue]) -> list[_Turn]:
    """Merge runs of cues from one speaker into turns; labels that differ only in case or
    spacing name one speaker, shown as first spelt."""
    turns: list[_Turn] = []
    spellings: dict[str, str] = {}
    speaker: str | None = None
    for cue in cues:
        for named, text in _segments(cue.payload):
            if named:
                speaker = spellings.setdefault(speaker_key(named), named)
            if turns and turns[-1].speaker == speaker:
                turns[-1].texts.append(text)
                turns[-1].end = cue.end
            else:
                turns.append(_Turn(speaker, cue.start, cue.end, [text]))
    return turns


def _segments(payload: list[str]) -> list[tuple[str | None, str]]:
    """Split a cue's payload into ``(speaker or None, text)`` runs, markup removed."""
    parts = _VOICE.split("\n".join(payload))
    # re.split with one group gives [before, name, text, name, text, ...]
    voiced = [(None, parts[0])] + [
        (" ".join(name.split()) or None, body)
        for name, body in zip(parts[1::2], parts[2::2], strict=True)
    ]
    runs: list[tuple[str | None, list[str]]] = []
    for speaker, body in voiced:
        runs.append((speaker, []))
        for raw in body.split("\n"):
            line = " ".join(html.unescape(_MARKUP.sub("", raw)).split())
            prefix = _PREFIX.fullmatch(line)
            if prefix and is_speaker_name(prefix["name"]):
                rest = prefix["rest"]
                runs.append((" ".join(prefix["name"].split()), [rest] if rest else []))
            elif line:
                runs[-1][1].append(line)
    return [(speaker, " ".join(lines)) for speaker, lines in runs if lines]


def _stamp(value: str) -> str:
    clock, _, fraction = value.replace(",", ".").rpartition(".")
    parts = [int(part) for part in clock.split(":")]
    if len(parts) == 2:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{fraction.ljust(3, '0')}"
