"""A tenant's payment-matching policy: when the gateway may apply money by itself, and when it asks.

The defaults are cautious: auto-apply needs strong evidence (a reference, or a unique amount fit for an
identified payer) and a clear lead over the runner-up; small short payments are written off, larger
deductions wait for a person's approval; nothing is ever decided by a tie-break.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

#: Payer names of payment intermediaries (card acquirers, payment services, invoice buyers): money from them
#: pays for many customers, so neither their accounts nor their names are ever learned as a customer's.
INTERMEDIARY_NAMES = (
    "KLARNA",
    "VIPPS",
    "MOBILEPAY",
    "NETS",
    "NEXI",
    "STRIPE",
    "PAYPAL",
    "ADYEN",
    "SVEA",
    "WALLEY",
    "COLLECTOR",
    "RESURS",
    "SANTANDER CONSUMER",
    "BAMBORA",
    "WORLDLINE",
    "DNB BANK ASA",
)


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
    learn_from_automatic: bool = Field(
        True,
        description="learn a payer's account (and name) from every automatic application that rests on a "
        "structured reference fitting the amount (a KID, an invoice number), not only from a person's "
        "resolution; never from an account that pays for several customers or belongs to another",
    )
    shared_accounts: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=500,
        description="payer accounts never learned as a customer's: payment services, a bank's collective "
        "account, card acquirers (an account seen paying for several customers is found shared by itself)",
    )
    intermediary_names: list[Annotated[str, Field(min_length=2, max_length=100)]] = Field(
        default_factory=lambda: list(INTERMEDIARY_NAMES),
        max_length=500,
        description="payer names (a word or the start of the name, any case) of payment intermediaries: "
        "their accounts and names are never learned",
    )
    partial_payments: bool = Field(
        True,
        description="a payment naming an item by a valid structured reference (a KID valid under the KID "
        "agreement, an invoice number in a remittance field) for less than its open amount is applied as a "
        "partial payment and the rest stays open; false: such payments wait for a person",
    )
    group_payments: bool = Field(
        True,
        description="a parent that pays for the customers of its group (receiver profiles' parent_customer, "
        "or learned from a person's resolution): its payments are searched against the group's open items",
    )
    book_advices: bool = Field(
        True,
        description="REMADV / X12 820 advices are booked as payments (the partner's advice is the record); "
        "false when the same money also arrives in a bank file: they are then kept as hints only",
    )
