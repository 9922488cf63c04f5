"""Posting: the gateway's source events turned into balanced vouchers, once each.

What is posted (each event once, its `LedgerSource` key in brackets), in the order (event date, kind, id):

1. `[invoice:<id>]` an invoice on its issue date: receivables debit (payable, BT-115, with the customer,
   document number, KID and due date), revenue credit per VAT breakdown line (taxable, BT-116, with the tax
   code), output VAT credit (BT-117), prepaid (BT-113) debited to prepayments, rounding (BT-114) to the
   rounding account. A credit note: the same with the sides swapped. A foreign-currency document: every
   line × the tenant's rate on the issue date, rounded per line, the rounding difference on the largest
   revenue line.
2. `[payment:<id>]` money that came in (credit, not a hint, not a duplicate, not ignored) on its booking
   date: bank debit; each allocation active as of `until` credits receivables (debits them for a credit
   note), its write-off is debited to losses, the foreign-exchange difference goes to gain or loss, and
   what is left (unapplied, overpaid) is credited to customer prepayments. The allocations it covers are
   registered as posted by it (`[allocation:<id>]`). A card payment advice (kind "card") debits the card
   clearing account (card payments in transit) instead of the bank. A bank entry reconciled against a
   provider's payout (status "reconciled", `gateway.services.portal.payouts`) is no customer's payment:
   bank debit (net), provider fees debit, card clearing credit (gross: what its advices debited).
3. `[allocation:<id>]` an allocation made after its payment was posted, on the day it was made:
   prepayments debit, receivables credit (write-off, FX as above).
4. `[reversal:<allocation id>]` a reversed allocation, on the day it was reversed: the exact reverse of the
   allocation's posted lines, the money going back to prepayments. An allocation made and reversed before
   it was ever posted registers both keys with no voucher.
5. `[notice:<id>]` a reminder notice that left, with fee, interest or compensation: receivables debit,
   income credit. `[notice-reversal:<id>]` the same notice failed (came back) after it was posted: its
   lines reversed.

Why a credit note set against an invoice (`gateway.services.payments.credits`) needs no voucher: both
documents are already posted to the receivables account on the same customer (the invoice's debit, the
credit note's credit), so setting one against the other moves nothing between accounts or customers; the
receivables balance is the same before and after (only the two documents' open amounts change, by the same
amount).

Dates and periods: an event goes into the period of its date (YYYY-MM) when that period is open, else
into the first open period after it, dated that period's first day (`event_date` keeps the real date).
"Active as of `until`" makes a posting run describe the books on `until`: an allocation made after
`until` is posted by a later run as an allocation voucher, one reversed after `until` is covered now and
reversed by a later run. Timestamps (`created_at`, `reversed_at`, a notice's `updated_at`) count by their
UTC date.

Scale: every source table is streamed in keyset chunks ordered by (date, id), only what is not posted yet
(`LedgerSource` anti-join); the streams are merged and posted in batches, each batch's vouchers, lines and
source keys bulk-inserted. Memory holds one batch and one chunk per stream, never a table.

Concurrency and atomicity: one run per tenant at a time (PostgreSQL: a transaction advisory lock keyed by
schema and tenant, waited for; SQLite: the engine's `BEGIN IMMEDIATE` write lock). A run is one
transaction: a refusal (`LedgerRefused`, naming the field and the reason) writes nothing of that run.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Engine,
    and_,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select
from sqlmodel import col

from db.engine import session_scope
from db.models import (
    CardPayout,
    InvoiceRecord,
    LedgerLine,
    LedgerPeriod,
    LedgerSource,
    LedgerVoucher,
    PaymentAllocation,
    PaymentRecord,
    ReminderNotice,
    new_id,
    utcnow,
)
from gateway.services.ledger.errors import LedgerRefused
from gateway.services.portal.payouts import RECONCILED
from gateway.services.tenancy.tenants import tenant_settings
from mappings.remittance.card_advice import CARD_KIND
from schemas.ledger import LedgerSettings

CENT = Decimal("0.01")
ZERO = Decimal(0)
#: Events posted per batch, and invoice rows read per keyset chunk (each carries its canonical payload).
CHUNK_SIZE = 1000
#: Rows read per keyset chunk of the other source tables: small rows, ordered by a date computed from
#: several columns that no index serves, so each chunk is one scan of the tenant's rows; few large chunks
#: keep a month of 100,000 payments to a few scans (a few megabytes a chunk).
SCAN_CHUNK_SIZE = 10_000
#: The first key of the PostgreSQL advisory lock of a tenant's posting run (the second is the tenant's
#: hash with the schema): an arbitrary constant no other lock of the gateway uses.
POSTING_LOCK_CLASS = 200020
#: Statuses of a payment whose money is not the customer's payment (never posted).
NOT_MONEY = ("duplicate", "hint", "ignored")

_INVOICES = InvoiceRecord.__table__  # type: ignore[attr-defined]
_PAYMENTS = PaymentRecord.__table__  # type: ignore[attr-defined]
_ALLOCATIONS = PaymentAllocation.__table__  # type: ignore[attr-defined]
_NOTICES = ReminderNotice.__table__  # type: ignore[attr-defined]
_SOURCES = LedgerSource.__table__  # type: ignore[attr-defined]
_VOUCHERS = LedgerVoucher.__table__  # type: ignore[attr-defined]
_LINES = LedgerLine.__table__  # type: ignore[attr-defined]
_PERIODS = LedgerPeriod.__table__  # type: ignore[attr-defined]

#: The kinds of event in the order they are posted on one day.
_RANK = {"invoice": 1, "payment": 2, "allocation": 3, "reversal": 4, "notice": 5, "notice-reversal": 6}


@dataclass
class PostingResult:
    """What one posting run wrote."""

    tenant_id: str
    until: dt.date
    actor: str
    vouchers: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    first_number: int | None = None
    last_number: int | None = None
    without_voucher: int = 0
    periods: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "until": self.until.isoformat(),
            "actor": self.actor,
            "vouchers": self.vouchers,
            "by_type": dict(sorted(self.by_type.items())),
            "first_number": self.first_number,
            "last_number": self.last_number,
            "without_voucher": self.without_voucher,
            "periods": sorted(self.periods),
        }


# --- amounts and lines -----------------------------------------------------------------------------------


def q(amount: Decimal) -> Decimal:
    """An amount in the accounting currency: rounded half up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _text(amount: Decimal) -> str:
    return str(q(amount))


