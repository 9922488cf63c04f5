"""What a portal customer sees: its invoices and credit notes with their status, one invoice's facts, lines,
documents as sent, proofs of delivery, payments and reminders, the statements and reminders it was sent, and
a zip of all of it.

Every function takes the session's `PortalIdentity` and looks things up by its (tenant, receiver) only, and,
for an invoice link's visitor, by its one invoice too. Anything outside that answers `NotFound` — exactly
as an id that does not exist — so a page cannot tell a stranger whether another customer's document exists.

Dates that decide a status ("overdue") are the caller's `today` (Europe/Oslo, `credit.today_in`): a
services function never reads the clock for them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import (
    Delivery,
    DeliveryEvent,
    Dispute,
    InvoiceRecord,
    PaymentAllocation,
    PaymentRecord,
    PodLink,
    ProofOfDelivery,
    ReminderNotice,
    ReminderNoticeItem,
    StoredDocument,
)
from gateway.services.downloads import safe_filename
from gateway.services.followup.credit import OPEN_STATUSES
from gateway.services.followup.disputes import active_dispute
from gateway.services.inbound.pods import pods_for_invoice
from gateway.services.outbound.documents import DocumentCorrupted, DocumentStore, load_document
from gateway.services.outbound.invoice_dossier import SentDocument, invoice_dossier
from gateway.services.portal.providers import ProvidersFileError, configured
from gateway.services.portal.sessions import PortalIdentity
from gateway.settings import Settings
from mappings.invoice.canonical_json import parse as parse_invoice

log = logging.getLogger("gateway.portal")

#: The providers a pay form may offer, in the order its buttons stand.
#: What `download.zip` may hold (the sum of the files' sizes): a customer with more asks the seller.
MAX_ZIP_BYTES = 200 * 1024 * 1024
#: Rows a list page shows at a time (a customer with thousands of invoices asks for the next with "show
#: more"): the page's cost stays that of a hundred rows however many the customer has.
PAGE_SIZE = 100
#: Open invoices the overview lists (the totals count them all; the list page shows the rest).
OVERVIEW_OPEN = 50
#: Paid invoices the overview lists under "recently paid".
RECENT_PAID = 5
#: Notices a customer sees: those that left (a notice awaiting approval or cancelled was never sent).
SENT_NOTICE = "sent"
STATEMENT = "statement"


class NotFound(LookupError):
    """Not this customer's (or no such thing): the page answers 404 either way."""


class TooLarge(ValueError):
    """The zip would be bigger than `MAX_ZIP_BYTES`."""


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice or credit note as the customer's lists show it. `status`: open, overdue, partially_paid,
    paid, credited, disputed, or credit_note; `payable`: may be paid by card now."""

    id: str
    number: str
    kind: str  # invoice, credit_note
    issue_date: dt.date
    due_date: dt.date | None
    currency: str
    amount: Decimal
    open_amount: Decimal
    status: str
    overdue: bool
    paid_at: dt.datetime | None

    @property
    def payable(self) -> bool:
        return self.kind == "invoice" and self.open_amount > 0 and self.status != "disputed"


@dataclass(frozen=True)
class Totals:
    """What the customer owes in one currency: open (credit notes set off), of it overdue, next due date."""

    currency: str
    open: Decimal
    overdue: Decimal
    next_due: dt.date | None


@dataclass
class InvoicePage:
    """One invoice as its page shows it."""

    row: InvoiceRow
    facts: dict[str, Any]
    lines: list[dict[str, Any]]
    documents: list[SentDocument]
    pods: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    dispute: dict[str, Any] | None = None
    credit_notes: list[dict[str, Any]] = field(default_factory=list)


def _in_scope(identity: PortalIdentity) -> list[Any]:
    """The conditions naming the customer's invoices (and, for an invoice link, the one)."""
    conditions = [
        col(InvoiceRecord.tenant_id) == identity.tenant_id,
        col(InvoiceRecord.receiver_id) == identity.receiver_id,
    ]
    if identity.invoice_id is not None:
        conditions.append(col(InvoiceRecord.id) == identity.invoice_id)
    return conditions


def _scoped(identity: PortalIdentity) -> Any:
    """The customer's invoices (and, for an invoice link, the one)."""
    return select(InvoiceRecord).where(*_in_scope(identity))


