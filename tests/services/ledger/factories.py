"""Ledger test set-up: invoices and credit notes through the real intake, payments written as remittance
intake writes them, allocations and reversals through the real payment services (then dated), notices as
follow-up writes them, and vouchers written directly for tests of readers that need no posting.

Dates matter to posting (an allocation posts on its creation day), and the services stamp "now": the
helpers that call a service date the rows it wrote afterwards (`at=`), as if it had run that day.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import (
    InvoiceRecord,
    LedgerLine,
    LedgerPeriod,
    LedgerVoucher,
    PaymentAllocation,
    PaymentRecord,
    ReminderNotice,
    RemittanceFile,
    new_id,
)
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.payments import matching_runs
from gateway.services.payments.credits import apply_credit_note
from gateway.services.tenancy.tenants import (
    ensure_tenant,
    put_receiver,
    put_tenant_settings,
    tenant_settings,
)
from schemas.canonical import (
    AllowanceCharge,
    InvoiceLine,
    ReceiverProfile,
    compute_totals,
    compute_vat_breakdown,
    round_amount,
)
from schemas.ledger import ExchangeRate
from schemas.remittance import Payment

SELLER: dict[str, Any] = {
    "name": "Nordlys Verktøy AS",
    "legal_registration": {"value": "987654325", "scheme": "0192"},
    "vat_id": "NO987654325MVA",
    "address": {"lines": ["Storgata 1"], "city": "Oslo", "postal_code": "0155", "country": "NO"},
}


def buyer(org: str, name: str | None = None) -> dict[str, Any]:
    """A buyer known by its organisation number (its customer key is `org:0192:<org>`)."""
    return {
        "name": name or f"Kunde {org} AS",
        "legal_registration": {"value": org, "scheme": "0192"},
        "address": {"lines": ["Gate 1"], "city": "Bergen", "postal_code": "5003", "country": "NO"},
    }


def customer_key(org: str) -> str:
    return f"org:0192:{org}"


_numbers = itertools.count(1)
Line = tuple[str, str | None, str]  # VAT category, rate (None: none), net amount


def invoice_data(
    *,
    lines: Sequence[Line] = (("S", "25", "1000.00"),),
    number: str | None = None,
    issue_date: dt.date = dt.date(2026, 11, 2),
    currency: str = "NOK",
    credit_note: bool = False,
    org: str = "910667831",
    prepaid: str = "0",
    kid: str | None = None,
    receiver_id: str | None = None,
) -> dict[str, Any]:
    """A valid canonical invoice (or credit note) with these lines, totals computed as EN 16931 does."""
    line_models = []
    for index, (category, rate, net) in enumerate(lines, 1):
        line = InvoiceLine.model_validate(
            {
                "id": str(index),
                "quantity": Decimal(1),
                "unit_code": "EA",
                "net_amount": Decimal(net),
                "price": {"net": Decimal(net)},
                "vat_category": category,
                "vat_rate": None if rate is None else Decimal(rate),
                "item": {"name": f"Vare {index}"},
            }
        )
        line_models.append(line)
    charges: list[AllowanceCharge] = []
    breakdown = compute_vat_breakdown(line_models, charges)
    for entry in breakdown:
        if entry.category.value == "E":
            entry.exemption_reason = "Unntatt"
    totals = compute_totals(line_models, charges, breakdown, prepaid=Decimal(prepaid))
    n = next(_numbers)
    data: dict[str, Any] = {
        "document_type": "credit_note" if credit_note else "invoice",
        "number": number or f"{'CN' if credit_note else 'INV'}-L{n:05d}",
        "issue_date": issue_date.isoformat(),
        "due_date": None if credit_note else (issue_date + dt.timedelta(days=14)).isoformat(),
        "currency": currency,
        "seller": SELLER,
        "buyer": buyer(org),
        "payment_means": [{"code": "30", "payment_id": kid, "account": {"id": "86011117947"}}] if kid else [],
        "lines": [line.model_dump(mode="json") for line in line_models],
        "vat_breakdown": [entry.model_dump(mode="json", exclude_none=True) for entry in breakdown],
        "totals": totals.model_dump(mode="json"),
        "routing": {"receiver_id": receiver_id} if receiver_id else None,
    }
    if credit_note:
        data["preceding_invoices"] = [{"id": "INV-1", "issue_date": issue_date.isoformat()}]
    return {k: v for k, v in data.items() if v is not None}


def invoice(engine: Engine, tenant_id: str = "acme", **kwargs: Any) -> InvoiceRecord:
    """An invoice (or credit note: `credit_note=True`) accepted by the real intake; its stored row."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant_id)
        if kwargs.get("receiver_id"):
            profile = ReceiverProfile(receiver_id=kwargs["receiver_id"], preferred_channel="folder")
            put_receiver(session, tenant_id, profile)
    [result] = accept_invoices(
        engine, tenant_id, [IntakeItem(invoice_data(**kwargs))], actor="test", default_channel="folder"
    )
    assert result.outcome == "created", result.errors
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, result.invoice_id)
        assert record is not None
        return record


