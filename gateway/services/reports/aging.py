"""Aging: what customers owe as of a day, in buckets of days past due, per customer and in total.

Each open item (`history`) goes into one bucket by its days past due on the day (day − due date): not due
(0 or fewer), 1–30, 31–60, 61–90 and over 90. A credit note counts negative in the bucket of its own due
date; an overpaid invoice likewise. Every sum is per currency: NOK is never added to EUR.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from gateway.services.reports.history import Item, load_items, open_on
from gateway.services.reports.periods import check_day

#: (key, label, first day past due, last day past due or None); "not due" is due today or later.
BUCKETS: tuple[tuple[str, str, int | None, int | None], ...] = (
    ("not_due", "Not due", None, 0),
    ("days_1_30", "1–30 days", 1, 30),
    ("days_31_60", "31–60 days", 31, 60),
    ("days_61_90", "61–90 days", 61, 90),
    ("over_90", "Over 90 days", 91, None),
)
BUCKET_KEYS = tuple(key for key, _, _, _ in BUCKETS)
CENT = Decimal("0.01")


def bucket_of(days_past_due: int) -> str:
    """The bucket of an item `days_past_due` days past its due date (0 or fewer: not due)."""
    for key, _, first, last in BUCKETS:
        if (first is None or days_past_due >= first) and (last is None or days_past_due <= last):
            return key
    raise AssertionError(days_past_due)  # pragma: no cover - the buckets cover every integer


def _zero() -> dict[str, Decimal]:
    return dict.fromkeys(BUCKET_KEYS, Decimal(0))


def _money(buckets: dict[str, Decimal]) -> dict[str, str]:
    return {key: str(value.quantize(CENT)) for key, value in buckets.items()}


@dataclass
class CustomerAging:
    customer_key: str
    name: str
    currency: str
    buckets: dict[str, Decimal] = field(default_factory=_zero)
    items: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))

    @property
    def overdue(self) -> Decimal:
        return self.total - self.buckets["not_due"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_key": self.customer_key,
            "name": self.name,
            "currency": self.currency,
            "buckets": _money(self.buckets),
            "total": str(self.total.quantize(CENT)),
            "overdue": str(self.overdue.quantize(CENT)),
            "items": self.items,
        }


@dataclass
class CurrencyAging:
    currency: str
    customers: list[CustomerAging]

    @property
    def buckets(self) -> dict[str, Decimal]:
        totals = _zero()
        for customer in self.customers:
            for key, value in customer.buckets.items():
                totals[key] += value
        return totals

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "buckets": _money(self.buckets),
            "total": str(self.total.quantize(CENT)),
            "customers": [customer.as_dict() for customer in self.customers],
        }


@dataclass
class AgingReport:
    tenant_id: str
    as_of: dt.date
    currencies: list[CurrencyAging]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "as_of": self.as_of.isoformat(),
            "buckets": [{"key": key, "label": label} for key, label, _, _ in BUCKETS],
            "currencies": [currency.as_dict() for currency in self.currencies],
        }


def aging_of(items: list[Item], as_of: dt.date) -> list[CurrencyAging]:
    """The aging of `items` as of the end of `as_of`: per currency (largest total first), customers by
    their total, largest first (then by key, so equal totals keep one order)."""
    found: dict[tuple[str, str], CustomerAging] = {}
    for item, amount in open_on(items, as_of):
        row = found.get((item.currency, item.customer_key))
        if row is None:
            row = found[(item.currency, item.customer_key)] = CustomerAging(
                item.customer_key, item.customer_name, item.currency
            )
        row.buckets[bucket_of((as_of - item.due_date).days)] += amount
        row.items += 1
    by_currency: dict[str, list[CustomerAging]] = {}
    for (currency, _), row in found.items():
        by_currency.setdefault(currency, []).append(row)
    currencies = [
        CurrencyAging(currency, sorted(rows, key=lambda r: (-r.total, r.customer_key)))
        for currency, rows in by_currency.items()
    ]
    return sorted(currencies, key=lambda c: (-c.total, c.currency))


def aging_report(session: Session, tenant_id: str, as_of: dt.date) -> AgingReport:
    """The tenant's aging as of the end of `as_of` (a past day: what was open then)."""
    check_day(as_of, "date")
    return AgingReport(tenant_id, as_of, aging_of(load_items(session, tenant_id, as_of), as_of))
