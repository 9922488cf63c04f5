"""Matching runs, and what their decisions do: open amounts, payment status, events, people's resolutions.

A run takes a tenant's `new` payments in the order they were booked (a bank entry that is a payment
provider's announced payout is reconciled against it first, never matched: `gateway.services.portal.payouts`),
builds the matching index from the
tenant's open (and recently paid) invoices with everything people taught it (payer accounts, name
aliases, reference patterns), and lets `gateway.matching` decide each payment. Applied decisions write
allocations and move the invoices' open amount and `payment_status` at once; exceptions and approvals keep
the engine's evidence and ranked suggestions for a person.

One run per tenant at a time (`matching_leases`): two runs on the same stale open amounts could each apply
a payment to an invoice that only one of them may settle. Allocations are applied against the invoice
row as stored (read inside the transaction), never against the index's copy, so a person's resolution
in between is respected.

A person's resolution (`resolve_payment`) is booked like a decision and teaches the index: the payer's
account and name variant become the customer's, and a reference the payer wrote differently becomes a
pattern, so the next such payment matches by itself. The engine's own automatic applications teach too,
when they rest on a structured reference that fits the amount: the payer's account, stored as an
observation (`payer_observations`); an account observed for several customers is shared. Reversing an
application, or a person replacing it, withdraws what it taught. Reversing an automatic application is
counted as a false automatic application in the report: the figure the domain says must stand next to the
auto rate.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, union_all
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import (
    InvoiceRecord,
    MatchingLease,
    PayerAlias,
    PayerObservation,
    PaymentAllocation,
    PaymentRecord,
    ReferencePattern,
    RemittanceLineRecord,
    utcnow,
)
from gateway.matching import (
    Allocation,
    Decision,
    LearnedPattern,
    MatchIndex,
    OpenItem,
    learn_from_application,
    learn_from_resolution,
    match_payment,
)
from gateway.matching.names import alias_key, match_key
from gateway.matching.references import normalise_account
from gateway.services import metrics
from gateway.services.followup.notices import cancel_paid_notices
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.lookup import find_invoice
from gateway.services.payments import customer_groups
from gateway.services.portal.payouts import RECONCILED, reconcile_bank_payment
from gateway.services.refusals import Refused
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.tenants import tenant_settings
from outbox import lease
from outbox.lease import LeasedTable
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment

#: Paid invoices stay findable this long, so a second payment for one is recognised as a duplicate.
RECENTLY_PAID_DAYS = 400
MATCHER = "matching"
OPEN_STATUSES = ("new", "exception", "needs_approval")
#: Every status a payment can have: intake's (new, duplicate, hint), matching's outcomes, a person's.
PAYMENT_STATUSES = (
    "new",
    "applied",
    "needs_approval",
    "exception",
    "ignored",
    "duplicate",
    "resolved",
    "hint",
    # a bank entry that is a payment provider's payout, reconciled against the card payments it bundles
    # (`gateway.services.portal.payouts`): never matched to invoices, the advices paid them
    "reconciled",
)


class PaymentNotFound(LookupError):
    pass


class ResolutionRefused(Refused):
    """A resolution or approval that cannot be booked; `field` names what is wrong."""


class MatchingBusy(RuntimeError):
    """Another run holds the tenant's matching lease."""


@dataclass
class MatchRun:
    """What one run did: counts and amounts by outcome (`gateway match --report` prints it)."""

    tenant_id: str
    payments: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    amounts: dict[str, Decimal] = field(default_factory=dict)
    invoices_paid: int = 0
    invoices_partially_paid: int = 0
    invoices_overpaid: int = 0
    open_items: int = 0
    seconds: float = 0.0

    def add(self, outcome: str, amount: Decimal) -> None:
        self.outcomes[outcome] += 1
        self.amounts[outcome] = self.amounts.get(outcome, Decimal(0)) + amount

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "payments": self.payments,
            "outcomes": dict(self.outcomes),
            "amounts": {k: str(v) for k, v in self.amounts.items()},
            "open_items": self.open_items,
            "invoices": {
                "paid": self.invoices_paid,
                "partially_paid": self.invoices_partially_paid,
                "overpaid": self.invoices_overpaid,
            },
            "seconds": round(self.seconds, 3),
        }


# --- the lease -------------------------------------------------------------------------------------------


#: One row per tenant; the holder's name is the token, so a run renews its own lease by acquiring it again.
MATCHING_LEASES = LeasedTable(
    MatchingLease.__table__,  # type: ignore[attr-defined]
    noun="matching lease of tenant",
    key="tenant_id",
    token="holder",  # noqa: S106 - the column holding the token
    expires_at="expires_at",
    holder=None,
    updated_at=None,
)


def acquire_lease(engine: Engine, tenant_id: str, holder: str, seconds: float = 600.0) -> bool:
    """Take (or renew) the tenant's matching lease for `holder`; False while another run holds it."""
    with session_scope(engine) as session:
        return lease.acquire(session, MATCHING_LEASES, tenant_id, holder, seconds=seconds, now=utcnow())


def release_lease(engine: Engine, tenant_id: str, holder: str) -> None:
    with session_scope(engine) as session:
        lease.release(session, MATCHING_LEASES, tenant_id, holder)


# --- building the index ----------------------------------------------------------------------------------


def _amount(text: str | None, default: str) -> Decimal:
    return Decimal(text if text is not None else default)


