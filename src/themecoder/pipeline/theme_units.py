"""Which units may form, join and represent a theme.

Small talk ("Hi Priya, thanks for having me"), fillers ("Um.", "Oh, yeah.", "Great.") and
back-channel turns are frequent in transcripts and close to each other in embedding space,
so left in they form a theme of their own ("bye, good, sure") and end up as quotes. A unit
counts by its *content words*: lower-case word tokens of three or more letters that are not
English stop words (scikit-learn's list) and not in :data:`FILLERS` (greetings, thanks,
agreement, hesitation, stage directions such as "laughs", vague words such as "things").
Placeholders of redaction (``[PERSON]``) are not words.

* ``FIT``: at least ``min_fit_words`` content words (default 3) making at least
  ``min_fit_share`` of the unit's words: the unit is clustered and may be quoted.
* ``ASSIGN``: at least one content word: the unit may join a theme after fitting (nearest
  centroid), but neither shapes nor represents one ("Too expensive.").
* ``SKIP``: no content word: never themed.

Interviewer and agent turns never reach this filter: they are stored without units.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

#: Greetings, thanks, agreement, hesitation, stage directions and vague words.
_FILLER_WORDS = """
hi hello hey hiya bye goodbye cheers thanks thank thx welcome pleasure sorry apologies
morning afternoon evening tonight today weekend nice lovely glad pleased happy meet talk
talking chat chatting speak speaking hear hearing see seeing yeah yes yep yup yea nope
okay alright right sure fine cool great good awesome perfect absolutely exactly
definitely totally certainly indeed course true agree agreed um uh uhm erm er hmm mmm
mhm huh ah oh ooh wow haha lol laughs laughing laughter pause pauses inaudible crosstalk
silence really actually basically honestly literally probably maybe perhaps partly
pretty quite just like know mean guess suppose think thought say said says tell told ask
asked thing things stuff lot lots bit kind sort way ways guys folks everybody let lets
want wanted got get gets going goes come came look looking question questions second
moment sec hold wait ready soon later
"""
FILLERS = frozenset(_FILLER_WORDS.split())
_WORD = re.compile(r"\[[^\]]*\]|[a-z][a-z']+")


class Use(IntEnum):
    """What a unit may do in discovery (see the module docstring)."""

    SKIP = 0
    ASSIGN = 1
    FIT = 2


def content_words(text: str) -> tuple[list[str], int]:
    """The content words of ``text`` and its number of words (placeholders left out)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [w.strip("'") for w in _WORD.findall(text.lower()) if not w.startswith("[")]
    words = [w.removesuffix("'s") for w in words if w]
    content = [w for w in words if len(w) >= 3 and w not in ENGLISH_STOP_WORDS and w not in FILLERS]
    return content, len(words)


def unit_use(text: str, min_fit_words: int = 3, min_fit_share: float = 0.25) -> Use:
    """What one unit may do in discovery."""
    content, n_words = content_words(text)
    if not content:
        return Use.SKIP
    if len(content) >= min_fit_words and len(content) >= min_fit_share * n_words:
        return Use.FIT
    return Use.ASSIGN


def unit_uses(
    texts: Sequence[str], min_fit_words: int = 3, min_fit_share: float = 0.25
) -> np.ndarray:
    """:func:`unit_use` of each text, as an int array of :class:`Use` values."""
    return np.array(
        [unit_use(t or "", min_fit_words, min_fit_share) for t in texts], dtype=np.int64
    )
