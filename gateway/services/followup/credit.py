"""Credit limits at intake: an invoice that takes a customer over its limit is held for review, or flagged.

The customer is the invoice's `routing.receiver_id` (the receiver profile that carries the limit and the
risk flag); invoices without one are never judged. Its open balance is the open amount of its unpaid and
partially paid invoices minus its unused credit notes, in the currency of the new invoice (a limit has no
currency of its own: it is read in the currency being invoiced). Held deliveries count: the invoice was
accepted and is owed once released.

Why one grouped query per batch: intake takes thousands of invoices in one request. The batch's receivers
with a limit are summed at once (`ix_invoices_portal_customer`: tenant, receiver, …), and the invoices of the
batch are added in order as they are admitted, so the tenth invoice to a customer in a batch sees the nine
before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Numeric, case, cast, func, select
from sqlalchemy.orm import Session

from db.models import InvoiceRecord
from schemas.canonical import DocumentType, Invoice, ReceiverProfile
from schemas.tenant import TenantSettings

#: A receiver profile's risk flag that holds every new invoice, whatever the balance.
STOP_FLAG = "stop"
#: Invoices whose money is still owed (a credit note in these states is still unused).
OPEN_STATUSES = ("unpaid", "partially_paid")
#: The key of a delivery event's `details` that keeps the verdict (shown again on GET /invoices/{id}).
DETAILS_KEY = "credit_warning"

Balances = dict[tuple[str, str], Decimal]  # (receiver_id, currency) → open balance


@dataclass(frozen=True)
class CreditVerdict:
    """Why a new invoice is held or flagged: the balance after it against the limit, or the risk flag."""

    action: Literal["hold", "flag"]
    receiver_id: str
    currency: str
    balance: Decimal
    limit: Decimal | None
    risk_flag: str | None
    message: str

    @property
    def note(self) -> str:
        """The message as the delivery's first event says it (a held one says "held for review" already)."""
        return self.message if self.action == "hold" else f"flagged, sent as usual: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "receiver_id": self.receiver_id,
            "currency": self.currency,
            "balance": money_text(self.balance),
            "limit": money_text(self.limit) if self.limit is not None else None,
            "risk_flag": self.risk_flag,
            "message": self.message,
        }


CENT = Decimal("0.01")


def money_text(amount: Decimal) -> str:
    """An amount as answers show it: exact text with two decimals."""
    return str(amount.quantize(CENT))


def open_amount_cents() -> Any:
    """An invoice's open amount (its payable amount while nothing was applied) in hundredths, signed: a
    credit note counts against the balance. Whole cents from each row (amounts are stored as exact text),
    so the sum is exact on both databases."""
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    cents = func.round(cast(func.coalesce(table.c.open_amount, table.c.payable_amount), Numeric(20, 2)) * 100)
    return case((table.c.document_type == DocumentType.CREDIT_NOTE.value, -cents), else_=cents)


def open_balances(session: Session, tenant_id: str, receiver_ids: Iterable[str]) -> Balances:
    """Each receiver's open balance per currency: one grouped query over the tenant's open invoices."""
    wanted = sorted(set(receiver_ids))
    balances: Balances = {}
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(table.c.receiver_id, table.c.currency, func.sum(open_amount_cents()))
            .where(
                table.c.tenant_id == tenant_id,
                table.c.receiver_id.in_(wanted[start : start + 500]),
                table.c.payment_status.in_(OPEN_STATUSES),
            )
            .group_by(table.c.receiver_id, table.c.currency)
        )
        for receiver_id, currency, cents in rows:
            balances[(receiver_id, currency)] = (Decimal(int(cents or 0)) / 100).quantize(CENT)
    return balances


def _judged(profile: ReceiverProfile | None) -> bool:
    return profile is not None and (profile.credit_limit is not None or profile.risk_flag == STOP_FLAG)


@dataclass
class CreditCheck:
    """One intake batch's credit judgement: balances read once, then kept up to date invoice by invoice."""

    action: Literal["hold", "flag"]
    profiles: Mapping[str, ReceiverProfile]
    balances: Balances = field(default_factory=dict)

    @classmethod
    def for_batch(
        cls,
        session: Session,
        tenant_id: str,
        profiles: Mapping[str, ReceiverProfile],
        settings: TenantSettings,
    ) -> CreditCheck:
        """Read the balances of the batch's receivers that have a limit or a stop flag (none: no query)."""
        judged = [receiver_id for receiver_id, profile in profiles.items() if _judged(profile)]
        balances = open_balances(session, tenant_id, judged) if judged else {}
        return cls(settings.follow_up.credit_limit_action, profiles, balances)

    def judge(self, invoice: Invoice) -> CreditVerdict | None:
        """The verdict on a new invoice (None: it goes as usual); its amount joins the balance either way."""
        receiver_id = invoice.routing.receiver_id if invoice.routing else None
        profile = self.profiles.get(receiver_id or "")
        if receiver_id is None or profile is None or not _judged(profile):
            return None
        key = (receiver_id, invoice.currency)
        amount = invoice.totals.payable
        is_invoice = invoice.document_type is DocumentType.INVOICE
        balance = self.balances.get(key, Decimal(0)) + (amount if is_invoice else -amount)
        self.balances[key] = balance
        if not is_invoice:
            return None  # a credit note lowers what the customer owes: never held for credit
        if profile.risk_flag == STOP_FLAG:
            return CreditVerdict(
                "hold",
                receiver_id,
                invoice.currency,
                balance,
                profile.credit_limit,
                profile.risk_flag,
                f"risk flag {STOP_FLAG}: every new invoice to receiver {receiver_id} is held for review",
            )
        limit = profile.credit_limit
        if limit is None or balance <= limit:
            return None
        return CreditVerdict(
            self.action,
            receiver_id,
            invoice.currency,
            balance,
            limit,
            profile.risk_flag,
            f"credit limit: balance {balance:.2f} {invoice.currency} after this invoice exceeds the limit "
            f"{limit:.2f}",
        )


def stored_credit_warning(events: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The verdict intake wrote on a delivery's first event (None: the invoice was within its limit)."""
    for event in events:
        details = event.get("details") or {}
        warning = details.get(DETAILS_KEY) if isinstance(details, dict) else None
        if isinstance(warning, dict):
            return warning
    return None


def headroom(limit: Decimal | None, balance: Decimal) -> Decimal | None:
    """What the customer may still be invoiced before the limit (negative: over it)."""
    return None if limit is None else limit - balance


def today_in(zone: str = "Europe/Oslo") -> dt.date:
    """Today's date where the tenant is: the API's and CLI's default `on` (services take a date)."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(zone)).date()