#: What a list row needs of an invoice (not the canonical JSON: kilobytes a row, read by an invoice's page).
_LISTED = (
    col(InvoiceRecord.id),
    col(InvoiceRecord.number),
    col(InvoiceRecord.document_type),
    col(InvoiceRecord.issue_date),
    col(InvoiceRecord.due_date),
    col(InvoiceRecord.currency),
    col(InvoiceRecord.payable_amount),
    col(InvoiceRecord.open_amount),
    col(InvoiceRecord.payment_status),
    col(InvoiceRecord.paid_at),
)


def _listed(identity: PortalIdentity) -> Any:
    """`_scoped` for lists: the columns a row shows (`_LISTED`), as plain rows rather than ORM objects."""
    return select(*_LISTED).where(*_in_scope(identity))


def _newest_first(query: Any) -> Any:
    return query.order_by(
        col(InvoiceRecord.issue_date).desc(), col(InvoiceRecord.number).desc(), col(InvoiceRecord.id).desc()
    )


def _shown(query: Any, show: str) -> Any:
    if show == "open":
        return query.where(col(InvoiceRecord.payment_status).in_(OPEN_STATUSES))
    if show == "paid":
        return query.where(col(InvoiceRecord.payment_status).not_in(OPEN_STATUSES))
    return query


def _open(record: Any) -> Decimal:
    return Decimal(record.open_amount if record.open_amount is not None else record.payable_amount)


def _status(record: Any, today: dt.date, disputed: set[str], credited: set[str]) -> tuple[str, bool]:
    """The status a customer reads, and whether it is overdue (open and due before `today`)."""
    open_amount = _open(record)
    is_open = record.payment_status in OPEN_STATUSES and open_amount > 0
    overdue = is_open and record.due_date is not None and record.due_date < today
    if record.document_type == "credit_note":
        return "credit_note", False
    if record.id in disputed and is_open:  # follow-up waits for the answer: not called overdue meanwhile
        return "disputed", False
    if not is_open:
        return ("credited" if record.id in credited else "paid"), False
    if record.payment_status == "partially_paid" or open_amount < Decimal(record.payable_amount):
        return "partially_paid", overdue
    return ("overdue" if overdue else "open"), overdue


def _rows(session: Session, records: Sequence[Any], today: dt.date) -> list[InvoiceRow]:
    """The list rows of `records` (invoice records, or rows of `_LISTED`)."""
    ids = [record.id for record in records]
    disputed: set[str] = set()
    credited: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for invoice_id, status in session.execute(
            select(col(Dispute.invoice_id), col(Dispute.status)).where(col(Dispute.invoice_id).in_(chunk))
        ):
            if status in ("open", "awaiting_approval"):
                disputed.add(invoice_id)
            elif status == "credited":
                credited.add(invoice_id)
    rows = []
    for record in records:
        status, overdue = _status(record, today, disputed, credited)
        rows.append(
            InvoiceRow(
                id=record.id,
                number=record.number,
                kind="credit_note" if record.document_type == "credit_note" else "invoice",
                issue_date=record.issue_date,
                due_date=record.due_date,
                currency=record.currency,
                amount=Decimal(record.payable_amount),
                open_amount=_open(record),
                status=status,
                overdue=overdue,
                paid_at=record.paid_at,
            )
        )
    return rows


def customer_invoices(
    session: Session, identity: PortalIdentity, *, today: dt.date, show: str = "all"
) -> list[InvoiceRow]:
    """The customer's invoices and credit notes, newest first: `show` open (something left to pay or set
    off), paid (nothing left), or all."""
    records = list(session.execute(_newest_first(_shown(_listed(identity), show))).all())
    rows = _rows(session, records, today)
    if show == "open":
        rows = [row for row in rows if row.open_amount != 0]
    return rows


@dataclass(frozen=True)
class InvoiceListPage:
    """One page of the customer's list: its rows, and the cursor of the next page (None: the last)."""

    rows: list[InvoiceRow]
    after: str | None


