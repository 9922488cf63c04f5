"""A payment provider's payouts: the card payments it bundles, and the bank entry it becomes.

A card payment is booked when the customer pays (its advice, `mappings.remittance.card_advice`, applied to
the invoices at once); the money reaches the seller's bank days later, many payments in one payout, less
the provider's fees. The payout is recorded here (`record_payout`, from Stripe's `payout.paid` and its
balance transactions, `stripe_payout`, or any provider's report as a `PayoutAnnouncement`) as a
`CardPayout` naming the advices it bundles. The bank statement's credit for it (the provider as payer, the
payout's net amount, its reference in the entry's text) is then *reconciled* against it
(`reconcile_bank_payment`, called by every matching run before the engine decides): its status is
`reconciled`, its decision says which payout of how many card payments, and it is never matched to
invoices (they were paid by the advices already: matching it again would pay them twice).

A payout entry without a reference is reconciled only when exactly one announced payout of that provider
has that amount and arrives within `ARRIVAL_DAYS` of the entry's date. An entry that comes before its
payout is announced goes through matching like any lump sum from an intermediary (no reference, an
intermediary's name: an exception, never applied) and is reconciled when the payout is recorded.

Vipps MobilePay (not read yet: a `PayoutAnnouncement` is the way in): its Report API lists a ledger's day
(`GET /settlement/v1/ledgers` for the ledger id of the sales unit, then `GET /report/v2/ledgers/{ledgerId}/
funds/dates/{ledgerDate}`, paged with a cursor): `capture` entries carry the pspReference a card advice
names, `fees-retained` the fees, `payout-scheduled` the payout (its amount negative, minor units) that the
bank receives. One day's payout-scheduled entry, its day's captures and fees-retained are one announcement.

The ledger posts a card advice's payment to the clearing account (card payments in transit) and a
reconciled payout as bank (net) and fees against the clearing account (gross): `gateway.services.ledger`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import CardPayout, PaymentRecord, utcnow
from gateway.services.refusals import Refused
from mappings.remittance.card_advice import CARD_KIND
from schemas.remittance import Payment
from transports.payment_providers import stripe_payouts

Provider = Literal["stripe", "vipps"]
#: Payment status of a bank entry that is a provider's payout, reconciled against it.
RECONCILED = "reconciled"
#: Who decided a reconciled payment (the matching run, or the payout's recording).
RECONCILER = "matching"
#: A payout without a reference in the entry is recognised this many days either side of its arrival date.
ARRIVAL_DAYS = 4
#: Payer names each provider's payouts carry on Norwegian bank statements (a word or the name's start).
PROVIDER_PAYERS: dict[str, tuple[str, ...]] = {
    "stripe": ("stripe",),
    "vipps": ("vipps", "mobilepay"),
}
#: Statuses of a bank payment not decided yet (reconciling it later is still right).
_WAITING = ("new", "exception", "needs_approval")


class PayoutRefused(Refused):
    """A payout that cannot be recorded as given: `field` names what, the message why."""


@dataclass(frozen=True)
class PayoutAnnouncement:
    """A provider's payout, whatever the provider: the neutral input `record_payout` takes.

    `provider_payments` are the provider's ids of the card payments it bundles (Stripe pi_…, Vipps
    pspReference): the advices' bank references. `gross` and `fees` as the provider reports them (None:
    the bundled advices' total, and gross less net)."""

    provider: Provider
    payout_reference: str
    amount: Decimal
    currency: str
    arrival_date: dt.date | None
    provider_payments: tuple[str, ...] = ()
    gross: Decimal | None = None
    fees: Decimal | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PayoutView:
    """A recorded payout as callers show it."""

    id: str
    provider: str
    payout_reference: str
    amount: Decimal
    gross: Decimal
    fees: Decimal
    currency: str
    arrival_date: dt.date | None
    payment_ids: list[str]
    status: str
    bank_payment_id: str | None
    unknown_payments: list[str]

    @classmethod
    def of(cls, row: CardPayout) -> PayoutView:
        return cls(
            row.id, row.provider, row.payout_reference, Decimal(row.amount), Decimal(row.gross),
            Decimal(row.fees), row.currency, row.arrival_date, list(row.payment_ids), row.status,
            row.bank_payment_id, list((row.data or {}).get("unknown_payments") or []),
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "provider": self.provider, "payout_reference": self.payout_reference,
            "amount": str(self.amount), "gross": str(self.gross), "fees": str(self.fees),
            "currency": self.currency,
            "arrival_date": self.arrival_date.isoformat() if self.arrival_date else None,
            "payment_ids": self.payment_ids, "status": self.status, "bank_payment_id": self.bank_payment_id,
            "unknown_payments": self.unknown_payments,
        }  # fmt: skip