def open_items(
    session: Session,
    tenant_id: str,
    *,
    now: dt.datetime | None = None,
    customer_key: str | None = None,
    invoice_ids: Sequence[str] | None = None,
) -> Iterator[OpenItem]:
    """The tenant's invoices and credit notes as the engine sees them: open, or paid not long ago (only
    `invoice_ids` when given)."""
    since = (now or utcnow()) - dt.timedelta(days=RECENTLY_PAID_DAYS)
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    columns = (
        table.c.id,
        table.c.number,
        table.c.document_type,
        table.c.customer_key,
        table.c.buyer_name,
        table.c.currency,
        table.c.open_amount,
        table.c.payable_amount,
        table.c.issue_date,
        table.c.due_date,
        table.c.payment_reference,
    )
    scope = (
        table.c.tenant_id == tenant_id,
        *([table.c.customer_key == customer_key] if customer_key else []),
        *([table.c.id.in_(list(invoice_ids))] if invoice_ids is not None else []),
    )
    # Two ranges of ix_invoices_open_items (tenant, status, paid_at), one per half of "open, or paid
    # lately" (`paid_at` is set exactly when an invoice is paid or overpaid): an OR of the two would let
    # the planners read every invoice of the tenant, so the load grew with its history.
    rows = session.execute(
        union_all(
            select(*columns).where(*scope, table.c.payment_status.in_(("unpaid", "partially_paid"))),
            select(*columns).where(
                *scope, table.c.payment_status.in_(("paid", "overpaid")), table.c.paid_at >= since
            ),
        ),
        execution_options={"yield_per": 5000},
    )
    for row in rows:
        yield OpenItem(
            invoice_id=row.id,
            number=row.number,
            document_type="credit_note" if row.document_type == "credit_note" else "invoice",
            customer_key=row.customer_key or f"name:{row.buyer_name.casefold()}",
            customer_name=row.buyer_name,
            currency=row.currency,
            open_amount=_amount(row.open_amount, row.payable_amount),
            total_amount=Decimal(row.payable_amount),
            issue_date=row.issue_date,
            due_date=row.due_date,
            kid=row.payment_reference,
        )


def build_index(session: Session, tenant_id: str, *, invoice_ids: Sequence[str] | None = None) -> MatchIndex:
    """What matching knows of the tenant: its open items (only `invoice_ids` when given: a checkout's),
    the payer accounts and names it learned, its reference patterns and customer groups."""
    settings = tenant_settings(session, tenant_id)
    aliases = (
        session.execute(select(PayerAlias).where(col(PayerAlias.tenant_id) == tenant_id)).scalars().all()
    )
    patterns = (
        session.execute(select(ReferencePattern).where(col(ReferencePattern.tenant_id) == tenant_id))
        .scalars()
        .all()
    )
    index = MatchIndex(
        open_items(session, tenant_id, invoice_ids=invoice_ids),
        kid_agreement=settings.kid,
        accounts={a.value: a.customer_key for a in aliases if a.kind == "account"},
        aliases={a.value: a.customer_key for a in aliases if a.kind == "name"},
        patterns=[LearnedPattern(p.customer_key, p.regex, source=f"pattern {p.id}") for p in patterns],
    )
    _add_observations(session, tenant_id, index)
    for account in settings.matching.shared_accounts:
        index.share_account(account)
    # customer groups: stored links and receiver profiles' parent_customer (named by any known key)
    known = [*index.customer_keys(), *(a.customer_key for a in aliases), *index.account_owners()]
    for member, parent in customer_groups.group_links(session, tenant_id, known):
        index.learn_group(member, parent)
    return index


def _add_observations(session: Session, tenant_id: str, index: MatchIndex) -> None:
    """The payer accounts the engine's own confident applications showed (not withdrawn), each with the
    reference it learned from; an account whose observations name several customers becomes shared."""
    rows = session.execute(
        select(
            col(PayerObservation.value),
            col(PayerObservation.customer_key),
            col(PayerObservation.payment_id),
            col(InvoiceRecord.number),
            col(InvoiceRecord.payment_reference),
        )
        .outerjoin(
            PaymentAllocation,
            and_(
                col(PaymentAllocation.payment_id) == col(PayerObservation.payment_id),
                col(PaymentAllocation.reversed_at).is_(None),
            ),
        )
        .outerjoin(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentAllocation.invoice_id))
        .where(
            col(PayerObservation.tenant_id) == tenant_id,
            col(PayerObservation.kind) == "account",
            col(PayerObservation.withdrawn_at).is_(None),
        )
        .order_by(col(PayerObservation.observed_at), col(PayerObservation.id))
    ).all()
    for value, customer_key, payment_id, number, kid in rows:
        reference = f"KID {kid}" if kid else f"invoice {number}" if number else "reference"
        index.learn_account(value, customer_key, source=f"payment {payment_id}'s {reference}", automatic=True)


# --- booking allocations ---------------------------------------------------------------------------------


def invoice_payment_status(open_amount: Decimal, total: Decimal) -> str:
    """An invoice's payment status for what is still open of its total (negative: overpaid)."""
    if open_amount < 0:
        return "overpaid"
    if open_amount == 0:
        return "paid"
    return "partially_paid" if open_amount < total else "unpaid"


@dataclass(frozen=True)
class _Booked:
    invoice_id: str
    number: str
    before: str
    after: str
    open_amount: Decimal


def _book_allocations(
    session: Session,
    payment: PaymentRecord,
    allocations: Sequence[Allocation],
    write_off: Decimal,
    actor: str,
    now: dt.datetime,
) -> list[_Booked]:
    """Apply each allocation to the invoice row as stored; the write-off goes with the last invoice."""
    booked: list[_Booked] = []
    last_invoice = max((i for i, a in enumerate(allocations) if a.document_type == "invoice"), default=None)
    # the engine may state a write-off per allocation (deductions on several invoices); else the total
    # write-off goes with the last invoice
    per_allocation = any(a.write_off for a in allocations)
    for index, allocation in enumerate(allocations):
        invoice = session.execute(
            select(InvoiceRecord).where(col(InvoiceRecord.id) == allocation.invoice_id).with_for_update()
        ).scalar_one_or_none()
        if invoice is None or invoice.tenant_id != payment.tenant_id:
            raise ResolutionRefused("allocations", f"no invoice {allocation.invoice_id}")
        off = allocation.write_off if per_allocation else write_off if index == last_invoice else Decimal(0)
        total = Decimal(invoice.payable_amount)
        open_before = _amount(invoice.open_amount, invoice.payable_amount)
        open_after = open_before - allocation.amount - off
        before = invoice.payment_status
        invoice.open_amount = str(open_after)
        invoice.payment_status = invoice_payment_status(open_after, total)
        if invoice.payment_status in ("paid", "overpaid") and invoice.paid_at is None:
            invoice.paid_at = now
        session.add(invoice)
        session.add(
            PaymentAllocation(
                tenant_id=payment.tenant_id,
                payment_id=payment.id,
                invoice_id=invoice.id,
                amount=str(allocation.amount),
                write_off=str(off),
                created_by=actor,
                created_at=now,
            )
        )
        booked.append(_Booked(invoice.id, invoice.number, before, invoice.payment_status, open_after))
    # follow-up: a notice not yet left whose invoices are now all paid is cancelled with its delivery
    paid = [item.invoice_id for item in booked]
    cancel_paid_notices(session, payment.tenant_id, paid, actor=actor, payment=payment.id)
    return booked


