"""Keep text in other languages than the coder's out of coding, and say so.

Two passes around the coder: before it, an item wholly in another language is kept but not
coded (like an interviewer turn); after it, a unit in another language inside an English item
loses its codes and the item's codes are re-picked from its other units. Each case leaves a
warning on the item naming the language. With ``code_other`` the language is still recorded and
warned about, but the codes stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from themecoder.config import Settings
from themecoder.domain import BUCKETS, BucketCode, Item, ItemResult
from themecoder.pipeline.language import (
    CODER_LANGUAGE,
    Detected,
    LangidDetector,
    LanguageDetector,
    NullLanguageDetector,
)

HINT = (
    "THEMECODER_CODE_OTHER_LANGUAGES=1 (a setting of the service, or the command line's "
    "--code-other-languages) codes it anyway"
)


def detector_for(s: Settings) -> LanguageDetector:
    """The detector the settings ask for (``language_check`` off: none)."""
    return LangidDetector() if s.language_check else NullLanguageDetector()


def hold_back(
    items: Sequence[Item], detector: LanguageDetector, *, code_other: bool = False
) -> tuple[list[Item], dict[str, Detected]]:
    """Items with those wholly in another language marked not coded (unless ``code_other``),
    and the language found per item id."""
    coded = [it for it in items if it.coded]
    found = {
        it.id: d
        for it, d in zip(coded, detector.detect([it.text for it in coded]), strict=True)
        if d.other_than(CODER_LANGUAGE)
    }
    if code_other:
        return list(items), found
    return [replace(it, coded=False) if it.id in found else it for it in items], found


def flag(
    results: Sequence[ItemResult],
    held: dict[str, Detected],
    detector: LanguageDetector,
    *,
    code_other: bool = False,
) -> None:
    """Record languages on the results, strip the codes of other-language units (unless
    ``code_other``) and warn, in place."""
    action = "coded anyway" if code_other else f"not coded; {HINT}"
    for res in results:
        whole = held.get(res.item.id)
        if whole is not None:
            res.language = whole.language
            res.warnings.append(
                f"item {res.item.id}: language {whole.language!r} "
                f"(p={whole.confidence:.2f}), not {CODER_LANGUAGE!r}: {action}"
            )
    mixed = [
        (res, unit)
        for res in results
        if res.item.coded and res.item.id not in held and len(res.units) > 1
        for unit in res.units
    ]
    found = detector.detect([unit.unit.text for _, unit in mixed])
    for (res, unit), d in zip(mixed, found, strict=True):
        if not d.other_than(CODER_LANGUAGE):
            continue
        unit.language = d.language
        res.warnings.append(
            f"item {res.item.id}: unit {unit.unit.index} in language {d.language!r} "
            f"(p={d.confidence:.2f}), not {CODER_LANGUAGE!r}: {action}"
        )
        if not code_other:
            unit.buckets = []
            res.buckets = _best_codes(res)


def _best_codes(res: ItemResult) -> list[BucketCode]:
    """The item's codes again from its units: per bucket the most confident unit's code."""
    best: dict[str, BucketCode] = {}
    for unit in res.units:
        for code in unit.buckets:
            if code.bucket not in best or code.confidence > best[code.bucket].confidence:
                best[code.bucket] = code
    return [best[b] for b in BUCKETS if b in best]


def code_checked(
    coder: Any, items: Sequence[Item], s: Settings, progress: Any = None
) -> list[ItemResult]:
    """``coder.code(items)`` with both passes around it, as ``s`` asks: the one way the
    command line and the API's ingest code items."""
    detector = detector_for(s)
    items, held = hold_back(items, detector, code_other=s.code_other_languages)
    results = coder.code(items, progress=progress)
    flag(results, held, detector, code_other=s.code_other_languages)
    return results


def hold_one(s: Settings, text: str) -> tuple[Item, Detected | None]:
    """One text (``POST /v1/code`` without storing) as the item ``code_checked`` would code:
    not coded when wholly in another language, with the language found (None: the coder's)."""
    items, held = hold_back(
        [Item(id="text", text=text)], detector_for(s), code_other=s.code_other_languages
    )
    return items[0], held.get("text")


def flag_one(s: Settings, result: ItemResult, whole: Detected | None) -> None:
    """The after-pass of ``code_checked`` for one result, ``whole`` as ``hold_one`` found it."""
    held = {} if whole is None else {result.item.id: whole}
    flag([result], held, detector_for(s), code_other=s.code_other_languages)