def payout_sentence(payout: CardPayout) -> str:
    """What a reconciled bank payment's status says: "payout po_… of N card payments (gross X, fees Y)"."""
    count = len(payout.payment_ids)
    noun = "card payment" if count == 1 else "card payments"
    return (
        f"payout {payout.payout_reference} of {count} {noun} "
        f"(gross {payout.gross} {payout.currency}, fees {payout.fees} {payout.currency})"
    )


def record_payout(
    engine: Engine, tenant_id: str, announcement: PayoutAnnouncement, *, now: dt.datetime | None = None
) -> PayoutView:
    """Record a provider's payout (once: the same payout again answers with the first record), find the
    advices it bundles by their provider payment ids, and reconcile the bank entry for it if it came first.

    `PayoutRefused` when the amounts do not add up (gross less fees is not the net amount), or the payout
    reference is another tenant's."""
    now = now or utcnow()
    reference = announcement.payout_reference.strip()
    if not reference:
        raise PayoutRefused("payout_reference", "a payout needs the provider's reference")
    if announcement.amount <= 0:
        raise PayoutRefused("amount", f"a payout to the bank is a positive amount, not {announcement.amount}")
    with session_scope(engine) as session:
        existing = session.execute(
            select(CardPayout).where(
                col(CardPayout.provider) == announcement.provider,
                col(CardPayout.payout_reference) == reference,
            )
        ).scalar_one_or_none()
        if existing is not None:
            if existing.tenant_id != tenant_id:
                raise PayoutRefused("payout_reference", f"{reference} is recorded for another account")
            return PayoutView.of(existing)
        advices = _advices(session, tenant_id, announcement.provider_payments)
        found = {row.bank_reference: row for row in advices}
        unknown = [ref for ref in dict.fromkeys(announcement.provider_payments) if ref not in found]
        gross = announcement.gross
        if gross is None:
            gross = sum((Decimal(row.amount) for row in advices), Decimal(0))
        fees = announcement.fees if announcement.fees is not None else gross - announcement.amount
        if gross - fees != announcement.amount:
            raise PayoutRefused(
                "amount",
                f"gross {gross} less fees {fees} is {gross - fees}, the payout is {announcement.amount}",
            )
        payout = CardPayout(
            tenant_id=tenant_id,
            provider=announcement.provider,
            payout_reference=reference,
            amount=str(announcement.amount),
            gross=str(gross),
            fees=str(fees),
            currency=announcement.currency,
            arrival_date=announcement.arrival_date,
            payment_ids=[row.id for row in advices],
            status="announced",
            created_at=now,
            data={**announcement.data, "unknown_payments": unknown} if unknown else dict(announcement.data),
        )
        session.add(payout)
        session.flush()
        waiting = session.execute(
            select(PaymentRecord).where(
                col(PaymentRecord.tenant_id) == tenant_id,
                col(PaymentRecord.status).in_(_WAITING),
                col(PaymentRecord.direction) == "credit",
                col(PaymentRecord.kind) != CARD_KIND,
                col(PaymentRecord.currency) == announcement.currency,
            )
        ).scalars()
        for row in waiting:
            if Decimal(row.amount) != announcement.amount:
                continue
            if reconcile_bank_payment(session, row, Payment.from_dict(row.data), now=now):
                break
        return PayoutView.of(payout)


def _advices(session: Session, tenant_id: str, references: Sequence[str]) -> list[PaymentRecord]:
    """The card advices booked (not as duplicates) for these provider payment ids, in the given order."""
    wanted = list(dict.fromkeys(ref for ref in references if ref))
    rows: dict[str, PaymentRecord] = {}
    for start in range(0, len(wanted), 500):
        for row in session.execute(
            select(PaymentRecord).where(
                col(PaymentRecord.tenant_id) == tenant_id,
                col(PaymentRecord.kind) == CARD_KIND,
                col(PaymentRecord.duplicate_of).is_(None),
                col(PaymentRecord.bank_reference).in_(wanted[start : start + 500]),
            )
        ).scalars():
            rows.setdefault(row.bank_reference or "", row)
    return [rows[ref] for ref in wanted if ref in rows]


