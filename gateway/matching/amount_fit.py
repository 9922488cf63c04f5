"""How a payment's amount fits the open amounts of the items it references (credit notes netted).

Exact; short within the write-off allowance (written off on the last invoice); short by a deduction the
payer states (approval by policy); partial (as the payer's advice says, else oldest first); over (on the
single invoice, else unapplied); or a mismatch when the credit notes leave nothing owed. Under FX the
instructed amount is what is compared and applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from gateway.matching.model import Allocation, Evidence, OpenItem, oldest_first
from gateway.matching.scoring import W_DEDUCTION, W_EXACT, W_OVER, W_PARTIAL, W_SHORT
from gateway.matching.wording import label, labels, money
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment, RemittanceLine

#: Fits that settle what they reference: no partial, no overpayment, no mismatch.
CLEAN_FITS = frozenset({"exact", "write-off", "deduction"})
_CENT = Decimal("0.01")
_ZERO = Decimal(0)


class Referenced(Protocol):
    """An item a payment references, and the remittance line that did (its amount and deduction count)."""

    @property
    def item(self) -> OpenItem: ...

    @property
    def line(self) -> RemittanceLine | None: ...


@dataclass(slots=True)
class AmountFit:
    kind: str  # exact, write-off, deduction, partial, over, mismatch, paid
    allocations: list[Allocation]
    evidence: list[Evidence]
    write_off: Decimal = _ZERO
    unapplied: Decimal = _ZERO
    needs_approval: bool = False


def amount_to_compare(payment: Payment, currency: str) -> tuple[Decimal, bool] | None:
    """The amount to compare with items in `currency`, and whether it is the FX-instructed one."""
    if currency == payment.currency:
        return payment.amount, False
    if payment.instructed_currency == currency and payment.instructed_amount is not None:
        return payment.instructed_amount, True
    return None


def write_off_allowance(payment: Payment, policy: MatchingPolicy, owed: Decimal, fx: bool) -> Decimal:
    """The write-off allowance for a short payment: min(limit, percent of what is owed)."""
    limit = policy.write_off_limit
    if fx and payment.instructed_amount:
        limit = limit * payment.instructed_amount / payment.amount
    share = owed * policy.write_off_percent / 100
    return min(limit, share).quantize(_CENT)


@dataclass
class _Owed:
    """The referenced invoices (oldest first) and credit notes, and what they leave owed."""

    invoices: list[Referenced]
    credits: list[Referenced]
    currency: str
    owed: Decimal = field(init=False)
    credit: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.owed = sum((r.item.open_amount for r in self.invoices), _ZERO)
        self.credit = sum((r.item.open_amount for r in self.credits), _ZERO)

    @property
    def net(self) -> Decimal:
        return self.owed - self.credit

    @property
    def items(self) -> list[OpenItem]:
        return [r.item for r in self.invoices + self.credits]

    @property
    def net_text(self) -> str:
        return " net of credit notes" if self.credits else ""

    def full(self) -> list[Allocation]:
        """Every invoice's open amount."""
        return [Allocation(r.item.invoice_id, r.item.number, r.item.open_amount) for r in self.invoices]

    def credit_allocations(self) -> list[Allocation]:
        return [
            Allocation(r.item.invoice_id, r.item.number, r.item.open_amount, "credit_note")
            for r in self.credits
        ]

    def netted(self) -> list[Evidence]:
        return [
            Evidence(
                "credit-note-netted",
                f"{label(r.item)} ({money(r.item.open_amount, self.currency)}) is netted against the "
                "invoices",
                0.0,
            )
            for r in self.credits
        ]


def fit_amount(
    referenced: Sequence[Referenced],
    target: Decimal,
    currency: str,
    fx: bool,
    payment: Payment,
    policy: MatchingPolicy,
) -> AmountFit:
    """How `target` fits the open amounts of these items (credit notes netted)."""
    owed = _Owed(
        sorted(
            (r for r in referenced if r.item.document_type == "invoice"), key=lambda r: oldest_first(r.item)
        ),
        [r for r in referenced if r.item.document_type == "credit_note"],
        currency,
    )
    evidence = owed.netted()
    if not owed.invoices or owed.net <= 0:
        evidence.append(
            Evidence("amount-mismatch", f"the credit notes cover {labels(owed.items)}: nothing is owed", 0.0)
        )
        return AmountFit("mismatch", owed.full() + owed.credit_allocations(), evidence, unapplied=target)
    difference = target - owed.net
    if difference == 0:
        evidence.append(
            Evidence(
                "amount-exact",
                f"{money(target, currency)} equals the open amount of {labels(owed.items)}{owed.net_text}",
                W_EXACT,
            )
        )
        return AmountFit("exact", owed.full() + owed.credit_allocations(), evidence)
    if difference > 0:
        return _over(owed, target, difference, evidence)
    short = -difference
    allowance = write_off_allowance(payment, policy, owed.net, fx)
    if short <= allowance:
        return _written_off(owed, target, short, allowance, evidence)
    return _short(owed, target, short, allowance, evidence, policy)


