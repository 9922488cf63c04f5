"""A customer's inquiries and promises to pay, from the portal: the seller's disputes and promises, seen
from the customer's side.

An inquiry *is* a dispute (`gateway.services.followup.disputes`): opening one on an invoice opens a dispute
with origin `portal`, the customer's text as its reason and the customer's words on the `customer` side, and
so pauses follow-up exactly as a dispute the ERP opens does. While the invoice has an open dispute, a new
inquiry adds the customer's message to that one instead (the dispute service allows one open dispute per
invoice). The seller's team answers from the console with a message on the `seller` side.

What the customer sees of a dispute: what it wrote in the portal and the seller's answers (`customer_sees`),
the category, and the status and outcome in words; never internal notes, owners, due dates, proposed credits
or the history's internal events. A dispute on the customer's invoice is the customer's inquiry once it
holds something the customer may see (one opened in the portal always does; one the ERP opened internally
stays out of sight until the seller answers the customer on it).

Isolation: every lookup is by the portal identity's tenant and receiver (and, for an invoice link, its one
invoice). Another customer's invoice, dispute or attachment is `NotFound`: the same answer as an id that
does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord, StoredDocument
from db.models.followup import Dispute, DisputeMessage, PaymentPromise
from gateway.services.followup import disputes as dispute_service
from gateway.services.followup import promises as promise_service
from gateway.services.followup.disputes import (
    ACTIVE,
    CATEGORIES,
    MAX_REASON,
    MAX_TEXT,
    PORTAL_AUTHOR_PREFIX,
    AttachmentUpload,
    FollowUpRefused,
    customer_sees,
)
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentStore, load_document
from gateway.services.portal.sessions import PortalIdentity
from gateway.services.tenancy.tenants import tenant_settings
from schemas.canonical import DocumentType
from schemas.followup import PromiseStatus


class InquiryNotFound(NotFound):
    """Not this customer's (or no such) invoice, inquiry or attachment: a 404, whatever the reason."""


class InquiryRefused(FollowUpRefused):
    """A refusal the portal shows next to a field, in the customer's language: `key` names the portal text
    (with `values` to fill in); `reason` is the same in English for logs and tests."""

    def __init__(
        self, field: str, reason: str, status: int = 422, *, key: str, values: dict[str, Any] | None = None
    ) -> None:
        super().__init__(field, reason, status)
        self.key = key
        self.values = values or {}


# --- scope --------------------------------------------------------------------------------------------------


def customer_invoice(session: Session, identity: PortalIdentity, invoice_id: str) -> InvoiceRecord:
    """The customer's own invoice (or credit note) by its id; anything else is `InquiryNotFound`."""
    invoice = session.get(InvoiceRecord, invoice_id) if len(invoice_id) <= 32 else None
    if (
        invoice is None
        or invoice.tenant_id != identity.tenant_id
        or invoice.receiver_id != identity.receiver_id
        or not identity.may_see(invoice.id)
    ):
        raise InquiryNotFound(f"no invoice {invoice_id}")
    return invoice


def _seen() -> Any:
    """SQL: a history entry the customer reads (`disputes.customer_sees`)."""
    return or_(
        col(DisputeMessage.side) == "seller",
        and_(
            col(DisputeMessage.side) == "customer",
            col(DisputeMessage.author).startswith(PORTAL_AUTHOR_PREFIX),
        ),
    )


def _visible(dispute_id: Any) -> Any:
    """SQL: the dispute holds a message the customer may see."""
    return exists().where(col(DisputeMessage.dispute_id) == dispute_id, _seen())


def customer_can_see(session: Session, dispute_id: str) -> bool:
    """Whether the dispute shows in its customer's portal at all (it holds a message the customer may see):
    what decides if the customer is told of an answer or an outcome by e-mail."""
    return bool(session.execute(select(_visible(dispute_id))).scalar())


def customer_dispute(session: Session, identity: PortalIdentity, dispute_id: str) -> Dispute:
    """The customer's inquiry: a dispute of the tenant on one of the customer's invoices, with something
    the customer may see; anything else is `InquiryNotFound`."""
    dispute = session.get(Dispute, dispute_id) if len(dispute_id) <= 32 else None
    if dispute is None or dispute.tenant_id != identity.tenant_id:
        raise InquiryNotFound(f"no inquiry {dispute_id}")
    try:
        customer_invoice(session, identity, dispute.invoice_id)
    except InquiryNotFound:
        raise InquiryNotFound(f"no inquiry {dispute_id}") from None
    if not session.execute(select(_visible(dispute.id))).scalar():
        raise InquiryNotFound(f"no inquiry {dispute_id}")
    return dispute


