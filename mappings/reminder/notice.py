"""The first notice the gateway would send for one invoice on a given day, as a `ReminderDocument`.

Minimal and pure on purpose: it is what `gateway render INVOICE --to ehf-reminder | reminder-pdf` shows a
person, and what a renderer test needs. The full dated rules (fee sequences per claim, the second fee only
after the first deadline, disputes, promises, grouping per customer, rule ids for refusals) live in the
engine (`gateway.services.followup.rules`); this builder applies only what a first reminder needs:

* the fee is `collection_rate × reminder_fee_share` (NOK 35 at a rate of 700) of the collection rate in
  force on the notice day, only when the notice is written at least `days_after_due_before_fee` (14) days
  after the due date, only when the level asks for a fee, and only for a NOK invoice (the statutory fee is a
  NOK amount; converting it would need an exchange rate the gateway does not have);
* interest is `open × rate / 100 × days / 365` summed over the dated rates in force from the day after the
  due date to the notice day, rounded half-up to 2 decimals once;
* the deadline is the notice day + the level's `payment_days` (14 by default).

Dates come from the caller (`on`); nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from schemas.branding import PdfTemplate
from schemas.canonical import DocumentType, Invoice
from schemas.followup import (
    CollectionRate,
    DunningLevel,
    FollowUpSettings,
    InterestRate,
    NoticeKind,
    ReminderDocument,
    RemindedInvoice,
)

_Dated = TypeVar("_Dated", CollectionRate, InterestRate)
CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal(365)


@dataclass(frozen=True)
class NoticeOptions:
    """What the registry's `render(invoice, options)` of a notice format needs besides the invoice."""

    on: dt.date
    settings: FollowUpSettings | None = None
    segment: str | None = None
    template: PdfTemplate | None = None


def money(value: Decimal) -> Decimal:
    """Rounded half-up to whole cents (øre), as notices state amounts."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def signed_open(item: RemindedInvoice) -> Decimal:
    """What an item adds to the notice: an invoice its open amount, a credit note takes its amount off
    (whatever sign the caller gave it)."""
    amount = abs(item.open_amount)
    return -amount if item.document_type == "credit_note" else item.open_amount


def notice_total(doc: ReminderDocument) -> Decimal:
    """What the customer must pay by the deadline: the items (credit notes taken off), fee, interest and
    compensation. Every renderer states this one number."""
    items = sum((signed_open(item) for item in doc.invoices), Decimal(0))
    return money(items + doc.fee + doc.interest + doc.compensation)


def in_force(table: list[_Dated], on: dt.date) -> _Dated | None:
    """The entry of a dated table in force on `on` (the latest `effective_from` not after it)."""
    found = [entry for entry in table if entry.effective_from <= on]
    return max(found, key=lambda entry: entry.effective_from) if found else None


def late_interest(open_amount: Decimal, due: dt.date, on: dt.date, rates: list[InterestRate]) -> Decimal:
    """Interest from the day after `due` to `on` over the dated rates, rounded half-up to cents once."""
    if on <= due or open_amount <= 0:
        return Decimal("0.00")
    total = Decimal(0)
    start = due + dt.timedelta(days=1)
    changes = sorted({rate.effective_from for rate in rates if start < rate.effective_from <= on})
    for end in [*(change - dt.timedelta(days=1) for change in changes), on]:
        rate = in_force(rates, start)
        if rate is not None:
            days = (end - start).days + 1
            total += open_amount * rate.rate_percent / 100 * days / DAYS_PER_YEAR
        start = end + dt.timedelta(days=1)
    return money(total)


def reminder_fee(due: dt.date, on: dt.date, currency: str, rates: list[CollectionRate]) -> Decimal:
    """The statutory reminder fee allowed on `on` for a claim due on `due` (0 when none is allowed)."""
    rate = in_force(rates, on)
    if rate is None or currency != "NOK" or (on - due).days < rate.days_after_due_before_fee:
        return Decimal("0")
    return money(rate.collection_rate * rate.reminder_fee_share)


def first_level(settings: FollowUpSettings, segment: str | None) -> DunningLevel:
    """The segment's first level after the due date (level ≥ 1); a plain reminder when none is set."""
    strategy = settings.strategy_for(segment)
    levels = [level for level in strategy.levels if level.level >= 1] if strategy else []
    return levels[0] if levels else DunningLevel(level=1, kind=NoticeKind.REMINDER, delay_days=14)


def first_notice_for(
    invoice: Invoice, on: dt.date, settings: FollowUpSettings | None = None, *, segment: str | None = None
) -> ReminderDocument:
    """The first-level notice for `invoice` written on `on`: its whole payable amount open (a file says
    nothing of payments), the level's fee and interest as the module docstring says, its KID and account.

    A credit note is never reminded (`ValueError`)."""
    if invoice.document_type is DocumentType.CREDIT_NOTE:
        raise ValueError(f"{invoice.number} is a credit note: a credit note is never reminded")
    chosen = settings or FollowUpSettings()
    level = first_level(chosen, segment)
    due = invoice.due_date or invoice.issue_date
    open_amount = invoice.totals.payable
    interest = late_interest(open_amount, due, on, chosen.interest_rates) if level.interest else Decimal(0)
    fee = reminder_fee(due, on, invoice.currency, chosen.collection_rates) if level.fee else Decimal(0)
    if level.kind is NoticeKind.NUDGE:
        fee = interest = Decimal(0)
    rate = in_force(chosen.interest_rates, on)
    means = next((m for m in invoice.payment_means if m.account is not None), None)
    account = means.account if means is not None else None
    item = RemindedInvoice(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=due,
        currency=invoice.currency,
        invoiced_amount=invoice.totals.payable,
        open_amount=open_amount,
        interest=interest,
        days_late=max((on - due).days, 0),
        kid=invoice.kid,
    )
    return ReminderDocument(
        notice_id=f"P{level.level}-{invoice.number}"[:100],
        kind=level.kind,
        level=level.level,
        notice_date=on,
        deadline=on + dt.timedelta(days=level.payment_days),
        currency=invoice.currency,
        seller=invoice.seller.model_dump(mode="json", exclude_none=True),
        buyer=invoice.buyer.model_dump(mode="json", exclude_none=True),
        invoices=[item],
        fee=fee,
        interest=interest,
        interest_rate_percent=rate.rate_percent if rate is not None and interest else None,
        kid=invoice.kid,
        payee_account=account.id if account is not None else None,
        payee_bic=account.bic if account is not None else None,
        buyer_reference=invoice.buyer_reference or invoice.order_reference,
    )
