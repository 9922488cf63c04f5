"""A posted month for the SAF-T tests, written as posting would write it (until `posting` lands, the rows are
inserted here directly): two customers invoiced through POST /invoices, and November 2026's vouchers of
every type — an invoice, a foreign-currency invoice, a credit note, a payment with an overpayment, an
allocation and its reversal, an FX payment with a currency gain, a notice's charges and their reversal —
after an October invoice that gives one customer an opening balance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import InvoiceRecord, LedgerSource
from db.models.ledger import LedgerLine, LedgerVoucher
from gateway.samples import sample_invoice_json

NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


@dataclass(frozen=True)
class Line:
    account: str
    debit: str = "0"
    credit: str = "0"
    customer: str | None = None
    extra: dict[str, Any] | None = None


def add_voucher(
    engine: Engine,
    number: int,
    day: dt.date,
    voucher_type: str,
    lines: list[Line],
    *,
    tenant_id: str = "acme",
    description: str = "",
) -> None:
    """One voucher and its lines, as posting writes them (nothing checked: tests force faults with it)."""
    with session_scope(engine) as session:
        voucher = LedgerVoucher(
            tenant_id=tenant_id,
            number=number,
            period=f"{day:%Y-%m}",
            voucher_date=day,
            event_date=day,
            voucher_type=voucher_type,
            source_key=f"{voucher_type}:{number}",
            customer_key=next((line.customer for line in lines if line.customer), None),
            description=description,
            created_at=dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC),
        )
        session.add(voucher)
        session.flush()
        for line_no, line in enumerate(lines, 1):
            session.add(
                LedgerLine(
                    voucher_id=voucher.id,
                    tenant_id=tenant_id,
                    line_no=line_no,
                    voucher_date=day,
                    account=line.account,
                    debit=line.debit,
                    credit=line.credit,
                    customer_key=line.customer,
                    **(line.extra or {}),
                )
            )


def invoice_customers(client: TestClient, auth: dict[str, str]) -> tuple[str, str]:
    """Two customers with an invoice each (the second under receiver id C-2); their customer keys."""
    profile = {"receiver_id": "C-2", "preferred_channel": "folder"}
    assert client.put("/receivers/C-2", json=profile, headers=auth).status_code == 200
    for n, receiver in ((1, None), (2, "C-2")):
        data = sample_invoice_json(n)
        if receiver:
            data["routing"] = {"receiver_id": receiver}
        answer = client.post("/invoices", json=data, headers=auth)
        assert answer.status_code == 201, answer.text
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        rows = session.execute(
            select(InvoiceRecord.id, InvoiceRecord.number, InvoiceRecord.customer_key)
        ).all()
        keys = {number: key for _, number, key in rows}
        # the seeded vouchers stand for these invoices: a posting run before an export must not post them
        # again (as if an earlier run had posted them)
        for invoice_id, _, _ in rows:
            session.add(LedgerSource(tenant_id="acme", source_key=f"invoice:{invoice_id}", voucher_id=None))
    first, second = sorted(keys)
    return str(keys[first]), str(keys[second])


def tax(code: str, rate: str, base: str, amount: str) -> dict[str, Any]:
    return {"tax_code": code, "tax_rate": rate, "tax_base": base, "tax_amount": amount}


def receivable(number: str, kid: str | None = None) -> dict[str, Any]:
    return {"document_number": number, "kid": kid, "due_date": dt.date(2026, 12, 1)}


def eur(amount: str, rate: str = "11.5") -> dict[str, Any]:
    return {"currency": "EUR", "currency_amount": amount, "exchange_rate": rate}


def seed_month(engine: Engine, a: str, b: str) -> None:
    """October: B owes 625. November: every voucher type; A ends at 200, B at 625."""
    nov = dt.date(2026, 11, 2)
    add_voucher(engine, 1, dt.date(2026, 10, 15), "invoice", [
        Line("1500", debit="625.00", customer=b, extra=receivable("INV-0")),
        Line("3000", credit="500.00", extra=tax("3", "25", "500.00", "125.00")),
        Line("2700", credit="125.00"),
    ])  # fmt: skip
    add_voucher(engine, 2, nov, "invoice", [
        Line("1500", debit="1250.00", customer=a, extra=receivable("INV-1", "0000000018")),
        Line("3000", credit="1000.00", extra=tax("3", "25", "1000.00", "250.00")),
        Line("2700", credit="250.00"),
    ], description="Faktura INV-1")  # fmt: skip
    add_voucher(engine, 3, nov, "invoice", [
        Line("1500", debit="1150.00", customer=b, extra={**receivable("INV-2"), **eur("100.00")}),
        Line("3100", credit="1150.00", extra={**tax("52", "0", "1150.00", "0.00"), **eur("-100.00")}),
    ])  # fmt: skip
    add_voucher(engine, 4, dt.date(2026, 11, 5), "credit_note", [
        Line("3000", debit="200.00", extra=tax("3", "25", "200.00", "50.00")),
        Line("2700", debit="50.00"),
        Line("1500", credit="250.00", customer=a, extra=receivable("CN-1")),
    ])  # fmt: skip
    add_voucher(engine, 5, dt.date(2026, 11, 10), "payment", [
        Line("1920", debit="1000.00"),
        Line("1500", credit="800.00", customer=a, extra=receivable("INV-1")),
        Line("2900", credit="200.00"),
    ])  # fmt: skip
    add_voucher(engine, 6, dt.date(2026, 11, 11), "allocation", [
        Line("2900", debit="200.00"),
        Line("1500", credit="200.00", customer=a, extra=receivable("INV-1")),
    ])  # fmt: skip
    add_voucher(engine, 7, dt.date(2026, 11, 12), "allocation_reversal", [
        Line("1500", debit="200.00", customer=a, extra=receivable("INV-1")),
        Line("2900", credit="200.00"),
    ])  # fmt: skip
    add_voucher(engine, 8, dt.date(2026, 11, 20), "payment", [
        Line("1920", debit="1160.00", extra=eur("100.00", "11.6")),
        Line("1500", credit="1150.00", customer=b, extra={**receivable("INV-2"), **eur("-100.00")}),
        Line("8060", credit="10.00"),
    ])  # fmt: skip
    add_voucher(engine, 9, dt.date(2026, 11, 25), "notice", [
        Line("1500", debit="70.00", customer=b, extra=receivable("N-1")),
        Line("3900", credit="70.00"),
    ])  # fmt: skip
    add_voucher(engine, 10, dt.date(2026, 11, 27), "notice_reversal", [
        Line("3900", debit="70.00"),
        Line("1500", credit="70.00", customer=b, extra=receivable("N-1")),
    ])  # fmt: skip


NOVEMBER_DEBIT = Decimal("5350.00")  # 1250 + 1150 + 250 + 1000 + 200 + 200 + 1160 + 70 + 70
