"""Masking whole items: text, speaker label and personal metadata columns (no I/O).

Names an item's fields give (its speaker, the string values of its personal columns) and the
speakers of the other items of the same source (a transcript's turns) are masked wherever
they occur in the text; so is a name found in the text of one turn of a transcript (by NER or
a cue: "our data analyst, Marit,") in its other turns ("a trial for Marit").
A speaker label becomes a pseudonym numbered in order of appearance within its source
("Dana (Northwind)" -> "[SPEAKER 1] (Northwind)"), so who said what stays readable; labels that
differ only in case or spacing ("Sam", "SAM") get one pseudonym; role labels ("Interviewer",
"Agent") are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from themecoder.domain import Item, speaker_key
from themecoder.pipeline.pii import MaskedText, name_variants, occurrences

#: Metadata keys the readers fill with people's names (transcripts); always masked.
NAME_METADATA = ("speaker", "interviewer", "interviewee", "participant")
REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class Policy:
    """What to mask and keep for one project (or a CLI run)."""

    redact: bool = True
    personal_metadata: tuple[str, ...] = ()
    keep_original: bool = False
    allow: tuple[str, ...] = ()

    @property
    def personal(self) -> tuple[str, ...]:
        """Every metadata key masked: the name fields and the project's personal columns."""
        return tuple(dict.fromkeys((*NAME_METADATA, *self.personal_metadata)))


@dataclass(frozen=True)
class MaskedItem:
    """An item after masking, how its text was masked, and its originals (``None``: unchanged)."""

    item: Item
    masked: MaskedText
    original: dict[str, Any] | None


def names_of(item: Item, p: Policy) -> list[str]:
    """Names an item's own fields give: its speaker and the string values of personal columns
    (an e-mail or phone column gives none)."""
    values = [item.speaker] + [(item.metadata or {}).get(k) for k in p.personal]
    return [
        v
        for v in values
        if isinstance(v, str) and v and "@" not in v and not any(c.isdigit() for c in v)
    ]


def mask_each(items: Sequence[Item], masker: Any, p: Policy) -> list[MaskedItem]:
    """Mask every item (see the module docstring); ``masker`` is a
    :class:`~themecoder.pipeline.base.Masker`."""
    by_source: dict[Any, set[str]] = {}
    for it in items:
        by_source.setdefault(it.source, set()).update(names_of(it, p))
    names = [sorted(by_source[it.source]) for it in items]
    speakers = _pseudonyms(items)
    texts = [it.text or "" for it in items]
    masked = masker.mask_many(texts, names)
    # A name found in one turn of a transcript is known in its other turns too (only between
    # turns: across the rows of a ticket file a mistaken entity would spread to every row).
    found: dict[Any, set[str]] = {}
    for it, text, m in zip(items, texts, masked, strict=True):
        if it.source is not None and it.speaker:
            spans = (text[sp.start : sp.end] for sp in m.spans if sp.label == "PERSON")
            found.setdefault(it.source, set()).update(spans)
    again = [
        i
        for i, it in enumerate(items)
        if it.source in found
        and it.speaker
        and _unmasked_mention(texts[i], masked[i], found[it.source])
    ]
    if again:
        for i in again:
            names[i] = sorted(set(names[i]) | found[items[i].source])
        for i, m in zip(
            again,
            masker.mask_many([texts[i] for i in again], [names[i] for i in again]),
            strict=True,
        ):
            masked[i] = m
    out = []
    for it, m, known, speaker in zip(items, masked, names, speakers, strict=True):
        meta = dict(it.metadata or {})
        changed_meta = {}
        for key in p.personal:
            if key == "speaker" and it.speaker and meta.get(key) == it.speaker:
                value = speaker
            elif meta.get(key) not in (None, ""):
                value = _mask_value(masker, meta[key], known)
            else:
                continue
            if value != meta[key]:
                changed_meta[key] = meta[key]
                meta[key] = value
        original = None
        if m.changed or changed_meta or speaker != it.speaker:
            original = {"text": it.text, "speaker": it.speaker, "metadata": changed_meta}
        out.append(
            MaskedItem(replace(it, text=m.text, speaker=speaker, metadata=meta), m, original)
        )
    return out


def _unmasked_mention(text: str, masked: MaskedText, names: set[str]) -> bool:
    """Whether one of ``names`` (or a part of one) occurs in ``text`` outside its masks, matched
    as the masker matches known names (:func:`~themecoder.pipeline.pii.occurrences`)."""
    covered = [(sp.start, sp.end) for sp in masked.spans]
    return any(
        not any(s <= start and end <= e for s, e in covered)
        for start, end, _ in occurrences(text, name_variants(sorted(names)))
    )


def mask_items(
    items: Sequence[Item], masker: Any, p: Policy
) -> tuple[list[Item], dict[str, dict[str, Any]]]:
    """Masked copies of ``items`` and, by item id, the originals of what masking changed
    (``{"text", "speaker", "metadata"}``). With ``p.redact`` off, the items as they are."""
    if not p.redact or not items:
        return list(items), {}
    done = mask_each(items, masker, p)
    originals = {str(d.item.id): d.original for d in done if d.original is not None}
    return [d.item for d in done], originals


def _pseudonyms(items: Sequence[Item]) -> list[str | None]:
    """Each item's speaker label as stored: ``"[SPEAKER n] (rest)"`` for a label naming a
    person, numbered per source in order of appearance; role labels and ``None`` as they are.

    Labels that differ only in case or spacing are one speaker ("Sam", "SAM "), under the
    pseudonym made from the first spelling.
    """
    out: list[str | None] = []
    made: dict[tuple[Any, str], str] = {}
    count: dict[Any, int] = {}
    for it in items:
        label = it.speaker
        if not label or not name_variants([label]):
            out.append(label)
            continue
        key = (it.source, speaker_key(label))
        if key not in made:
            count[it.source] = count.get(it.source, 0) + 1
            rest = " ".join(re.findall(r"\([^)]*\)", label))
            made[key] = f"[SPEAKER {count[it.source]}]" + (f" {rest}" if rest else "")
        out.append(made[key])
    return out


def _mask_value(masker: Any, value: Any, names: Sequence[str]) -> Any:
    """A personal metadata value masked: its detected data replaced, or all of it."""
    if isinstance(value, str):
        masked = masker.mask(value, [*names, value]).text
        return masked if masked != value else REDACTED
    return REDACTED