@dataclass
class _Line:
    """A line being built: `amount` is signed (positive debit, negative credit)."""

    account: str
    amount: Decimal
    text: str = ""
    tax_code: str | None = None
    tax_rate: Decimal | None = None
    tax_base: Decimal | None = None
    tax_amount: Decimal | None = None
    customer_key: str | None = None
    document_number: str | None = None
    kid: str | None = None
    due_date: dt.date | None = None
    currency: str | None = None
    currency_amount: Decimal | None = None
    exchange_rate: Decimal | None = None


@dataclass
class _Voucher:
    voucher_type: str
    source_key: str
    event_date: dt.date
    customer_key: str | None
    description: str
    lines: list[_Line]
    #: other keys this voucher posts (the allocations a payment voucher covers)
    also_covers: list[str] = field(default_factory=list)


def _allocation_tag(allocation_id: str) -> str:
    """Written into the text of every line an allocation posts, so its reversal finds exactly them."""
    return f"[allocation {allocation_id}]"


# --- reading the source tables -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    day: dt.date
    rank: int
    id: str
    kind: str
    row: Any

    @property
    def order(self) -> tuple[dt.date, int, str]:
        return (self.day, self.rank, self.id)


def _day_of(session: Session, column: Any) -> ColumnElement[Any]:
    """A UTC timestamp column's date, as both databases compute it (naive UTC is stored)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(cast(column, Date), Date)
    return type_coerce(func.date(column), Date)


def _not_posted(tenant_id: str, prefix: str, id_column: Any) -> ColumnElement[bool]:
    return ~exists().where(
        _SOURCES.c.tenant_id == tenant_id, _SOURCES.c.source_key == literal(prefix) + id_column
    )


def _keyset(
    session: Session, query: Select[Any], day: Any, id_column: Any, kind: str, chunk: int
) -> Iterator[_Event]:
    """`query`'s rows in (day, id) order, `chunk` at a time, as events of `kind`."""
    last: tuple[dt.date, str] | None = None
    rank = _RANK[kind]
    while True:
        page = query.add_columns(day.label("event_day")).order_by(day, id_column).limit(chunk)
        if last is not None:
            page = page.where(or_(day > last[0], and_(day == last[0], id_column > last[1])))
        rows = session.execute(page).all()
        for row in rows:
            yield _Event(row.event_day, rank, row.id, kind, row)
        if len(rows) < chunk:
            return
        last = (rows[-1].event_day, rows[-1].id)


def _invoice_events(session: Session, tenant_id: str, until: dt.date, chunk: int) -> Iterator[_Event]:
    query = select(
        _INVOICES.c.id,
        _INVOICES.c.document_type,
        _INVOICES.c.number,
        _INVOICES.c.issue_date,
        _INVOICES.c.due_date,
        _INVOICES.c.currency,
        _INVOICES.c.payable_amount,
        _INVOICES.c.customer_key,
        _INVOICES.c.buyer_name,
        _INVOICES.c.payment_reference,
        _INVOICES.c.payload,
    ).where(
        _INVOICES.c.tenant_id == tenant_id,
        _INVOICES.c.issue_date <= until,
        _not_posted(tenant_id, "invoice:", _INVOICES.c.id),
    )
    return _keyset(session, query, _INVOICES.c.issue_date, _INVOICES.c.id, "invoice", chunk)


def _payment_day(session: Session) -> ColumnElement[Any]:
    return type_coerce(
        func.coalesce(
            _PAYMENTS.c.booking_date, _PAYMENTS.c.value_date, _day_of(session, _PAYMENTS.c.created_at)
        ),
        Date,
    )


def _postable_payment() -> list[ColumnElement[bool]]:
    return [
        _PAYMENTS.c.direction == "credit",
        _PAYMENTS.c.hint_only.is_(False),
        _PAYMENTS.c.status.not_in(NOT_MONEY),
    ]


def _payment_events(session: Session, tenant_id: str, until: dt.date, chunk: int) -> Iterator[_Event]:
    day = _payment_day(session)
    query = select(*_payment_columns()).where(
        _PAYMENTS.c.tenant_id == tenant_id,
        *_postable_payment(),
        day <= until,
        _not_posted(tenant_id, "payment:", _PAYMENTS.c.id),
    )
    return _keyset(session, query, day, _PAYMENTS.c.id, "payment", chunk)


def _payment_columns() -> list[Any]:
    return [
        _PAYMENTS.c.id,
        _PAYMENTS.c.tenant_id,
        _PAYMENTS.c.amount,
        _PAYMENTS.c.currency,
        _PAYMENTS.c.customer_key,
        _PAYMENTS.c.payer_name,
        _PAYMENTS.c.bank_reference,
        _PAYMENTS.c.status,
        _PAYMENTS.c.direction,
        _PAYMENTS.c.hint_only,
        _PAYMENTS.c.kind,
    ]


