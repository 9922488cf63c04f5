"""Vouchers as the journal renderers take them: an invoice with VAT, a foreign-currency payment, a notice's
charges, with the texts a ledger file must survive (a semicolon, a line break, a formula, non-ASCII)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from schemas.ledger import Voucher, VoucherLine

DAY = dt.date(2026, 11, 3)


def invoice(number: int = 1, *, text: str = "Invoice 1001") -> Voucher:
    return Voucher(
        number=number, period="2026-11", voucher_date=DAY, event_date=DAY, voucher_type="invoice",
        source_key=f"invoice:{number}", customer_key="0192:987654321", description=text,
        lines=[
            VoucherLine(line_no=1, account="1500", debit=Decimal("1250.00"), customer_key="0192:987654321",
                        customer_number="10001", document_number="1001", kid="10010",
                        due_date=dt.date(2026, 12, 3), text=text),
            VoucherLine(line_no=2, account="3000", credit=Decimal("1000.00"), tax_code="3",
                        tax_rate=Decimal("25"), tax_base=Decimal("1000.00"), tax_amount=Decimal("250.00"),
                        text=text),
            VoucherLine(line_no=3, account="2700", credit=Decimal("250.00"), text=text),
        ],
    )  # fmt: skip


def fx_payment(number: int = 2) -> Voucher:
    day = dt.date(2026, 11, 20)
    return Voucher(
        number=number, period="2026-11", voucher_date=day, event_date=dt.date(2026, 10, 31),
        voucher_type="payment", source_key=f"payment:{number}", customer_key="C-2", description="Payment",
        lines=[
            VoucherLine(line_no=1, account="1920", debit=Decimal("1175.50"), currency="EUR",
                        currency_amount=Decimal("100.00"), exchange_rate=Decimal("11.755")),
            VoucherLine(line_no=2, account="1500", credit=Decimal("1170.00"), customer_key="C-2",
                        document_number="1002", currency="EUR", currency_amount=Decimal("-100.00"),
                        exchange_rate=Decimal("11.70")),
            VoucherLine(line_no=3, account="8060", credit=Decimal("5.50")),
        ],
    )  # fmt: skip


def notice(number: int = 3) -> Voucher:
    return Voucher(
        number=number, period="2026-11", voucher_date=DAY, event_date=DAY, voucher_type="notice",
        source_key=f"notice:{number}", customer_key="C-3", description="Purregebyr; 2.\ngang =SUM(A1)",
        lines=[
            VoucherLine(line_no=1, account="1500", debit=Decimal("105.00"), customer_key="C-3",
                        kid="0000123"),
            VoucherLine(line_no=2, account="3900", credit=Decimal("70.00")),
            VoucherLine(line_no=3, account="8050", credit=Decimal("35.00"), text="Forsinkelsesrente øre"),
        ],
    )  # fmt: skip


def month() -> list[Voucher]:
    return [invoice(), fx_payment(), notice()]


def unbalanced(number: int = 9) -> Voucher:
    return Voucher(
        number=number, period="2026-11", voucher_date=DAY, event_date=DAY, voucher_type="allocation",
        source_key="allocation:x",
        lines=[VoucherLine(line_no=1, account="2900", debit=Decimal("10.00")),
               VoucherLine(line_no=2, account="1500", credit=Decimal("9.00"))],
    )  # fmt: skip
