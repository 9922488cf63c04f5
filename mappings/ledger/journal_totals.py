"""What the three journal formats share: amounts as exact decimal text, and the tally an `inspect` reports
(vouchers, lines, debit and credit totals, and whether every voucher and the whole file balance).

Why a tally of its own per file and not the vouchers' `debit_total`: `gateway inspect FILE` reads a file
someone hands over, maybe edited by hand or cut short; the tally is what that file says, voucher by voucher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mappings.base import FormatError

#: How many unbalanced vouchers an inspection names (the count is always complete).
NAMED_UNBALANCED = 20
_CENT = Decimal("0.01")


def amount_text(value: Decimal) -> str:
    """`value` to the cent with a point, never `-0.00` (1250 → "1250.00", -0.001 → "0.00")."""
    quantised = value.quantize(_CENT)
    return f"{quantised:.2f}" if quantised != 0 else "0.00"


def read_amount(text: str, where: str) -> Decimal:
    """A decimal written with a point or a comma ("-1250,50"); `FormatError` naming `where` otherwise."""
    cleaned = text.strip().replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FormatError(where, f"{text[:30]!r} is not an amount") from None
    if not value.is_finite():
        raise FormatError(where, f"{text[:30]!r} is not an amount")
    return value


@dataclass
class JournalTally:
    """Debits and credits per voucher, as a file's lines are read in order."""

    format: str
    lines: int = 0
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    periods: set[str] = field(default_factory=set)
    _vouchers: dict[str, Decimal] = field(default_factory=dict)

    def add(self, voucher: str, debit: Decimal, credit: Decimal, period: str | None = None) -> None:
        """One line of `voucher`: a debit, a credit (or, from a signed amount, one of them)."""
        self.lines += 1
        self.debit += debit
        self.credit += credit
        self._vouchers[voucher] = self._vouchers.get(voucher, Decimal(0)) + debit - credit
        if period:
            self.periods.add(period)

    def add_signed(self, voucher: str, amount: Decimal, period: str | None = None) -> None:
        """A line with one signed amount: positive debits, negative credits (GBAT10's "Saldo")."""
        self.add(voucher, max(amount, Decimal(0)), max(-amount, Decimal(0)), period)

    def summary(self) -> dict[str, Any]:
        unbalanced = [number for number, rest in self._vouchers.items() if rest != 0]
        return {
            "format": self.format,
            "vouchers": len(self._vouchers),
            "lines": self.lines,
            "debit_total": amount_text(self.debit),
            "credit_total": amount_text(self.credit),
            "balanced": not unbalanced and self.debit == self.credit,
            "unbalanced_vouchers": len(unbalanced),
            "unbalanced": unbalanced[:NAMED_UNBALANCED],
            "periods": sorted(self.periods),
        }