def _allocation_events(
    session: Session, tenant_id: str, until: dt.date, chunk: int, started: dt.datetime
) -> Iterator[_Event]:
    """Allocations not posted whose payment an earlier run posted: the only ones that need a voucher of
    their own (a payment this run posts covers every allocation made by `until`; one whose payment is
    not posted yet will be covered by its payment's voucher)."""
    day = _day_of(session, _ALLOCATIONS.c.created_at)
    payment_posted_before = exists().where(
        _SOURCES.c.tenant_id == tenant_id,
        _SOURCES.c.source_key == literal("payment:") + _ALLOCATIONS.c.payment_id,
        _SOURCES.c.posted_at < started,
    )
    query = select(*_allocation_columns(session)).where(
        _ALLOCATIONS.c.tenant_id == tenant_id,
        day <= until,
        payment_posted_before,
        _not_posted(tenant_id, "allocation:", _ALLOCATIONS.c.id),
    )
    return _keyset(session, query, day, _ALLOCATIONS.c.id, "allocation", chunk)


def _allocation_columns(session: Session) -> list[Any]:
    return [
        _ALLOCATIONS.c.id,
        _ALLOCATIONS.c.payment_id,
        _ALLOCATIONS.c.invoice_id,
        _ALLOCATIONS.c.amount,
        _ALLOCATIONS.c.write_off,
        _day_of(session, _ALLOCATIONS.c.created_at).label("created_day"),
        _day_of(session, _ALLOCATIONS.c.reversed_at).label("reversed_day"),
    ]


def _reversal_events(session: Session, tenant_id: str, until: dt.date, chunk: int) -> Iterator[_Event]:
    day = _day_of(session, _ALLOCATIONS.c.reversed_at)
    query = select(*_allocation_columns(session)).where(
        _ALLOCATIONS.c.tenant_id == tenant_id,
        _ALLOCATIONS.c.reversed_at.is_not(None),
        day <= until,
        _not_posted(tenant_id, "reversal:", _ALLOCATIONS.c.id),
    )
    return _keyset(session, query, day, _ALLOCATIONS.c.id, "reversal", chunk)


def _notice_columns() -> list[Any]:
    return [
        _NOTICES.c.id,
        _NOTICES.c.customer_key,
        _NOTICES.c.receiver_id,
        _NOTICES.c.level,
        _NOTICES.c.kind,
        _NOTICES.c.notice_on,
        _NOTICES.c.deadline,
        _NOTICES.c.currency,
        _NOTICES.c.fee,
        _NOTICES.c.interest,
        _NOTICES.c.compensation,
        _NOTICES.c.kid,
    ]


def _notice_events(session: Session, tenant_id: str, until: dt.date, chunk: int) -> Iterator[_Event]:
    query = select(*_notice_columns()).where(
        _NOTICES.c.tenant_id == tenant_id,
        _NOTICES.c.status == "sent",
        _NOTICES.c.notice_on <= until,
        _not_posted(tenant_id, "notice:", _NOTICES.c.id),
    )
    return _keyset(session, query, _NOTICES.c.notice_on, _NOTICES.c.id, "notice", chunk)


def _notice_reversal_events(session: Session, tenant_id: str, until: dt.date, chunk: int) -> Iterator[_Event]:
    day = _day_of(session, _NOTICES.c.updated_at)
    posted = exists().where(
        _SOURCES.c.tenant_id == tenant_id,
        _SOURCES.c.source_key == literal("notice:") + _NOTICES.c.id,
        _SOURCES.c.voucher_id.is_not(None),
    )
    query = select(*_notice_columns()).where(
        _NOTICES.c.tenant_id == tenant_id,
        _NOTICES.c.status == "failed",
        day <= until,
        posted,
        _not_posted(tenant_id, "notice-reversal:", _NOTICES.c.id),
    )
    return _keyset(session, query, day, _NOTICES.c.id, "notice-reversal", chunk)


# --- the run ---------------------------------------------------------------------------------------------


def post(engine: Engine, tenant_id: str, *, until: dt.date, actor: str) -> PostingResult:
    """Post every event of `tenant_id` dated on or before `until` not posted yet, in one transaction."""
    with session_scope(engine) as session:
        return post_in_session(session, tenant_id, until=until, actor=actor)


def post_in_session(
    session: Session,
    tenant_id: str,
    *,
    until: dt.date,
    actor: str,
    chunk: int = CHUNK_SIZE,
    scan_chunk: int = SCAN_CHUNK_SIZE,
) -> PostingResult:
    """`post` in the caller's transaction (an export posts, renders and closes a period in one); the run
    lock is held to the transaction's end."""
    lock_tenant_posting(session, tenant_id)
    started = utcnow()
    settings = tenant_settings(session, tenant_id).ledger
    run = _Run(session, tenant_id, until, actor, settings)
    streams = [
        _invoice_events(session, tenant_id, until, chunk),
        _payment_events(session, tenant_id, until, scan_chunk),
        _allocation_events(session, tenant_id, until, scan_chunk, started),
        _reversal_events(session, tenant_id, until, scan_chunk),
        _notice_events(session, tenant_id, until, scan_chunk),
        _notice_reversal_events(session, tenant_id, until, scan_chunk),
    ]
    batch: list[_Event] = []
    for event in heapq.merge(*streams, key=lambda e: e.order):
        batch.append(event)
        if len(batch) >= chunk:
            run.post_batch(batch)
            batch = []
    if batch:
        run.post_batch(batch)
    return run.result


def lock_tenant_posting(session: Session, tenant_id: str) -> None:
    """Hold the tenant's posting lock until the transaction ends (a second run waits, then finds every
    event posted). PostgreSQL: a transaction advisory lock keyed by schema and tenant; SQLite: every
    transaction of the gateway's engine begins IMMEDIATE and holds the write lock already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = func.hashtext(func.concat(func.current_schema(), "/", tenant_id))
    session.execute(select(func.pg_advisory_xact_lock(POSTING_LOCK_CLASS, key)))


@dataclass(frozen=True)
class _Document:
    """What a payment's lines need to know of an invoice or credit note it settles."""

    id: str
    document_type: str
    number: str
    issue_date: dt.date
    due_date: dt.date | None
    currency: str
    customer_key: str | None
    kid: str | None

    @property
    def sign(self) -> int:
        return -1 if self.document_type == "credit_note" else 1


