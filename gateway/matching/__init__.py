"""Payment matching: which open invoices a payment pays, how sure that is, and why (pure, in memory).

`MatchIndex` (index.py) holds a tenant's open (and recently paid) invoices and credit notes, indexed by
normalised number, KID and customer, plus what people taught it (payer accounts, name aliases, reference
patterns). `match_payment` (matcher.py) decides one payment against it; the caller books applied
decisions and calls `MatchIndex.apply`, so the next payment sees the new open amounts. A person's
resolution teaches the index through `learn_from_resolution` (learning.py), and so does the engine's own
confident application of a structured reference (`learn_from_application`: the payer's account).

The parts, in the order a payment meets them: `model` (what goes in and comes out), `payer` (who paid),
`reference_hits` (which items the payment names; `references` reads numbers and KIDs from text),
`candidates` (what it may pay; `amount_fit` fits the amount, `subset` counts combinations, `names` finds
customers by name), `matcher` (the cross-checks and the decision), `scoring` (the evidence weights).
"""

from gateway.matching.groups import learn_groups_from_resolution
from gateway.matching.index import MatchIndex
from gateway.matching.learning import learn_from_application, learn_from_resolution
from gateway.matching.matcher import match_payment
from gateway.matching.model import (
    Allocation,
    Decision,
    Evidence,
    Learned,
    LearnedPattern,
    OpenItem,
    Proposal,
)
from gateway.matching.scoring import CONFLICT_KINDS

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
    "learn_from_application",
    "learn_from_resolution",
    "learn_groups_from_resolution",
    "match_payment",
]