# --- opening and writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InquiryOpened:
    """The dispute the inquiry went to; `added` when it was added to one already open on the invoice."""

    dispute: Dispute
    added: bool


def _check_upload(upload: AttachmentUpload | None, max_bytes: int) -> None:
    if upload is None:
        return
    try:
        dispute_service.check_attachment(upload, max_bytes=max_bytes)
    except FollowUpRefused as error:
        raise InquiryRefused(
            "attachment",
            f"{error.field}: {error.reason}",
            error.status,
            key="attachment_refused",
            values={"reason": error.reason},
        ) from None


def open_inquiry(
    session: Session,
    store: DocumentStore,
    identity: PortalIdentity,
    invoice_id: str,
    *,
    category: Any,
    text: Any,
    attachment: AttachmentUpload | None = None,
    max_bytes: int,
    now: dt.datetime,
) -> InquiryOpened:
    """The customer's question or objection on its invoice: a dispute (origin portal, follow-up paused), or
    a message on the invoice's open dispute when it has one (`added`)."""
    invoice = customer_invoice(session, identity, invoice_id)
    if category not in CATEGORIES:
        raise InquiryRefused("category", f"{category!r} is not one of {', '.join(CATEGORIES)}", key="choose")
    if invoice.document_type == DocumentType.CREDIT_NOTE.value:
        raise InquiryRefused(
            "category",
            f"{invoice.number} is a credit note; nothing is owed on it",
            key="credit_note_no_inquiry",
        )
    body = _text(text, MAX_REASON)
    _check_upload(attachment, max_bytes)
    existing = dispute_service.active_dispute(session, invoice.id)
    if existing is not None:
        dispute_service.add_message(
            session, store, identity.tenant_id, existing.id, text=body, side="customer",
            attachment=attachment, max_bytes=max_bytes, actor=identity.actor, now=now,
        )  # fmt: skip
        return InquiryOpened(existing, added=True)
    dispute = dispute_service.open_dispute(
        session, identity.tenant_id, invoice.id, reason=body, category=category, side="customer",
        origin="portal", actor=identity.actor, now=now,
    )  # fmt: skip
    if attachment is not None:
        dispute_service.add_message(
            session, store, identity.tenant_id, dispute.id, text=None, side="customer",
            attachment=attachment, max_bytes=max_bytes, actor=identity.actor, now=now,
        )  # fmt: skip
    return InquiryOpened(dispute, added=False)


def _text(value: Any, limit: int) -> str:
    try:
        body = dispute_service.clean_text(value, "text", limit, required=True)
    except FollowUpRefused as error:
        if "characters; at most" in error.reason:
            raise InquiryRefused("text", error.reason, key="text_too_long", values={"limit": limit}) from None
        if "control characters" in error.reason:
            raise InquiryRefused("text", error.reason, key="text_control") from None
        raise InquiryRefused("text", error.reason, key="text_required") from None
    assert body is not None
    return body


def reply(
    session: Session,
    store: DocumentStore,
    identity: PortalIdentity,
    dispute_id: str,
    *,
    text: Any,
    attachment: AttachmentUpload | None = None,
    max_bytes: int,
    now: dt.datetime,
) -> DisputeMessage:
    """The customer's reply on its open inquiry (text and/or an attachment). A closed inquiry takes no more
    replies (409): the customer opens a new one on the invoice."""
    dispute = customer_dispute(session, identity, dispute_id)
    if dispute.status not in ACTIVE:
        raise InquiryRefused("text", f"inquiry {dispute.id} is {dispute.status}", 409, key="inquiry_closed")
    has_text = isinstance(text, str) and text.strip() != ""
    body = _text(text, MAX_TEXT) if has_text or attachment is None else None
    _check_upload(attachment, max_bytes)
    return dispute_service.add_message(
        session, store, identity.tenant_id, dispute.id, text=body, side="customer", attachment=attachment,
        max_bytes=max_bytes, actor=identity.actor, now=now,
    )  # fmt: skip


