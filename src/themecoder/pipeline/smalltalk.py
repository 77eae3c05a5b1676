"""Small talk: greetings, thanks, sign-offs and acknowledgements that carry no signal.

The guideline gives them no bucket ("Greetings, small talk ... get no bucket"), and the encoder
places some of them close to real signals: "Bye." and "Goodbye." sit near leaving, so the
renewal head scored them as churn risk. A unit whose every word is in :data:`SMALL_TALK`
("Bye.", "Thanks, talk soon!", "Okay, have a good one") gets no code, whatever the heads say.
The list is narrow on purpose: a word that can carry meaning ("again", "never", "anyone",
"there") is not in it, so "Never again." and "hello? anyone there?" are still coded.
"""

from __future__ import annotations

import re

_WORDS = """
hi hello hey hiya howdy bye goodbye cheers thanks thank thx ty welcome pleasure
ok okay alright sure yeah yes yep yup right cool great good nice lovely perfect fine awesome
see ya you talk speak chat later soon take care have a an the all one day morning afternoon
evening night weekend everyone everybody guys folks so much very for your time today
"""
#: Words a small-talk unit may consist of.
SMALL_TALK = frozenset(_WORDS.split())
_WORD = re.compile(r"[a-z]+")
_MAX_CHARS = 60


def is_small_talk(text: str) -> bool:
    """True for a short unit made only of greeting, thanks and sign-off words."""
    if len(text) > _MAX_CHARS:
        return False
    words = _WORD.findall(text.lower())
    return bool(words) and all(w in SMALL_TALK for w in words)