def payment(
    engine: Engine,
    amount: str,
    *,
    tenant_id: str = "acme",
    booking_date: dt.date = dt.date(2026, 11, 10),
    currency: str = "NOK",
    payer: str = "Kunde AS",
    instructed: tuple[str, str] | None = None,
    status: str = "new",
    direction: str = "credit",
) -> PaymentRecord:
    """A payment as remittance intake writes it (status `new`, its file accepted)."""
    data = Payment(
        amount=Decimal(amount),
        currency=currency,
        direction=direction,  # type: ignore[arg-type]
        booking_date=booking_date,
        value_date=booking_date,
        payer_name=payer,
        bank_reference=f"REF-{new_id()[:10]}",
        instructed_amount=Decimal(instructed[0]) if instructed else None,
        instructed_currency=instructed[1] if instructed else None,
        kind="camt",
    )
    with session_scope(engine) as session:
        ensure_tenant(session, tenant_id)
        file = RemittanceFile(
            tenant_id=tenant_id,
            payload_sha256=new_id() + new_id(),
            document_key="test",
            size=1,
            source="cli",
            status="accepted",
            payment_count=1,
        )
        session.add(file)
        session.flush()
        record = PaymentRecord(
            tenant_id=tenant_id,
            file_id=file.id,
            sequence=1,
            kind="camt",
            direction=direction,
            amount=amount,
            currency=currency,
            booking_date=booking_date,
            value_date=booking_date,
            payer_name=payer,
            bank_reference=data.bank_reference,
            data=data.as_dict(),
            status=status,
        )
        session.add(record)
        session.flush()
        return record


def _date_new_allocations(engine: Engine, payment_id: str, before: set[str], at: dt.datetime) -> list[str]:
    with session_scope(engine) as session:
        ids = [
            allocation_id
            for allocation_id in session.execute(
                select(col(PaymentAllocation.id)).where(col(PaymentAllocation.payment_id) == payment_id)
            ).scalars()
            if allocation_id not in before
        ]
        if ids:
            session.execute(
                update(PaymentAllocation).where(col(PaymentAllocation.id).in_(ids)).values(created_at=at)
            )
        return ids


def _allocation_ids(engine: Engine, payment_id: str) -> set[str]:
    with session_scope(engine) as session:
        return set(
            session.execute(
                select(col(PaymentAllocation.id)).where(col(PaymentAllocation.payment_id) == payment_id)
            ).scalars()
        )


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.UTC)


def apply(
    engine: Engine,
    payment_id: str,
    allocations: Sequence[tuple[str, str]],
    *,
    at: dt.date,
    write_off: str = "0",
    tenant_id: str = "acme",
) -> list[str]:
    """A person's resolution through `matching_runs.resolve_payment` (replacing what was applied), its new
    allocations dated `at` (and any allocation it reversed, too); their ids."""
    before = _allocation_ids(engine, payment_id)
    matching_runs.resolve_payment(
        engine,
        tenant_id,
        payment_id,
        [(i, Decimal(a)) for i, a in allocations],
        actor="test",
        write_off=Decimal(write_off),
        learn=False,
    )
    with session_scope(engine) as session:
        session.execute(
            update(PaymentAllocation)
            .where(
                col(PaymentAllocation.id).in_(before),
                col(PaymentAllocation.reversed_at).is_not(None),
                col(PaymentAllocation.reversed_by) == "test",
            )
            .values(reversed_at=noon(at), reversed_by="test-dated")
        )
    return _date_new_allocations(engine, payment_id, before, noon(at))


