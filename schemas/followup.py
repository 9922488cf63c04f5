"""Receivables follow-up as data: dunning strategies per customer segment, and the dated legal rules.

Why data and not code: the Norwegian fee and interest rules change by regulation (the collection rate, the
late-payment interest set each 1 January and 1 July, a new debt collection act pending), and a tenant's
strategy is its own business decision. Every rule carries the date it takes effect; a notice is judged by
the rules in force on the day it is written, so a rate change applies to notices from that date only.

Amounts are `Decimal` in the tenant's currency (the statutory fees are NOK amounts).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.canonical import CustomerSegment


class NoticeKind(StrEnum):
    """What a follow-up notice is, in the words of inkassoforskriften."""

    NUDGE = "nudge"  # a friendly note before the due date: never a fee
    REMINDER = "reminder"  # purring
    COLLECTION_WARNING = "collection_warning"  # inkassovarsel: never as EHF
    PAYMENT_DEMAND = "payment_demand"  # betalingsoppfordring (by the collector, after a warning or reminder)


class NoticeStatus(StrEnum):
    """Where a notice stands; a notice is a delivery through the outbox once it is `queued`."""

    AWAITING_APPROVAL = "awaiting_approval"  # the level asks a person to approve it
    QUEUED = "queued"  # its delivery is in the outbox
    SENT = "sent"  # its delivery left (sent or delivered)
    FAILED = "failed"  # its delivery ended without reaching the customer, or came back after it left
    # (returned letter, bounce): either way it does not count as a level reached (`restore_state`)
    CANCELLED = "cancelled"  # by a person, or by a payment / dispute / promise before it left


class DisputeStatus(StrEnum):
    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"  # a credit was proposed; a person with the right role approves it
    REJECTED = "rejected"  # the claim stands; follow-up resumes with the days paused added
    CREDITED = "credited"  # a credit note for the agreed amount was created
    WITHDRAWN = "withdrawn"  # the customer took it back; follow-up resumes


DisputeCategory = Literal["wrong_amount", "not_received", "already_paid", "goods", "other"]
DisputeOrigin = Literal["customer", "internal", "invoice_response", "portal"]


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"  # paid in full by the promised date
    BROKEN = "broken"  # the date passed without the promised amount
    CANCELLED = "cancelled"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Money = Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=2)]


class DunningLevel(_Model):
    """One step of a strategy: when it comes, what it is, what it costs, how it goes out."""

    level: Annotated[int, Field(ge=0, le=20, description="0 = a pre-due nudge; 1, 2, … in order")]
    kind: NoticeKind
    delay_days: Annotated[
        int,
        Field(
            ge=-60,
            le=365,
            description="days after the due date (delay_from due_date; negative: before it, a nudge) or "
            "the previous notice's deadline (delay_from previous_notice)",
        ),
    ]
    delay_from: Literal["due_date", "previous_notice"] = "due_date"
    fee: bool = Field(
        True, description="charge the statutory fee of this kind of notice, where the rules allow one"
    )
    interest: bool = Field(True, description="state late-payment interest accrued to the notice date")
    payment_days: Annotated[int, Field(ge=1, le=90)] = Field(
        14, description="the new deadline the notice gives; a notice with a fee must give at least 14 days"
    )
    channel: Annotated[str, Field(min_length=1, max_length=50)] | None = Field(
        None, description="a channel for this level; None = the receiver's own channel chain"
    )
    approval_required: bool = Field(False, description="a person must approve each notice of this level")
    group_per_customer: bool = Field(
        True, description="one notice per customer and level for all its invoices"
    )


class DunningStrategy(_Model):
    """The levels one customer segment goes through (`segment` None: customers without a segment)."""

    segment: CustomerSegment | None = None
    levels: list[DunningLevel] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _levels_in_order(self) -> DunningStrategy:
        numbers = [level.level for level in self.levels]
        if numbers != sorted(set(numbers)):
            raise ValueError("levels must be numbered in increasing order without repeats")
        if any(level.kind is NoticeKind.NUDGE and level.level != 0 for level in self.levels):
            raise ValueError("only level 0 may be a pre-due nudge")
        return self


class CollectionRate(_Model):
    """Inkassosatsen and the fees derived from it (inkassoforskriften § 1-2), from `effective_from` on."""

    effective_from: dt.date
    collection_rate: Money = Decimal("700")
    reminder_fee_share: Decimal = Field(Decimal("0.05"), description="1/20 of the collection rate")
    warning_fee_share: Decimal = Field(Decimal("0.05"), description="1/20 of the collection rate")
    demand_fee_share: Decimal = Field(Decimal("0.15"), description="NOK 105 on a rate of 700")
    max_notice_fees: Annotated[int, Field(ge=0, le=5)] = Field(
        2, description="reminder or warning fees per claim (two reminders, or a reminder and a warning)"
    )
    days_after_due_before_fee: Annotated[int, Field(ge=0)] = 14
    payment_deadline_days: Annotated[int, Field(ge=0)] = Field(
        14, description="the least deadline a fee-bearing notice must give"
    )


class InterestRate(_Model):
    """Forsinkelsesrenten (the policy rate + 8 points) and the B2B fixed compensation, from a date on."""

    effective_from: dt.date
    rate_percent: Annotated[Decimal, Field(ge=0, le=100)]
    fixed_compensation: Money = Field(Decimal("0"), description="standardkompensasjon, B2B only")


#: Verified in ../shared/DOMAIN.md: 12.50 % and NOK 470 from 2025-01-01; later rates are configuration.
DEFAULT_INTEREST_RATES: tuple[InterestRate, ...] = (
    InterestRate(
        effective_from=dt.date(2025, 1, 1), rate_percent=Decimal("12.50"), fixed_compensation=Decimal("470")
    ),
)
DEFAULT_COLLECTION_RATES: tuple[CollectionRate, ...] = (CollectionRate(effective_from=dt.date(2015, 1, 1)),)


def _default_strategies() -> list[DunningStrategy]:
    """A careful default: a reminder 14 days after due, a second reminder or a warning, then hand-off."""
    consumer = DunningStrategy(
        segment="private",
        levels=[
            DunningLevel(level=1, kind=NoticeKind.REMINDER, delay_days=14),
            DunningLevel(
                level=2, kind=NoticeKind.COLLECTION_WARNING, delay_days=0, delay_from="previous_notice"
            ),
        ],
    )
    business = DunningStrategy(
        segment=None,
        levels=[
            DunningLevel(level=1, kind=NoticeKind.REMINDER, delay_days=14),
            DunningLevel(level=2, kind=NoticeKind.REMINDER, delay_days=0, delay_from="previous_notice"),
            DunningLevel(
                level=3,
                kind=NoticeKind.PAYMENT_DEMAND,
                delay_days=0,
                delay_from="previous_notice",
                approval_required=True,
            ),
        ],
    )
    return [consumer, business]


class FollowUpSettings(_Model):
    """A tenant's follow-up: strategies per segment, the dated rules, thresholds and what a limit does."""

    enabled: bool = False
    strategies: list[DunningStrategy] = Field(default_factory=_default_strategies, max_length=10)
    collection_rates: list[CollectionRate] = Field(default_factory=lambda: list(DEFAULT_COLLECTION_RATES))
    interest_rates: list[InterestRate] = Field(default_factory=lambda: list(DEFAULT_INTEREST_RATES))
    min_open_amount: Money = Field(Decimal("0"), description="smaller open amounts get no notice")
    credit_limit_action: Literal["hold", "flag"] = Field(
        "hold",
        description="an invoice that takes a customer over its credit limit: held for review, or flagged",
    )
    promise_max_days: Annotated[int, Field(ge=1, le=365)] = Field(
        60, description="how far ahead a customer may promise to pay"
    )
    statements: bool = Field(
        False, description="customers whose profile asks for statements get one periodic statement instead"
    )

    @model_validator(mode="after")
    def _one_strategy_per_segment(self) -> FollowUpSettings:
        segments = [strategy.segment for strategy in self.strategies]
        if len(segments) != len(set(segments)):
            raise ValueError("one strategy per segment")
        for name, table in (
            ("collection_rates", self.collection_rates),
            ("interest_rates", self.interest_rates),
        ):
            dates = [entry.effective_from for entry in table]
            if len(dates) != len(set(dates)):
                raise ValueError(f"{name}: two entries take effect on the same date")
        return self

    def strategy_for(self, segment: str | None) -> DunningStrategy | None:
        """The segment's strategy, else the one without a segment."""
        by_segment: dict[str | None, DunningStrategy] = {s.segment: s for s in self.strategies}
        return by_segment.get(segment) or by_segment.get(None)


