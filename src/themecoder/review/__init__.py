"""Review rules as pure functions: agreement statistics, gating, queue order, promotion.

Nothing here touches storage or HTTP. :func:`agreement_report` turns double-coded label pairs
into per-bucket alpha / kappa / AC1 with bootstrap intervals; :func:`gate_buckets` decides which
buckets may auto-accept; :mod:`themecoder.review.queue` holds suggestion states and review order;
:func:`should_promote` is the retraining rule.
"""

from themecoder.review.agreement import (
    BUCKET_LABELS,
    agreement_report,
    bootstrap_ci,
    cohen_kappa,
    gwet_ac1,
    krippendorff_alpha,
)
from themecoder.review.gating import DEFAULT_THRESHOLD, auto_accept_allowed, gate_buckets
from themecoder.review.promotion import Promotion, should_promote
from themecoder.review.queue import (
    ALLOWED_TRANSITIONS,
    SuggestionState,
    band,
    can_transition,
    expected_value_of_review,
    is_double_coded,
    order_queue,
    select_for_double_coding,
    transition,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "BUCKET_LABELS",
    "DEFAULT_THRESHOLD",
    "Promotion",
    "SuggestionState",
    "agreement_report",
    "auto_accept_allowed",
    "band",
    "bootstrap_ci",
    "can_transition",
    "cohen_kappa",
    "expected_value_of_review",
    "gate_buckets",
    "gwet_ac1",
    "is_double_coded",
    "krippendorff_alpha",
    "order_queue",
    "select_for_double_coding",
    "should_promote",
    "transition",
]