def payout_provider(payment: Payment) -> str | None:
    """The provider whose payout a bank credit looks like, by the payer's name; None: no provider's."""
    folded = (payment.payer_name or "").casefold().strip()
    if not folded:
        return None
    for provider, names in PROVIDER_PAYERS.items():
        if any(folded.startswith(name) or re.search(rf"\b{re.escape(name)}\b", folded) for name in names):
            return provider
    return None


def _texts(payment: Payment) -> str:
    """Everything an entry says of itself, folded: where a payout's reference would be written."""
    parts: list[str] = [*payment.free_text, payment.end_to_end_id or "", payment.bank_reference or ""]
    for line in payment.lines:
        parts += [line.text or "", line.invoice_number or "", line.kid or ""]
    return " ".join(parts).casefold()


def find_payout(session: Session, tenant_id: str, payment: Payment) -> CardPayout | None:
    """The announced payout a bank credit is, or None.

    The payer is the provider (its name), the amount is the payout's net amount in its currency, and the
    payout's reference is in the entry's text; or no announced payout's reference is there and exactly one
    announced payout of that provider and amount arrives within `ARRIVAL_DAYS` of the entry's date."""
    if payment.direction != "credit" or payment.hint_only or payment.kind == CARD_KIND:
        return None
    provider = payout_provider(payment)
    if provider is None:
        return None
    candidates = list(
        session.execute(
            select(CardPayout).where(
                col(CardPayout.tenant_id) == tenant_id,
                col(CardPayout.provider) == provider,
                col(CardPayout.status) == "announced",
                col(CardPayout.currency) == payment.currency,
            )
        ).scalars()
    )
    text = _texts(payment)
    named = [payout for payout in candidates if payout.payout_reference.casefold() in text]
    if named:
        fitting = [payout for payout in named if Decimal(payout.amount) == payment.amount]
        return fitting[0] if len(fitting) == 1 else None
    day = payment.booking_date or payment.value_date
    near = [
        payout
        for payout in candidates
        if Decimal(payout.amount) == payment.amount
        and (
            day is None
            or payout.arrival_date is None
            or abs((payout.arrival_date - day).days) <= ARRIVAL_DAYS
        )
    ]
    return near[0] if len(near) == 1 else None


def reconcile_bank_payment(
    session: Session, row: PaymentRecord, payment: Payment, *, now: dt.datetime
) -> CardPayout | None:
    """Reconcile a bank payment that is an announced payout (`find_payout`): the payment becomes
    `reconciled` with a decision naming the payout, the payout `reconciled` with the payment's id. None
    (and nothing changed) when it is no payout."""
    payout = find_payout(session, row.tenant_id, payment)
    if payout is None:
        return None
    sentence = payout_sentence(payout)
    row.status = RECONCILED
    row.decided_at, row.decided_by = now, RECONCILER
    row.note = sentence
    row.decision = {
        "outcome": RECONCILED,
        "reason": sentence,
        "payout": {
            "id": payout.id, "provider": payout.provider, "payout_reference": payout.payout_reference,
            "amount": payout.amount, "gross": payout.gross, "fees": payout.fees, "currency": payout.currency,
            "payment_ids": list(payout.payment_ids),
        },
        **({"previous": row.decision} if row.decision else {}),
    }  # fmt: skip
    row.applied_amount, row.unapplied, row.write_off = None, None, None
    payout.status, payout.bank_payment_id, payout.reconciled_at = RECONCILED, row.id, now
    session.add(row)
    session.add(payout)
    return payout


def list_payouts(engine: Engine, tenant_id: str, *, status: str | None = None) -> list[PayoutView]:
    """The tenant's payouts, newest first."""
    with session_scope(engine) as session:
        query = select(CardPayout).where(col(CardPayout.tenant_id) == tenant_id)
        if status:
            query = query.where(col(CardPayout.status) == status)
        rows: Iterable[CardPayout] = session.execute(
            query.order_by(col(CardPayout.created_at).desc(), col(CardPayout.id))
        ).scalars()
        return [PayoutView.of(row) for row in rows]


# --- Stripe: a `payout.paid` event and the payout's balance transactions --------------------------------

#: Currencies Stripe counts in whole units (no minor unit): their amounts are not divided by 100.
STRIPE_ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
     "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)  # fmt: skip