def _emit_invoice_changes(
    session: Session, tenant_id: str, payment: PaymentRecord, booked: Iterable[_Booked], now: dt.datetime
) -> None:
    for item in booked:
        webhooks.emit(
            session,
            tenant_id,
            f"invoice.{item.after}",
            {
                "invoice_id": item.invoice_id,
                "number": item.number,
                "payment_status": item.after,
                "previous_payment_status": item.before,
                "open_amount": str(item.open_amount),
                "payment_id": payment.id,
                "payment_amount": payment.amount,
                "currency": payment.currency,
            },
            at=now,
        )


def _record_decision(
    session: Session, payment: PaymentRecord, decision: Decision, now: dt.datetime
) -> list[_Booked]:
    payment.decision = decision.as_dict()
    payment.confidence = decision.confidence
    payment.customer_key = decision.customer_key
    payment.decided_at = now
    payment.decided_by = MATCHER
    payment.status = decision.outcome
    payment.note = decision.reason[:2000]
    booked: list[_Booked] = []
    if decision.outcome == "applied" and decision.proposal is not None:
        proposal = decision.proposal
        booked = _book_allocations(session, payment, proposal.allocations, proposal.write_off, MATCHER, now)
        payment.applied_amount = str(sum((a.amount for a in proposal.allocations), Decimal(0)))
        payment.write_off = str(proposal.write_off)
        payment.unapplied = str(proposal.unapplied)
    session.add(payment)
    if decision.outcome in ("exception", "needs_approval"):
        webhooks.emit(
            session,
            payment.tenant_id,
            f"payment.{decision.outcome}",
            {
                "payment_id": payment.id,
                "amount": payment.amount,
                "currency": payment.currency,
                "payer_name": payment.payer_name,
                "reason": decision.reason,
                "suggestions": [s.as_dict() for s in decision.suggestions],
            },
            at=now,
        )
    _emit_invoice_changes(session, payment.tenant_id, payment, booked, now)
    return booked


# --- the run ---------------------------------------------------------------------------------------------


def run_matching(
    engine: Engine,
    tenant_id: str,
    *,
    holder: str | None = None,
    today: dt.date | None = None,
    batch_size: int = 200,
    checkout: tuple[Sequence[str], Sequence[str]] | None = None,
) -> MatchRun:
    """Decide every `new` payment of the tenant; `MatchingBusy` if another run holds the lease.

    `checkout` = (payment ids, invoice ids): decide only those payments, against only those invoices — a
    card checkout's advice, whose lines are the invoices the gateway itself put in the checkout. Loading
    every open item of the tenant for it made a provider's webhook cost a second at 100,000 invoices
    (benchmarks/portal_pages.py)."""
    holder = holder or f"run-{secrets.token_hex(6)}"
    if not acquire_lease(engine, tenant_id, holder):
        raise MatchingBusy(f"another matching run holds tenant {tenant_id}")
    started = utcnow()
    report = MatchRun(tenant_id)
    try:
        with session_scope(engine) as session:
            policy = tenant_settings(session, tenant_id).matching
            index = build_index(session, tenant_id, invoice_ids=checkout[1] if checkout else None)
            only = [col(PaymentRecord.id).in_(list(checkout[0]))] if checkout else []
            pending = list(
                session.execute(
                    select(col(PaymentRecord.id))
                    .where(
                        col(PaymentRecord.tenant_id) == tenant_id, col(PaymentRecord.status) == "new", *only
                    )
                    .order_by(
                        col(PaymentRecord.created_at), col(PaymentRecord.file_id), col(PaymentRecord.sequence)
                    )
                ).scalars()
            )
        report.open_items = len(index)
        for start in range(0, len(pending), batch_size):
            acquire_lease(engine, tenant_id, holder)  # renew for long runs
            with session_scope(engine) as session:
                rows = (
                    session.execute(
                        select(PaymentRecord)
                        .where(
                            col(PaymentRecord.id).in_(pending[start : start + batch_size]),
                            col(PaymentRecord.status) == "new",
                        )
                        .order_by(
                            col(PaymentRecord.created_at),
                            col(PaymentRecord.file_id),
                            col(PaymentRecord.sequence),
                        )
                    )
                    .scalars()
                    .all()
                )
                now = utcnow()
                for row in rows:
                    payment = Payment.from_dict(row.data)
                    if reconcile_bank_payment(session, row, payment, now=now) is not None:
                        report.payments += 1
                        report.add(RECONCILED, Decimal(row.amount))
                        continue
                    decision = match_payment(payment, index, policy, today=today)
                    booked = _record_decision(session, row, decision, now)
                    if decision.outcome == "applied" and decision.proposal is not None:
                        index.apply(decision.proposal.allocations)
                        if policy.learn_from_automatic:
                            _learn_from_application(session, row, payment, decision, index, policy, now)
                    report.payments += 1
                    report.add(decision.outcome, Decimal(row.amount))
                    for item in booked:
                        if item.after == "paid":
                            report.invoices_paid += 1
                        elif item.after == "partially_paid":
                            report.invoices_partially_paid += 1
                        elif item.after == "overpaid":
                            report.invoices_overpaid += 1
    finally:
        release_lease(engine, tenant_id, holder)
    report.seconds = (utcnow() - started).total_seconds()
    metrics.record_matching_run(dict(report.outcomes))
    return report


