"""What matching reads and what it answers: open items and learned patterns in; evidence, proposals,
decisions and what a resolution taught out.

Amounts: allocations are in the item's currency (under FX the instructed amount is compared and applied,
and the evidence says so). For a credit note the allocation is the credit used (positive). A proposal's
allocations (invoices minus credit notes) plus `unapplied` equal the amount compared; `write_off` is on
top and sits on the last invoice of the allocations (also given per allocation in `Allocation.write_off`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

DocumentType = Literal["invoice", "credit_note"]
Outcome = Literal["applied", "needs_approval", "exception", "ignored"]

_ZERO = Decimal(0)


@dataclass(slots=True)
class OpenItem:
    """One open invoice or credit note as matching sees it; `open_amount` moves as payments apply."""

    invoice_id: str
    number: str
    document_type: DocumentType
    customer_key: str
    customer_name: str
    currency: str
    open_amount: Decimal
    total_amount: Decimal
    issue_date: dt.date
    due_date: dt.date | None = None
    kid: str | None = None


@dataclass(frozen=True)
class LearnedPattern:
    """A payer's house style of writing invoice numbers, learned from a person's resolution.

    `regex` is matched case-insensitively; its first capture group yields an invoice number, normalised
    like any number. With a `customer_key` it only names that customer's items.
    """

    customer_key: str | None
    regex: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One fact behind a score, as a sentence a person understands, and its weight in the score."""

    kind: str
    detail: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "weight": round(self.weight, 3)}


@dataclass(frozen=True, slots=True)
class Allocation:
    """Money applied to one item (a credit note: the credit used, positive), in the item's currency.

    `write_off` is written off on this item besides `amount` (a small short payment, an approved
    deduction): the item's open amount falls by both.
    """

    invoice_id: str
    number: str
    amount: Decimal
    document_type: DocumentType = "invoice"
    write_off: Decimal = _ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "number": self.number,
            "amount": str(self.amount),
            "document_type": self.document_type,
            "write_off": str(self.write_off),
        }


@dataclass(frozen=True)
class Proposal:
    """What would be applied, with the score and the evidence for it.

    `currency` is the allocations' currency (the items'; under FX not the payment's).
    """

    allocations: tuple[Allocation, ...]
    score: float
    customer_key: str | None
    evidence: tuple[Evidence, ...]
    write_off: Decimal = _ZERO
    unapplied: Decimal = _ZERO
    currency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocations": [allocation.as_dict() for allocation in self.allocations],
            "score": round(self.score, 4),
            "customer_key": self.customer_key,
            "evidence": [evidence.as_dict() for evidence in self.evidence],
            "write_off": str(self.write_off),
            "unapplied": str(self.unapplied),
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome for one payment: applied, waiting for approval, an exception for a person, or ignored."""

    outcome: Outcome
    confidence: float
    proposal: Proposal | None
    suggestions: tuple[Proposal, ...]
    customer_key: str | None
    reason: str
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "confidence": round(self.confidence, 4),
            "proposal": self.proposal.as_dict() if self.proposal else None,
            "suggestions": [suggestion.as_dict() for suggestion in self.suggestions],
            "customer_key": self.customer_key,
            "reason": self.reason,
            "evidence": [evidence.as_dict() for evidence in self.evidence],
        }


@dataclass(frozen=True)
class Learned:
    """What a person's resolution taught: payer accounts and name aliases (-> customer key), patterns."""

    accounts: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    patterns: list[LearnedPattern] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was deliberately not learned, and why

    def __bool__(self) -> bool:
        return bool(self.accounts or self.aliases or self.patterns)

    def describe(self) -> list[str]:
        out = [f"payer account {account} belongs to {key}" for account, key in self.accounts.items()]
        out += [f"payer name '{name}' is an alias of {key}" for name, key in self.aliases.items()]
        out += [
            f"reference pattern {p.regex} names {p.customer_key or 'any customer'}'s items"
            for p in self.patterns
        ]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "accounts": dict(self.accounts),
            "aliases": dict(self.aliases),
            "patterns": [
                {"customer_key": p.customer_key, "regex": p.regex, "source": p.source} for p in self.patterns
            ],
            "notes": list(self.notes),
        }


def oldest_first(item: OpenItem) -> tuple[dt.date, str]:
    """Sort key: the order a payer settles items in (due date, else issue date; then number)."""
    return (item.due_date or item.issue_date, item.number)
