"""Reading the posted journal: vouchers (streamed in number order), account and customer balances, the
customer numbers the ledger shows.

Why streamed and summed in Python: a month can hold hundreds of thousands of vouchers, so vouchers are read
in keyset chunks by number (memory stays one chunk); amounts are exact decimal text, which only Python sums
exactly on both databases (SQLite has no exact numeric type), so balances stream the lines too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric, cast, func, select
from sqlalchemy.orm import Session

from db.models import InvoiceRecord, LedgerLine, LedgerVoucher
from gateway.services.tenancy.tenants import tenant_settings
from schemas.ledger import Voucher, VoucherLine

#: Vouchers read per keyset chunk.
CHUNK_SIZE = 1000
#: Lines fetched per round trip while summing balances.
STREAM_ROWS = 10_000

_VOUCHERS = LedgerVoucher.__table__  # type: ignore[attr-defined]
_LINES = LedgerLine.__table__  # type: ignore[attr-defined]
_INVOICES = InvoiceRecord.__table__  # type: ignore[attr-defined]


class VoucherNotFound(LookupError):
    """No voucher with that number for the tenant."""


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _line(row: Any, numbers: dict[str, str]) -> VoucherLine:
    return VoucherLine(
        line_no=row.line_no,
        account=row.account,
        debit=Decimal(row.debit),
        credit=Decimal(row.credit),
        tax_code=row.tax_code,
        tax_rate=_decimal(row.tax_rate),
        tax_base=_decimal(row.tax_base),
        tax_amount=_decimal(row.tax_amount),
        customer_key=row.customer_key,
        customer_number=numbers.get(row.customer_key) if row.customer_key else None,
        document_number=row.document_number,
        kid=row.kid,
        due_date=row.due_date,
        text=row.text,
        currency=row.currency,
        currency_amount=_decimal(row.currency_amount),
        exchange_rate=_decimal(row.exchange_rate),
    )


def _vouchers(session: Session, tenant_id: str, rows: list[Any]) -> list[Voucher]:
    """`rows` (voucher rows) with their lines, in the rows' order."""
    ids = [row.id for row in rows]
    lines: dict[str, list[Any]] = defaultdict(list)
    keys: set[str] = set()
    for line in session.execute(
        select(_LINES).where(_LINES.c.voucher_id.in_(ids)).order_by(_LINES.c.voucher_id, _LINES.c.line_no)
    ):
        lines[line.voucher_id].append(line)
        if line.customer_key:
            keys.add(line.customer_key)
    numbers = customer_numbers(session, tenant_id, keys=keys)
    return [
        Voucher(
            number=row.number,
            period=row.period,
            voucher_date=row.voucher_date,
            event_date=row.event_date,
            voucher_type=row.voucher_type,
            source_key=row.source_key,
            customer_key=row.customer_key,
            description=row.description,
            lines=[_line(line, numbers) for line in lines[row.id]],
        )
        for row in rows
    ]


def iter_vouchers(
    session: Session,
    tenant_id: str,
    *,
    period: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    after: int = 0,
    chunk: int = CHUNK_SIZE,
) -> Iterator[Voucher]:
    """The tenant's vouchers in number order (of one period, and/or with a voucher date in
    [date_from, date_to]), after voucher number `after`, read `chunk` at a time."""
    last = after
    while True:
        query = select(_VOUCHERS).where(_VOUCHERS.c.tenant_id == tenant_id, _VOUCHERS.c.number > last)
        if period is not None:
            query = query.where(_VOUCHERS.c.period == period)
        if date_from is not None:
            query = query.where(_VOUCHERS.c.voucher_date >= date_from)
        if date_to is not None:
            query = query.where(_VOUCHERS.c.voucher_date <= date_to)
        rows = session.execute(query.order_by(_VOUCHERS.c.number).limit(chunk)).all()
        if not rows:
            return
        yield from _vouchers(session, tenant_id, list(rows))
        if len(rows) < chunk:
            return
        last = rows[-1].number


def get_voucher(session: Session, tenant_id: str, number: int) -> Voucher:
    row = session.execute(
        select(_VOUCHERS).where(_VOUCHERS.c.tenant_id == tenant_id, _VOUCHERS.c.number == number)
    ).first()
    if row is None:
        raise VoucherNotFound(f"no voucher {number}")
    return _vouchers(session, tenant_id, [row])[0]


def cents(column: Any) -> Any:
    """An amount column (exact two-decimal text) as whole cents in SQL: sums of it are exact on PostgreSQL
    and on SQLite (integers, not the doubles a text cast would sum in)."""
    return cast(func.round(cast(column, Numeric) * 100), BigInteger)