def _learn_from_application(
    session: Session,
    row: PaymentRecord,
    payment: Payment,
    decision: Decision,
    index: MatchIndex,
    policy: MatchingPolicy,
    now: dt.datetime,
) -> None:
    """Store what the engine's own confident application taught (one observation per account), and say
    so in the payment's decision, with what was deliberately not learned."""
    learned = learn_from_application(payment, decision, index, policy)
    for account, customer_key in learned.accounts.items():
        session.add(
            PayerObservation(
                tenant_id=row.tenant_id,
                kind="account",
                value=account[:200],
                customer_key=customer_key,
                payment_id=row.id,
                observed_at=now,
            )
        )
    if learned or learned.notes:
        row.decision = {**(row.decision or {}), "learned": learned.as_dict()}
        session.add(row)


def withdraw_observations(session: Session, payment_id: str, actor: str, now: dt.datetime) -> list[str]:
    """Forget what a payment's automatic application taught (it was reversed or replaced): the values."""
    withdrawn: list[str] = []
    for observation in session.execute(
        select(PayerObservation).where(
            col(PayerObservation.payment_id) == payment_id, col(PayerObservation.withdrawn_at).is_(None)
        )
    ).scalars():
        observation.withdrawn_at, observation.withdrawn_by = now, actor
        session.add(observation)
        withdrawn.append(observation.value)
    return withdrawn


