"""What the seller's operations team reads of card payments: the portal's checkouts and the providers'
payouts, for the API (`/card-checkouts`, `/card-payouts`), the CLI (`gateway payments checkouts|payouts`)
and the console's Card payments page.

Read-only: a checkout is opened by the portal and finished by the provider's webhook (`checkout`,
`provider_events`), a payout recorded from the provider and reconciled with the bank statement's entry
(`payouts`). These listings only join what those rows name (invoice ids, advice ids, the bank payment) to
what a person recognises (invoice numbers, the customer's name, the bank entry's date), always within one
tenant: another tenant's id is "not found", exactly like an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import CardCheckout, CardPayout, InvoiceRecord, PaymentAllocation, PaymentRecord, ProviderEvent
from db.models.tenants import Receiver
from gateway.services.portal.checkout import checkout_lines, checkout_note
from gateway.services.portal.payouts import PayoutView

#: Checkout statuses (db.models.CardCheckout.status), for filters and their validation.
CHECKOUT_STATUSES = ("open", "paid", "expired", "declined", "failed")
#: Payout statuses (db.models.CardPayout.status).
PAYOUT_STATUSES = ("announced", "reconciled")
#: At most this many rows in one listing.
MAX_LIMIT = 10_000


class CardPayoutNotFound(LookupError):
    """No payout with this id for the tenant (another tenant's is not found either)."""


def _iso(moment: dt.datetime | dt.date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def customer_names(session: Session, tenant_id: str, receiver_ids: Iterable[str]) -> dict[str, str]:
    """The receiver profiles' names of these customers (those with a profile that names one)."""
    wanted = sorted(set(receiver_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Receiver).where(col(Receiver.tenant_id) == tenant_id, col(Receiver.receiver_id).in_(wanted))
    ).scalars()
    return {row.receiver_id: str(row.profile.get("name")) for row in rows if row.profile.get("name")}


def _invoices(session: Session, tenant_id: str, invoice_ids: Iterable[str]) -> dict[str, InvoiceRecord]:
    wanted = sorted(set(invoice_ids))
    found: dict[str, InvoiceRecord] = {}
    for start in range(0, len(wanted), 500):
        for row in session.execute(
            select(InvoiceRecord).where(
                col(InvoiceRecord.tenant_id) == tenant_id,
                col(InvoiceRecord.id).in_(wanted[start : start + 500]),
            )
        ).scalars():
            found[row.id] = row
    return found


def _events(session: Session, checkout_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The provider events of each checkout, in the order they arrived."""
    events: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(checkout_ids), 500):
        for row in session.execute(
            select(ProviderEvent)
            .where(col(ProviderEvent.checkout_id).in_(checkout_ids[start : start + 500]))
            .order_by(col(ProviderEvent.received_at), col(ProviderEvent.id))
        ).scalars():
            events.setdefault(row.checkout_id or "", []).append(
                {
                    "event_id": row.event_id,
                    "event_type": row.event_type,
                    "outcome": row.outcome,
                    "received_at": _iso(row.received_at),
                    "detail": row.detail,
                }
            )
    return events


def list_card_checkouts(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    receiver_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The tenant's checkouts, newest first: customer (id and name), the invoices by number, amount,
    provider, status, what became of it (`note`), and the provider events that moved it (a repeated
    webhook is one event)."""
    query = select(CardCheckout).where(col(CardCheckout.tenant_id) == tenant_id)
    if status:
        query = query.where(col(CardCheckout.status) == status)
    if receiver_id:
        query = query.where(col(CardCheckout.receiver_id) == receiver_id)
    rows = list(
        session.execute(
            query.order_by(col(CardCheckout.created_at).desc(), col(CardCheckout.id))
            .offset(max(offset, 0))
            .limit(max(1, min(limit, MAX_LIMIT)))
        ).scalars()
    )
    invoices = _invoices(session, tenant_id, (invoice_id for row in rows for invoice_id in row.invoice_ids))
    names = customer_names(session, tenant_id, (row.receiver_id for row in rows))
    events = _events(session, [row.id for row in rows])
    answer = []
    for row in rows:
        shown = [invoices[invoice_id] for invoice_id in row.invoice_ids if invoice_id in invoices]
        amounts = {line.invoice_id: str(line.amount) for line in checkout_lines(row)}
        answer.append(
            {
                "id": row.id,
                "receiver_id": row.receiver_id,
                "customer_name": names.get(row.receiver_id) or (shown[0].buyer_name if shown else None),
                "provider": row.provider,
                "provider_reference": row.provider_reference,
                "invoices": [
                    {"id": invoice.id, "number": invoice.number, "amount": amounts.get(invoice.id)}
                    for invoice in shown
                ],
                "amount": row.amount,
                "currency": row.currency,
                "status": row.status,
                "provider_payment": row.provider_payment,
                "payment_id": row.payment_id,
                "created_by": row.created_by,
                "created_at": _iso(row.created_at),
                "completed_at": _iso(row.completed_at),
                "note": checkout_note(row),
                "events": events.get(row.id, []),
            }
        )
    return answer


def list_card_payouts(
    session: Session, tenant_id: str, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """The tenant's payouts, newest first, as `PayoutView.as_dict` shows them, with the bank payment's
    booking date and the number of advices bundled."""
    query = select(CardPayout).where(col(CardPayout.tenant_id) == tenant_id)
    if status:
        query = query.where(col(CardPayout.status) == status)
    rows = list(
        session.execute(
            query.order_by(col(CardPayout.created_at).desc(), col(CardPayout.id))
            .offset(max(offset, 0))
            .limit(max(1, min(limit, MAX_LIMIT)))
        ).scalars()
    )
    banks = _payments(session, tenant_id, [row.bank_payment_id for row in rows if row.bank_payment_id])
    return [_payout(row, banks.get(row.bank_payment_id or "")) for row in rows]


def _payments(session: Session, tenant_id: str, payment_ids: list[str]) -> dict[str, PaymentRecord]:
    found: dict[str, PaymentRecord] = {}
    for start in range(0, len(payment_ids), 500):
        for row in session.execute(
            select(PaymentRecord).where(
                col(PaymentRecord.tenant_id) == tenant_id,
                col(PaymentRecord.id).in_(payment_ids[start : start + 500]),
            )
        ).scalars():
            found[row.id] = row
    return found


def _bank(row: PaymentRecord | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "amount": row.amount,
        "currency": row.currency,
        "booking_date": _iso(row.booking_date or row.value_date),
        "payer_name": row.payer_name,
        "status": row.status,
    }


def _payout(row: CardPayout, bank: PaymentRecord | None) -> dict[str, Any]:
    return {
        **PayoutView.of(row).as_dict(),
        "advices": len(row.payment_ids),
        "created_at": _iso(row.created_at),
        "reconciled_at": _iso(row.reconciled_at),
        "bank_payment": _bank(bank),
    }


def payout_detail(session: Session, tenant_id: str, payout_id: str) -> dict[str, Any]:
    """One payout with the advices it bundles: each advice's amount, date, provider payment id, the
    invoices it was applied to (number, amount) and the checkout it came from; the bank payment it was
    reconciled with. `CardPayoutNotFound` for an unknown id or another tenant's."""
    row = session.get(CardPayout, payout_id)
    if row is None or row.tenant_id != tenant_id:
        raise CardPayoutNotFound(payout_id)
    ids = list(row.payment_ids)
    advices = _payments(session, tenant_id, ids)
    bank = _payments(session, tenant_id, [row.bank_payment_id] if row.bank_payment_id else [])
    allocations: dict[str, list[PaymentAllocation]] = {}
    if ids:
        for allocation in session.execute(
            select(PaymentAllocation)
            .where(
                col(PaymentAllocation.tenant_id) == tenant_id,
                col(PaymentAllocation.payment_id).in_(ids),
                col(PaymentAllocation.reversed_at).is_(None),
            )
            .order_by(col(PaymentAllocation.created_at), col(PaymentAllocation.id))
        ).scalars():
            allocations.setdefault(allocation.payment_id, []).append(allocation)
    invoices = _invoices(session, tenant_id, (a.invoice_id for group in allocations.values() for a in group))
    checkouts = {
        checkout.payment_id: checkout
        for checkout in session.execute(
            select(CardCheckout).where(
                col(CardCheckout.tenant_id) == tenant_id, col(CardCheckout.payment_id).in_(ids or [""])
            )
        ).scalars()
    }
    bundled = []
    for payment_id in ids:
        advice = advices.get(payment_id)
        checkout = checkouts.get(payment_id)
        bundled.append(
            {
                "payment_id": payment_id,
                "amount": advice.amount if advice else None,
                "currency": advice.currency if advice else None,
                "date": _iso((advice.value_date or advice.booking_date) if advice else None),
                "provider_payment": advice.bank_reference if advice else None,
                "payer_name": advice.payer_name if advice else None,
                "status": advice.status if advice else None,
                "checkout_id": checkout.id if checkout else None,
                "receiver_id": checkout.receiver_id if checkout else None,
                "invoices": [
                    {
                        "id": allocation.invoice_id,
                        "number": invoices[allocation.invoice_id].number
                        if allocation.invoice_id in invoices
                        else None,
                        "amount": allocation.amount,
                    }
                    for allocation in allocations.get(payment_id, [])
                ],
            }
        )
    return {**_payout(row, bank.get(row.bank_payment_id or "")), "payments": bundled}
