"""A tenant's payment-matching policy: when the gateway may apply money by itself, and when it asks.

The defaults are cautious: auto-apply needs strong evidence (a reference, or a unique amount fit for an
identified payer) and a clear lead over the runner-up; small short payments are written off, larger
deductions wait for a person's approval; nothing is ever decided by a tie-break.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class MatchingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_threshold: float = Field(
        0.90, ge=0, le=1, description="confidence at or above which a match applies"
    )
    margin: float = Field(
        0.15, ge=0, le=1, description="the best proposal must lead the runner-up by this much to auto-apply"
    )
    write_off_limit: Decimal = Field(
        Decimal("50"), ge=0, description="a short payment up to this amount (payment currency) is written off"
    )
    write_off_percent: Decimal = Field(
        Decimal("1"), ge=0, le=100, description="…and up to this percentage of the applied amount"
    )
    approval_above: Decimal | None = Field(
        None, ge=0, description="payments larger than this always wait for a person's approval (None: never)"
    )
    deductions_need_approval: bool = Field(
        True, description="a deduction the payer states, beyond the write-off limit, waits for approval"
    )
    subset_max_items: int = Field(
        24,
        ge=0,
        le=60,
        description="open items of one payer the lump-sum search considers (oldest due first)",
    )
    due_date_window_days: int = Field(
        90,
        ge=0,
        description="a payment this many days around an invoice's due date counts as timely evidence",
    )
    suggestions: int = Field(3, ge=1, le=10, description="ranked suggestions kept with an exception")
    book_advices: bool = Field(
        True,
        description="REMADV / X12 820 advices are booked as payments (the partner's advice is the record); "
        "false when the same money also arrives in a bank file: they are then kept as hints only",
    )