def tenants_with_new_payments(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(
            session.execute(
                select(col(PaymentRecord.tenant_id)).where(col(PaymentRecord.status) == "new").distinct()
            ).scalars()
        )


def run_all(engine: Engine, *, holder: str | None = None) -> list[MatchRun]:
    """One run per tenant with new payments (the worker's step); a busy tenant is left for next time."""
    runs: list[MatchRun] = []
    for tenant_id in tenants_with_new_payments(engine):
        try:
            runs.append(run_matching(engine, tenant_id, holder=holder))
        except MatchingBusy:
            continue
    return runs


# --- people's decisions ----------------------------------------------------------------------------------


def get_payment(session: Session, tenant_id: str, payment_id: str) -> PaymentRecord:
    payment = session.get(PaymentRecord, payment_id)
    if payment is None or payment.tenant_id != tenant_id:
        raise PaymentNotFound(f"no payment {payment_id}")
    return payment


def _active_allocations(session: Session, payment_id: str) -> list[PaymentAllocation]:
    return list(
        session.execute(
            select(PaymentAllocation).where(
                col(PaymentAllocation.payment_id) == payment_id, col(PaymentAllocation.reversed_at).is_(None)
            )
        ).scalars()
    )


def _reverse(session: Session, payment: PaymentRecord, actor: str, now: dt.datetime) -> list[_Booked]:
    booked: list[_Booked] = []
    for allocation in _active_allocations(session, payment.id):
        invoice = session.execute(
            select(InvoiceRecord).where(col(InvoiceRecord.id) == allocation.invoice_id).with_for_update()
        ).scalar_one()
        before = invoice.payment_status
        open_after = (
            _amount(invoice.open_amount, invoice.payable_amount)
            + Decimal(allocation.amount)
            + Decimal(allocation.write_off)
        )
        invoice.open_amount = str(open_after)
        invoice.payment_status = invoice_payment_status(open_after, Decimal(invoice.payable_amount))
        if invoice.payment_status not in ("paid", "overpaid"):
            invoice.paid_at = None
        allocation.reversed_at, allocation.reversed_by = now, actor
        session.add_all([invoice, allocation])
        booked.append(_Booked(invoice.id, invoice.number, before, invoice.payment_status, open_after))
    return booked


def _allocations_from(
    session: Session, tenant_id: str, requested: Sequence[tuple[str, Decimal]]
) -> list[Allocation]:
    allocations: list[Allocation] = []
    for position, (invoice_id, amount) in enumerate(requested):
        where = f"allocations[{position}]"
        if amount <= 0:
            raise ResolutionRefused(f"{where}.amount", "must be more than zero")
        try:  # an id or a number; a number of two documents is `AmbiguousReference` (409)
            invoice = find_invoice(session, tenant_id, invoice_id, field=f"{where}.invoice_id")
        except NotFound:
            raise ResolutionRefused(f"{where}.invoice_id", f"no invoice {invoice_id}") from None
        credit = invoice.document_type == "credit_note"
        allocations.append(
            Allocation(invoice.id, invoice.number, amount, "credit_note" if credit else "invoice")
        )
    return allocations


def checked_allocations(
    session: Session, payment: PaymentRecord, requested: Sequence[tuple[str, Decimal]]
) -> tuple[list[Allocation], Decimal, bool]:
    """A person's allocations as the engine's, refused (naming the field) when an invoice is unknown, an
    amount is not positive, or they apply more than the payment brought; with the net applied and whether
    the invoices are in the payment's currency."""
    chosen = _allocations_from(session, payment.tenant_id, requested)
    currencies = {session.get(InvoiceRecord, a.invoice_id).currency for a in chosen}  # type: ignore[union-attr]
    net = sum((a.amount if a.document_type == "invoice" else -a.amount for a in chosen), Decimal(0))
    same_currency = currencies == {payment.currency}
    if same_currency and net > Decimal(payment.amount):
        raise ResolutionRefused(
            "allocations", f"they apply {net} but the payment is {payment.amount} {payment.currency}"
        )
    return chosen, net, same_currency


def resolve_payment(
    engine: Engine,
    tenant_id: str,
    payment_id: str,
    allocations: Sequence[tuple[str, Decimal]],
    *,
    actor: str,
    reason: str | None = None,
    write_off: Decimal = Decimal(0),
    learn: bool = True,
) -> dict[str, Any]:
    """Book a person's answer for a payment (replacing what was applied before) and learn from it."""
    if write_off < 0:
        raise ResolutionRefused("write_off", "must not be negative")
    now = utcnow()
    with session_scope(engine) as session:
        payment = get_payment(session, tenant_id, payment_id)
        if payment.status in ("duplicate", "hint"):
            raise ResolutionRefused("payment", f"a {payment.status} payment is not applied")
        chosen, net, same_currency = checked_allocations(session, payment, allocations)
        reversed_booked = _reverse(session, payment, actor, now)
        booked = _book_allocations(session, payment, chosen, write_off, actor, now)
        was_automatic = payment.decided_by == MATCHER and payment.status == "applied"
        payment.false_automatic = payment.false_automatic or was_automatic
        unlearned = withdraw_observations(session, payment.id, actor, now) if was_automatic else []
        payment.status = "resolved" if chosen else "ignored"
        payment.applied_amount = str(net)
        payment.write_off = str(write_off)
        payment.unapplied = str(Decimal(payment.amount) - net) if same_currency else None
        payment.decided_at, payment.decided_by = now, actor
        payment.note = (reason or "resolved by hand")[:2000]
        history = dict(payment.decision or {})
        history.setdefault("resolutions", [])
        history["resolutions"] = [
            *history["resolutions"],
            {
                "by": actor,
                "at": now.isoformat(),
                "reason": reason,
                "replaced_automatic": was_automatic,
                **({"unlearned": unlearned} if unlearned else {}),
                "allocations": [
                    {"invoice_id": a.invoice_id, "number": a.number, "amount": str(a.amount)} for a in chosen
                ],
                "write_off": str(write_off),
            },
        ]
        payment.decision = history
        learned: dict[str, Any] = {}
        if learn and chosen:
            learned = _learn(session, payment, chosen, actor)
        session.add(payment)
        _emit_invoice_changes(session, tenant_id, payment, [*reversed_booked, *booked], now)
        return {"payment": payment_view(session, payment), "learned": learned}


def _allocated_customers(session: Session, chosen: Sequence[Allocation]) -> dict[str, str]:
    """The customers whose items a resolution allocates to (key -> buyer name), the first one's first."""
    owners: dict[str, str] = {}
    for allocation in chosen:
        invoice = session.get(InvoiceRecord, allocation.invoice_id)
        assert invoice is not None
        owners.setdefault(invoice.customer_key or f"name:{invoice.buyer_name.casefold()}", invoice.buyer_name)
    return owners


def _known_payer(session: Session, tenant_id: str, data: Payment, owners: dict[str, str]) -> str | None:
    """The customer the payer is already known as: a learned account (a person's, else the automatic
    observations naming one customer), a learned name, else the one allocated customer named like it."""
    learned = [
        ("account", normalise_account(data.payer_account or ""), normalise_account(data.payer_account or "")),
        ("name", (data.payer_name or "").strip(), alias_key(data.payer_name or "")),
    ]
    for kind, value, observed in learned:
        if not value:
            continue
        taught = session.execute(
            select(col(PayerAlias.customer_key)).where(
                col(PayerAlias.tenant_id) == tenant_id,
                col(PayerAlias.kind) == kind,
                col(PayerAlias.value) == value,
            )
        ).scalar()
        if taught:
            return str(taught)
        seen = set(
            session.execute(
                select(col(PayerObservation.customer_key)).where(
                    col(PayerObservation.tenant_id) == tenant_id,
                    col(PayerObservation.kind) == kind,
                    col(PayerObservation.value) == observed,
                    col(PayerObservation.withdrawn_at).is_(None),
                )
            ).scalars()
        )
        if len(seen) == 1:
            return seen.pop()
    name = match_key(data.payer_name or "")
    named = [key for key, buyer in owners.items() if name and match_key(buyer) == name]
    return named[0] if len(named) == 1 else None


def _learn_groups(
    session: Session, payment: PaymentRecord, owners: dict[str, str], payer_key: str, actor: str
) -> list[dict[str, str]]:
    """The payer (known as `payer_key`) paid other customers' items: it pays for them (customer groups)."""
    learned: list[dict[str, str]] = []
    if not tenant_settings(session, payment.tenant_id).matching.group_payments:
        return learned
    for member in owners:
        if member != payer_key and customer_groups.learn_link(
            session, payment.tenant_id, member, payer_key, payment_id=payment.id, actor=actor
        ):
            learned.append({"customer": member, "parent": payer_key})
    return learned


def _learn(
    session: Session, payment: PaymentRecord, chosen: Sequence[Allocation], actor: str
) -> dict[str, Any]:
    data = Payment.from_dict(payment.data)
    owners = _allocated_customers(session, chosen)
    customer_key = next(iter(owners))
    payer_key = _known_payer(session, payment.tenant_id, data, owners)
    groups: list[dict[str, str]] = []
    notes: list[str] = []
    learn_payer = True
    if payer_key is not None and set(owners) != {payer_key}:
        # a known payer paying another customer's items is its group's payer: the group is learned, never
        # the payer's account or name as that customer's
        groups = _learn_groups(session, payment, owners, payer_key, actor)
        if payer_key in owners:
            customer_key = payer_key
        else:
            learn_payer = False
            notes.append(f"the payer is known as {payer_key}: its account and name stay that customer's")
    items = list(open_items(session, payment.tenant_id, customer_key=customer_key))
    # Every other customer's name too (no number, no KID: only its name is indexed), so an alias is not
    # learned when the bank's name fits a look-alike customer as well.
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    names = session.execute(
        select(table.c.customer_key, table.c.buyer_name)
        .where(table.c.tenant_id == payment.tenant_id, table.c.customer_key != customer_key)
        .distinct()
    ).all()
    today = utcnow().date()
    items += [
        OpenItem(f"name:{n}", "", "invoice", key, name, "", Decimal(0), Decimal(0), today)
        for n, (key, name) in enumerate(names)
        if key
    ]
    index = MatchIndex(items)
    learned = learn_from_resolution(data, chosen, index, customer_key)
    if not learn_payer:
        learned.accounts.clear()
        learned.aliases.clear()
    stored: dict[str, Any] = {"accounts": [], "aliases": [], "patterns": [], "groups": groups}
    if notes:
        stored["notes"] = notes
    for kind, values, bucket in (
        ("account", learned.accounts, "accounts"),
        ("name", learned.aliases, "aliases"),
    ):
        for value, key in values.items():
            if (
                session.execute(
                    select(col(PayerAlias.id)).where(
                        col(PayerAlias.tenant_id) == payment.tenant_id,
                        col(PayerAlias.kind) == kind,
                        col(PayerAlias.value) == value,
                    )
                ).first()
                is None
            ):
                session.add(
                    PayerAlias(
                        tenant_id=payment.tenant_id,
                        kind=kind,
                        value=value[:200],
                        customer_key=key,
                        learned_from=payment.id,
                        created_by=actor,
                    )
                )
                stored[bucket].append(value)
    for pattern in learned.patterns:
        if (
            session.execute(
                select(col(ReferencePattern.id)).where(
                    col(ReferencePattern.tenant_id) == payment.tenant_id,
                    col(ReferencePattern.customer_key) == pattern.customer_key,
                    col(ReferencePattern.regex) == pattern.regex,
                )
            ).first()
            is None
        ):
            session.add(
                ReferencePattern(
                    tenant_id=payment.tenant_id,
                    customer_key=pattern.customer_key,
                    regex=pattern.regex[:300],
                    learned_from=payment.id,
                    created_by=actor,
                )
            )
            stored["patterns"].append(pattern.regex)
    # the payer, when a known payer paid another customer's items (as the engine's decisions say)
    payment.customer_key = customer_key if learn_payer else payer_key
    return stored


def payment_choices(payment: PaymentRecord) -> list[dict[str, Any]]:
    """What a person may approve, in the order `approve_payment(suggestion=n)` counts them: the engine's
    proposal first when it waits for approval, then its ranked suggestions."""
    decision = payment.decision or {}
    proposals: list[dict[str, Any]] = list(decision.get("suggestions") or [])
    if payment.status == "needs_approval" and decision.get("proposal"):
        proposals = [decision["proposal"], *[p for p in proposals if p != decision["proposal"]]]
    return proposals


def approve_payment(
    engine: Engine,
    tenant_id: str,
    payment_id: str,
    *,
    actor: str,
    reason: str | None = None,
    suggestion: int = 0,
) -> dict[str, Any]:
    """Book the proposal (or the n-th suggestion) the engine made, as the person's resolution."""
    with session_scope(engine) as session:
        payment = get_payment(session, tenant_id, payment_id)
        proposals = payment_choices(payment)
        if payment.status not in ("needs_approval", "exception"):
            raise ResolutionRefused("payment", f"nothing to approve for a payment in status {payment.status}")
        if suggestion >= len(proposals):
            raise ResolutionRefused(
                "suggestion", f"there is no suggestion {suggestion} (there are {len(proposals)})"
            )
        chosen = proposals[suggestion]
    requested = [(a["invoice_id"], Decimal(a["amount"])) for a in chosen.get("allocations", [])]
    return resolve_payment(
        engine,
        tenant_id,
        payment_id,
        requested,
        actor=actor,
        reason=reason or "approved the engine's proposal",
        write_off=Decimal(chosen.get("write_off") or 0),
    )


def ignore_payment(
    engine: Engine, tenant_id: str, payment_id: str, *, actor: str, reason: str
) -> dict[str, Any]:
    """Not an invoice payment (a refund, a loan, someone else's money): nothing applied, kept with why."""
    return resolve_payment(engine, tenant_id, payment_id, [], actor=actor, reason=reason, learn=False)


def reverse_payment(
    engine: Engine, tenant_id: str, payment_id: str, *, actor: str, reason: str
) -> dict[str, Any]:
    """Take back what a payment applied; it waits as an exception again (an automatic one counts as false)."""
    now = utcnow()
    with session_scope(engine) as session:
        payment = get_payment(session, tenant_id, payment_id)
        if payment.status not in ("applied", "resolved"):
            raise ResolutionRefused("payment", f"a payment in status {payment.status} has nothing applied")
        history = dict(payment.decision or {})
        unlearned = withdraw_observations(session, payment.id, actor, now)
        history["reversals"] = [
            *history.get("reversals", []),
            {
                "by": actor,
                "at": now.isoformat(),
                "reason": reason,
                "was": payment.status,
                "was_automatic": payment.decided_by == MATCHER,
                **({"unlearned": unlearned} if unlearned else {}),
            },
        ]
        payment.false_automatic = payment.false_automatic or payment.decided_by == MATCHER
        booked = _reverse(session, payment, actor, now)
        forgotten = customer_groups.forget_links_learned_from(session, tenant_id, payment.id)
        if forgotten:
            history["reversals"][-1]["forgot_groups"] = forgotten
        payment.decision = history
        payment.status, payment.applied_amount, payment.write_off, payment.unapplied = (
            "exception",
            None,
            None,
            None,
        )
        payment.decided_at, payment.decided_by, payment.note = now, actor, f"reversed: {reason}"[:2000]
        session.add(payment)
        _emit_invoice_changes(session, tenant_id, payment, booked, now)
        return payment_view(session, payment)


# --- views, reports, reminders ----------------------------------------------------------------------------


def payment_view(session: Session, payment: PaymentRecord) -> dict[str, Any]:
    allocations = session.execute(
        select(PaymentAllocation, col(InvoiceRecord.number))
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentAllocation.invoice_id))
        .where(col(PaymentAllocation.payment_id) == payment.id)
        .order_by(col(PaymentAllocation.created_at))
    ).all()
    return {
        "id": payment.id,
        "file_id": payment.file_id,
        "position": payment.position,
        "kind": payment.kind,
        "status": payment.status,
        "direction": payment.direction,
        "amount": payment.amount,
        "currency": payment.currency,
        "booking_date": payment.booking_date.isoformat() if payment.booking_date else None,
        "value_date": payment.value_date.isoformat() if payment.value_date else None,
        "payer_name": payment.payer_name,
        "payer_account": payment.payer_account,
        "bank_reference": payment.bank_reference,
        "customer_key": payment.customer_key,
        "confidence": payment.confidence,
        "applied_amount": payment.applied_amount,
        "write_off": payment.write_off,
        "unapplied": payment.unapplied,
        "duplicate_of": payment.duplicate_of,
        "note": payment.note,
        "decided_by": payment.decided_by,
        "decided_at": payment.decided_at.isoformat() if payment.decided_at else None,
        "remittance": payment.data,
        "decision": payment.decision,
        "allocations": [
            {
                "invoice_id": a.invoice_id,
                "number": number,
                "amount": a.amount,
                "write_off": a.write_off,
                "by": a.created_by,
                "at": a.created_at.isoformat(),
                "reversed_at": a.reversed_at.isoformat() if a.reversed_at else None,
                "reversed_by": a.reversed_by,
            }
            for a, number in allocations
        ],
    }