#: Balance transaction types that are the payments a payout bundles (their sources are charges / payments).
_STRIPE_PAYMENT_TYPES = frozenset({"charge", "payment"})


def _stripe_amount(minor: Any, currency: str, where: str) -> Decimal:
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise PayoutRefused(where, f"Stripe amounts are integers in minor units, not {minor!r}")
    value = Decimal(minor)
    return value if currency.casefold() in STRIPE_ZERO_DECIMAL else value / 100


def stripe_payout(event: dict[str, Any], transactions: Sequence[dict[str, Any]]) -> PayoutAnnouncement:
    """The neutral announcement of a Stripe `payout.paid` event, with the payout's balance transactions as
    `GET /v1/balance_transactions?payout=po_…&expand[]=data.source` lists them.

    Net: the payout's amount. Gross and fees: the sums of `amount` and `fee` over every transaction but
    the payout's own (charges, refunds, adjustments), which must come to the payout's amount. The payments
    bundled: each charge's payment intent (pi_…, what a card advice names), else the source's id."""
    if event.get("type") != "payout.paid":
        raise PayoutRefused("type", f"a {event.get('type')!r} event is no paid payout")
    payout = (event.get("data") or {}).get("object") or {}
    if payout.get("object") != "payout" or not str(payout.get("id", "")).startswith("po_"):
        raise PayoutRefused("data.object", "the event carries no payout")
    currency = str(payout.get("currency") or "")
    if len(currency) != 3:
        raise PayoutRefused("data.object.currency", f"{currency!r} is no currency")
    amount = _stripe_amount(payout.get("amount"), currency, "data.object.amount")
    arrival = payout.get("arrival_date")
    arrival_date = dt.datetime.fromtimestamp(arrival, dt.UTC).date() if isinstance(arrival, int) else None
    gross = fees = Decimal(0)
    payments: list[str] = []
    for index, transaction in enumerate(transactions):
        if transaction.get("type") == "payout":
            continue
        where = f"balance_transactions[{index}]"
        if str(transaction.get("currency", "")).casefold() != currency.casefold():
            raise PayoutRefused(
                f"{where}.currency", f"{transaction.get('currency')!r}, the payout is {currency}"
            )
        gross += _stripe_amount(transaction.get("amount"), currency, f"{where}.amount")
        fees += _stripe_amount(transaction.get("fee"), currency, f"{where}.fee")
        if transaction.get("type") in _STRIPE_PAYMENT_TYPES:
            source = transaction.get("source")
            if isinstance(source, dict):
                intent = source.get("payment_intent")
                intent_id = intent.get("id") if isinstance(intent, dict) else intent
                payments.append(str(intent_id or source.get("id") or ""))
            elif isinstance(source, str):
                payments.append(source)
    if gross - fees != amount:
        raise PayoutRefused(
            "balance_transactions",
            f"gross {gross} less fees {fees} is {gross - fees}, the payout is {amount}",
        )
    return PayoutAnnouncement(
        provider="stripe",
        payout_reference=str(payout["id"]),
        amount=amount,
        currency=currency.upper(),
        arrival_date=arrival_date,
        provider_payments=tuple(p for p in payments if p),
        gross=gross,
        fees=fees,
        data={"event_id": event.get("id"), "transactions": len(transactions)},
    )


def record_stripe_payout(
    engine: Engine,
    tenant_id: str,
    event: dict[str, Any],
    *,
    secret_key: str,
    api_base: str = stripe_payouts.API_BASE,
    transport: httpx.BaseTransport | None = None,
    now: dt.datetime | None = None,
) -> PayoutView:
    """A verified Stripe `payout.paid` event (the portal's webhook checked its signature): the payout's
    balance transactions read from Stripe's API, then recorded (`record_payout`; the same payout again is
    the first record). `StripeApiError` when Stripe cannot be read (the webhook answers 5xx: Stripe sends
    the event again), `PayoutRefused` when the payout does not add up."""
    payout_id = str(((event.get("data") or {}).get("object") or {}).get("id") or "")
    if not payout_id.startswith("po_"):
        raise PayoutRefused("data.object.id", "the event names no payout")
    transactions = stripe_payouts.payout_transactions(
        secret_key, payout_id, api_base=api_base, transport=transport
    )
    return record_payout(engine, tenant_id, stripe_payout(event, transactions), now=now)
