"""Language stage: which texts are not in the language the coder was trained on (English).

The coder's heads were trained on English units; a Spanish or German unit gets codes that mean
nothing, or none at all, without anyone noticing. This stage names each text's language so the
coding service can keep such units uncoded and say so.

``LangidDetector`` uses py3langid (the langid.py model ships inside the package: no download).
Short texts ("ok", "thanks", "NPS 9") are guessed poorly by any character n-gram model, so a
text is only called another language when it has enough letters and the model is confident;
otherwise it is undetermined and coded as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

#: The language the coder reads.
CODER_LANGUAGE = "en"
#: The languages told apart. A closed list keeps rare look-alikes (Xhosa for "thanks") out.
LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "nl", "sv", "da", "no", "fi", "pl", "cs", "ro",
    "hu", "tr", "ru", "uk", "el", "ar", "he", "hi", "ja", "zh", "ko", "id", "vi", "th",
)  # fmt: skip


@dataclass(frozen=True)
class Detected:
    """A text's language (ISO 639-1) and the model's probability, or ``None`` when the text
    is too short or the model unsure."""

    language: str | None
    confidence: float

    def other_than(self, language: str = CODER_LANGUAGE) -> bool:
        """Whether the text is confidently in another language than ``language``."""
        return self.language is not None and self.language != language


class LanguageDetector(Protocol):
    """Names the language of each text."""

    def detect(self, texts: Sequence[str]) -> list[Detected]: ...


class NullLanguageDetector:
    """Detects nothing: every text is undetermined, so everything is coded."""

    def detect(self, texts: Sequence[str]) -> list[Detected]:
        return [Detected(None, 0.0) for _ in texts]


class LangidDetector:
    """py3langid over a closed list of languages, loaded once per process on first use.

    Args:
        languages: The languages to choose among.
        min_confidence: Normalised probability below which the text is undetermined.
        min_letters: Texts with fewer letters are undetermined.
    """

    _lock = threading.Lock()
    _models: dict[tuple[str, ...], Any] = {}

    def __init__(
        self,
        languages: Sequence[str] = LANGUAGES,
        min_confidence: float = 0.8,
        min_letters: int = 15,
    ) -> None:
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self.min_letters = min_letters

    def _model(self) -> Any:
        with self._lock:
            if self.languages not in self._models:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                model.set_languages(list(self.languages))
                self._models[self.languages] = model
            return self._models[self.languages]

    def detect(self, texts: Sequence[str]) -> list[Detected]:
        if not texts:
            return []
        model = None
        out = []
        for text in texts:
            if sum(ch.isalpha() for ch in text) < self.min_letters:
                out.append(Detected(None, 0.0))
                continue
            model = model or self._model()
            language, confidence = model.classify(text)
            sure = confidence >= self.min_confidence
            out.append(Detected(language if sure else None, round(float(confidence), 4)))
        return out