def payment_summary(payment: PaymentRecord) -> dict[str, Any]:
    """A payment in a list: what it is and what became of it (the full view has evidence and history)."""
    return {
        "id": payment.id,
        "position": payment.position,
        "kind": payment.kind,
        "status": payment.status,
        "amount": payment.amount,
        "currency": payment.currency,
        "payer_name": payment.payer_name,
        "confidence": payment.confidence,
        "applied_amount": payment.applied_amount,
        "note": payment.note,
        "duplicate_of": payment.duplicate_of,
        "invoices": [
            a.get("number") for a in ((payment.decision or {}).get("proposal") or {}).get("allocations", [])
        ]
        if payment.status == "applied"
        else [],
    }


def list_payments(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    since: dt.datetime | None = None,
    file_id: str | None = None,
    limit: int = 100,
    statuses: Sequence[str] | None = None,
    offset: int = 0,
) -> list[PaymentRecord]:
    """The tenant's payments in the order they were booked; `statuses` for a queue of several (the
    console's "matched": applied and resolved), `offset` for its next page."""
    query = select(PaymentRecord).where(col(PaymentRecord.tenant_id) == tenant_id)
    if status:
        query = query.where(col(PaymentRecord.status) == status)
    if statuses is not None:
        query = query.where(col(PaymentRecord.status).in_(statuses))
    if since:
        query = query.where(col(PaymentRecord.created_at) >= since)
    if file_id:
        query = query.where(col(PaymentRecord.file_id) == file_id)
    return list(
        session.execute(
            query.order_by(col(PaymentRecord.created_at), col(PaymentRecord.sequence))
            .offset(offset)
            .limit(limit)
        ).scalars()
    )


