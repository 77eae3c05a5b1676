"""The narrow interfaces every stage implements, so any stage can be swapped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from themecoder.domain import Unit

if TYPE_CHECKING:
    from themecoder.pipeline.pii import MaskedText


@runtime_checkable
class Segmenter(Protocol):
    """Splits one text into coding units with character offsets into that text."""

    def segment(self, text: str, item_id: str) -> list[Unit]: ...


@runtime_checkable
class Redactor(Protocol):
    """Masks personal data in texts before they reach a model; lengths may change."""

    def redact(self, texts: Sequence[str]) -> list[str]: ...


@runtime_checkable
class Masker(Protocol):
    """Replaces personal data in texts by typed placeholders before they are stored; the
    result maps offsets of the original onto the masked text. ``names`` are person names
    known to occur (a transcript's speakers)."""

    def mask(self, text: str, names: Sequence[str] = ()) -> MaskedText: ...

    def mask_many(
        self, texts: Sequence[str], names: Sequence[Sequence[str]] | None = None
    ) -> list[MaskedText]: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...