def _over(owed: _Owed, target: Decimal, difference: Decimal, evidence: list[Evidence]) -> AmountFit:
    """More than owed: the excess stays on a single invoice as an overpayment, else is left unapplied."""
    currency = owed.currency
    if len(owed.invoices) == 1:
        only = owed.invoices[0].item
        allocations = [Allocation(only.invoice_id, only.number, only.open_amount + difference)]
        evidence.append(
            Evidence(
                "amount-over",
                f"{money(target, currency)} is {money(difference, currency)} more than {label(only)}'s "
                f"open {money(owed.net, currency)}{owed.net_text}; the excess stays on it as an overpayment",
                W_OVER,
            )
        )
        return AmountFit("over", allocations + owed.credit_allocations(), evidence)
    evidence.append(
        Evidence(
            "amount-over",
            f"{money(target, currency)} is {money(difference, currency)} more than {labels(owed.items)}"
            f"{owed.net_text}; the excess is left unapplied (on account)",
            W_OVER,
        )
    )
    return AmountFit("over", owed.full() + owed.credit_allocations(), evidence, unapplied=difference)


def _written_off(
    owed: _Owed, target: Decimal, short: Decimal, allowance: Decimal, evidence: list[Evidence]
) -> AmountFit:
    """Short within the allowance: the shortfall is written off on the newest invoice."""
    currency = owed.currency
    last = owed.invoices[-1].item
    written_off = Allocation(last.invoice_id, last.number, last.open_amount - short, write_off=short)
    allocations = [*owed.full()[:-1], written_off]
    evidence.append(
        Evidence(
            "amount-short",
            f"{money(target, currency)} is {money(short, currency)} short of {labels(owed.items)}"
            f"{owed.net_text}; within the write-off allowance of {money(allowance, currency)}, written off",
            W_SHORT,
        )
    )
    return AmountFit("write-off", allocations + owed.credit_allocations(), evidence, write_off=short)


def _short(
    owed: _Owed,
    target: Decimal,
    short: Decimal,
    allowance: Decimal,
    evidence: list[Evidence],
    policy: MatchingPolicy,
) -> AmountFit:
    """Short beyond the allowance: the deductions the payer states, if they explain it, else a partial."""
    currency = owed.currency
    deductions = {
        r.item.invoice_id: r.line.adjustment
        for r in owed.invoices
        if r.line is not None and r.line.adjustment is not None and r.line.adjustment > 0
    }
    if deductions:
        stated = sum(deductions.values(), _ZERO)
        reasons = "; ".join(
            f"{r.item.number}: {money(deductions[r.item.invoice_id], currency)} "
            f"'{(r.line.adjustment_reason if r.line else None) or 'no reason given'}'"
            for r in owed.invoices
            if r.item.invoice_id in deductions
        )
        if stated == short:
            return _deducted(owed, short, allowance, deductions, reasons, evidence, policy)
        evidence.append(
            Evidence(
                "amount-deduction",
                f"the payer states deductions of {money(stated, currency)} ({reasons}), but the payment is "
                f"{money(short, currency)} short",
                0.0,
            )
        )
    return _partial(
        owed, target, short, evidence, needs_approval=bool(deductions) and policy.deductions_need_approval
    )


def _deducted(
    owed: _Owed,
    short: Decimal,
    allowance: Decimal,
    deductions: dict[str, Decimal],
    reasons: str,
    evidence: list[Evidence],
    policy: MatchingPolicy,
) -> AmountFit:
    """Short by exactly the stated deductions: each is written off on its invoice (approval by policy)."""
    currency = owed.currency
    ordered = [r for r in owed.invoices if r.item.invoice_id not in deductions] + [
        r for r in owed.invoices if r.item.invoice_id in deductions
    ]
    allocations = [
        Allocation(
            r.item.invoice_id,
            r.item.number,
            r.item.open_amount - deductions.get(r.item.invoice_id, _ZERO),
            write_off=deductions.get(r.item.invoice_id, _ZERO),
        )
        for r in ordered
    ]
    evidence.append(
        Evidence(
            "amount-deduction",
            f"the payer deducted {money(short, currency)} ({reasons}), more than the write-off "
            f"allowance of {money(allowance, currency)}",
            W_DEDUCTION,
        )
    )
    return AmountFit(
        "deduction",
        allocations + owed.credit_allocations(),
        evidence,
        write_off=short,
        needs_approval=policy.deductions_need_approval,
    )


def _partial(
    owed: _Owed, target: Decimal, short: Decimal, evidence: list[Evidence], *, needs_approval: bool
) -> AmountFit:
    """Part of what is owed: split as the payer's advice says when it adds up, else oldest first."""
    currency = owed.currency
    stated_amounts = [r.line.amount if r.line is not None else None for r in owed.invoices]
    allocations: list[Allocation] = []
    if all(amount is not None and amount > 0 for amount in stated_amounts) and (
        sum((a for a in stated_amounts if a is not None), _ZERO) - owed.credit == target
    ):
        for r, amount in zip(owed.invoices, stated_amounts, strict=True):
            allocations.append(Allocation(r.item.invoice_id, r.item.number, amount or _ZERO))
    else:
        remaining = target + owed.credit
        for r in owed.invoices:
            take = min(r.item.open_amount, remaining)
            if take > 0:
                allocations.append(Allocation(r.item.invoice_id, r.item.number, take))
                remaining -= take
    evidence.append(
        Evidence(
            "amount-partial",
            f"{money(target, currency)} pays part of {labels(owed.items)} "
            f"({money(owed.net, currency)} open{owed.net_text}); "
            f"applied as a partial payment, {money(short, currency)} stays open",
            W_PARTIAL,
        )
    )
    return AmountFit(
        "partial", allocations + owed.credit_allocations(), evidence, needs_approval=needs_approval
    )