def invoice_payments(session: Session, invoice: InvoiceRecord) -> dict[str, Any]:
    """An invoice's payment side: open amount, status, and every allocation (reversed ones marked)."""
    rows = (
        session.execute(
            select(PaymentAllocation)
            .where(col(PaymentAllocation.invoice_id) == invoice.id)
            .order_by(col(PaymentAllocation.created_at))
        )
        .scalars()
        .all()
    )
    hints = (
        session.execute(
            select(PaymentRecord)
            .join(RemittanceLineRecord, col(RemittanceLineRecord.payment_id) == col(PaymentRecord.id))
            .where(
                col(PaymentRecord.tenant_id) == invoice.tenant_id,
                col(PaymentRecord.status) == "hint",
                col(RemittanceLineRecord.invoice_number) == invoice.number,
            )
            .order_by(col(PaymentRecord.created_at))
        )
        .scalars()
        .all()
    )
    return {
        "payment_status": invoice.payment_status,
        # what the buyer (or a payer's advice) said about paying it, without money: never booked
        "hints": [
            {
                "payment_id": h.id,
                "kind": h.kind,
                "amount": h.amount,
                "currency": h.currency or None,
                "paid_on": h.value_date.isoformat() if h.value_date else None,
                "from": h.payer_name,
                "note": h.note,
            }
            for h in hints
        ],
        "open_amount": invoice.open_amount if invoice.open_amount is not None else invoice.payable_amount,
        "paid_at": invoice.paid_at.isoformat() if invoice.paid_at else None,
        "allocations": [
            {
                "payment_id": a.payment_id,
                "amount": a.amount,
                "write_off": a.write_off,
                "by": a.created_by,
                "at": a.created_at.isoformat(),
                "reversed_at": a.reversed_at.isoformat() if a.reversed_at else None,
            }
            for a in rows
        ],
    }


#: Statuses that are no match to make, unless a person decided so (then they count against the engine).
_NOT_MATCHABLE = ("duplicate", "hint", "ignored", "reconciled")


def _matchable(status: str, decided_by: str | None) -> bool:
    """Whether a payment counts in the rates: all but duplicates, hints and ignored ones the engine set."""
    return not (status in _NOT_MATCHABLE and decided_by in (None, MATCHER))


def _automatic(status: str, decision: dict[str, Any] | None) -> bool:
    """Whether the engine applied the payment by itself: it still stands (`applied`), or a person later
    reversed or re-allocated it (a false automatic application)."""
    history = decision or {}
    return (
        status == "applied"
        or any(r.get("was_automatic") for r in history.get("reversals", []))
        or any(r.get("replaced_automatic") for r in history.get("resolutions", []))
    )


@dataclass(frozen=True)
class MatchRates:
    """`match_report`'s per-payment counts for the payments received in one span."""

    since: dt.datetime
    matchable: int
    automatic: int
    false_automatic: int

    @property
    def auto_rate_pct(self) -> float:
        return _rate(self.automatic, self.matchable)

    @property
    def false_auto_rate_pct(self) -> float:
        return _rate(self.false_automatic, self.automatic)


def _rate(part: Decimal | int, whole: Decimal | int) -> float:
    return round(float(Decimal(part) / Decimal(whole)) * 100, 2) if whole else 0.0


