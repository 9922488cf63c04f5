"""Days sales outstanding per month, the collection effectiveness index, and average days late.

Per currency (NOK is never added to EUR), for each month of the window; receivables are the open amounts
at the end of the month (`history`: invoices less credit notes), sales the month's invoices less its credit
notes (by issue date). The current month ends today.

- **Count-back DSO** (the standard count-back method): the receivables at the month's end are set against
  the sales of that month, then of the month before, and so on. Each month whose sales the remaining
  receivables cover in full adds all its days; the month where they run out adds its share of days
  (remaining ÷ that month's sales × its days). A month without sales adds its days and takes nothing.
  At most `COUNT_BACK_MONTHS` months are counted back; receivables left after that make the figure a lower
  bound (`complete` false). No receivables: 0 days.
- **Best-possible DSO**: current (not yet due) receivables at the month's end × the month's days ÷ the
  month's sales: the DSO if every customer paid on the due date. None without sales.
- **CEI** = (opening receivables + sales − closing receivables) ÷ (opening receivables + sales − closing
  current receivables) × 100, opening = the end of the month before. None when the divisor is not positive.
- **Average days late** per customer and currency, over the window: each payment allocated to an invoice
  (not reversed) weighs with its amount; its days late are the payment's day (value date, else booking
  date, else the day it was applied: `followup.customers.payment_day`) less the invoice's due date.
  Negative: paid early on average.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord, PaymentAllocation, PaymentRecord
from gateway.services.followup.customers import payment_day
from gateway.services.reports.history import Item, load_items
from gateway.services.reports.periods import Month, ReportRefused, start_of

COUNT_BACK_MONTHS = 24
MAX_MONTHS = 60
CENT, TENTH = Decimal("0.01"), Decimal("0.1")


def _text(value: Decimal | None, places: Decimal = TENTH) -> str | None:
    return None if value is None else str(value.quantize(places))


@dataclass(frozen=True)
class MonthSpan:
    """A month as a report sees it: its first day, its last day looked at (today in the current month)."""

    month: Month
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.month.first_day).days + 1


def span_of(month: Month, today: dt.date) -> MonthSpan:
    return MonthSpan(month, min(month.last_day, today))


def count_back(receivables: Decimal, sales_back: list[tuple[Decimal, int]]) -> tuple[Decimal, bool]:
    """Count-back DSO of `receivables` against (sales, days) of the month and the months before it, newest
    first: (days, whether the receivables were used up within the months given)."""
    remaining, days = receivables, Decimal(0)
    if remaining <= 0:
        return Decimal(0), True
    for sales, month_days in sales_back:
        if sales > 0 and remaining <= sales:
            return days + remaining / sales * month_days, True
        remaining -= max(sales, Decimal(0))
        days += month_days
    return days, False


@dataclass(frozen=True)
class DsoMonth:
    month: Month
    end: dt.date
    days: int
    sales: Decimal
    opening_receivables: Decimal
    receivables: Decimal
    current_receivables: Decimal
    count_back_dso: Decimal
    complete: bool
    best_possible_dso: Decimal | None
    cei: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": str(self.month),
            "end": self.end.isoformat(),
            "days": self.days,
            "sales": _text(self.sales, CENT),
            "opening_receivables": _text(self.opening_receivables, CENT),
            "receivables": _text(self.receivables, CENT),
            "current_receivables": _text(self.current_receivables, CENT),
            "overdue_receivables": _text(self.receivables - self.current_receivables, CENT),
            "count_back_dso": _text(self.count_back_dso),
            "count_back_complete": self.complete,
            "best_possible_dso": _text(self.best_possible_dso),
            "cei_pct": _text(self.cei),
        }


@dataclass(frozen=True)
class DaysLate:
    customer_key: str
    name: str
    currency: str
    payments: int
    amount: Decimal
    average_days_late: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_key": self.customer_key,
            "name": self.name,
            "currency": self.currency,
            "payments": self.payments,
            "amount": _text(self.amount, CENT),
            "average_days_late": _text(self.average_days_late),
        }


@dataclass(frozen=True)
class DsoReport:
    tenant_id: str
    period: Month
    months: int
    currencies: dict[str, list[DsoMonth]]
    days_late: list[DaysLate]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "period": str(self.period),
            "months": self.months,
            "count_back_months": COUNT_BACK_MONTHS,
            "currencies": [
                {"currency": currency, "months": [row.as_dict() for row in rows]}
                for currency, rows in self.currencies.items()
            ],
            "days_late": [row.as_dict() for row in self.days_late],
        }


def _receivables(items: list[Item], currency: str, day: dt.date) -> tuple[Decimal, Decimal]:
    """(all, current) receivables of `currency` at the end of `day`."""
    total = current = Decimal(0)
    for item in items:
        if item.currency != currency:
            continue
        amount = item.open_on(day)
        total += amount
        if item.due_date >= day:
            current += amount
    return total, current


def _monthly_sales(items: list[Item]) -> dict[tuple[str, Month], Decimal]:
    sales: dict[tuple[str, Month], Decimal] = {}
    for item in items:
        key = (item.currency, Month.of(item.issue_date))
        sales[key] = sales.get(key, Decimal(0)) + item.sign * item.payable
    return sales


def _currency_months(
    items: list[Item],
    sales: dict[tuple[str, Month], Decimal],
    currency: str,
    spans: list[MonthSpan],
    today: dt.date,
) -> list[DsoMonth]:
    rows: list[DsoMonth] = []
    opening, _ = _receivables(items, currency, spans[0].month.first_day - dt.timedelta(days=1))
    for span in spans:
        closing, current = _receivables(items, currency, span.end)
        month_sales = sales.get((currency, span.month), Decimal(0))
        earlier = [span_of(span.month.shifted(-k), today) for k in range(COUNT_BACK_MONTHS)]
        back = [(sales.get((currency, e.month), Decimal(0)), e.days) for e in earlier]
        dso, complete = count_back(closing, back)
        best = current * span.days / month_sales if month_sales > 0 else None
        divisor = opening + month_sales - current
        cei = (opening + month_sales - closing) / divisor * 100 if divisor > 0 else None
        rows.append(
            DsoMonth(span.month, span.end, span.days, month_sales, opening, closing, current, dso, complete,
                     best, cei)
        )  # fmt: skip
        opening = closing
    return rows


def days_late(session: Session, tenant_id: str, first_day: dt.date, last_day: dt.date) -> list[DaysLate]:
    """Payment-weighted average days late per customer and currency of the payments (allocations to
    invoices, standing at the end of `last_day`) whose payment day falls in the days given; latest first."""
    until = start_of(last_day + dt.timedelta(days=1))
    rows = session.execute(
        select(
            col(InvoiceRecord.customer_key),
            col(InvoiceRecord.buyer_name),
            col(InvoiceRecord.currency),
            col(InvoiceRecord.due_date),
            col(InvoiceRecord.issue_date),
            col(PaymentAllocation.amount),
            col(PaymentAllocation.created_at),
            col(PaymentRecord.value_date),
            col(PaymentRecord.booking_date),
        )
        .join(PaymentAllocation, col(PaymentAllocation.invoice_id) == col(InvoiceRecord.id))
        .join(PaymentRecord, col(PaymentRecord.id) == col(PaymentAllocation.payment_id))
        .where(
            col(PaymentAllocation.tenant_id) == tenant_id,
            col(InvoiceRecord.document_type) == "invoice",
            col(PaymentAllocation.created_at) < until,
            or_(col(PaymentAllocation.reversed_at).is_(None), col(PaymentAllocation.reversed_at) >= until),
        )
    )
    sums: dict[tuple[str, str], list[Any]] = {}
    for key, name, currency, due, issued, amount, created_at, value_date, booking_date in rows:
        paid_on = payment_day(value_date, booking_date, created_at)
        weight = Decimal(amount)
        if not first_day <= paid_on <= last_day or weight <= 0:
            continue
        entry = sums.setdefault((key or name, currency), [name, 0, Decimal(0), Decimal(0)])
        entry[1] += 1
        entry[2] += weight
        entry[3] += weight * (paid_on - (due or issued)).days
    found = [
        DaysLate(key, name, currency, count, amount, weighted / amount)
        for (key, currency), (name, count, amount, weighted) in sums.items()
    ]
    return sorted(found, key=lambda row: (-row.average_days_late, row.customer_key, row.currency))


def dso_report(session: Session, tenant_id: str, period: Month, months: int, today: dt.date) -> DsoReport:
    """DSO, best-possible DSO and CEI for the `months` months ending with `period`, per currency, and the
    average days late of the payments in those months."""
    if not 1 <= months <= MAX_MONTHS:
        raise ReportRefused("months", f"{months} is not 1 to {MAX_MONTHS}")
    if period.first_day > today:
        raise ReportRefused("period", f"{period} has not begun (today is {today.isoformat()})")
    spans = [span_of(period.shifted(-k), today) for k in reversed(range(months))]
    items = load_items(session, tenant_id, spans[-1].end)
    first = spans[0].month.shifted(-COUNT_BACK_MONTHS).first_day
    currencies = sorted(
        {item.currency for item in items if item.issue_date >= first or item.open_on(spans[-1].end)}
    )
    sales = _monthly_sales(items)
    return DsoReport(
        tenant_id,
        period,
        months,
        {currency: _currency_months(items, sales, currency, spans, today) for currency in currencies},
        days_late(session, tenant_id, spans[0].month.first_day, spans[-1].end),
    )
