"""Rows for the report tests, written as the intake, matching and the outbox would write them, with the
dates and amounts a test states (so every figure can be worked out by hand)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy.orm import Session

from db.models import (
    Delivery,
    DeliveryEvent,
    Deviation,
    Dispute,
    InvoiceRecord,
    PaymentAllocation,
    PaymentRecord,
    RemittanceFile,
)
from db.models.base import new_id
from gateway.services.tenancy.tenants import ensure_tenant


def at(day: str, time: str = "12:00") -> dt.datetime:
    """A moment in UTC: `at("2026-11-10")`."""
    return dt.datetime.fromisoformat(f"{day}T{time}:00+00:00")


def invoice(
    session: Session,
    number: str,
    amount: str,
    issued: str,
    due: str | None,
    *,
    customer: str = "C-1",
    name: str | None = None,
    currency: str = "NOK",
    credit_note: bool = False,
    tenant: str = "acme",
) -> str:
    ensure_tenant(session, tenant)
    record = InvoiceRecord(
        tenant_id=tenant,
        idempotency_key=f"{tenant}:{number}",
        payload_sha256=hashlib.sha256(number.encode()).hexdigest(),
        document_type="credit_note" if credit_note else "invoice",
        number=number,
        issue_date=dt.date.fromisoformat(issued),
        due_date=dt.date.fromisoformat(due) if due else None,
        currency=currency,
        payable_amount=amount,
        buyer_name=name or f"Customer {customer}",
        customer_key=customer,
        payload="{}",
    )
    session.add(record)
    session.flush()
    return record.id


def payment(
    session: Session,
    amount: str,
    paid: str,
    *,
    currency: str = "NOK",
    status: str = "applied",
    created: dt.datetime | None = None,
    tenant: str = "acme",
) -> str:
    """A payment with value date `paid`, in a remittance file of its own."""
    ensure_tenant(session, tenant)
    key = f"{tenant}:{amount}:{paid}:{new_id()}"
    remittance = RemittanceFile(
        tenant_id=tenant,
        payload_sha256=hashlib.sha256(key.encode()).hexdigest(),
        document_key="",
        size=1,
        source="api",
        status="accepted",
    )
    session.add(remittance)
    session.flush()
    record = PaymentRecord(
        tenant_id=tenant,
        file_id=remittance.id,
        sequence=1,
        kind="credit_transfer",
        direction="credit",
        amount=amount,
        currency=currency,
        value_date=dt.date.fromisoformat(paid),
        booking_date=dt.date.fromisoformat(paid),
        data={},
        status=status,
        decided_by="matching" if status == "applied" else None,
        created_at=created or at(paid),
    )
    session.add(record)
    session.flush()
    return record.id


def allocate(
    session: Session,
    payment_id: str,
    invoice_id: str,
    amount: str,
    created: dt.datetime,
    *,
    write_off: str = "0",
    reversed_at: dt.datetime | None = None,
    tenant: str = "acme",
) -> None:
    session.add(
        PaymentAllocation(
            tenant_id=tenant,
            payment_id=payment_id,
            invoice_id=invoice_id,
            amount=amount,
            write_off=write_off,
            created_by="matching",
            created_at=created,
            reversed_at=reversed_at,
            reversed_by="kari" if reversed_at else None,
        )
    )
    session.flush()


def paid(session: Session, invoice_id: str, amount: str, day: str, **options: str) -> None:
    """A payment of `amount` with value date `day`, allocated to the invoice on that day."""
    allocate(session, payment(session, amount, day), invoice_id, amount, at(day), **options)


def dispute_credit(
    session: Session, invoice_id: str, credit_note_id: str, amount: str, resolved: dt.datetime
) -> None:
    """A dispute credited with `credit_note_id`: what `disputes.approve_credit` leaves (no allocation)."""
    session.add(
        Dispute(
            tenant_id="acme", invoice_id=invoice_id, category="price", origin="customer", reason="too dear",
            status="credited", opened_by="kari", resolved_at=resolved, resolved_by="ola",
            credit_amount=amount, credit_requested_by="kari", credit_note_invoice_id=credit_note_id,
        )
    )  # fmt: skip
    session.flush()


def delivery(
    session: Session,
    channel: str,
    created: dt.datetime,
    status: str,
    *,
    delivered_after: list[float] = (),  # type: ignore[assignment]
    deviations: int = 0,
    tenant: str = "acme",
) -> str:
    """A delivery created at `created`, now `status`, with a `delivered` event `delivered_after` seconds
    after it was created (each number one event) and `deviations` deviation rows."""
    ensure_tenant(session, tenant)
    row = Delivery(tenant_id=tenant, channel=channel, status=status, created_at=created, updated_at=created)
    session.add(row)
    session.flush()
    for seconds in delivered_after:
        session.add(
            DeliveryEvent(
                delivery_id=row.id, tenant_id=tenant, at=created + dt.timedelta(seconds=seconds), attempt=1,
                from_status="sent", to_status="delivered", actor="worker",
            )
        )  # fmt: skip
    for attempt in range(1, deviations + 1):
        session.add(
            Deviation(
                tenant_id=tenant, delivery_id=row.id, attempt=attempt, channel=channel, cause="rejected"
            )
        )
    session.flush()
    return row.id