def match_rates(
    session: Session, tenant_id: str, starts: Sequence[dt.datetime], until: dt.datetime
) -> list[MatchRates]:
    """The automatic and false automatic counts of `match_report`, for the spans starts[0]..starts[1], …,
    starts[-1]..until, counted in the database. For the console's overview, where a week's payments are many.

    Each span is one pass over `ix_payments_status` (tenant, status, created_at, decided_by,
    false_automatic), a range per status in index order (nothing to sort, no row read): an automatic
    application still standing is `applied`, one a person undid carries `false_automatic` (what
    `_automatic` finds in the history)."""
    created, status, decided_by = (
        col(PaymentRecord.created_at),
        col(PaymentRecord.status),
        col(PaymentRecord.decided_by),
    )
    by_engine = case((or_(decided_by.is_(None), decided_by == MATCHER), 1), else_=0)
    undone = case((col(PaymentRecord.false_automatic), 1), else_=0)
    rates: list[MatchRates] = []
    for start, end in zip(starts, [*starts[1:], until], strict=True):
        window = [col(PaymentRecord.tenant_id) == tenant_id, created >= start, created < end]
        # most payments are applied: counted alone, their range is read without a look at any column
        applied = session.execute(select(func.count()).where(*window, status == "applied")).scalar_one()
        matchable = automatic = int(applied)
        false_automatic = 0
        for row_status, payments, engine_decided, undone_automatic in session.execute(
            select(status, func.count(), func.sum(by_engine), func.sum(undone))
            .where(*window, status.in_([s for s in PAYMENT_STATUSES if s != "applied"]))
            .group_by(status)
        ):
            matchable += payments - (int(engine_decided or 0) if row_status in _NOT_MATCHABLE else 0)
            automatic += int(undone_automatic or 0)
            false_automatic += int(undone_automatic or 0)
        rates.append(MatchRates(start, matchable, automatic, false_automatic))
    return rates


def match_report(
    session: Session,
    tenant_id: str,
    *,
    since: dt.datetime | None = None,
    file_id: str | None = None,
    until: dt.datetime | None = None,
) -> dict[str, Any]:
    """Match rates per payment and per invoice, by count and by amount, with the false-auto rate beside
    the auto rate (automatic applications a person later reversed or re-allocated). `since` / `until`:
    the payments received at or after / before these moments."""
    query = select(PaymentRecord).where(col(PaymentRecord.tenant_id) == tenant_id)
    if since:
        query = query.where(col(PaymentRecord.created_at) >= since)
    if until:
        query = query.where(col(PaymentRecord.created_at) < until)
    if file_id:
        query = query.where(col(PaymentRecord.file_id) == file_id)
    counts: Counter[str] = Counter()
    amounts: dict[str, Decimal] = {}
    automatic = false_automatic = 0
    automatic_amount = false_amount = total_amount = Decimal(0)
    matchable = 0
    for payment in session.execute(query).scalars():
        amount = Decimal(payment.amount)
        counts[payment.status] += 1
        amounts[payment.status] = amounts.get(payment.status, Decimal(0)) + amount
        if not _matchable(payment.status, payment.decided_by):
            continue
        matchable += 1
        total_amount += amount
        was_auto = _automatic(payment.status, payment.decision)
        if was_auto:
            automatic += 1
            automatic_amount += amount
        if was_auto and payment.status != "applied":
            false_automatic += 1
            false_amount += amount
    invoice_rows = session.execute(
        select(
            col(PaymentAllocation.invoice_id),
            col(PaymentAllocation.created_by),
            col(PaymentAllocation.amount),
        )
        .join(PaymentRecord, col(PaymentRecord.id) == col(PaymentAllocation.payment_id))
        .where(
            col(PaymentAllocation.tenant_id) == tenant_id,
            col(PaymentAllocation.reversed_at).is_(None),
            *([col(PaymentRecord.created_at) >= since] if since else []),
            *([col(PaymentRecord.created_at) < until] if until else []),
            *([col(PaymentRecord.file_id) == file_id] if file_id else []),
        )
    ).all()
    by_invoice: dict[str, set[str]] = {}
    invoice_amounts: dict[str, Decimal] = {}
    for invoice_id, created_by, applied in invoice_rows:
        by_invoice.setdefault(invoice_id, set()).add(created_by)
        invoice_amounts[invoice_id] = invoice_amounts.get(invoice_id, Decimal(0)) + Decimal(applied)
    auto_invoices = [i for i, who in by_invoice.items() if who == {MATCHER}]

    rate = _rate
    return {
        "tenant": tenant_id,
        "payments": {"by_status": dict(counts), "amount_by_status": {k: str(v) for k, v in amounts.items()}},
        "per_payment": {
            "matchable": matchable,
            "auto_applied": automatic,
            "auto_rate_pct": rate(automatic, matchable),
            "false_auto_applied": false_automatic,
            "false_auto_rate_pct": rate(false_automatic, max(automatic, 1)),
            "amount_matchable": str(total_amount),
            "amount_auto_applied": str(automatic_amount),
            "auto_rate_by_amount_pct": rate(automatic_amount, total_amount),
            "false_auto_rate_by_amount_pct": rate(false_amount, automatic_amount),
            "open_exceptions": counts.get("exception", 0),
            "awaiting_approval": counts.get("needs_approval", 0),
        },
        "per_invoice": {
            "invoices_with_payments": len(by_invoice),
            "settled_automatically": len(auto_invoices),
            "auto_rate_pct": rate(len(auto_invoices), len(by_invoice)),
            "amount_applied": str(sum(invoice_amounts.values(), Decimal(0))),
            "amount_applied_automatically": str(sum((invoice_amounts[i] for i in auto_invoices), Decimal(0))),
        },
    }


def reminder_candidates(
    session: Session, tenant_id: str, *, today: dt.date, grace_days: int = 14
) -> list[InvoiceRecord]:
    """Invoices a reminder may go out for: past due by `grace_days` (Norway: 14 days before a fee may be
    charged) and not paid. Paid and overpaid invoices never appear: "paid" stops every reminder."""
    if today.toordinal() <= grace_days:
        return []  # the cut-off would fall before the year 1: nothing can be due that early
    cutoff = today - dt.timedelta(days=grace_days)
    return list(
        session.execute(
            select(InvoiceRecord)
            .where(
                col(InvoiceRecord.tenant_id) == tenant_id,
                col(InvoiceRecord.document_type) == "invoice",
                col(InvoiceRecord.payment_status).in_(("unpaid", "partially_paid")),
                and_(col(InvoiceRecord.due_date).is_not(None), col(InvoiceRecord.due_date) <= cutoff),
            )
            .order_by(col(InvoiceRecord.due_date))
        ).scalars()
    )
