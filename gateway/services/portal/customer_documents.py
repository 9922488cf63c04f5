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
import io
import logging
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import (
    DeliveryEvent,
    Dispute,
    InvoiceRecord,
    PaymentAllocation,
    PaymentRecord,
    ReminderNotice,
    ReminderNoticeItem,
    StoredDocument,
)
from gateway.services.downloads import safe_filename
from gateway.services.followup.credit import OPEN_STATUSES
from gateway.services.followup.disputes import active_dispute
from gateway.services.inbound.pods import pods_for_invoice
from gateway.services.outbound.documents import DocumentStore, load_document
from gateway.services.outbound.invoice_dossier import SentDocument, invoice_dossier
from gateway.services.portal.providers import ProvidersFileError, configured
from gateway.services.portal.sessions import PortalIdentity
from gateway.settings import Settings
from mappings.invoice.canonical_json import parse as parse_invoice

log = logging.getLogger("gateway.portal")

#: The providers a pay form may offer, in the order its buttons stand.
#: What `download.zip` may hold (the sum of the files' sizes): a customer with more asks the seller.
MAX_ZIP_BYTES = 200 * 1024 * 1024
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


def _scoped(identity: PortalIdentity) -> Any:
    """The customer's invoices (and, for an invoice link, the one)."""
    query = select(InvoiceRecord).where(
        col(InvoiceRecord.tenant_id) == identity.tenant_id,
        col(InvoiceRecord.receiver_id) == identity.receiver_id,
    )
    if identity.invoice_id is not None:
        query = query.where(col(InvoiceRecord.id) == identity.invoice_id)
    return query


def _open(record: InvoiceRecord) -> Decimal:
    return Decimal(record.open_amount if record.open_amount is not None else record.payable_amount)


def _status(
    record: InvoiceRecord, today: dt.date, disputed: set[str], credited: set[str]
) -> tuple[str, bool]:
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


def _rows(session: Session, records: list[InvoiceRecord], today: dt.date) -> list[InvoiceRow]:
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
    query = _scoped(identity)
    if show == "open":
        query = query.where(col(InvoiceRecord.payment_status).in_(OPEN_STATUSES))
    elif show == "paid":
        query = query.where(col(InvoiceRecord.payment_status).not_in(OPEN_STATUSES))
    query = query.order_by(col(InvoiceRecord.issue_date).desc(), col(InvoiceRecord.number).desc())
    records = list(session.execute(query).scalars())
    rows = _rows(session, records, today)
    if show == "open":
        rows = [row for row in rows if row.open_amount != 0]
    return rows


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


def customer_zip(
    session: Session, store: DocumentStore, identity: PortalIdentity, *, limit: int = MAX_ZIP_BYTES
) -> bytes:
    """Everything of the customer's in one zip: each invoice's documents as sent and its PODs, the
    statements and reminders sent, and `index.csv` (path, what, invoice number, date, SHA-256, size).
    `TooLarge` past `limit` bytes of files."""
    wanted: list[tuple[str, str, str, str, str]] = []  # (path, what, number, date, document id)
    seen: set[str] = set()
    records = list(session.execute(_scoped(identity).order_by(col(InvoiceRecord.issue_date))).scalars())
    for record in records:
        for document in invoice_documents(session, identity, record):
            path = _zip_name("invoices", record.number, document.filename, seen)
            wanted.append((path, "document", record.number, record.issue_date.isoformat(), document.id))
        for pod in pods_for_invoice(session, identity.tenant_id, record.id):
            if pod.document_id is not None:
                path = _zip_name("proofs-of-delivery", record.number, pod.filename or f"pod-{pod.id}", seen)
                wanted.append((path, "proof of delivery", record.number, pod.received_at.date().isoformat(),
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
    sizes = {
        row.id: row.size
        for row in session.execute(
            select(StoredDocument).where(
                col(StoredDocument.id).in_([w[4] for w in wanted] or [""]),
                col(StoredDocument.tenant_id) == identity.tenant_id,
            )
        ).scalars()
    }
    if sum(sizes.get(w[4], 0) for w in wanted) > limit:
        raise TooLarge(f"more than {limit} bytes of documents: ask the seller for them")
    buffer = io.BytesIO()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(["path", "what", "invoice", "date", "sha256", "bytes"])
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, what, number, date, document_id in wanted:
            stored, data = load_document(session, store, document_id, identity.tenant_id)
            archive.writestr(path, data)
            writer.writerow([path, what, number, date, stored.sha256, stored.size])
        archive.writestr("index.csv", index.getvalue())
    return buffer.getvalue()


__all__ = [
    "MAX_ZIP_BYTES",
    "InvoicePage",
    "InvoiceRow",
    "NotFound",
    "TooLarge",
    "Totals",
    "configured_providers",
    "customer_invoice",
    "customer_invoices",
    "customer_notices",
    "customer_zip",
    "invoice_document",
    "invoice_page",
    "invoice_pod",
    "notice_document",
    "open_totals",
]