# --- promises -----------------------------------------------------------------------------------------------


def promise_limit(session: Session, identity: PortalIdentity) -> int:
    """How many days ahead the seller lets a customer promise to pay (`promise_max_days`)."""
    return tenant_settings(session, identity.tenant_id).follow_up.promise_max_days


def promise_to_pay(
    session: Session,
    identity: PortalIdentity,
    invoice_id: str,
    *,
    promised_on: Any,
    amount: Any = None,
    now: dt.datetime,
) -> PaymentPromise:
    """ "I will pay by <date>": a promise (replacing an open one) of `amount` (all that is open when none),
    at most `promise_max_days` ahead; follow-up waits until then."""
    invoice = customer_invoice(session, identity, invoice_id)
    if invoice.document_type == DocumentType.CREDIT_NOTE.value:
        raise InquiryRefused("date", f"{invoice.number} is a credit note", key="credit_note_no_inquiry")
    on = dispute_service.local_date(now)
    if isinstance(promised_on, str):
        try:
            promised_on = dt.date.fromisoformat(promised_on.strip())
        except ValueError:
            raise InquiryRefused("date", f"{promised_on!r} is not a date", key="date_invalid") from None
    if not isinstance(promised_on, dt.date):
        raise InquiryRefused("date", "a date is required", key="date_invalid")
    days = promise_limit(session, identity)
    latest = on + dt.timedelta(days=days)
    if promised_on < on:
        raise InquiryRefused("date", f"{promised_on} is in the past", key="date_past")
    if promised_on > latest:
        raise InquiryRefused(
            "date",
            f"{promised_on} is more than {days} days ahead (at most {latest})",
            key="date_too_late",
            values={"days": days, "latest": latest.isoformat()},
        )
    left = dispute_service.open_amount(invoice)
    if left <= 0:
        raise InquiryRefused("date", f"{invoice.number} is paid", key="nothing_owed")
    if isinstance(amount, str):  # as a person types it: 1 250,50
        amount = "".join(amount.split()).replace(",", ".")
    if amount is None or amount == "":
        amount = str(left)
    try:
        return promise_service.add_promise(
            session, identity.tenant_id, invoice.id, promised_on=promised_on, amount=amount,
            actor=identity.actor, on=on, now=now,
        )  # fmt: skip
    except FollowUpRefused as error:
        if error.field == "amount":
            key = "amount_too_high" if "more than" in error.reason else "amount_invalid"
            raise InquiryRefused(
                "amount", error.reason, key=key, values={"open": f"{left} {invoice.currency}"}
            ) from None
        raise


def open_promise(session: Session, identity: PortalIdentity, invoice_id: str) -> PaymentPromise | None:
    """The invoice's open promise, if the customer has made one."""
    invoice = customer_invoice(session, identity, invoice_id)
    return session.execute(
        select(PaymentPromise)
        .where(
            col(PaymentPromise.invoice_id) == invoice.id,
            col(PaymentPromise.status) == PromiseStatus.OPEN.value,
        )
        .order_by(col(PaymentPromise.created_at).desc())
        .limit(1)
    ).scalar_one_or_none()


# --- what the customer sees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InquirySummary:
    """One inquiry in the customer's list."""

    id: str
    invoice_id: str
    invoice_number: str
    category: str
    state: str  # open | rejected | withdrawn | credited
    opened_at: dt.datetime
    last_at: dt.datetime
    answered: bool  # the seller has written to the customer


@dataclass(frozen=True)
class ThreadMessage:
    """A message the customer may see: its own (`by_customer`, any of its users) or the seller's answer."""

    id: int
    at: dt.datetime
    by_customer: bool
    text: str | None
    attachment_name: str | None
    attachment_type: str | None


@dataclass(frozen=True)
class InquiryThread:
    """An inquiry as the customer sees it."""

    id: str
    invoice_id: str
    invoice_number: str
    currency: str
    open_amount: Decimal
    category: str
    state: str
    is_open: bool
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    credit_amount: Decimal | None
    credit_note_number: str | None
    messages: list[ThreadMessage]


def _state(dispute: Dispute) -> str:
    """Open while the seller works on it (a credit awaiting approval is still being worked on: the
    customer learns of a credit when it is given), else the outcome."""
    return "open" if dispute.status in ACTIVE else dispute.status