def invoice_list_page(
    session: Session,
    identity: PortalIdentity,
    *,
    today: dt.date,
    show: str = "all",
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> InvoiceListPage:
    """`size` rows of `customer_invoices`' list, from after invoice `after` (the cursor the previous page
    gave: an invoice of the customer's; `NotFound` for any other id), newest first. Keyset paging: a page
    deep in the list costs what the first costs."""
    query = _shown(_listed(identity), show)
    if after is not None:
        mark = session.execute(
            select(col(InvoiceRecord.issue_date), col(InvoiceRecord.number), col(InvoiceRecord.id)).where(
                col(InvoiceRecord.tenant_id) == identity.tenant_id,
                col(InvoiceRecord.receiver_id) == identity.receiver_id,
                col(InvoiceRecord.id) == after,
            )
        ).one_or_none()
        if mark is None or not identity.may_see(after):
            raise NotFound(f"no invoice {after}")
        issued, number, invoice_id = mark
        query = query.where(
            or_(
                col(InvoiceRecord.issue_date) < issued,
                and_(
                    col(InvoiceRecord.issue_date) == issued,
                    or_(
                        col(InvoiceRecord.number) < number,
                        and_(col(InvoiceRecord.number) == number, col(InvoiceRecord.id) < invoice_id),
                    ),
                ),
            )
        )
    records = list(session.execute(_newest_first(query).limit(size + 1)).all())
    more = len(records) > size
    records = records[:size]
    rows = _rows(session, records, today)
    if show == "open":
        rows = [row for row in rows if row.open_amount != 0]
    return InvoiceListPage(rows=rows, after=records[-1].id if more and records else None)


@dataclass(frozen=True)
class Overview:
    """The overview's figures: totals per currency over every open invoice, the first `OVERVIEW_OPEN` of
    them (`open_count` in all), and the last paid ones."""

    totals: list[Totals]
    open_rows: list[InvoiceRow]
    open_count: int
    paid_rows: list[InvoiceRow]


def customer_overview(
    session: Session,
    identity: PortalIdentity,
    *,
    today: dt.date,
    shown: int = OVERVIEW_OPEN,
    recent: int = RECENT_PAID,
) -> Overview:
    """What the overview shows, read from the open invoices (and credit notes) and the newest paid ones
    only, never the customer's whole archive."""
    open_query = _listed(identity).where(
        or_(
            col(InvoiceRecord.payment_status).in_(OPEN_STATUSES),
            col(InvoiceRecord.document_type) == "credit_note",
        )
    )
    candidates = _rows(session, list(session.execute(_newest_first(open_query)).all()), today)
    open_rows = [row for row in candidates if row.open_amount != 0 and row.status not in ("paid", "credited")]
    settled = _listed(identity).where(
        col(InvoiceRecord.payment_status).not_in(OPEN_STATUSES),
        col(InvoiceRecord.document_type) != "credit_note",
    )
    latest = [  # the newest by payment date, and the newest of those without one: the sort below picks
        *session.execute(
            settled.where(col(InvoiceRecord.paid_at).is_not(None))
            .order_by(col(InvoiceRecord.paid_at).desc())
            .limit(recent * 10)
        ).all(),
        *session.execute(
            _newest_first(settled.where(col(InvoiceRecord.paid_at).is_(None))).limit(recent * 10)
        ).all(),
    ]
    paid = [
        row for row in (*candidates, *_rows(session, latest, today)) if row.status in ("paid", "credited")
    ]
    paid.sort(
        key=lambda row: (row.paid_at.date() if row.paid_at else row.issue_date, row.number), reverse=True
    )
    return Overview(
        totals=open_totals(candidates),
        open_rows=open_rows[:shown],
        open_count=len(open_rows),
        paid_rows=paid[:recent],
    )


def open_totals(rows: Iterable[InvoiceRow]) -> list[Totals]:
    """Per currency: what is open (credit notes left to set off count against it), of it overdue, and the
    next due date of an invoice not yet overdue."""
    by_currency: dict[str, list[InvoiceRow]] = {}
    for row in rows:
        if row.open_amount != 0 and row.status not in ("paid", "credited"):
            by_currency.setdefault(row.currency, []).append(row)
    totals = []
    for currency, items in sorted(by_currency.items()):
        sign = {row.id: (-1 if row.kind == "credit_note" else 1) for row in items}
        upcoming = [
            row.due_date
            for row in items
            if row.status in ("open", "partially_paid") and not row.overdue and row.due_date
        ]
        totals.append(
            Totals(
                currency=currency,
                open=sum((row.open_amount * sign[row.id] for row in items), Decimal(0)),
                overdue=sum((row.open_amount for row in items if row.overdue), Decimal(0)),
                next_due=min(upcoming, default=None),
            )
        )
    return totals


def customer_invoice(session: Session, identity: PortalIdentity, invoice_id: str) -> InvoiceRecord:
    """The customer's invoice `invoice_id`, or `NotFound` (another customer's, another seller's, or not the
    one invoice of a link)."""
    if not identity.may_see(invoice_id):
        raise NotFound(f"no invoice {invoice_id}")
    record: InvoiceRecord | None = session.execute(
        _scoped(identity).where(col(InvoiceRecord.id) == invoice_id)
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(f"no invoice {invoice_id}")
    return record


def _lines(record: InvoiceRecord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    invoice = parse_invoice(record.payload)
    kids = [means.payment_id for means in invoice.payment_means if means.payment_id]
    accounts = [means.account.id for means in invoice.payment_means if means.account]
    facts = {
        "seller_name": invoice.seller.name,
        "buyer_name": invoice.buyer.name,
        "buyer_reference": invoice.buyer_reference,
        "order_reference": invoice.order_reference,
        "net": invoice.totals.tax_exclusive,
        "vat": invoice.totals.tax_amount,
        "payable": invoice.totals.payable,
        "kid": kids[0] if kids else None,
        "account": accounts[0] if accounts else None,
    }
    lines = [
        {
            "id": line.id,
            "name": line.item.name,
            "quantity": line.quantity,
            "unit": line.unit_code,
            "price": line.price.net,
            "vat_rate": line.vat_rate,
            "net": line.net_amount,
        }
        for line in invoice.lines
    ]
    for charge in invoice.allowances_charges:  # freight, a discount: so the lines add up to the net total
        lines.append(
            {
                "id": "",
                "name": charge.reason or ("+" if charge.is_charge else "-"),
                "quantity": None,
                "unit": None,
                "price": None,
                "vat_rate": charge.vat_rate,
                "net": charge.amount if charge.is_charge else -charge.amount,
            }
        )
    return facts, lines


def _payments(session: Session, record: InvoiceRecord) -> list[dict[str, Any]]:
    """The payments applied to the invoice and not reversed, with the payment's date."""
    rows = session.execute(
        select(PaymentAllocation, PaymentRecord)
        .join(PaymentRecord, col(PaymentRecord.id) == col(PaymentAllocation.payment_id))
        .where(
            col(PaymentAllocation.invoice_id) == record.id,
            col(PaymentAllocation.tenant_id) == record.tenant_id,
            col(PaymentAllocation.reversed_at).is_(None),
        )
        .order_by(col(PaymentAllocation.created_at))
    ).all()
    return [
        {
            "date": payment.value_date or payment.booking_date or allocation.created_at.date(),
            "amount": Decimal(allocation.amount),
            "currency": record.currency,
            "kind": payment.kind,
        }
        for allocation, payment in rows
    ]


def _notice_document_id(session: Session, notice: ReminderNotice) -> str | None:
    """The document a notice was rendered to and kept as (the first event naming one on its delivery)."""
    if notice.delivery_id is None:
        return None
    events = session.execute(
        select(DeliveryEvent)
        .where(col(DeliveryEvent.delivery_id) == notice.delivery_id)
        .order_by(col(DeliveryEvent.id))
    ).scalars()
    for event in events:
        document_id = (event.details or {}).get("document_id")
        if document_id:
            return str(document_id)
    return None


def _notice_row(session: Session, notice: ReminderNotice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "level": notice.level,
        "notice_on": notice.notice_on,
        "deadline": notice.deadline,
        "currency": notice.currency,
        "total": Decimal(notice.total),
        "fee": Decimal(notice.fee),
        "document_id": _notice_document_id(session, notice),
    }


def customer_notices(session: Session, identity: PortalIdentity, *, statements: bool) -> list[dict[str, Any]]:
    """The statements (or reminders) sent to the customer, newest first; none for an invoice link."""
    if identity.invoice_id is not None:
        return []
    kind = col(ReminderNotice.kind) == STATEMENT
    query = (
        select(ReminderNotice)
        .where(
            col(ReminderNotice.tenant_id) == identity.tenant_id,
            col(ReminderNotice.receiver_id) == identity.receiver_id,
            col(ReminderNotice.status) == SENT_NOTICE,
            kind if statements else ~kind,
        )
        .order_by(col(ReminderNotice.notice_on).desc(), col(ReminderNotice.created_at).desc())
    )
    return [_notice_row(session, notice) for notice in session.execute(query).scalars()]


def _invoice_notices(session: Session, record: InvoiceRecord) -> list[dict[str, Any]]:
    notices = session.execute(
        select(ReminderNotice)
        .join(ReminderNoticeItem, col(ReminderNoticeItem.notice_id) == col(ReminderNotice.id))
        .where(
            col(ReminderNoticeItem.invoice_id) == record.id,
            col(ReminderNotice.tenant_id) == record.tenant_id,
            col(ReminderNotice.receiver_id) == record.receiver_id,
            col(ReminderNotice.status) == SENT_NOTICE,
        )
        .order_by(col(ReminderNotice.notice_on))
    ).scalars()
    return [_notice_row(session, notice) for notice in notices]


def invoice_page(
    session: Session, identity: PortalIdentity, invoice_id: str, *, today: dt.date
) -> InvoicePage:
    """Invoice `invoice_id` of the customer (`NotFound` otherwise), with all its page shows."""
    record = customer_invoice(session, identity, invoice_id)
    [row] = _rows(session, [record], today)
    dossier = invoice_dossier(session, identity.tenant_id, record)
    facts, lines = _lines(record)
    dispute = active_dispute(session, record.id)
    return InvoicePage(
        row=row,
        facts=facts,
        lines=lines,
        documents=dossier.documents,
        pods=dossier.pods,
        payments=_payments(session, record),
        notices=_invoice_notices(session, record),
        dispute=None
        if dispute is None
        else {"id": dispute.id, "category": dispute.category, "opened_at": dispute.opened_at},
    )


def invoice_documents(
    session: Session, identity: PortalIdentity, record: InvoiceRecord
) -> list[SentDocument]:
    """The documents the invoice was sent as (`invoice_dossier`'s list), for the customer's own invoice."""
    return invoice_dossier(session, identity.tenant_id, record).documents


def invoice_document(
    session: Session, store: DocumentStore, identity: PortalIdentity, invoice_id: str, document_id: str
) -> tuple[StoredDocument, bytes]:
    """A document invoice `invoice_id` was sent as, byte for byte; `NotFound` for any other document."""
    record = customer_invoice(session, identity, invoice_id)
    if document_id not in {document.id for document in invoice_documents(session, identity, record)}:
        raise NotFound(f"no document {document_id}")
    return load_document(session, store, document_id, identity.tenant_id)


def invoice_pod(
    session: Session, store: DocumentStore, identity: PortalIdentity, invoice_id: str, pod_id: str
) -> tuple[StoredDocument, bytes]:
    """A proof of delivery linked to the customer's invoice, its file as received; else `NotFound`."""
    record = customer_invoice(session, identity, invoice_id)
    pod = next((p for p in pods_for_invoice(session, identity.tenant_id, record.id) if p.id == pod_id), None)
    if pod is None or pod.document_id is None:
        raise NotFound(f"no proof of delivery {pod_id}")
    return load_document(session, store, pod.document_id, identity.tenant_id)


def notice_document(
    session: Session, store: DocumentStore, identity: PortalIdentity, notice_id: str, *, statements: bool
) -> tuple[StoredDocument, bytes]:
    """A statement's (or reminder's) document as sent to the customer; `NotFound` for anyone else's."""
    notice = next(
        (n for n in customer_notices(session, identity, statements=statements) if n["id"] == notice_id), None
    )
    if notice is None or notice["document_id"] is None:
        raise NotFound(f"no notice {notice_id}")
    return load_document(session, store, notice["document_id"], identity.tenant_id)


def configured_providers(settings: Settings, tenant_id: str) -> list[str]:
    """The card payment providers the seller configured (`payment_providers_file`: stripe, vipps), in the
    order the pay buttons stand; none without the file or an entry of the tenant, and none (logged) when the
    file cannot be read: the pages still show the invoices."""
    try:
        return list(configured(settings, tenant_id))
    except ProvidersFileError as error:
        log.warning("payment providers file: %s", error)
        return []


def _zip_name(folder: str, number: str, filename: str, seen: set[str]) -> str:
    base = f"{folder}/{safe_filename(number, 'document')}/{safe_filename(filename, 'document')}"
    name, count = base, 1
    while name in seen:
        count += 1
        stem, dot, extension = base.rpartition(".")
        name = f"{stem}-{count}.{extension}" if dot else f"{base}-{count}"
    seen.add(name)
    return name


@dataclass(frozen=True)
class ZipEntry:
    """One file of the zip: where it goes, what it is, and the stored document it is (read when written)."""

    path: str
    what: str
    number: str
    date: str
    document_id: str
    storage_key: str
    sha256: str
    size: int


def _chunks(ids: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _sent_documents(
    session: Session, invoice_ids: list[str]
) -> dict[str, list[tuple[str, dt.datetime | None]]]:
    """Per invoice, the documents it was sent as (named by its deliveries' events, or sent beside it), with
    when each was last sent: what `invoice_dossier` lists, read for many invoices in a few queries."""
    found: dict[str, dict[str, dt.datetime | None]] = {}
    for chunk in _chunks(invoice_ids):
        deliveries = session.execute(
            select(col(Delivery.id), col(Delivery.invoice_id), col(Delivery.extra_documents)).where(
                col(Delivery.invoice_id).in_(chunk)
            )
        ).all()
        invoice_of: dict[str, str] = {row[0]: row[1] for row in deliveries if row[1] is not None}
        for delivery_id, _, extra in deliveries:
            for extra_id in extra or []:
                found.setdefault(invoice_of[delivery_id], {}).setdefault(str(extra_id), None)
        for delivery_chunk in _chunks(list(invoice_of)):
            for delivery_id, at, details in session.execute(
                select(
                    col(DeliveryEvent.delivery_id), col(DeliveryEvent.at), col(DeliveryEvent.details)
                ).where(col(DeliveryEvent.delivery_id).in_(delivery_chunk))
            ):
                named = (details or {}).get("document_id")
                if named:
                    uses = found.setdefault(invoice_of[delivery_id], {})
                    last = uses.get(str(named))
                    uses[str(named)] = at if last is None or at > last else last
    return {invoice_id: list(uses.items()) for invoice_id, uses in found.items()}


def _pods(session: Session, tenant_id: str, invoice_ids: list[str]) -> dict[str, list[ProofOfDelivery]]:
    """Per invoice, its PODs newest first (`pods_for_invoice` for many invoices)."""
    pods: dict[str, list[ProofOfDelivery]] = {}
    for chunk in _chunks(invoice_ids):
        for invoice_id, pod in session.execute(
            select(col(PodLink.invoice_id), ProofOfDelivery)
            .join(PodLink, col(PodLink.pod_id) == col(ProofOfDelivery.id))
            .where(col(PodLink.invoice_id).in_(chunk))
            .order_by(col(ProofOfDelivery.received_at).desc(), col(ProofOfDelivery.id))
        ).all():
            # the tenant checked here, not in the query: SQLite would walk every POD of the tenant
            # (`ix_pods_tenant_id`) rather than the links of these invoices
            if pod.tenant_id == tenant_id:
                pods.setdefault(invoice_id, []).append(pod)
    return pods


def zip_plan(session: Session, identity: PortalIdentity, *, limit: int = MAX_ZIP_BYTES) -> list[ZipEntry]:
    """What the customer's zip holds, in order: each invoice's documents as sent and its PODs, then the
    statements and reminders sent. `TooLarge` past `limit` bytes of files. Reads rows only (a few queries
    per 500 invoices); the bytes are read one file at a time by `zip_stream`."""
    wanted: list[tuple[str, str, str, str, str]] = []  # (path, what, number, date, document id)
    seen: set[str] = set()
    records = session.execute(
        select(col(InvoiceRecord.id), col(InvoiceRecord.number), col(InvoiceRecord.issue_date))
        .where(*_in_scope(identity))
        .order_by(col(InvoiceRecord.issue_date), col(InvoiceRecord.id))
    ).all()
    ids = [invoice_id for invoice_id, _, _ in records]
    sent = _sent_documents(session, ids)
    pods = _pods(session, identity.tenant_id, ids)
    documents: dict[str, StoredDocument] = {}
    named = sorted({document_id for uses in sent.values() for document_id, _ in uses})
    for chunk in _chunks(named):
        for row in session.execute(
            select(StoredDocument).where(
                col(StoredDocument.id).in_(chunk), col(StoredDocument.tenant_id) == identity.tenant_id
            )
        ).scalars():
            documents[row.id] = row
    for invoice_id, number, issued in records:
        uses = [(documents[d], at) for d, at in sent.get(invoice_id, []) if d in documents]
        uses.sort(key=lambda use: use[1] or use[0].created_at, reverse=True)  # as the invoice page lists them
        for document, _ in uses:
            path = _zip_name("invoices", number, document.filename, seen)
            wanted.append((path, "document", number, issued.isoformat(), document.id))
        for pod in pods.get(invoice_id, []):
            if pod.document_id is not None:
                path = _zip_name("proofs-of-delivery", number, pod.filename or f"pod-{pod.id}", seen)
                wanted.append((path, "proof of delivery", number, pod.received_at.date().isoformat(),
                               pod.document_id))  # fmt: skip
    for statements in (True, False):
        for notice in customer_notices(session, identity, statements=statements):
            if notice["document_id"] is None:
                continue
            stored = session.get(StoredDocument, notice["document_id"])
            if stored is None:
                continue
            folder = "statements" if statements else "reminders"
            path = _zip_name(folder, notice["notice_on"].isoformat(), stored.filename, seen)
            wanted.append((path, notice["kind"], "", notice["notice_on"].isoformat(), stored.id))
    missing = sorted({w[4] for w in wanted} - set(documents))
    for chunk in _chunks(missing):
        for row in session.execute(
            select(StoredDocument).where(
                col(StoredDocument.id).in_(chunk), col(StoredDocument.tenant_id) == identity.tenant_id
            )
        ).scalars():
            documents[row.id] = row
    entries = [
        ZipEntry(path, what, number, date, document_id, documents[document_id].storage_key,
                 documents[document_id].sha256, documents[document_id].size)
        for path, what, number, date, document_id in wanted
        if document_id in documents
    ]  # fmt: skip
    if sum(entry.size for entry in entries) > limit:
        raise TooLarge(f"more than {limit} bytes of documents: ask the seller for them")
    return entries


class _Sink(io.RawIOBase):
    """Where the zip writes: kept until taken, so a stream holds one file's compressed bytes at a time. It
    cannot seek or tell, so `zipfile` writes each file's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_stream(store: DocumentStore, entries: list[ZipEntry]) -> Iterator[bytes]:
    """The zip of `entries` and `index.csv` (path, what, invoice number, date, SHA-256, size), a file at a
    time: its memory is one document's, whatever the customer has. Each document is checked against its
    SHA-256 as read (`DocumentCorrupted`; a store error ends the stream, so the download breaks off
    rather than holding a wrong file)."""
    sink = _Sink()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(["path", "what", "invoice", "date", "sha256", "bytes"])
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            data = store.get(entry.storage_key)
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise DocumentCorrupted(f"document {entry.document_id} does not match its recorded SHA-256")
            archive.writestr(entry.path, data)
            writer.writerow([entry.path, entry.what, entry.number, entry.date, entry.sha256, entry.size])
            yield sink.take()
        archive.writestr("index.csv", index.getvalue())
    yield sink.take()


def customer_zip(
    session: Session, store: DocumentStore, identity: PortalIdentity, *, limit: int = MAX_ZIP_BYTES
) -> bytes:
    """Everything of the customer's in one zip (`zip_plan`, `zip_stream`), as bytes. `TooLarge` past
    `limit` bytes of files."""
    return b"".join(zip_stream(store, zip_plan(session, identity, limit=limit)))


__all__ = [
    "MAX_ZIP_BYTES",
    "InvoiceListPage",
    "InvoicePage",
    "InvoiceRow",
    "NotFound",
    "Overview",
    "TooLarge",
    "Totals",
    "ZipEntry",
    "configured_providers",
    "customer_invoice",
    "customer_invoices",
    "customer_notices",
    "customer_overview",
    "customer_zip",
    "invoice_document",
    "invoice_list_page",
    "invoice_page",
    "invoice_pod",
    "notice_document",
    "open_totals",
    "zip_plan",
    "zip_stream",
]
