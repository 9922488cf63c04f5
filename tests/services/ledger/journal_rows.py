"""Posted vouchers written straight into the ledger tables, for the journal-export tests (the posting engine
writes them in production): an invoice, a payment, and an unbalanced voucher when a test needs one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import LedgerLine, LedgerVoucher
from gateway.services.tenancy.tenants import ensure_tenant

Line = tuple[str, str, str]  # account, debit, credit


def add_voucher(
    engine: Engine,
    tenant_id: str,
    day: dt.date,
    lines: list[Line],
    *,
    voucher_type: str = "invoice",
    source_key: str | None = None,
    customer_key: str | None = None,
    document_number: str | None = None,
    kid: str | None = None,
    text: str = "",
    period: str | None = None,
) -> int:
    """One voucher numbered max + 1 for the tenant; its number. The 1500 line carries the customer."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant_id)
        number = (
            int(
                session.execute(
                    select(func.max(col(LedgerVoucher.number))).where(
                        col(LedgerVoucher.tenant_id) == tenant_id
                    )
                ).scalar_one()
                or 0
            )
            + 1
        )
        voucher = LedgerVoucher(
            tenant_id=tenant_id,
            number=number,
            period=period or f"{day:%Y-%m}",
            voucher_date=day,
            event_date=day,
            voucher_type=voucher_type,
            source_key=source_key or f"{voucher_type}:{number}",
            customer_key=customer_key,
            description=text or f"{voucher_type} {number}",
        )
        session.add(voucher)
        session.flush()
        for line_no, (account, debit, credit) in enumerate(lines, start=1):
            first = account == "1500"
            session.add(
                LedgerLine(
                    voucher_id=voucher.id,
                    tenant_id=tenant_id,
                    line_no=line_no,
                    voucher_date=day,
                    account=account,
                    debit=debit,
                    credit=credit,
                    tax_code="3" if account == "3000" else None,
                    tax_rate="25" if account == "3000" else None,
                    tax_base=credit if account == "3000" else None,
                    tax_amount=str(Decimal(credit) / 4) if account == "3000" else None,
                    customer_key=customer_key if first else None,
                    document_number=document_number if first else None,
                    kid=kid if first else None,
                    due_date=day + dt.timedelta(days=30) if first and document_number else None,
                    text=text,
                )
            )
    return number


def add_invoice(engine: Engine, tenant_id: str, day: dt.date, net: str, *, number: str, customer: str) -> int:
    """1500 debit (customer, invoice number, KID), 3000 credit with tax code 3, 2700 credit: 25 % VAT."""
    vat = Decimal(net) / 4
    gross = Decimal(net) + vat
    return add_voucher(
        engine, tenant_id, day,
        [("1500", f"{gross:.2f}", "0"), ("3000", "0", f"{Decimal(net):.2f}"), ("2700", "0", f"{vat:.2f}")],
        customer_key=customer, document_number=number, kid=f"{number}7", text=f"Invoice {number}",
    )  # fmt: skip


def add_payment(engine: Engine, tenant_id: str, day: dt.date, amount: str, *, customer: str) -> int:
    """1920 debit, 1500 credit."""
    return add_voucher(
        engine, tenant_id, day, [("1920", amount, "0"), ("1500", "0", amount)],
        voucher_type="payment", customer_key=customer, text="Payment",
    )  # fmt: skip