def list_inquiries(session: Session, identity: PortalIdentity) -> list[InquirySummary]:
    """The customer's inquiries: open ones first, newest first within each."""
    rows = session.execute(
        select(Dispute, InvoiceRecord)
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(Dispute.invoice_id))
        .where(
            col(Dispute.tenant_id) == identity.tenant_id,
            col(InvoiceRecord.tenant_id) == identity.tenant_id,
            col(InvoiceRecord.receiver_id) == identity.receiver_id,
            _visible(Dispute.id),
        )
        .order_by(col(Dispute.opened_at).desc(), col(Dispute.id))
        .limit(500)
    ).all()
    ids = [dispute.id for dispute, _ in rows]
    seen: dict[str, tuple[dt.datetime, bool]] = {}
    if ids:
        for dispute_id, at, side in session.execute(
            select(col(DisputeMessage.dispute_id), col(DisputeMessage.at), col(DisputeMessage.side)).where(
                col(DisputeMessage.dispute_id).in_(ids), _seen()
            )
        ).all():
            last, answered = seen.get(dispute_id, (at, False))
            seen[dispute_id] = (max(last, at), answered or side == "seller")
    items = [
        InquirySummary(
            id=dispute.id,
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            category=dispute.category,
            state=_state(dispute),
            opened_at=dispute.opened_at,
            last_at=seen.get(dispute.id, (dispute.opened_at, False))[0],
            answered=seen.get(dispute.id, (dispute.opened_at, False))[1],
        )
        for dispute, invoice in rows
        if identity.may_see(invoice.id)
    ]
    return sorted(items, key=lambda item: item.state != "open")


def invoice_inquiries(session: Session, identity: PortalIdentity, invoice_id: str) -> list[InquirySummary]:
    """The customer's inquiries about one of its invoices (for the invoice's page)."""
    invoice = customer_invoice(session, identity, invoice_id)
    return [item for item in list_inquiries(session, identity) if item.invoice_id == invoice.id]


def inquiry_thread(session: Session, identity: PortalIdentity, dispute_id: str) -> InquiryThread:
    """The inquiry with the messages the customer may see, oldest first."""
    dispute = customer_dispute(session, identity, dispute_id)
    invoice = session.get(InvoiceRecord, dispute.invoice_id)
    assert invoice is not None
    messages = session.execute(
        select(DisputeMessage)
        .where(
            col(DisputeMessage.dispute_id) == dispute.id,
            _seen(),
        )
        .order_by(col(DisputeMessage.at), col(DisputeMessage.id))
    ).scalars()
    credit_note = (
        session.get(InvoiceRecord, dispute.credit_note_invoice_id) if dispute.credit_note_invoice_id else None
    )
    credited = dispute.status == "credited" and dispute.credit_amount is not None
    return InquiryThread(
        id=dispute.id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        currency=invoice.currency,
        open_amount=dispute_service.open_amount(invoice),
        category=dispute.category,
        state=_state(dispute),
        is_open=dispute.status in ACTIVE,
        opened_at=dispute.opened_at,
        resolved_at=dispute.resolved_at,
        credit_amount=Decimal(dispute.credit_amount) if credited and dispute.credit_amount else None,
        credit_note_number=credit_note.number if credit_note is not None else None,
        messages=[
            ThreadMessage(
                id=int(message.id or 0),
                at=message.at,
                by_customer=message.side == "customer",
                text=message.text,
                attachment_name=message.attachment_name if message.attachment_key else None,
                attachment_type=message.attachment_type if message.attachment_key else None,
            )
            for message in messages
        ],
    )


def thread_attachment(
    session: Session, store: DocumentStore, identity: PortalIdentity, dispute_id: str, message_id: int
) -> tuple[StoredDocument, bytes]:
    """An attachment on the customer's own inquiry, on a message the customer may see; else NotFound."""
    dispute = customer_dispute(session, identity, dispute_id)
    message = session.get(DisputeMessage, message_id)
    if (
        message is None
        or message.dispute_id != dispute.id
        or not customer_sees(message.side, message.author)
        or not message.attachment_key
    ):
        raise InquiryNotFound(f"no attachment {message_id}")
    try:
        return load_document(session, store, message.attachment_key, identity.tenant_id)
    except LookupError:
        raise InquiryNotFound(f"no attachment {message_id}") from None
