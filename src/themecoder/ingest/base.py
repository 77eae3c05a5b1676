"""``read_items``: pick a reader by format, read a file or a directory of files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from themecoder.domain import speaker_key
from themecoder.errors import InvalidInput, MissingColumn, NoRecords, NotFound
from themecoder.ingest._common import IngestProblem, IngestResult, ReadOptions, without_nul
from themecoder.ingest.subtitles import read_srt, read_vtt
from themecoder.ingest.tabular import read_csv, read_jsonl, read_parquet
from themecoder.ingest.transcript import read_transcript

__all__ = ["SUPPORTED_FORMATS", "IngestProblem", "IngestResult", "infer_format", "read_items"]

Reader = Callable[[Path, ReadOptions], IngestResult]

#: Format names accepted by ``read_items(format=...)``.
SUPPORTED_FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet", "txt", "vtt", "srt")

_READERS: dict[str, Reader] = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "txt": read_transcript,
    "vtt": read_vtt,
    "srt": read_srt,
}
_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".txt": "txt",
    ".vtt": "vtt",
    ".srt": "srt",
}


def read_items(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,  # shadows the builtin to mirror the CLI's --format
    text_column: str = "text",
    id_column: str | None = None,
    encoding: str = "utf-8",
    skip_speakers: Sequence[str] = (),
    role_column: str | None = "role",
) -> IngestResult:
    """Read items from a file, or from every supported file in a directory.

    Args:
        path: A file, or a directory whose supported files are read in name order (not
            recursively; other files are ignored).
        format: One of ``SUPPORTED_FORMATS``; None infers it from the file extension. For a
            directory, only files of this format are read.
        text_column: Tabular column holding the text.
        id_column: Tabular column holding ids; None gives ``"row-1"``, ``"row-2"``... (1-based
            data rows), prefixed with ``"<file stem>:"`` when a directory is read.
        encoding: Encoding of text-based files.
        skip_speakers: Speakers whose turns or rows are kept with ``coded=False``
            (case-insensitive).
        role_column: Tabular column whose value interviewer / agent / moderator / staff marks
            a row ``coded=False``; None ignores roles.

    Returns:
        The items and the problems of every file read. Records that cannot be read are
        problems, not errors; an id that occurs more than once is a warning (its records are
        all kept), attached to the items that share it.

    Raises:
        NotFound: ``path`` does not exist.
        InvalidInput: The format is unknown or cannot be inferred, or a directory holds no
            supported file.
        NoRecords: A file (not a directory's) holds nothing to code; in a directory such a
            file is a problem and the rest is read.
        MissingColumn: A tabular file lacks ``text_column`` or ``id_column`` (in a directory:
            every file does; one that lacks it is a problem and the rest is read).
        EncodingError: A file is not valid in ``encoding``.

    Example:
        >>> result = read_items("interviews/", skip_speakers=["Sam"])  # doctest: +SKIP
        >>> [item.id for item in result.items][:2]  # doctest: +SKIP
        ['acme:001', 'acme:002']
    """
    root = Path(path)
    if not root.exists():
        raise NotFound(f"{root} does not exist", path=str(root))
    if format is not None and format.lower() not in _READERS:
        raise InvalidInput(
            f"unsupported format {format!r}; supported formats: {', '.join(SUPPORTED_FORMATS)}",
            format=format,
        )
    if isinstance(skip_speakers, str):  # a lone name, not its characters
        skip_speakers = (skip_speakers,)
    options = ReadOptions(
        text_column=text_column,
        id_column=id_column,
        encoding=encoding,
        skip_speakers=frozenset(speaker_key(name) for name in skip_speakers),
        role_column=role_column,
    )
    wanted = format.lower() if format is not None else None
    if root.is_dir():
        result = _read_directory(root, wanted, options)
    else:
        result = _READERS[wanted or infer_format(root)](root, options)
    result.problems.extend(_duplicate_ids(result))
    result.problems.extend(_drop_nul(result))
    return result


def infer_format(path: Path) -> str:
    """Name the format of a file from its extension.

    Args:
        path: The file.

    Returns:
        One of ``SUPPORTED_FORMATS``.

    Raises:
        InvalidInput: The extension is not one of .csv .jsonl .ndjson .parquet .txt .vtt .srt.
    """
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"cannot tell the format of {path.name} from its extension; supported formats: "
            f"{', '.join(SUPPORTED_FORMATS)} ({', '.join(_EXTENSIONS)})",
            path=str(path),
        )
    return fmt


def _read_directory(root: Path, wanted: str | None, options: ReadOptions) -> IngestResult:
    files = sorted(
        p
        for p in root.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and _EXTENSIONS.get(p.suffix.lower()) is not None
        and wanted in (None, _EXTENSIONS[p.suffix.lower()])
    )
    if not files:
        raise InvalidInput(
            f"{root} holds no {wanted or 'supported'} files; supported formats: "
            f"{', '.join(SUPPORTED_FORMATS)}",
            path=str(root),
        )
    result = IngestResult([], [], str(root))
    lacking: list[MissingColumn] = []
    for file in files:
        try:
            part = _READERS[infer_format(file)](file, replace(options, id_prefix=f"{file.stem}:"))
        except (NoRecords, MissingColumn) as exc:  # one such file does not stop the folder
            result.problems.append(IngestProblem(None, exc.message, file.name))
            if isinstance(exc, MissingColumn):
                lacking.append(exc)
            continue
        result.items.extend(part.items)
        result.problems.extend(part.problems)
    if lacking and len(lacking) == len(files):  # no file has the column: a wrong name
        raise lacking[0]
    return result


def _duplicate_ids(result: IngestResult) -> list[IngestProblem]:
    """A warning per id that items of two or more files share, attached to those items (a
    file's own repeated ids are its reader's to report, with their lines)."""
    files_by_id: dict[str, dict[str, None]] = {}
    for item in result.items:
        files_by_id.setdefault(item.id, {})[item.source or result.source] = None
    problems = []
    for item_id, found in files_by_id.items():
        files = list(found)
        if len(files) > 1:
            message = (
                f"duplicate id {item_id!r} in {', '.join(files[:-1])} and {files[-1]}: every "
                "record with it is kept; ids should be unique"
            )
            problems.append(
                IngestProblem(None, message, files[-1], skipped=False, item_ids=(item_id,))
            )
    return problems


def _drop_nul(result: IngestResult) -> list[IngestProblem]:
    """Take NUL characters out of the items' texts, ids and metadata (binary junk, which
    PostgreSQL cannot store), with one warning per file naming the records changed."""
    changed: dict[str, list[str]] = {}
    for item in result.items:
        metadata = without_nul(item.metadata)
        if "\x00" in item.id + item.text + (item.speaker or "") or metadata != item.metadata:
            item.id, item.text = str(without_nul(item.id)), str(without_nul(item.text))
            item.metadata = metadata  # type: ignore[assignment]
            item.speaker = None if item.speaker is None else str(without_nul(item.speaker))
            changed.setdefault(item.source or result.source, []).append(item.id)
    return [
        IngestProblem(
            None,
            f"NUL characters removed from {len(ids)} record(s) ({', '.join(ids[:5])}"
            f"{', ...' if len(ids) > 5 else ''})",
            source,
            skipped=False,
            item_ids=tuple(ids),
        )
        for source, ids in changed.items()
    ]
