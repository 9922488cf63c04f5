"""Bank reconciliation: a camt.053 statement against the payments the gateway booked and the journal's bank
account for the same account and dates.

Why both: the payments say whether every credit the bank booked reached the gateway (and nothing the gateway
booked is unknown to the bank), the journal says whether the receivables system's bank account carries the
balance the bank reports. A difference in either is what a person has to look at before the month closes.

Entries against payments (one statement entry is one booked amount; intake books one payment per
transaction, so a batch entry is covered by several payments):

* matched: the payments carrying the entry's bank references (`AcctSvcrRef`, `AcctSvcrRef/n`) add up to the
  entry; an entry or payment without a reference is matched on the same amount, currency and date, and the
  same counterparty (payer account, else name) when both sides name one.
* amount difference: payments with the entry's references that add up to another amount (or currency).
* missing in the gateway: a booked credit entry no payment covers.
* missing on the statement: a payment the gateway booked in the statement's period, in its currency and not
  for another account, that no entry shows. Intake keeps no file's account, only the payee account a
  transaction names (`CdtrAcct`): a payment is another account's when it names one that is neither the
  statement's account nor one the statement's own transactions name.
Debit entries are listed apart (the gateway books money in only), and so are entries that are not booked
(pending) or reverse an earlier entry. The gateway's payments compared are money that moved in: credits, not
hints, not duplicates, not ignored, not pending, no card payment advices (the provider's payout of them is
the bank's credit).

Balances (difference = statement − journal): the journal's bank account (`TenantSettings.ledger.roles.bank`)
before the period against the statement's opening booked balance (`OPBD`, else `PRCD`), its movements in the
period against the statement's booked entries, and the statement's own sum (opening + entries = `CLBD`).
The closing difference is the three together: an opening difference is carried into it, never counted twice.
A statement in the accounting currency is compared with the account's balance; one in another currency
with the account's lines in that currency (`currency_amount`).

The period: the statement's `FrToDt` when it covers every entry, else the entries' dates up to the closing
balance's date (a note says so).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models.ledger import LedgerLine
from db.models.payments import PaymentRecord
from gateway.services.tenancy.tenants import tenant_settings
from mappings.base import FormatError
from mappings.remittance.camt import CamtStatement, StatementEntry, read_statement

__all__ = [
    "Reconciliation",
    "ReconciliationRefused",
    "StatementReading",
    "read_statement_file",
    "reconcile",
    "reconcile_file",
]

#: payment statuses that are no money of their own: the same payment again, an advice, a bank reversal
EXCLUDED_STATUSES: Final = ("duplicate", "hint", "ignored")
_REFERENCE_CHUNK: Final = 500
_ZERO: Final = Decimal(0)


class ReconciliationRefused(ValueError):
    """A statement that cannot be reconciled as given: `field` names what, `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class StatementReading:
    """`read_statement` as plain data that crosses a process boundary: the statement, or why not."""

    statement: CamtStatement | None
    field: str = ""
    reason: str = ""


def read_statement_file(data: bytes) -> StatementReading:
    """The CPU-heavy read of an uploaded statement, never raising for a bad file (for the parse pool)."""
    try:
        return StatementReading(read_statement(data))
    except FormatError as refused:
        return StatementReading(None, refused.where, refused.reason)
    except RecursionError:
        return StatementReading(None, "file", "nested too deeply to read")


def statement_or_refusal(reading: StatementReading) -> CamtStatement:
    if reading.statement is None:
        raise ReconciliationRefused(reading.field or "file", reading.reason or "not a camt.053 statement")
    return reading.statement


# -- the answer -------------------------------------------------------------------------------------------


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class GatewayPayment:
    """The columns of a booked payment reconciliation reads."""

    id: str
    amount: Decimal
    currency: str
    day: dt.date | None
    bank_reference: str | None
    payer_name: str | None
    payer_account: str | None
    payee_account: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "payment_id": self.id,
            "reference": self.bank_reference,
            "date": _day(self.day),
            "amount": str(self.amount),
            "currency": self.currency,
            "payer_name": self.payer_name,
        }


def _entry_view(entry: StatementEntry) -> dict[str, Any]:
    return {
        "position": entry.position,
        "reference": entry.reference or (entry.references[0] if entry.references else None),
        "date": _day(entry.booking_date or entry.value_date),
        "amount": str(entry.amount),
        "currency": entry.currency,
        "direction": entry.direction,
        "payer_name": ", ".join(entry.payer_names) or None,
        "entry_kind": entry.kind,
    }


@dataclass(frozen=True)
class EntryMatch:
    """A booked credit entry and the gateway's payments that cover it."""

    entry: StatementEntry
    payments: tuple[GatewayPayment, ...]
    matched_by: str

    @property
    def gateway_amount(self) -> Decimal:
        return sum((payment.amount for payment in self.payments), _ZERO)

    @property
    def gateway_currencies(self) -> set[str]:
        return {payment.currency for payment in self.payments}

    @property
    def agrees(self) -> bool:
        return self.gateway_currencies == {self.entry.currency} and self.gateway_amount == self.entry.amount

    def as_dict(self) -> dict[str, Any]:
        currencies = sorted(self.gateway_currencies)
        return {
            **_entry_view(self.entry),
            "matched_by": self.matched_by,
            "gateway_amount": str(self.gateway_amount),
            "gateway_currency": currencies[0] if len(currencies) == 1 else "/".join(currencies),
            "difference": str(self.entry.amount - self.gateway_amount),
            "payments": [payment.as_dict() for payment in self.payments],
        }


@dataclass(frozen=True)
class BalanceLine:
    """One balance compared: what the statement says, what the journal says, statement − journal."""

    statement: Decimal | None
    journal: Decimal

    @property
    def difference(self) -> Decimal | None:
        return None if self.statement is None else self.statement - self.journal

    def as_dict(self) -> dict[str, Any]:
        return {
            "statement": _money(self.statement),
            "journal": str(self.journal),
            "difference": _money(self.difference),
        }


@dataclass(frozen=True)
class BalanceComparison:
    """The statement's balances against the journal's bank account for the same period."""

    account: str
    currency: str
    compared_in: str  # "account balance" (accounting currency) or "currency amounts" (a foreign currency)
    opening: BalanceLine
    movements: BalanceLine
    closing: BalanceLine
    #: the statement's closing balance − (its opening + its booked entries): not 0 when it does not add up
    statement_gap: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        carried = self.opening.difference
        closing = self.closing.difference
        return {
            "account": self.account,
            "currency": self.currency,
            "compared_in": self.compared_in,
            "opening": self.opening.as_dict(),
            "movements": self.movements.as_dict(),
            "closing": self.closing.as_dict(),
            "statement_gap": _money(self.statement_gap),
            "carried_from_opening": _money(carried),
            "arising_in_period": _money(None if closing is None or carried is None else closing - carried),
        }


@dataclass
class Reconciliation:
    """Everything one statement's reconciliation found; `differences` is what a person must look at."""

    statement: CamtStatement
    period_from: dt.date | None
    period_to: dt.date | None
    matched: list[EntryMatch] = field(default_factory=list)
    amount_differences: list[EntryMatch] = field(default_factory=list)
    missing_in_gateway: list[StatementEntry] = field(default_factory=list)
    missing_on_statement: list[GatewayPayment] = field(default_factory=list)
    debits: list[StatementEntry] = field(default_factory=list)
    not_booked: list[StatementEntry] = field(default_factory=list)
    other_currency: int = 0
    other_account: int = 0
    balances: BalanceComparison | None = None
    notes: list[str] = field(default_factory=list)

    def differences(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for entry in self.missing_in_gateway:
            found.append({"kind": "missing_in_gateway", **_entry_view(entry)})
        for payment in self.missing_on_statement:
            found.append({"kind": "missing_on_statement", **payment.as_dict()})
        for match in self.amount_differences:
            found.append({"kind": "amount_difference", **match.as_dict()})
        if self.balances is not None:
            currency = self.balances.currency
            for kind, line in (
                ("opening_balance", self.balances.opening),
                ("movements", self.balances.movements),
            ):
                difference = line.difference
                if difference:
                    found.append(
                        {
                            "kind": kind,
                            "date": _day(self.period_from),
                            "statement": _money(line.statement),
                            "journal": str(line.journal),
                            "amount": str(difference),
                            "currency": currency,
                        }
                    )
            if self.balances.statement_gap:
                closing = self.statement.last_balance("CLBD")
                found.append(
                    {
                        "kind": "statement_does_not_add_up",
                        "reference": closing.position if closing else None,
                        "date": _day(self.period_to),
                        "amount": str(self.balances.statement_gap),
                        "currency": currency,
                        "detail": "the closing booked balance is not the opening balance plus the entries",
                    }
                )
        return found

    def as_dict(self) -> dict[str, Any]:
        statement = self.statement
        differences = self.differences()
        count = len(differences)
        opening = statement.balance("OPBD", "PRCD")
        closing = statement.last_balance("CLBD")

        def total(amounts: Iterable[Decimal]) -> str:
            return str(sum(amounts, _ZERO))

        return {
            "statement": {
                "format": statement.format,
                "message_id": statement.message_id,
                "account": statement.accounts[0] if statement.accounts else None,
                "currency": statement.currency,
                "period_from": _day(self.period_from),
                "period_to": _day(self.period_to),
                "opening_balance": _money(opening.amount) if opening else None,
                "closing_balance": _money(closing.amount) if closing else None,
                "entries": len(statement.entries),
            },
            "summary": {
                "matched": {
                    "count": len(self.matched),
                    "amount": total(m.entry.amount for m in self.matched),
                },
                "missing_in_gateway": {
                    "count": len(self.missing_in_gateway),
                    "amount": total(e.amount for e in self.missing_in_gateway),
                },
                "missing_on_statement": {
                    "count": len(self.missing_on_statement),
                    "amount": total(p.amount for p in self.missing_on_statement),
                },
                "amount_differences": {
                    "count": len(self.amount_differences),
                    "statement_amount": total(m.entry.amount for m in self.amount_differences),
                    "gateway_amount": total(m.gateway_amount for m in self.amount_differences),
                },
                "debits": {"count": len(self.debits), "amount": total(e.amount for e in self.debits)},
                "not_booked": {
                    "count": len(self.not_booked),
                    "amount": total(e.amount for e in self.not_booked),
                },
                "gateway_payments_other_currency": self.other_currency,
                "gateway_payments_other_account": self.other_account,
            },
            "matched": [match.as_dict() for match in self.matched],
            "amount_differences": [match.as_dict() for match in self.amount_differences],
            "missing_in_gateway": [_entry_view(entry) for entry in self.missing_in_gateway],
            "missing_on_statement": [payment.as_dict() for payment in self.missing_on_statement],
            "debits": [_entry_view(entry) for entry in self.debits],
            "not_booked": [_entry_view(entry) for entry in self.not_booked],
            "balances": self.balances.as_dict() if self.balances else None,
            "differences": differences,
            "difference_count": count,
            "verdict": "reconciled" if count == 0 else f"{count} difference{'s' if count != 1 else ''}",
            "notes": list(self.notes),
        }


# -- reconciling ------------------------------------------------------------------------------------------


def reconcile_file(session: Session, tenant_id: str, data: bytes) -> Reconciliation:
    """`reconcile` for a file's bytes; a file that is not a readable camt.053 is refused naming why."""
    return reconcile(session, tenant_id, statement_or_refusal(read_statement_file(data)))


def reconcile(session: Session, tenant_id: str, statement: CamtStatement) -> Reconciliation:
    """The statement's entries against the tenant's booked payments, its balances against the journal."""
    accounts = [account for account in statement.accounts if account is not None]
    if len(set(accounts)) > 1:
        raise ReconciliationRefused(
            "Stmt/Acct", f"the file has statements for {len(set(accounts))} accounts: reconcile one at a time"
        )
    currency = statement.currency
    if currency is None:
        raise ReconciliationRefused(
            "Stmt/Acct/Ccy", "the statement names no account currency and its entries do not tell one"
        )
    notes: list[str] = []
    period_from, period_to = _period(statement, notes)
    result = Reconciliation(statement, period_from, period_to, notes=notes)
    credits: list[StatementEntry] = []
    for entry in statement.entries:
        if not entry.booked:
            result.not_booked.append(entry)
        elif entry.direction == "debit":
            result.debits.append(entry)
        else:
            credits.append(entry)
    for balance in statement.balances:
        if balance.code in ("OPBD", "PRCD", "CLBD") and balance.currency != currency:
            notes.append(
                f"{balance.position} ({balance.code}) is in {balance.currency}, the statement in {currency}: "
                "compared as the bank wrote it"
            )

    in_period = _payments_in_period(session, tenant_id, period_from, period_to) if period_from else []
    by_id = {payment.id: payment for payment in in_period}
    # references the period's payments do not carry: booked on another day (looked up, whatever the date)
    known = {payment.bank_reference for payment in in_period}
    references = sorted({ref for entry in credits for ref in _entry_references(entry)} - known)
    for payment in _payments_by_reference(session, tenant_id, references):
        by_id.setdefault(payment.id, payment)
    by_reference: dict[str, list[GatewayPayment]] = {}
    for payment in by_id.values():
        if payment.bank_reference:
            by_reference.setdefault(payment.bank_reference, []).append(payment)
            # the n-th transaction of a batch entry notified on its own: `AcctSvcrRef/n`
            base, _, suffix = payment.bank_reference.rpartition("/")
            if base and suffix.isdigit():
                by_reference.setdefault(base, []).append(payment)

    used: set[str] = set()
    unreferenced: list[StatementEntry] = []
    for entry in credits:
        covering = list(
            {
                payment.id: payment
                for ref in _entry_references(entry)
                for payment in by_reference.get(ref, ())
                if payment.id not in used
            }.values()
        )
        if not covering:
            unreferenced.append(entry)
            continue
        used.update(payment.id for payment in covering)
        match = EntryMatch(entry, tuple(covering), "reference")
        (result.matched if match.agrees else result.amount_differences).append(match)

    # by amount, currency and day: one look-up per entry, however many payments the period has
    candidates: dict[tuple[Decimal, str, dt.date | None], list[GatewayPayment]] = {}
    for payment in in_period:
        if payment.id not in used:
            candidates.setdefault((payment.amount, payment.currency, payment.day), []).append(payment)
    for entry in unreferenced:
        same = candidates.get((entry.amount, entry.currency, _entry_day(entry)), [])
        found = _same_amount_and_day(entry, same, used)
        if found is None:
            result.missing_in_gateway.append(entry)
            continue
        payment, matched_by = found
        used.add(payment.id)
        result.matched.append(EntryMatch(entry, (payment,), matched_by))

    # the statement's account, and the accounts its own transactions name as the creditor's (CdtrAcct)
    own_accounts = {_account_key(account) for account in accounts} | {
        _account_key(account) for entry in statement.entries for account in entry.payee_accounts
    }
    for payment in in_period:
        if payment.id in used:
            continue
        if payment.currency != currency:
            result.other_currency += 1
        elif (
            payment.payee_account and own_accounts and _account_key(payment.payee_account) not in own_accounts
        ):
            result.other_account += 1
        else:
            result.missing_on_statement.append(payment)
    if result.other_currency or result.other_account:
        notes.append(
            f"payments booked in the period and left out: {result.other_currency} in another currency than "
            f"{currency}, {result.other_account} for another account (their payee account)"
        )
    if period_from is not None and period_to is not None:
        result.balances = _balances(session, tenant_id, statement, currency, period_from, period_to, notes)
        if result.debits and result.balances.movements.difference:
            debited = sum((entry.amount for entry in result.debits), _ZERO)
            notes.append(
                f"{len(result.debits)} debit entries ({debited} {currency}) are money out, which the "
                "gateway's journal does not post: they may be part of the movements difference"
            )
    return result


def _entry_references(entry: StatementEntry) -> list[str]:
    found = list(entry.references)
    if entry.reference and entry.reference not in found:
        found.append(entry.reference)
    return found


def _entry_day(entry: StatementEntry) -> dt.date | None:
    return entry.booking_date or entry.value_date


def _account_key(account: str) -> str:
    return "".join(account.split()).upper()


def _same_amount_and_day(
    entry: StatementEntry, candidates: list[GatewayPayment], used: set[str]
) -> tuple[GatewayPayment, str] | None:
    """An unused payment of the entry's amount, currency and date; the same counterparty when both name one.

    Only where a reference cannot decide: the entry or the payment has none.
    """
    day = _entry_day(entry)
    accounts = {_account_key(account) for account in entry.payer_accounts}
    names = {name.casefold() for name in entry.payer_names}
    entry_has_reference = bool(_entry_references(entry))
    best: tuple[GatewayPayment, str] | None = None
    for payment in candidates:
        if payment.id in used or payment.amount != entry.amount or payment.currency != entry.currency:
            continue
        if payment.day != day or (entry_has_reference and payment.bank_reference):
            continue
        if accounts and payment.payer_account:
            if _account_key(payment.payer_account) not in accounts:
                continue
            return payment, "amount, date and payer account"
        if names and payment.payer_name:
            if payment.payer_name.casefold() not in names:
                continue
            return payment, "amount, date and payer name"
        if best is None:
            best = (payment, "amount and date")
    return best


def _period(statement: CamtStatement, notes: list[str]) -> tuple[dt.date | None, dt.date | None]:
    days = [day for entry in statement.entries if (day := _entry_day(entry)) is not None]
    closing = statement.last_balance("CLBD")
    opening = statement.balance("OPBD", "PRCD")
    start, end = statement.period_from, statement.period_to
    if start is not None and end is not None and all(start <= day <= end for day in days):
        return start, end
    closing_day = closing.date if closing else None
    period_from: dt.date | None
    period_to: dt.date | None
    if days:
        period_from = min(days)
        period_to = max([*days, *([closing_day] if closing_day else [])])
    else:
        period_from = closing_day or (opening.date if opening else None) or start
        period_to = closing_day or end or period_from
    if start is not None and end is not None:
        notes.append(
            f"FrToDt {start.isoformat()} – {end.isoformat()} does not cover the entries' dates: the period "
            f"is taken from the entries and the closing balance ({_day(period_from)} – {_day(period_to)})"
        )
    return period_from, period_to


def _eligible(tenant_id: str) -> list[Any]:
    return [
        col(PaymentRecord.tenant_id) == tenant_id,
        col(PaymentRecord.direction) == "credit",
        col(PaymentRecord.hint_only).is_(False),
        col(PaymentRecord.status).not_in(EXCLUDED_STATUSES),
        col(PaymentRecord.kind).not_like("%-pending"),
        # a card payment advice is no bank movement: the provider's payout (reconciled, kept) is
        col(PaymentRecord.kind) != "card",
    ]


def _payment_columns() -> tuple[Any, ...]:
    return (
        col(PaymentRecord.id),
        col(PaymentRecord.amount),
        col(PaymentRecord.currency),
        col(PaymentRecord.booking_date),
        col(PaymentRecord.value_date),
        col(PaymentRecord.created_at),
        col(PaymentRecord.bank_reference),
        col(PaymentRecord.payer_name),
        col(PaymentRecord.payer_account),
        col(PaymentRecord.data)["payee_account"].as_string(),
    )


def _gateway_payment(row: Any) -> GatewayPayment:
    payment_id, amount, currency, booking, value, created, reference, name, payer, payee = row
    day = booking or value or (created.date() if created is not None else None)
    return GatewayPayment(payment_id, Decimal(amount), currency, day, reference, name, payer, payee or None)


def _payments_in_period(
    session: Session, tenant_id: str, period_from: dt.date, period_to: dt.date | None
) -> list[GatewayPayment]:
    end = period_to or period_from
    day = func.coalesce(col(PaymentRecord.booking_date), col(PaymentRecord.value_date))
    start_moment = dt.datetime.combine(period_from, dt.time(), dt.UTC)
    end_moment = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    undated = and_(
        col(PaymentRecord.booking_date).is_(None),
        col(PaymentRecord.value_date).is_(None),
        col(PaymentRecord.created_at) >= start_moment,
        col(PaymentRecord.created_at) < end_moment,
    )
    statement = (
        select(*_payment_columns())
        .where(*_eligible(tenant_id), or_(day.between(period_from, end), undated))
        .order_by(col(PaymentRecord.created_at), col(PaymentRecord.sequence))
    )
    return [_gateway_payment(row) for row in session.execute(statement)]


def _payments_by_reference(session: Session, tenant_id: str, references: list[str]) -> list[GatewayPayment]:
    found: list[GatewayPayment] = []
    for start in range(0, len(references), _REFERENCE_CHUNK):
        chunk = references[start : start + _REFERENCE_CHUNK]
        statement = select(*_payment_columns()).where(
            *_eligible(tenant_id), col(PaymentRecord.bank_reference).in_(chunk)
        )
        found.extend(_gateway_payment(row) for row in session.execute(statement))
    return found


def _balances(
    session: Session,
    tenant_id: str,
    statement: CamtStatement,
    currency: str,
    period_from: dt.date,
    period_to: dt.date,
    notes: list[str],
) -> BalanceComparison:
    ledger = tenant_settings(session, tenant_id).ledger
    account = ledger.roles.bank
    foreign = currency != ledger.accounting_currency
    opening_journal, movements_journal = _ZERO, _ZERO
    rows = session.execute(
        select(
            col(LedgerLine.voucher_date),
            col(LedgerLine.debit),
            col(LedgerLine.credit),
            col(LedgerLine.currency),
            col(LedgerLine.currency_amount),
        ).where(
            col(LedgerLine.tenant_id) == tenant_id,
            col(LedgerLine.account) == account,
            col(LedgerLine.voucher_date) <= period_to,
        )
    )
    for voucher_date, debit, credit, line_currency, currency_amount in rows:
        if foreign:
            if line_currency != currency or currency_amount is None:
                continue
            value = Decimal(currency_amount)
        else:
            value = Decimal(debit) - Decimal(credit)
        if voucher_date < period_from:
            opening_journal += value
        else:
            movements_journal += value
    opening = statement.balance("OPBD", "PRCD")
    closing = statement.last_balance("CLBD")
    booked = [entry for entry in statement.entries if entry.booked]
    net = sum((e.amount if e.direction == "credit" else -e.amount for e in booked), _ZERO)
    opening_amount = opening.amount if opening else None
    closing_amount = closing.amount if closing else None
    if opening is None:
        notes.append(
            "the statement has no opening booked balance (OPBD or PRCD): the opening is not compared"
        )
    if closing is None:
        notes.append("the statement has no closing booked balance (CLBD): the closing is not compared")
    gap = None
    if opening_amount is not None and closing_amount is not None:
        gap = closing_amount - (opening_amount + net)
    return BalanceComparison(
        account=account,
        currency=currency,
        compared_in=f"{currency} amounts of the account's lines" if foreign else "the account's balance",
        opening=BalanceLine(opening_amount, opening_journal),
        movements=BalanceLine(net, movements_journal),
        closing=BalanceLine(closing_amount, opening_journal + movements_journal),
        statement_gap=gap,
    )
