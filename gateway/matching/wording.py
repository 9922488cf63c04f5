"""How evidence and reasons name items and money, so every sentence a person reads says it the same way."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from gateway.matching.model import OpenItem


def label(item: OpenItem) -> str:
    return f"{'credit note' if item.document_type == 'credit_note' else 'invoice'} {item.number}"


def labels(items: Sequence[OpenItem]) -> str:
    """Up to four items by name; more as the first three and a count."""
    if len(items) == 1:
        return label(items[0])
    if len(items) <= 4:
        return ", ".join(label(item) for item in items)
    return ", ".join(label(item) for item in items[:3]) + f" and {len(items) - 3} more"


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"
