"""Masking of personal data before texts reach a model (offsets stay on the original)."""

from __future__ import annotations

import re
from collections.abc import Sequence

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[EMAIL]"),
    (re.compile(r"https?://\S+|www\.\S+"), "[URL]"),
    (re.compile(r"(?<!\w)\+?\d[\d\s().-]{7,}\d(?!\w)"), "[PHONE]"),
    (re.compile(r"(?<![\w@])@\w{1,30}"), "@user"),
]


class RegexRedactor:
    """Replaces e-mail addresses, URLs, phone numbers and @handles with placeholders.

    Besides keeping personal data out of the models, this helps them generalise: a
    handle or a URL carries no signal, and the coder is trained on redacted text too.
    """

    def redact(self, texts: Sequence[str]) -> list[str]:
        out = []
        for text in texts:
            for pattern, token in _PATTERNS:
                text = pattern.sub(token, text)
            out.append(text)
        return out


class NullRedactor:
    """The do-nothing redactor."""

    def redact(self, texts: Sequence[str]) -> list[str]:
        return list(texts)
