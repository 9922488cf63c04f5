"""Payment matching: which open invoices a payment pays, how sure that is, and why (pure, in memory).

See `gateway.matching.engine` for the rules and the score's weights.
"""

from gateway.matching.engine import (
    CONFLICT_KINDS,
    Allocation,
    Decision,
    Evidence,
    Learned,
    LearnedPattern,
    MatchIndex,
    OpenItem,
    Proposal,
    learn_from_resolution,
    match_payment,
)

__all__ = [
    "CONFLICT_KINDS",
    "Allocation",
    "Decision",
    "Evidence",
    "Learned",
    "LearnedPattern",
    "MatchIndex",
    "OpenItem",
    "Proposal",
    "learn_from_resolution",
    "match_payment",
]