def amount_of_cents(value: Any) -> Decimal:
    """A sum of `cents` back as an amount with two decimals (0.00 for no rows)."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def account_balances(session: Session, tenant_id: str, before: dt.date) -> dict[str, Decimal]:
    """Each account's balance (debit − credit) of the lines dated before `before`, by account number."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    rows = session.execute(
        select(_LINES.c.account, _LINES.c.debit, _LINES.c.credit)
        .where(_LINES.c.tenant_id == tenant_id, _LINES.c.voucher_date < before)
        .execution_options(yield_per=STREAM_ROWS)
    )
    for account, debit, credit in rows:
        balances[account] += Decimal(debit) - Decimal(credit)
    return dict(sorted(balances.items()))


def customer_balances(session: Session, tenant_id: str, before: dt.date) -> dict[str, Decimal]:
    """Each customer's balance on the receivables account (debit − credit) before `before`."""
    receivables = tenant_settings(session, tenant_id).ledger.roles.receivables
    balances: dict[str, Decimal] = defaultdict(Decimal)
    rows = session.execute(
        select(_LINES.c.customer_key, _LINES.c.debit, _LINES.c.credit)
        .where(
            _LINES.c.tenant_id == tenant_id,
            _LINES.c.account == receivables,
            _LINES.c.voucher_date < before,
        )
        .execution_options(yield_per=STREAM_ROWS)
    )
    for key, debit, credit in rows:
        balances[key or ""] += Decimal(debit) - Decimal(credit)
    return dict(sorted(balances.items()))


def customer_numbers(session: Session, tenant_id: str, *, keys: set[str] | None = None) -> dict[str, str]:
    """The number the ledger shows for each customer: the receiver id its invoices name (the ERP's
    customer id), else the customer key itself. Every customer on a posted line, or only `keys`."""
    if keys is None:
        keys = set(
            session.execute(
                select(_LINES.c.customer_key)
                .where(_LINES.c.tenant_id == tenant_id, _LINES.c.customer_key.is_not(None))
                .distinct()
            ).scalars()
        )
    numbers = {key: key for key in keys}
    listed = sorted(keys)
    for start in range(0, len(listed), 500):
        part = listed[start : start + 500]
        for key, receiver_id in session.execute(
            select(_INVOICES.c.customer_key, func.max(_INVOICES.c.receiver_id))
            .where(
                _INVOICES.c.tenant_id == tenant_id,
                _INVOICES.c.customer_key.in_(part),
                _INVOICES.c.receiver_id.is_not(None),
            )
            .group_by(_INVOICES.c.customer_key)
        ):
            if receiver_id:
                numbers[key] = receiver_id
    return numbers


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def voucher_view(voucher: Voucher) -> dict[str, Any]:
    """A voucher as the API and `--json` show it (amounts as exact decimal text)."""
    return {
        "number": voucher.number,
        "period": voucher.period,
        "voucher_date": voucher.voucher_date.isoformat(),
        "event_date": voucher.event_date.isoformat(),
        "voucher_type": voucher.voucher_type,
        "source_key": voucher.source_key,
        "customer_key": voucher.customer_key,
        "description": voucher.description,
        "debit_total": str(voucher.debit_total),
        "credit_total": str(voucher.credit_total),
        "lines": [
            {
                "line_no": line.line_no,
                "account": line.account,
                "debit": str(line.debit),
                "credit": str(line.credit),
                "tax_code": line.tax_code,
                "tax_rate": _amount(line.tax_rate),
                "tax_base": _amount(line.tax_base),
                "tax_amount": _amount(line.tax_amount),
                "customer_key": line.customer_key,
                "customer_number": line.customer_number,
                "document_number": line.document_number,
                "kid": line.kid,
                "due_date": line.due_date.isoformat() if line.due_date else None,
                "text": line.text,
                "currency": line.currency,
                "currency_amount": _amount(line.currency_amount),
                "exchange_rate": _amount(line.exchange_rate),
            }
            for line in voucher.lines
        ],
    }


def balances_view(session: Session, tenant_id: str, on: dt.date) -> dict[str, Any]:
    """Account and customer balances at the end of `on` (every line dated on or before it)."""
    before = on + dt.timedelta(days=1) if on < dt.date.max else on  # (the calendar's last day: as good)
    accounts = account_balances(session, tenant_id, before)
    customers = customer_balances(session, tenant_id, before)
    numbers = customer_numbers(session, tenant_id, keys=set(customers))
    names = {account.number: account.name for account in tenant_settings(session, tenant_id).ledger.accounts}
    return {
        "date": on.isoformat(),
        "accounts": [
            {"account": number, "name": names.get(number, ""), "balance": str(balance)}
            for number, balance in accounts.items()
        ],
        "customers": [
            {"customer_key": key, "customer_number": numbers.get(key, key), "balance": str(balance)}
            for key, balance in customers.items()
        ],
        "total": str(sum(accounts.values(), Decimal(0))),
    }