class _Run:
    """One posting run's state: settings, closed periods, the next voucher number, what it wrote."""

    def __init__(
        self, session: Session, tenant_id: str, until: dt.date, actor: str, settings: LedgerSettings
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.until = until
        self.settings = settings
        self.roles = settings.roles
        self.known_accounts = {account.number for account in settings.accounts}
        self.closed = set(
            session.execute(
                select(_PERIODS.c.period).where(
                    _PERIODS.c.tenant_id == tenant_id, _PERIODS.c.status == "closed"
                )
            ).scalars()
        )
        last = session.execute(
            select(func.max(_VOUCHERS.c.number)).where(_VOUCHERS.c.tenant_id == tenant_id)
        ).scalar_one()
        self.next_number = (last or 0) + 1
        self.result = PostingResult(tenant_id=tenant_id, until=until, actor=actor)
        # per batch
        self.sources: dict[str, str | None] = {}
        self.new_sources: dict[str, str | None] = {}
        self.payments: dict[str, Any] = {}
        self.documents: dict[str, _Document] = {}
        self.batch_lines: dict[str, list[_Line]] = {}

    # -- lookups, one query per kind per batch --

    def _load(self, batch: Sequence[_Event]) -> None:
        keys: set[str] = set()
        payment_ids: set[str] = set()
        document_ids: set[str] = set()
        for event in batch:
            if event.kind in ("allocation", "reversal"):
                row = event.row
                keys.update({f"allocation:{row.id}", f"reversal:{row.id}", f"payment:{row.payment_id}"})
                payment_ids.add(row.payment_id)
                document_ids.add(row.invoice_id)
            elif event.kind == "notice-reversal":
                keys.add(f"notice:{event.id}")
        self.sources = {}
        for _, part in _parts(sorted(keys)):
            for key, voucher_id in self.session.execute(
                select(_SOURCES.c.source_key, _SOURCES.c.voucher_id).where(
                    _SOURCES.c.tenant_id == self.tenant_id, _SOURCES.c.source_key.in_(part)
                )
            ):
                self.sources[key] = voucher_id
        # by primary key or its own index only: a tenant condition beside an IN list can make the database
        # walk the tenant's index instead (a scan of the whole month per batch); the tenant is checked here
        self.payments = {event.id: event.row for event in batch if event.kind == "payment"}
        for _, part in _parts(sorted(payment_ids - set(self.payments))):
            for row in self.session.execute(
                select(*_payment_columns(), _payment_day(self.session).label("event_day")).where(
                    _PAYMENTS.c.id.in_(part)
                )
            ):
                if row.tenant_id == self.tenant_id:
                    self.payments[row.id] = row
        self.allocations_by_payment: dict[str, list[Any]] = {}
        paid = [event.id for event in batch if event.kind == "payment"]
        for _, part in _parts(paid):
            for row in self.session.execute(
                select(*_allocation_columns(self.session))
                .where(_ALLOCATIONS.c.payment_id.in_(part))
                .order_by(_ALLOCATIONS.c.created_at, _ALLOCATIONS.c.id)
            ):
                self.allocations_by_payment.setdefault(row.payment_id, []).append(row)
                document_ids.add(row.invoice_id)
        self.documents = {}
        for _, part in _parts(sorted(document_ids)):
            for row in self.session.execute(
                select(
                    _INVOICES.c.id,
                    _INVOICES.c.document_type,
                    _INVOICES.c.number,
                    _INVOICES.c.issue_date,
                    _INVOICES.c.due_date,
                    _INVOICES.c.currency,
                    _INVOICES.c.customer_key,
                    _INVOICES.c.payment_reference,
                    _INVOICES.c.tenant_id,
                ).where(_INVOICES.c.id.in_(part))
            ):
                if row.tenant_id != self.tenant_id:
                    continue
                self.documents[row.id] = _Document(
                    row.id,
                    row.document_type,
                    row.number,
                    row.issue_date,
                    row.due_date,
                    row.currency,
                    row.customer_key,
                    row.payment_reference,
                )

    def _registered(self, key: str) -> tuple[bool, str | None]:
        if key in self.new_sources:
            return True, self.new_sources[key]
        if key in self.sources:
            return True, self.sources[key]
        return False, None

    # -- the batch --

    def post_batch(self, batch: Sequence[_Event]) -> None:
        self._load(batch)
        self.new_sources = {}
        self.batch_lines = {}
        voucher_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for event in batch:
            voucher = self._voucher_for(event)
            if voucher is None:
                continue
            self._write(voucher, voucher_rows, line_rows)
        posted_at = utcnow()
        self._insert(_VOUCHERS, voucher_rows)
        self._insert(_LINES, line_rows)
        self._insert(
            _SOURCES,
            [
                {
                    "tenant_id": self.tenant_id,
                    "source_key": key,
                    "voucher_id": voucher_id,
                    "posted_at": posted_at,
                }
                for key, voucher_id in self.new_sources.items()
            ],
        )

    def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """Rows in bulk, an executemany per 5,000 (a multi-row VALUES statement measured slower: SQLAlchemy
        compiles each one anew)."""
        for _, part in _parts(rows, 5000):
            self.session.execute(insert(table), part)

    def _register_none(self, *keys: str) -> None:
        for key in keys:
            if not self._registered(key)[0]:
                self.new_sources[key] = None
                self.result.without_voucher += 1

    def _voucher_for(self, event: _Event) -> _Voucher | None:
        if event.kind == "invoice":
            return self._invoice(event)
        if event.kind == "payment":
            return self._payment(event)
        if event.kind == "allocation":
            return self._allocation(event)
        if event.kind == "reversal":
            return self._reversal(event)
        if event.kind == "notice":
            return self._notice(event)
        return self._notice_reversal(event)

    def _period_of(self, day: dt.date) -> tuple[str, dt.date]:
        year, month = day.year, day.month
        period = f"{year:04d}-{month:02d}"
        if period not in self.closed:
            return period, day
        while period in self.closed:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            period = f"{year:04d}-{month:02d}"
        return period, dt.date(year, month, 1)

    def _write(
        self, voucher: _Voucher, voucher_rows: list[dict[str, Any]], line_rows: list[dict[str, Any]]
    ) -> None:
        lines = [line for line in voucher.lines if q(line.amount) != 0]
        if not lines:
            self.new_sources[voucher.source_key] = None
            for key in voucher.also_covers:
                self.new_sources[key] = None
            self.result.without_voucher += 1
            return
        total = sum((q(line.amount) for line in lines), ZERO)
        if total != 0:
            raise LedgerRefused(voucher.source_key, f"the voucher does not balance: debit − credit = {total}")
        for line in lines:
            if line.account not in self.known_accounts:
                raise LedgerRefused(
                    "ledger.accounts", f"account {line.account} ({voucher.source_key}) is not in the chart"
                )
        period, voucher_date = self._period_of(voucher.event_date)
        voucher_id = new_id()
        number = self.next_number
        self.next_number += 1
        voucher_rows.append(
            {
                "id": voucher_id,
                "tenant_id": self.tenant_id,
                "number": number,
                "period": period,
                "voucher_date": voucher_date,
                "event_date": voucher.event_date,
                "voucher_type": voucher.voucher_type,
                "source_key": voucher.source_key,
                "customer_key": voucher.customer_key,
                "description": voucher.description[:2000],
                "created_at": utcnow(),
            }
        )
        for line_no, line in enumerate(lines, 1):
            amount = q(line.amount)
            line_rows.append(
                {
                    "voucher_id": voucher_id,
                    "tenant_id": self.tenant_id,
                    "line_no": line_no,
                    "voucher_date": voucher_date,
                    "account": line.account,
                    "debit": str(amount) if amount > 0 else "0",
                    "credit": str(-amount) if amount < 0 else "0",
                    "tax_code": line.tax_code,
                    "tax_rate": None if line.tax_rate is None else str(line.tax_rate),
                    "tax_base": None if line.tax_base is None else _text(line.tax_base),
                    "tax_amount": None if line.tax_amount is None else _text(line.tax_amount),
                    "customer_key": line.customer_key,
                    "document_number": line.document_number,
                    "kid": line.kid,
                    "due_date": line.due_date,
                    "text": line.text[:300],
                    "currency": line.currency,
                    "currency_amount": None if line.currency_amount is None else str(line.currency_amount),
                    "exchange_rate": None if line.exchange_rate is None else str(line.exchange_rate),
                }
            )
        self.batch_lines[voucher_id] = lines
        self.new_sources[voucher.source_key] = voucher_id
        for key in voucher.also_covers:
            self.new_sources[key] = voucher_id
        self.result.vouchers += 1
        self.result.by_type[voucher.voucher_type] += 1
        self.result.periods.add(period)
        if self.result.first_number is None:
            self.result.first_number = number
        self.result.last_number = number

    def _rate(self, currency: str, day: dt.date, what: str) -> Decimal:
        rate = self.settings.rate_on(currency, day)
        if rate is None:
            raise LedgerRefused(
                "ledger.exchange_rates",
                f"no {currency} rate in force on {day.isoformat()} ({what}); add one to the tenant's "
                "ledger settings",
            )
        return rate

    def _foreign(self, currency: str) -> bool:
        return currency != self.settings.accounting_currency

    # -- 1. invoices and credit notes --

    def _invoice(self, event: _Event) -> _Voucher:
        row = event.row
        credit_note = row.document_type == "credit_note"
        what = f"{'credit note' if credit_note else 'invoice'} {row.number}"
        key = f"invoice:{row.id}"
        if not row.customer_key:
            raise LedgerRefused(
                "customer_key", f"{what} names no customer: its receivables line cannot be posted"
            )
        sign = Decimal(-1) if credit_note else Decimal(1)
        payload = json.loads(row.payload)
        totals = payload.get("totals") or {}
        payable = Decimal(str(totals.get("payable", row.payable_amount)))
        prepaid = Decimal(str(totals.get("prepaid") or 0))
        rounding = Decimal(str(totals.get("rounding") or 0))
        foreign = self._foreign(row.currency)
        rate = self._rate(row.currency, row.issue_date, what) if foreign else Decimal(1)
        lines: list[_Line] = [
            _Line(
                self.roles.receivables,
                sign * payable,
                text=what,
                customer_key=row.customer_key,
                document_number=row.number,
                kid=row.payment_reference,
                due_date=row.due_date,
            )
        ]
        revenue: list[_Line] = []
        if prepaid:
            lines.append(
                _Line(
                    self.roles.prepayments,
                    sign * prepaid,
                    text=f"{what}: prepaid",
                    customer_key=row.customer_key,
                    document_number=row.number,
                )
            )
        if rounding:
            lines.append(_Line(self.roles.rounding, -sign * rounding, text=f"{what}: rounding"))
        for index, breakdown in enumerate(payload.get("vat_breakdown") or []):
            category = breakdown["category"]
            vat_rate = None if breakdown.get("rate") is None else Decimal(str(breakdown["rate"]))
            taxable = Decimal(str(breakdown["taxable_amount"]))
            tax = Decimal(str(breakdown["tax_amount"]))
            code = self.settings.vat_code(category, vat_rate)
            rate_text = "no rate" if vat_rate is None else f"{vat_rate} %"
            if code is None:
                raise LedgerRefused(
                    "ledger.vat_codes",
                    f"no tax code for VAT category {category} at {rate_text} "
                    f"({what}, vat_breakdown[{index}])",
                )
            line = _Line(
                code.revenue_account,
                -sign * taxable,
                text=f"{what}: {category} {rate_text}",
                tax_code=code.tax_code,
                tax_rate=vat_rate if vat_rate is not None else ZERO,
                tax_base=taxable,
                tax_amount=tax,
            )
            lines.append(line)
            revenue.append(line)
            if tax != 0:
                if code.vat_account is None:
                    raise LedgerRefused(
                        "ledger.vat_codes",
                        f"VAT category {category} at {rate_text} carries tax {tax} ({what}) but its tax code "
                        f"{code.tax_code} names no VAT account",
                    )
                lines.append(
                    _Line(
                        code.vat_account,
                        -sign * tax,
                        text=f"{what}: VAT {rate_text}",
                        tax_code=code.tax_code,
                        tax_rate=vat_rate,
                    )
                )
        difference = sum((line.amount for line in lines), ZERO)
        if difference != 0:
            raise LedgerRefused(
                "totals",
                f"{what}: payable + prepaid − rounding differs from taxable + VAT by {difference} "
                f"{row.currency}; the document cannot be posted balanced",
            )
        if foreign:
            self._convert(lines, revenue, row.currency, rate)
        return _Voucher(
            "credit_note" if credit_note else "invoice",
            key,
            row.issue_date,
            row.customer_key,
            f"{what.capitalize()} to {row.buyer_name}",
            lines,
        )

    @staticmethod
    def _convert(lines: list[_Line], revenue: list[_Line], currency: str, rate: Decimal) -> None:
        """Every line into the accounting currency, rounded per line; the difference on the largest
        revenue line (so the voucher balances as the document did)."""
        for line in lines:
            line.currency, line.currency_amount, line.exchange_rate = currency, line.amount, rate
            line.amount = q(line.amount * rate)
            if line.tax_base is not None:
                line.tax_base = q(line.tax_base * rate)
            if line.tax_amount is not None:
                line.tax_amount = q(line.tax_amount * rate)
        difference = sum((line.amount for line in lines), ZERO)
        if difference != 0 and revenue:
            largest = max(revenue, key=lambda line: abs(line.amount))
            largest.amount -= difference

    # -- 2.–4. payments, allocations, reversals --

    def _document(self, invoice_id: str, where: str) -> _Document:
        document = self.documents.get(invoice_id)
        if document is None:
            raise LedgerRefused(where, f"the allocated document {invoice_id} is not the tenant's")
        if not document.customer_key:
            raise LedgerRefused(
                "customer_key", f"{document.document_type} {document.number} names no customer"
            )
        return document

    def _allocation_lines(
        self, allocation: Any, payment: Any, document: _Document, payment_rate: Decimal
    ) -> tuple[list[_Line], Decimal]:
        """The lines of one allocation besides the money side, and the money (bank value) it applied.

        The money applied: the allocation in the payment's currency × the payment's rate; for an invoice in
        another currency, the payer's instructed amount in that currency tells the bank's own rate (else the
        tenant's rate of the invoice currency on the payment's date). The receivables are credited at the
        invoice's own rate; the difference is the currency gain or loss."""
        sign = Decimal(document.sign)
        amount = Decimal(allocation.amount)
        write_off = Decimal(allocation.write_off or 0)
        tag = _allocation_tag(allocation.id)
        what = f"{'credit note' if document.sign < 0 else 'invoice'} {document.number}"
        invoice_rate = (
            self._rate(document.currency, document.issue_date, what)
            if self._foreign(document.currency)
            else Decimal(1)
        )
        if document.currency == payment.currency:
            money_rate = payment_rate
        else:
            money_rate = self._cross_rate(payment, document, payment_rate, what)
        applied = sign * q(amount * money_rate)
        settled = sign * q(amount * invoice_rate)
        written_off = sign * q(write_off * invoice_rate)
        foreign = self._foreign(document.currency)
        lines = [
            _Line(
                self.roles.receivables,
                -(settled + written_off),
                text=f"{what} {tag}",
                customer_key=document.customer_key,
                document_number=document.number,
                kid=document.kid,
                due_date=document.due_date,
                currency=document.currency if foreign else None,
                currency_amount=-sign * (amount + write_off) if foreign else None,
                exchange_rate=invoice_rate if foreign else None,
            )
        ]
        if written_off:
            lines.append(
                _Line(
                    self.roles.write_off,
                    written_off,
                    text=f"{what}: written off {tag}",
                    customer_key=document.customer_key,
                    document_number=document.number,
                )
            )
        lines.extend(self._fx_lines(applied - settled, what, tag, document))
        return lines, applied

    def _fx_lines(self, difference: Decimal, what: str, tag: str, document: _Document) -> list[_Line]:
        if difference > 0:
            return [
                _Line(
                    self.roles.fx_gain,
                    -difference,
                    text=f"{what}: currency gain {tag}",
                    document_number=document.number,
                )
            ]
        if difference < 0:
            return [
                _Line(
                    self.roles.fx_loss,
                    -difference,
                    text=f"{what}: currency loss {tag}",
                    document_number=document.number,
                )
            ]
        return []

    def _cross_rate(self, payment: Any, document: _Document, payment_rate: Decimal, what: str) -> Decimal:
        data = self._payment_data(payment.id)
        instructed_currency = data.get("instructed_currency")
        instructed_amount = data.get("instructed_amount")
        if instructed_currency == document.currency and instructed_amount not in (None, "", "0"):
            return Decimal(payment.amount) * payment_rate / Decimal(str(instructed_amount))
        return self._rate(document.currency, payment.event_day, f"{what} paid in {payment.currency}")

    def _payment_data(self, payment_id: str) -> dict[str, Any]:
        data = self.session.execute(select(_PAYMENTS.c.data).where(_PAYMENTS.c.id == payment_id)).scalar_one()
        return data if isinstance(data, dict) else {}

    def _active_as_of_until(self, allocation: Any) -> bool:
        return allocation.created_day <= self.until and (
            allocation.reversed_day is None or allocation.reversed_day > self.until
        )

    def _payment(self, event: _Event) -> _Voucher:
        payment = self.payments[event.id]
        what = f"payment {payment.id}"
        foreign = self._foreign(payment.currency)
        payment_rate = self._rate(payment.currency, event.day, what) if foreign else Decimal(1)
        money = q(Decimal(payment.amount) * payment_rate)
        if payment.status == RECONCILED:
            payout = self.session.execute(
                select(CardPayout).where(
                    col(CardPayout.tenant_id) == self.tenant_id, col(CardPayout.bank_payment_id) == payment.id
                )
            ).scalar_one_or_none()
            if payout is not None:
                return self._payout(event, payment, payout, money, payment_rate if foreign else None)
        covered: list[str] = []
        lines: list[_Line] = []
        applied_total = ZERO
        settled_in_payment_terms: Decimal | None = ZERO
        last_fx_owner: _Document | None = None
        last_tag = ""
        for allocation in self.allocations_by_payment.get(payment.id, []):
            if not self._active_as_of_until(allocation):
                continue
            if self._registered(f"allocation:{allocation.id}")[0]:
                continue
            document = self._document(allocation.invoice_id, f"allocation:{allocation.id}")
            allocation_lines, applied = self._allocation_lines(allocation, payment, document, payment_rate)
            lines.extend(allocation_lines)
            applied_total += applied
            covered.append(f"allocation:{allocation.id}")
            if settled_in_payment_terms is not None:
                settled_in_payment_terms = (
                    settled_in_payment_terms + Decimal(document.sign) * Decimal(allocation.amount)
                    if document.currency == payment.currency
                    else None
                )
            last_fx_owner, last_tag = document, _allocation_tag(allocation.id)
        remainder = money - applied_total
        if (
            remainder != 0
            and settled_in_payment_terms is not None
            and settled_in_payment_terms == Decimal(payment.amount)
            and last_fx_owner is not None
        ):
            # everything was applied: the cents the per-allocation rounding left are currency difference
            lines.extend(
                self._fx_lines(
                    remainder,
                    f"{last_fx_owner.document_type} {last_fx_owner.number}",
                    last_tag,
                    last_fx_owner,
                )
            )
            remainder = ZERO
        # a card payment advice: the money is at the provider until its payout reaches the bank
        bank = _Line(
            self.roles.card_clearing if payment.kind == CARD_KIND else self.roles.bank,
            money,
            text=f"payment {payment.payer_name or ''} {payment.bank_reference or ''}".strip(),
            customer_key=payment.customer_key,
            currency=payment.currency if foreign else None,
            currency_amount=Decimal(payment.amount) if foreign else None,
            exchange_rate=payment_rate if foreign else None,
        )
        all_lines = [bank, *lines]
        if remainder:
            all_lines.append(
                _Line(
                    self.roles.prepayments,
                    -remainder,
                    text="payment not applied (prepayment)",
                    customer_key=payment.customer_key,
                )
            )
        payer = payment.payer_name or payment.customer_key or "unknown payer"
        return _Voucher(
            "payment",
            f"payment:{payment.id}",
            event.day,
            payment.customer_key,
            f"Payment from {payer}" + (f" ({payment.bank_reference})" if payment.bank_reference else ""),
            all_lines,
            also_covers=covered,
        )

    def _payout(
        self, event: _Event, payment: Any, payout: CardPayout, money: Decimal, rate: Decimal | None
    ) -> _Voucher:
        """A provider's payout on the bank statement, reconciled against the card payments it bundles: bank
        debit (net), fees debit, card clearing credit (gross: what the advices debited it). In another
        currency the gross is converted at the bank entry's rate; the fees take the rounding, so it
        balances."""
        gross = q(Decimal(payout.gross) * rate) if rate is not None else Decimal(payout.gross)
        fees = gross - money
        reference, bundled = f"payout {payout.payout_reference}", len(payout.payment_ids)
        foreign = {"currency": payment.currency, "exchange_rate": rate} if rate is not None else {}
        lines = [
            _Line(self.roles.bank, money, text=f"{reference} {payment.bank_reference or ''}".strip(),
                  currency_amount=Decimal(payout.amount) if rate is not None else None, **foreign),
            _Line(self.roles.card_fees, fees, text=f"{reference}: provider's fees",
                  currency_amount=Decimal(payout.fees) if rate is not None else None, **foreign),
            _Line(self.roles.card_clearing, -gross, text=f"{reference}: {bundled} card payments",
                  currency_amount=-Decimal(payout.gross) if rate is not None else None, **foreign),
        ]  # fmt: skip
        provider = {"stripe": "Stripe", "vipps": "Vipps MobilePay"}.get(payout.provider, payout.provider)
        return _Voucher(
            "payment",
            f"payment:{payment.id}",
            event.day,
            None,
            f"Payout {payout.payout_reference} from {provider} ({len(payout.payment_ids)} card payments)",
            [line for line in lines if line.amount != 0 or line.account != self.roles.card_fees],
        )

    def _allocation(self, event: _Event) -> _Voucher | None:
        allocation = event.row
        key = f"allocation:{allocation.id}"
        if self._registered(key)[0]:
            return None  # covered by its payment's voucher (earlier in this run)
        if not self._active_as_of_until(allocation):
            # made and reversed before it was ever posted: nothing to post, now or later
            self._register_none(key, f"reversal:{allocation.id}")
            return None
        payment = self.payments.get(allocation.payment_id)
        if payment is None:
            raise LedgerRefused(key, f"the allocation's payment {allocation.payment_id} is not the tenant's")
        if not self._registered(f"payment:{payment.id}")[0]:
            return None  # streamed only once its payment is posted; its payment's voucher will cover it
        document = self._document(allocation.invoice_id, key)
        foreign = self._foreign(payment.currency)
        payment_rate = (
            self._rate(payment.currency, payment.event_day, f"payment {payment.id}")
            if foreign
            else Decimal(1)
        )
        lines, applied = self._allocation_lines(allocation, payment, document, payment_rate)
        money = _Line(
            self.roles.prepayments,
            applied,
            text=f"payment {payment.id} applied {_allocation_tag(allocation.id)}",
            customer_key=payment.customer_key or document.customer_key,
        )
        return _Voucher(
            "allocation",
            key,
            event.day,
            document.customer_key,
            f"Payment {payment.id} applied to {document.number}",
            [money, *lines],
        )

    def _reversal(self, event: _Event) -> _Voucher | None:
        allocation = event.row
        key = f"reversal:{allocation.id}"
        if self._registered(key)[0]:
            return None
        posted, voucher_id = self._registered(f"allocation:{allocation.id}")
        if not posted or voucher_id is None:
            self._register_none(f"allocation:{allocation.id}", key)
            return None
        tag = _allocation_tag(allocation.id)
        own = [
            line
            for line in self._posted_lines(voucher_id)
            if tag in line.text and line.account not in (self.roles.bank, self.roles.prepayments)
        ]
        reversed_lines = [_reversed(line) for line in own]
        back = -sum((line.amount for line in reversed_lines), ZERO)
        customer = next((line.customer_key for line in own if line.customer_key), None)
        document = next((line.document_number for line in own if line.document_number), allocation.invoice_id)
        reversed_lines.insert(
            0,
            _Line(
                self.roles.prepayments,
                back,
                text=f"allocation reversed, money back to prepayments {tag}",
                customer_key=customer,
            ),
        )
        return _Voucher(
            "allocation_reversal",
            key,
            event.day,
            customer,
            f"Reversal of payment {allocation.payment_id} applied to {document}",
            reversed_lines,
        )

    def _posted_lines(self, voucher_id: str) -> list[_Line]:
        if voucher_id in self.batch_lines:
            return self.batch_lines[voucher_id]
        rows = self.session.execute(
            select(_LINES).where(_LINES.c.voucher_id == voucher_id).order_by(_LINES.c.line_no)
        ).all()
        return [_line_from_row(row) for row in rows]

    # -- 5. notices --

    def _notice(self, event: _Event) -> _Voucher | None:
        notice = event.row
        what = f"notice {notice.id}"
        charges = [
            (self.roles.reminder_fees, Decimal(notice.fee or 0), "reminder fee"),
            (self.roles.interest, Decimal(notice.interest or 0), "late-payment interest"),
            (self.roles.compensation, Decimal(notice.compensation or 0), "compensation"),
        ]
        total = sum((amount for _, amount, _ in charges), ZERO)
        if total <= 0:
            self._register_none(f"notice:{notice.id}")
            return None
        foreign = self._foreign(notice.currency)
        rate = self._rate(notice.currency, notice.notice_on, what) if foreign else Decimal(1)
        document = notice.kid or notice.id
        lines = [
            _Line(
                self.roles.receivables,
                total,
                text=f"{what}: charges",
                customer_key=notice.customer_key,
                document_number=document,
                kid=notice.kid,
                due_date=notice.deadline,
            )
        ]
        revenue = []
        for account, amount, text in charges:
            if amount:
                line = _Line(account, -amount, text=f"{what}: {text}", document_number=document)
                lines.append(line)
                revenue.append(line)
        if foreign:
            self._convert(lines, revenue, notice.currency, rate)
        return _Voucher(
            "notice",
            f"notice:{notice.id}",
            event.day,
            notice.customer_key,
            f"Reminder charges, {notice.kind} level {notice.level} to {notice.customer_key}",
            lines,
        )

    def _notice_reversal(self, event: _Event) -> _Voucher | None:
        notice = event.row
        posted, voucher_id = self._registered(f"notice:{notice.id}")
        if not posted or voucher_id is None:
            return None
        lines = [_reversed(line, keep_tax=False) for line in self._posted_lines(voucher_id)]
        return _Voucher(
            "notice_reversal",
            f"notice-reversal:{notice.id}",
            event.day,
            notice.customer_key,
            f"Notice {notice.id} failed after it left: its charges reversed",
            lines,
        )


def _reversed(line: _Line, *, keep_tax: bool = True) -> _Line:
    """A posted line with its amount (and foreign amount) turned round: a reversal's line."""
    return _Line(
        line.account,
        -line.amount,
        text=f"reversed: {line.text}"[:300],
        tax_code=line.tax_code if keep_tax else None,
        tax_rate=line.tax_rate if keep_tax else None,
        customer_key=line.customer_key,
        document_number=line.document_number,
        kid=line.kid,
        due_date=line.due_date,
        currency=line.currency,
        currency_amount=None if line.currency_amount is None else -line.currency_amount,
        exchange_rate=line.exchange_rate,
    )


def _line_from_row(row: Any) -> _Line:
    def number(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    return _Line(
        account=row.account,
        amount=Decimal(row.debit) - Decimal(row.credit),
        text=row.text,
        tax_code=row.tax_code,
        tax_rate=number(row.tax_rate),
        tax_base=number(row.tax_base),
        tax_amount=number(row.tax_amount),
        customer_key=row.customer_key,
        document_number=row.document_number,
        kid=row.kid,
        due_date=row.due_date,
        currency=row.currency,
        currency_amount=number(row.currency_amount),
        exchange_rate=number(row.exchange_rate),
    )


def _parts(items: Sequence[Any] | Iterable[Any], size: int = 500) -> Iterator[tuple[int, list[Any]]]:
    """`items` in lists of `size` (an IN list and an insert stay bounded)."""
    listed = list(items)
    for start in range(0, len(listed), size):
        yield start, listed[start : start + size]