class RemindedInvoice(_Model):
    """One invoice as a notice lists it."""

    number: Annotated[str, Field(min_length=1, max_length=100)]
    issue_date: dt.date
    due_date: dt.date
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    invoiced_amount: Decimal = Field(description="the invoice's payable amount (BT-115)")
    open_amount: Decimal = Field(description="what remains unpaid on the notice date")
    interest: Decimal = Decimal("0")
    days_late: int = 0
    kid: str | None = Field(None, description="the invoice's own payment reference")
    document_type: Literal["invoice", "credit_note"] = "invoice"


class ReminderDocument(_Model):
    """What a notice says, in the shape every notice renderer takes (EHF Reminder, PDF, statement).

    `seller` and `buyer` are the parties of the (first) reminded invoice as the canonical model has them, so
    the notice carries the same names, addresses, identifiers and branding as the invoices it reminds of.
    """

    notice_id: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="the notice's own number (its EHF Reminder ID, the PDF's reference)"
    )
    kind: NoticeKind | Literal["statement"]
    level: int = 0
    notice_date: dt.date
    deadline: dt.date = Field(description="the new due date the notice gives")
    currency: Annotated[str, Field(min_length=3, max_length=3)]
    seller: dict[str, object] = Field(description="canonical Invoice.seller as JSON")
    buyer: dict[str, object] = Field(description="canonical Invoice.buyer as JSON")
    invoices: list[RemindedInvoice] = Field(min_length=1)
    fee: Decimal = Decimal("0")
    interest: Decimal = Decimal("0")
    interest_rate_percent: Decimal | None = None
    compensation: Decimal = Decimal("0")
    kid: str | None = Field(None, description="the reference to pay the notice with")
    payee_account: str | None = Field(None, description="IBAN or Norwegian account number to pay to")
    payee_bic: str | None = None
    note: str | None = None
    buyer_reference: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="the buyer's reference (BT-10) of the reminded invoice; EHF wants one (R003)"
    )

    @property
    def open_total(self) -> Decimal:
        return sum((item.open_amount for item in self.invoices), Decimal("0"))

    @property
    def total(self) -> Decimal:
        """What the customer must pay by the deadline: open amounts + fee + interest + compensation."""
        return self.open_total + self.fee + self.interest + self.compensation
