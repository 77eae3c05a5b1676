"""Review queue rules: suggestion states, review priority, confidence bands, double coding."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Literal, Protocol, TypeVar

from themecoder.errors import Conflict, InvalidInput

#: Review is worth this many times more on a "risk" suggestion than on any other polarity:
#: missing a churn or escalation signal costs more than mislabelling praise.
RISK_WEIGHT = 2.0
#: ``band(c)`` is "low" below the first edge, "high" at or above the second, else "medium".
BAND_EDGES: tuple[float, float] = (0.5, 0.8)
DOUBLE_CODING_SHARE = 0.10


class SuggestionState(StrEnum):
    """Where a suggested code stands in review."""

    PENDING = "pending"
    AUTO_ACCEPTED = "auto_accepted"
    APPROVED = "approved"
    OVERRIDDEN = "overridden"
    REJECTED = "rejected"


_DECIDED = frozenset(
    {SuggestionState.APPROVED, SuggestionState.OVERRIDDEN, SuggestionState.REJECTED}
)
#: A reviewer decision is final; an auto-accepted suggestion can still be audited by a human.
ALLOWED_TRANSITIONS: dict[SuggestionState, frozenset[SuggestionState]] = {
    SuggestionState.PENDING: _DECIDED | {SuggestionState.AUTO_ACCEPTED},
    SuggestionState.AUTO_ACCEPTED: _DECIDED,
    SuggestionState.APPROVED: frozenset(),
    SuggestionState.OVERRIDDEN: frozenset(),
    SuggestionState.REJECTED: frozenset(),
}


def _state(value: SuggestionState | str) -> SuggestionState:
    try:
        return SuggestionState(value)
    except ValueError:
        known = ", ".join(s.value for s in SuggestionState)
        raise InvalidInput(f"unknown suggestion state {value!r}; expected one of {known}") from None


def can_transition(current: SuggestionState | str, target: SuggestionState | str) -> bool:
    """Whether ``current -> target`` is an allowed move (see :data:`ALLOWED_TRANSITIONS`)."""
    return _state(target) in ALLOWED_TRANSITIONS[_state(current)]


def transition(current: SuggestionState | str, target: SuggestionState | str) -> SuggestionState:
    """Validate a state change and return the new state.

    Raises:
        InvalidInput: Either state is not a :class:`SuggestionState` value.
        Conflict: The move is not allowed, e.g. approving an already decided suggestion (the
            second of two reviewers acting on the same suggestion).
    """
    src, dst = _state(current), _state(target)
    if dst not in ALLOWED_TRANSITIONS[src]:
        raise Conflict(
            f"a suggestion that is {src.value} cannot become {dst.value}",
            current=src.value,
            target=dst.value,
        )
    return dst


def _confidence(value: float) -> float:
    if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
        raise InvalidInput(f"confidence must be a number in [0, 1], got {value!r}")
    return float(value)


def expected_value_of_review(
    confidence: float,
    polarity: str,
    risk_weight: float = RISK_WEIGHT,
    *,
    uncertainty: Literal["margin", "entropy"] = "margin",
) -> float:
    """How much a human look at a suggestion is worth: uncertainty x risk.

    ``confidence`` is the model's probability ``p`` that the suggested code is right, so the
    suggestion is treated as a yes/no bet. Uncertainty is ``1 - |2p - 1|`` ("margin", linear, 1 at
    ``p = 0.5`` and 0 at ``p`` of 0 or 1) or the binary entropy ``H(p)`` in bits ("entropy", same
    end points, flatter near 0.5). Risk is ``risk_weight`` for polarity "risk" and 1 otherwise.

    Args:
        confidence: Model probability of the suggestion, in ``[0, 1]``.
        polarity: The suggestion's polarity ("positive", "neutral", "risk").
        risk_weight: Multiplier for "risk" suggestions, > 0.
        uncertainty: "margin" or "entropy".

    Returns:
        A value in ``[0, max(1, risk_weight)]``; higher is reviewed first.

    Raises:
        InvalidInput: A confidence outside ``[0, 1]``, ``risk_weight <= 0`` or an unknown
            ``uncertainty``.
    """
    p = _confidence(confidence)
    if not (isinstance(risk_weight, int | float) and 0.0 < risk_weight < math.inf):
        raise InvalidInput(f"risk_weight must be a positive number, got {risk_weight!r}")
    if uncertainty == "margin":
        u = 1.0 - abs(2.0 * p - 1.0)
    elif uncertainty == "entropy":
        u = -sum(x * math.log2(x) for x in (p, 1.0 - p) if x > 0.0)
    else:
        raise InvalidInput(f"uncertainty must be 'margin' or 'entropy', got {uncertainty!r}")
    return u * (risk_weight if polarity == "risk" else 1.0)


class Reviewable(Protocol):
    """What the queue needs of a suggestion."""

    @property
    def id(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def polarity(self) -> str: ...


R = TypeVar("R", bound=Reviewable)


def order_queue(
    suggestions: Iterable[R],
    *,
    risk_weight: float = RISK_WEIGHT,
    uncertainty: Literal["margin", "entropy"] = "margin",
) -> list[R]:
    """Suggestions in review order: highest expected value of review first.

    Ties are broken by ``str(id)``, so the order does not depend on the input order; suggestions
    that tie on both keep their input order (the sort is stable).
    """

    def key(s: R) -> tuple[float, str]:
        value = expected_value_of_review(
            s.confidence, s.polarity, risk_weight, uncertainty=uncertainty
        )
        return -value, str(s.id)

    return sorted(suggestions, key=key)


def band(confidence: float, edges: tuple[float, float] = BAND_EDGES) -> str:
    """Confidence band of a suggestion: "low", "medium" or "high" (see :data:`BAND_EDGES`).

    Raises:
        InvalidInput: A confidence outside ``[0, 1]`` or edges not ordered within ``[0, 1]``.
    """
    p = _confidence(confidence)
    low, high = edges
    if not 0.0 <= low <= high <= 1.0:
        raise InvalidInput(f"band edges must satisfy 0 <= low <= high <= 1, got {edges!r}")
    if p < low:
        return "low"
    return "high" if p >= high else "medium"


def _hash_unit(unit_id: str, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}\x1f{unit_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def is_double_coded(unit_id: str, share: float = DOUBLE_CODING_SHARE, seed: int = 0) -> bool:
    """Whether one unit goes to blind double coding; depends only on its id, share and seed."""
    if not (isinstance(share, int | float) and 0.0 <= share <= 1.0):
        raise InvalidInput(f"share must be in [0, 1], got {share!r}")
    return _hash_unit(str(unit_id), seed) < share


def select_for_double_coding(
    unit_ids: Sequence[str], share: float = DOUBLE_CODING_SHARE, seed: int = 0
) -> list[str]:
    """The units that go to two blind reviewers, about ``share`` of them.

    Each unit is picked when a keyed hash (BLAKE2b of seed and id, read as a number in
    ``[0, 1)``) falls below ``share``. The choice is deterministic across processes (no Python
    ``hash``), and stable as new units arrive: a unit's fate never depends on the others, and a
    larger ``share`` picks a superset.

    Args:
        unit_ids: Unit ids, in any order.
        share: Expected fraction to pick, in ``[0, 1]``.
        seed: Changes which units are picked.

    Returns:
        The picked ids, in input order.

    Raises:
        InvalidInput: ``share`` outside ``[0, 1]``.
    """
    return [u for u in unit_ids if is_double_coded(u, share, seed)]