def reverse(engine: Engine, payment_id: str, *, at: dt.date, tenant_id: str = "acme") -> None:
    """`matching_runs.reverse_payment`, its reversals dated `at`."""
    matching_runs.reverse_payment(engine, tenant_id, payment_id, actor="test", reason="wrong invoice")
    with session_scope(engine) as session:
        session.execute(
            update(PaymentAllocation)
            .where(
                col(PaymentAllocation.payment_id) == payment_id, col(PaymentAllocation.reversed_by) == "test"
            )
            .values(reversed_at=noon(at), reversed_by="test-dated")
        )


def set_off_credit_note(engine: Engine, invoice_id: str, credit_note_id: str, amount: str) -> None:
    """A credit note set against its invoice by `credits.apply_credit_note` (no allocation row)."""
    with session_scope(engine) as session:
        apply_credit_note(
            session,
            invoice_id,
            credit_note_id,
            Decimal(amount),
            actor="test",
            now=noon(dt.date(2026, 11, 20)),
        )


def notice(
    engine: Engine,
    *,
    org: str = "910667831",
    fee: str = "0",
    interest: str = "0",
    compensation: str = "0",
    on: dt.date = dt.date(2026, 11, 20),
    status: str = "sent",
    currency: str = "NOK",
    kid: str | None = None,
    tenant_id: str = "acme",
) -> ReminderNotice:
    """A reminder notice as follow-up writes one (the charges it claims), in `status`."""
    total = Decimal(fee) + Decimal(interest) + Decimal(compensation)
    with session_scope(engine) as session:
        ensure_tenant(session, tenant_id)
        row = ReminderNotice(
            tenant_id=tenant_id,
            customer_key=customer_key(org),
            level=1,
            kind="reminder",
            status=status,
            notice_on=on,
            deadline=on + dt.timedelta(days=14),
            currency=currency,
            fee=fee,
            interest=interest,
            compensation=compensation,
            open_total="0",
            total=str(total),
            kid=kid,
            updated_at=noon(on),
        )
        session.add(row)
        session.flush()
        return row


def fail_notice(engine: Engine, notice_id: str, *, at: dt.date) -> None:
    """The notice came back after it left (as `notices.on_delivery_status_change` marks it)."""
    with session_scope(engine) as session:
        session.execute(
            update(ReminderNotice)
            .where(col(ReminderNotice.id) == notice_id)
            .values(status="failed", cancel_reason="returned", updated_at=noon(at))
        )


def rates(engine: Engine, *entries: tuple[str, dt.date, str], tenant_id: str = "acme") -> None:
    """Exchange rates in the tenant's ledger settings: (currency, effective from, NOK per unit)."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant_id)
        settings = tenant_settings(session, tenant_id)
        settings.ledger.exchange_rates = [
            ExchangeRate(currency=c, effective_from=d, rate=Decimal(r)) for c, d, r in entries
        ]
        put_tenant_settings(session, tenant_id, settings, actor="test")


def close_period(engine: Engine, period: str, *, tenant_id: str = "acme") -> None:
    with session_scope(engine) as session:
        session.merge(LedgerPeriod(tenant_id=tenant_id, period=period, status="closed", closed_by="test"))


def voucher(
    engine: Engine,
    number: int,
    lines: Sequence[tuple[str, str, str]],
    *,
    tenant_id: str = "acme",
    day: dt.date = dt.date(2026, 11, 2),
    voucher_type: str = "invoice",
    customer: str | None = None,
    document_number: str | None = None,
) -> str:
    """A voucher written directly (for readers' tests): lines (account, debit, credit); the customer goes
    on every line of the receivables account 1500."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant_id)
        row = LedgerVoucher(
            tenant_id=tenant_id,
            number=number,
            period=day.strftime("%Y-%m"),
            voucher_date=day,
            event_date=day,
            voucher_type=voucher_type,
            source_key=f"test:{number}",
            customer_key=customer,
            description=f"voucher {number}",
        )
        session.add(row)
        session.flush()
        for line_no, (account, debit, credit) in enumerate(lines, 1):
            session.add(
                LedgerLine(
                    voucher_id=row.id,
                    tenant_id=tenant_id,
                    line_no=line_no,
                    voucher_date=day,
                    account=account,
                    debit=debit,
                    credit=credit,
                    customer_key=customer if account == "1500" else None,
                    document_number=document_number,
                )
            )
        return row.id


def money(value: str | Decimal) -> Decimal:
    return round_amount(Decimal(value))
