"""Disputes and inquiries: a disputed invoice stops follow-up on the disputed amount until it is resolved.

A dispute is opened by the tenant's ERP (`POST /invoices/{id}/disputes`), an operator, or the customer's
Invoice Response (UQ under query, RE rejected: `dispute_from_invoice_response`). Opening one cancels the
invoice's notices still waiting (not yet taken by a worker) that have nothing else to remind
(`notices.cancel_waiting_notices`; a dispute on part of the amount leaves them: the rest is still owed).
It keeps a history of messages, attachments and changes (`DisputeMessage`, one row each), an owner and a
due date, and ends in a resolution:

* `rejected` or `withdrawn`: the claim stands and follow-up resumes; the whole days the dispute was open
  are added to `FollowUpState.paused_days` (levels counted from the due date) and to the last notice's
  deadline the next level counts from (`FollowUpState.last_deadline`), so the next level moves by the pause;
* `credited`: a person proposes a credit (status `awaiting_approval`, still pausing follow-up), and a
  *different* person with the right to approve credits approves it (four eyes, the seeds' "corrections
  after mandatory review and approval"); only then a canonical credit note referring to the invoice is
  written through the normal intake and delivered through the outbox like any credit note, and the
  invoice's open amount goes down by the credit (`gateway.services.payments.credits`).

Who may approve a credit: API tokens carry no role (an ERP is not a person), so over the API a token may
open, write, resolve as rejected/withdrawn and *propose* a credit, never approve one. Approving is for a
console user with role `credit` or `admin`, and for an operator on the host (`gateway disputes approve ID
--as NAME`: whoever can run the command line can already change the database, and names themselves).
`approve_credit` enforces both rules on the server, whatever calls it.

Dates: services take `now` (the moment) from the caller; the days paused are counted between the local
dates (Europe/Oslo) of opening and resolving, so a test can walk the calendar with a fixed clock.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord
from db.models.followup import Dispute, DisputeMessage, FollowUpState
from gateway.services.followup.notices import cancel_waiting_notices
from gateway.services.inbound import pods as pod_checks
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentStore, store_document
from gateway.services.outbound.intake import IntakeItem, accept_in_session
from gateway.services.outbound.lookup import find_invoice
from gateway.services.payments.credits import apply_credit_note
from schemas.canonical import DocumentType, Invoice, VatCategory, round_amount
from schemas.followup import DisputeCategory, DisputeOrigin, DisputeStatus

TIME_ZONE = ZoneInfo("Europe/Oslo")
#: Disputes that still stop follow-up.
ACTIVE = (DisputeStatus.OPEN.value, DisputeStatus.AWAITING_APPROVAL.value)
CATEGORIES: tuple[str, ...] = get_args(DisputeCategory)
ORIGINS: tuple[str, ...] = get_args(DisputeOrigin)
#: Who raised a dispute or wrote to it: the customer, or the seller's team (internal: never shown to it).
SIDES = ("customer", "internal")
#: A message may also be the seller's answer *to* the customer ("seller"): the customer sees it in the portal.
MESSAGE_SIDES = (*SIDES, "seller")
#: Authors of what a customer wrote itself in the portal: `portal:<email>` and `portal-link:<invoice id>`.
PORTAL_AUTHOR_PREFIX = "portal"
OUTCOMES = ("rejected", "withdrawn", "credited")
#: Console roles that may approve a credit; `HOST_OPERATOR` is the command line on the gateway's host.
CREDIT_ROLES = frozenset({"credit", "admin"})
HOST_OPERATOR = "host-operator"
#: What a dispute attachment may be: the POD checks decide by the bytes, of these kinds only.
ATTACHMENT_KINDS = frozenset({"pdf", "png", "jpeg"})
MAX_REASON = 2000
MAX_TEXT = 10_000
MAX_NAME = 200


class FollowUpRefused(ValueError):
    """A request refused: `field` names what to fix, `status` is the HTTP status it answers with."""

    def __init__(self, field: str | None, reason: str, status: int = 422) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason
        self.status = status

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "reason": self.reason}


class DisputeNotFound(NotFound):
    """No such dispute for this tenant (another tenant's id too): a 404 on every route."""


# --- checks -------------------------------------------------------------------------------------------------


def customer_sees(side: str, author: str) -> bool:
    """Whether the customer reads this history entry in the portal: the seller's answers to it, and what it
    wrote there itself. Never internal notes or events, nor what the team recorded that the customer said."""
    return side == "seller" or (side == "customer" and author.startswith(PORTAL_AUTHOR_PREFIX))


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date of `moment` in the tenant's time zone (a naive moment is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(TIME_ZONE).date()


def today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in the tenant's time zone: what the API and the command line default to."""
    return local_date(now or dt.datetime.now(dt.UTC))


def clean_text(
    value: Any, field: str, limit: int, *, required: bool = False, lines: bool = True
) -> str | None:
    """Trimmed text without control characters (line breaks and tabs allowed where `lines`)."""
    if value is None:
        if required:
            raise FollowUpRefused(field, "required")
        return None
    if not isinstance(value, str):
        raise FollowUpRefused(field, "expected a string")
    text = value.strip()
    if not text:
        if required:
            raise FollowUpRefused(field, "must not be empty")
        return None
    if len(text) > limit:
        raise FollowUpRefused(field, f"{len(text):,} characters; at most {limit:,}")
    allowed = {"\n", "\t", "\r"} if lines else set()
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in text):
        raise FollowUpRefused(field, "contains control characters")
    return text


def money(value: Any, field: str) -> Decimal:
    """A positive amount with at most two decimals (text or number), as exact `Decimal`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise FollowUpRefused(field, 'expected an amount such as "1250.00"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise FollowUpRefused(field, f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise FollowUpRefused(field, f"{value!r} is not an amount")
    if amount <= 0:
        raise FollowUpRefused(field, f"{amount} must be greater than 0")
    if amount != amount.quantize(Decimal("0.01")) or abs(amount) >= Decimal("1e17"):
        raise FollowUpRefused(field, f"{amount}: at most two decimals and 17 digits")
    return amount.quantize(Decimal("0.01"))


def open_amount(invoice: InvoiceRecord) -> Decimal:
    """What remains to be paid of the invoice (its payable amount until something was applied)."""
    return Decimal(invoice.open_amount if invoice.open_amount is not None else invoice.payable_amount)


def invoice_of(session: Session, tenant_id: str, reference: str, field: str = "invoice_id") -> InvoiceRecord:
    """The tenant's invoice by id or number (`NotFound` for another tenant's)."""
    return find_invoice(session, tenant_id, reference, field=field)


def get_dispute(session: Session, tenant_id: str, dispute_id: str) -> Dispute:
    dispute = session.get(Dispute, dispute_id)
    if dispute is None or dispute.tenant_id != tenant_id:
        raise DisputeNotFound(f"no dispute {dispute_id}")
    return dispute


def active_dispute(session: Session, invoice_id: str) -> Dispute | None:
    """The invoice's open (or awaiting approval) dispute, if it has one."""
    return session.execute(
        select(Dispute)
        .where(col(Dispute.invoice_id) == invoice_id, col(Dispute.status).in_(ACTIVE))
        .order_by(col(Dispute.opened_at))
        .limit(1)
    ).scalar_one_or_none()


def _add_message(
    session: Session,
    dispute: Dispute,
    *,
    author: str,
    side: str,
    event: str,
    text: str | None,
    at: dt.datetime,
    attachment: tuple[str, str, str] | None = None,
) -> DisputeMessage:
    message = DisputeMessage(dispute_id=dispute.id, at=at, author=author, side=side, text=text, event=event)
    if attachment is not None:
        message.attachment_key, message.attachment_name, message.attachment_type = attachment
    session.add(message)
    return message


# --- opening ------------------------------------------------------------------------------------------------


def open_dispute(
    session: Session,
    tenant_id: str,
    invoice_reference: str,
    *,
    reason: Any,
    category: Any,
    side: Any = "customer",
    amount: Any = None,
    owner: Any = None,
    due_on: dt.date | None = None,
    origin: str | None = None,
    actor: str,
    now: dt.datetime,
) -> Dispute:
    """Open a dispute on the tenant's invoice; follow-up stops on the disputed amount (None: all of it).

    Refused: a credit note (422), an amount above the open amount (422), and a second dispute while one is
    open or awaiting approval (409 naming that one: write to it instead).
    """
    invoice = invoice_of(session, tenant_id, invoice_reference)
    reason_text = clean_text(reason, "reason", MAX_REASON, required=True)
    assert reason_text is not None
    if category not in CATEGORIES:
        raise FollowUpRefused("category", f"{category!r} is not one of {', '.join(CATEGORIES)}")
    if side not in SIDES:
        raise FollowUpRefused("from", f"{side!r} is not one of {', '.join(SIDES)}")
    origin = origin or str(side)
    if origin not in ORIGINS:  # pragma: no cover - the callers name known origins
        raise FollowUpRefused("origin", f"{origin!r} is not one of {', '.join(ORIGINS)}")
    owner_text = clean_text(owner, "owner", MAX_NAME, lines=False)
    if invoice.document_type == DocumentType.CREDIT_NOTE.value:
        raise FollowUpRefused(
            "invoice_id", f"{invoice.number} is a credit note; a credit note is not disputed"
        )
    disputed = None if amount is None else money(amount, "amount")
    if disputed is not None and disputed > open_amount(invoice):
        raise FollowUpRefused(
            "amount",
            f"{disputed} is more than the open amount {open_amount(invoice)} of invoice {invoice.number}",
        )
    # one writer at a time per invoice (PostgreSQL row lock; SQLite writes one transaction at a time)
    session.execute(
        select(col(InvoiceRecord.id)).where(col(InvoiceRecord.id) == invoice.id).with_for_update()
    )
    existing = active_dispute(session, invoice.id)
    if existing is not None:
        raise FollowUpRefused(
            "invoice_id",
            f"invoice {invoice.number} has an open dispute {existing.id} ({existing.status}); add a message "
            "to it instead",
            status=409,
        )
    dispute = Dispute(
        tenant_id=tenant_id,
        invoice_id=invoice.id,
        category=str(category),
        origin=origin,
        reason=reason_text,
        amount=None if disputed is None else str(disputed),
        status=DisputeStatus.OPEN.value,
        owner=owner_text,
        due_on=due_on,
        opened_by=actor,
        opened_at=now,
    )
    session.add(dispute)
    session.flush()
    _add_message(session, dispute, author=actor, side=str(side), event="opened", text=reason_text, at=now)
    session.flush()
    _cancel_waiting_notices(session, dispute, actor=actor)
    return dispute


def _cancel_waiting_notices(session: Session, dispute: Dispute, *, actor: str) -> None:
    """A notice still waiting that reminds of nothing but the disputed invoice (and paid ones) must not go:
    it is cancelled and the invoice's follow-up state set back. A dispute on part of the amount leaves it
    (the rest is still reminded)."""
    if dispute.amount is not None:
        invoice = session.get(InvoiceRecord, dispute.invoice_id)
        if invoice is not None and open_amount(invoice) > Decimal(dispute.amount):
            return
    cancel_waiting_notices(
        session,
        dispute.tenant_id,
        [dispute.invoice_id],
        actor=actor,
        reason=f"disputed before it left: dispute {dispute.id}",
        stopped=[dispute.invoice_id],
    )


# --- history ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentUpload:
    """A file sent with a message: its bytes, the name and the media type the sender gave."""

    data: bytes
    filename: str | None
    media_type: str | None


def check_attachment(upload: AttachmentUpload, *, max_bytes: int) -> tuple[str, str, str]:
    """(file name, media type, extension) of an attachment the POD checks accept, or `FollowUpRefused`.

    The proofs of delivery's checks are the ones a file from outside passes here too: the type by its bytes
    (a declared type must agree), the size, an image's dimensions from its header, a PDF's pages and
    encryption, and a file name without paths or control characters. Only PDF, JPEG and PNG are attachments.
    """
    try:
        if upload.filename is not None:
            pod_checks.check_filename(upload.filename, "attachment.filename")
        examined = pod_checks.examine(upload.data, media_type_hint=upload.media_type, max_bytes=max_bytes)
    except pod_checks.PodRefused as error:
        field = error.field if error.field.startswith("attachment") else f"attachment.{error.field}"
        raise FollowUpRefused(field, error.reason, error.status) from None
    if examined.kind not in ATTACHMENT_KINDS:
        raise FollowUpRefused(
            "attachment.content", f"the file is {examined.kind}; an attachment is a PDF, JPEG or PNG", 415
        )
    return upload.filename or f"attachment.{examined.extension}", examined.media_type, examined.extension


def add_message(
    session: Session,
    store: DocumentStore,
    tenant_id: str,
    dispute_id: str,
    *,
    text: Any,
    side: Any = "internal",
    attachment: AttachmentUpload | None = None,
    max_bytes: int = pod_checks.MAX_POD_BYTES,
    actor: str,
    now: dt.datetime,
) -> DisputeMessage:
    """A message (and/or an attachment, kept in the document store) on the dispute's history. `side`:
    customer (what the customer said), internal (a note the customer never sees) or seller (the seller's
    answer to the customer: shown in the customer's portal)."""
    dispute = get_dispute(session, tenant_id, dispute_id)
    body = clean_text(text, "text", MAX_TEXT)
    if side not in MESSAGE_SIDES:
        raise FollowUpRefused("from", f"{side!r} is not one of {', '.join(MESSAGE_SIDES)}")
    if body is None and attachment is None:
        raise FollowUpRefused("text", "a message needs a text or an attachment")
    stored: tuple[str, str, str] | None = None
    if attachment is not None:
        name, media_type, _ = check_attachment(attachment, max_bytes=max_bytes)
        document = store_document(
            session, store, tenant_id=tenant_id, data=attachment.data, media_type=media_type, filename=name,
            kind="dispute-attachment",
        )  # fmt: skip
        session.flush()
        stored = (document.id, name, media_type)
    message = _add_message(
        session, dispute, author=actor, side=str(side), event="message", text=body, at=now, attachment=stored
    )
    session.flush()
    return message


def update_dispute(
    session: Session,
    tenant_id: str,
    dispute_id: str,
    *,
    changes: dict[str, Any],
    actor: str,
    now: dt.datetime,
) -> Dispute:
    """Change the owner and/or the due date (keys `owner`, `due_date`; None clears); each change is a
    history entry saying from what to what. Only while the dispute is open or awaiting approval."""
    dispute = get_dispute(session, tenant_id, dispute_id)
    unknown = sorted(set(changes) - {"owner", "due_date"})
    if unknown:
        raise FollowUpRefused(unknown[0], "unknown field; owner and due_date can be changed")
    if not changes:
        raise FollowUpRefused(None, "nothing to change: give owner and/or due_date")
    if dispute.status not in ACTIVE:
        raise FollowUpRefused("status", f"dispute {dispute.id} is {dispute.status}; it is closed", 409)
    if "owner" in changes:
        owner = clean_text(changes["owner"], "owner", MAX_NAME, lines=False)
        if owner != dispute.owner:
            _add_message(
                session, dispute, author=actor, side="internal", event="owner", at=now,
                text=f"owner {dispute.owner or '(none)'} → {owner or '(none)'}",
            )  # fmt: skip
            dispute.owner = owner
    if "due_date" in changes:
        due = changes["due_date"]
        if due is not None and not isinstance(due, dt.date):
            raise FollowUpRefused("due_date", "expected a date YYYY-MM-DD")
        if due != dispute.due_on:
            before = dispute.due_on.isoformat() if dispute.due_on else "(none)"
            _add_message(
                session, dispute, author=actor, side="internal", event="due_date", at=now,
                text=f"due date {before} → {due.isoformat() if due else '(none)'}",
            )  # fmt: skip
            dispute.due_on = due
    session.add(dispute)
    session.flush()
    return dispute


# --- resolving ----------------------------------------------------------------------------------------------


def days_paused(dispute: Dispute, resolved_at: dt.datetime) -> int:
    """Whole days from the day it was opened to the day it was resolved (local dates)."""
    return max(0, (local_date(resolved_at) - local_date(dispute.opened_at)).days)


def _resume_follow_up(session: Session, dispute: Dispute, now: dt.datetime) -> int:
    """Add the days paused to the invoice's follow-up state (made if follow-up never touched it)."""
    days = days_paused(dispute, now)
    dispute.paused_days = days
    state = session.get(FollowUpState, dispute.invoice_id, with_for_update=True)
    if state is None:
        state = FollowUpState(invoice_id=dispute.invoice_id, tenant_id=dispute.tenant_id, paused_days=0)
    state.paused_days += days
    if state.last_deadline is not None:  # the next level counts from it: it moves by the pause, once
        state.last_deadline += dt.timedelta(days=days)
    state.updated_at = now
    session.add(state)
    return days


def _close(
    dispute: Dispute, status: DisputeStatus, *, actor: str, note: str | None, now: dt.datetime
) -> None:
    dispute.status = status.value
    dispute.resolved_at = now
    dispute.resolved_by = actor
    if note is not None:
        dispute.resolution_note = note


def resolve_dispute(
    session: Session,
    tenant_id: str,
    dispute_id: str,
    *,
    outcome: Any,
    note: Any = None,
    credit_amount: Any = None,
    actor: str,
    now: dt.datetime,
) -> Dispute:
    """`rejected` / `withdrawn`: closed, follow-up resumes with the days paused added. `credited`: a credit
    of `credit_amount` is proposed and waits for another person's approval (`approve_credit`).

    A proposal awaiting approval may still be rejected or withdrawn (the proposal lapses)."""
    dispute = get_dispute(session, tenant_id, dispute_id)
    if outcome not in OUTCOMES:
        raise FollowUpRefused("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
    note_text = clean_text(note, "note", MAX_TEXT)
    if dispute.status not in ACTIVE:
        raise FollowUpRefused("status", f"dispute {dispute.id} is already {dispute.status}", 409)
    if outcome == "credited":
        if dispute.status == DisputeStatus.AWAITING_APPROVAL.value:
            raise FollowUpRefused(
                "status",
                f"a credit of {dispute.credit_amount} proposed by {dispute.credit_requested_by} "
                "awaits approval",
                409,
            )
        if credit_amount is None:
            raise FollowUpRefused("credit_amount", "required when the outcome is credited")
        amount = money(credit_amount, "credit_amount")
        invoice = session.get(InvoiceRecord, dispute.invoice_id)
        assert invoice is not None
        if amount > open_amount(invoice):
            raise FollowUpRefused(
                "credit_amount", f"{amount} is more than the open amount {open_amount(invoice)} of invoice "
                f"{invoice.number}",
            )  # fmt: skip
        dispute.status = DisputeStatus.AWAITING_APPROVAL.value
        dispute.credit_amount = str(amount)
        dispute.credit_requested_by = actor
        if note_text is not None:
            dispute.resolution_note = note_text
        text = f"credit of {amount} {invoice.currency} proposed" + (f": {note_text}" if note_text else "")
        _add_message(
            session, dispute, author=actor, side="internal", event="credit_proposed", text=text, at=now
        )
    else:
        if credit_amount is not None:
            raise FollowUpRefused("credit_amount", f"only with the outcome credited, not {outcome}")
        lapsed = dispute.status == DisputeStatus.AWAITING_APPROVAL.value
        _close(dispute, DisputeStatus(outcome), actor=actor, note=note_text, now=now)
        days = _resume_follow_up(session, dispute, now)
        text = f"{outcome}; follow-up resumes with {days} day(s) paused added"
        if lapsed:
            text += f" (the proposed credit of {dispute.credit_amount} lapsed)"
        _add_message(
            session, dispute, author=actor, side="internal", event=outcome, at=now,
            text=text + (f": {note_text}" if note_text else ""),
        )  # fmt: skip
    session.add(dispute)
    session.flush()
    return dispute


def _same_person(a: str, b: str | None) -> bool:
    """Actors are written `kind:name` (api:erp, cli:kari, console:kari@x.no): the name decides."""
    if b is None:
        return False
    return a.strip().casefold() == b.strip().casefold() or (
        a.split(":", 1)[-1].strip().casefold() == b.split(":", 1)[-1].strip().casefold()
    )


def approve_credit(
    session: Session,
    dispute_id: str,
    *,
    approver: str,
    approver_role: str,
    tenant_id: str | None = None,
    default_channel: str | None = None,
    now: dt.datetime | None = None,
) -> Dispute:
    """Approve the proposed credit: the credit note is written (through the intake, delivered through the
    outbox like any credit note), set against the invoice, and the dispute is `credited`.

    Refused (403) for a role other than `credit`/`admin` (a console user) or `HOST_OPERATOR` (the command
    line), and for the person who proposed the credit (four eyes); 409 when no credit awaits approval.
    `tenant_id`: the caller's tenant (a console user's), checked like every lookup; None on the host.
    `default_channel`: where a credit note with no receiver profile goes; None: where the invoice went.
    """
    now = now or dt.datetime.now(dt.UTC)
    if approver_role not in CREDIT_ROLES and approver_role != HOST_OPERATOR:
        raise FollowUpRefused(
            "role",
            "approving a credit needs a console user with role credit or admin (or `gateway disputes "
            f"approve` on the host); {approver_role!r} may propose a credit, not approve it",
            403,
        )
    dispute = session.get(Dispute, dispute_id, with_for_update=True)
    if dispute is None or (tenant_id is not None and dispute.tenant_id != tenant_id):
        raise DisputeNotFound(f"no dispute {dispute_id}")
    if dispute.status != DisputeStatus.AWAITING_APPROVAL.value or dispute.credit_amount is None:
        raise FollowUpRefused(
            "status", f"dispute {dispute.id} is {dispute.status}; no credit awaits approval", 409
        )
    if _same_person(approver, dispute.credit_requested_by):
        raise FollowUpRefused(
            "approver",
            f"{approver} proposed this credit; another person must approve it (four eyes)",
            403,
        )
    invoice = session.get(InvoiceRecord, dispute.invoice_id)
    assert invoice is not None
    amount = Decimal(dispute.credit_amount)
    if amount > open_amount(invoice):
        raise FollowUpRefused(
            "credit_amount", f"{amount} is now more than the open amount {open_amount(invoice)}", 409
        )
    credit_note = credit_note_for(session, dispute, invoice, amount, today(now))
    channel = default_channel or _channel_of(session, invoice.id)
    [result] = accept_in_session(
        session,
        dispute.tenant_id,
        [IntakeItem(credit_note.model_dump(mode="json", exclude_none=True), f"dispute-credit:{dispute.id}")],
        actor=approver,
        default_channel=channel,
    )
    if result.outcome not in ("created", "duplicate") or result.invoice_id is None:
        reasons = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in result.errors)
        raise FollowUpRefused("credit_note", f"the credit note was refused by the intake: {reasons}", 409)
    session.flush()
    apply_credit_note(session, invoice.id, result.invoice_id, amount, actor=approver, now=now)
    dispute.credit_note_invoice_id = result.invoice_id
    _close(dispute, DisputeStatus.CREDITED, actor=approver, note=None, now=now)
    days = _resume_follow_up(session, dispute, now)
    _add_message(
        session, dispute, author=approver, side="internal", event="credited", at=now,
        text=f"credit of {amount} {invoice.currency} approved (proposed by {dispute.credit_requested_by}); "
        f"credit note {credit_note.number}; {days} day(s) paused",
    )  # fmt: skip
    session.add(dispute)
    session.flush()
    return dispute


def _channel_of(session: Session, invoice_id: str) -> str:
    from db.models import Delivery

    channel = session.execute(
        select(col(Delivery.channel))
        .where(col(Delivery.invoice_id) == invoice_id)
        .order_by(col(Delivery.created_at), col(Delivery.id))
        .limit(1)
    ).scalar_one_or_none()
    return channel or "folder"


# --- the credit note ----------------------------------------------------------------------------------------

CENT = Decimal("0.01")


def _tax(net: Decimal, rate: Decimal) -> Decimal:
    return round_amount(net * rate / 100)


def _net_for(gross: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """(net, tax) with tax = round(net × rate) and net + tax as close to `gross` as cents allow (equal when
    some net reaches it; a few gross amounts no net reaches, e.g. 0.02 at 25 %: then one cent off)."""
    if rate == 0:
        return gross, Decimal("0.00")
    start = round_amount(gross * 100 / (100 + rate))
    best = start
    for step in (0, 1, -1, 2, -2, 3, -3):
        net = start + step * CENT
        if net < 0:
            continue
        if net + _tax(net, rate) == gross:
            return net, _tax(net, rate)
        if abs(net + _tax(net, rate) - gross) < abs(best + _tax(best, rate) - gross):
            best = net
    return best, _tax(best, rate)


@dataclass(frozen=True)
class CreditPart:
    """The credit's share of one VAT category of the invoice."""

    category: VatCategory
    rate: Decimal | None
    net: Decimal
    tax: Decimal
    exemption_reason: str | None
    exemption_reason_code: str | None


def spread_credit(invoice: Invoice, amount: Decimal) -> tuple[list[CreditPart], Decimal]:
    """`amount` (VAT included) spread over the invoice's VAT categories in proportion to each category's
    amount with VAT, in whole cents (largest remainder), each part split into net and VAT so that
    VAT = round(net × rate) exactly (BR-CO-17 with no tolerance used). A cent no net can reach moves on to
    the next category; one left after the last is the rounding amount (BT-114). (parts, rounding)."""
    weights = [(vb, vb.taxable_amount + vb.tax_amount) for vb in invoice.vat_breakdown]
    weights = [(vb, w) for vb, w in weights if w > 0] or [(invoice.vat_breakdown[0], Decimal(1))]
    total_weight = sum((w for _, w in weights), Decimal(0))
    cents = int((amount / CENT).to_integral_value())
    exact = [Decimal(cents) * w / total_weight for _, w in weights]
    shares = [int(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: cents - sum(shares)]:
        shares[i] += 1
    parts: list[CreditPart] = []
    carry = Decimal(0)
    for (vb, _), share in zip(weights, shares, strict=True):
        gross = Decimal(share) * CENT + carry
        if gross <= 0:  # nothing (or less) left for this category: the cent moves on
            carry = gross
            continue
        rate = vb.rate if vb.rate is not None else Decimal(0)
        net, tax = _net_for(gross, rate)
        carry = gross - net - tax
        if net == 0 and tax == 0:
            continue
        parts.append(
            CreditPart(vb.category, vb.rate, net, tax, vb.exemption_reason, vb.exemption_reason_code)
        )
    return parts, carry


def _credit_number(session: Session, dispute: Dispute, invoice: InvoiceRecord) -> str:
    earlier = session.execute(
        select(func.count())
        .select_from(Dispute)
        .where(col(Dispute.invoice_id) == invoice.id, col(Dispute.credit_note_invoice_id).is_not(None))
    ).scalar_one()
    number = f"CN-{invoice.number}-{int(earlier) + 1}"
    return number if len(number) <= 100 else f"CN-{dispute.id}"


def credit_note_for(
    session: Session, dispute: Dispute, invoice: InvoiceRecord, amount: Decimal, issue_date: dt.date
) -> Invoice:
    """The canonical credit note for `amount` of `invoice`: the same parties, references and routing, BG-3
    naming the invoice (BT-25 number, BT-26 issue date), one line per VAT category credited."""
    original = Invoice.model_validate_json(invoice.payload)
    parts, rounding = spread_credit(original, amount)
    lines = [
        {
            "id": str(index + 1),
            "quantity": "1",
            "unit_code": "C62",
            "net_amount": str(part.net),
            "price": {"net": str(part.net)},
            "vat_category": part.category.value,
            **({"vat_rate": str(part.rate)} if part.rate is not None else {}),
            "item": {"name": f"Credit on invoice {original.number}"[:200]},
        }
        for index, part in enumerate(parts)
    ]
    breakdown = [
        {
            "category": part.category.value,
            **({"rate": str(part.rate)} if part.rate is not None else {}),
            "taxable_amount": str(part.net),
            "tax_amount": str(part.tax),
            **({"exemption_reason": part.exemption_reason} if part.exemption_reason else {}),
            **({"exemption_reason_code": part.exemption_reason_code} if part.exemption_reason_code else {}),
        }
        for part in parts
    ]
    net = sum((part.net for part in parts), Decimal(0))
    tax = sum((part.tax for part in parts), Decimal(0))
    reason = dispute.resolution_note or dispute.reason
    data: dict[str, Any] = {
        "document_type": DocumentType.CREDIT_NOTE.value,
        "number": _credit_number(session, dispute, invoice),
        "issue_date": issue_date.isoformat(),
        "currency": original.currency,
        "notes": [f"Credit for invoice {original.number} (dispute {dispute.id}): {reason}"[:1000]],
        "preceding_invoices": [{"id": original.number, "issue_date": original.issue_date.isoformat()}],
        "lines": lines,
        "vat_breakdown": breakdown,
        "totals": {
            "line_extension": str(net),
            "tax_exclusive": str(net),
            "tax_amount": str(tax),
            "tax_inclusive": str(net + tax),
            "rounding": str(rounding),
            "payable": str(net + tax + rounding),
        },
    }
    kept = original.model_dump(
        mode="json",
        exclude_none=True,
        include={
            "customization_id", "profile_id", "buyer_reference", "project_reference", "contract_reference",
            "order_reference", "sales_order_reference", "accounting_cost", "seller", "buyer", "payee",
            "tax_representative", "delivery", "period", "routing",
        },
    )  # fmt: skip
    credit_note = Invoice.model_validate({**kept, **data})
    assert credit_note.totals.payable == amount, (credit_note.totals.payable, amount)
    return credit_note


# --- Invoice Response ---------------------------------------------------------------------------------------

#: OPStatusReason codes (PEPPOL T111 clarification reasons) → the dispute's category.
REASON_CATEGORIES: dict[str, str] = {
    "PRI": "wrong_amount",  # prices incorrect
    "QTY": "wrong_amount",  # quantity incorrect
    "PAY": "wrong_amount",  # payment terms incorrect
    "FIN": "wrong_amount",  # finance terms not accepted
    "LEG": "wrong_amount",  # legal information incorrect (VAT and the like)
    "DEL": "not_received",  # delivery issues
    "UNR": "not_received",  # not recognised: nothing ordered or received
    "QUA": "goods",  # item quality insufficient
    "ITM": "goods",  # items incorrect
    "PPD": "already_paid",  # partially paid
}
DISPUTING_CODES = frozenset({"UQ", "RE"})
INVOICE_RESPONSE_ACTOR = "invoice-response"


def dispute_from_invoice_response(
    session: Session,
    invoice: InvoiceRecord,
    *,
    response_code: str,
    reason_codes: list[str],
    note: str | None,
    described: str,
    sender: str | None,
    now: dt.datetime,
) -> Dispute | None:
    """An Invoice Response UQ (under query) or RE (rejected) opens a dispute (origin invoice_response, the
    category from the first mapped clarification reason, the response's note or its reasons as the reason);
    while one is open, a message on it instead. Other codes (AP, PD, …) leave disputes alone. A credit note
    is never disputed: a response to one is only recorded by the caller."""
    if response_code not in DISPUTING_CODES or invoice.document_type == DocumentType.CREDIT_NOTE.value:
        return None
    author = f"{INVOICE_RESPONSE_ACTOR}:{sender}" if sender else INVOICE_RESPONSE_ACTOR
    text = (note or "").strip() or described
    text = "".join(c if unicodedata.category(c) != "Cc" or c in "\n\t" else " " for c in text)[:MAX_REASON]
    existing = active_dispute(session, invoice.id)
    if existing is not None:
        _add_message(
            session, existing, author=author, side="customer", event="invoice_response", at=now,
            text=f"Invoice Response {response_code}: {text}",
        )  # fmt: skip
        session.flush()
        return existing
    category = next((REASON_CATEGORIES[c] for c in reason_codes if c in REASON_CATEGORIES), "other")
    return open_dispute(
        session, invoice.tenant_id, invoice.id, reason=text or f"Invoice Response {response_code}",
        category=category, side="customer", origin="invoice_response", actor=author, now=now,
    )  # fmt: skip


# --- reading ------------------------------------------------------------------------------------------------


def list_disputes(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    owner: str | None = None,
    overdue_on: dt.date | None = None,
    invoice_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Dispute]:
    """The tenant's disputes, oldest open first; `overdue_on`: still open with a due date before that day."""
    query = select(Dispute).where(col(Dispute.tenant_id) == tenant_id)
    if status is not None:
        query = query.where(col(Dispute.status) == status)
    if owner is not None:
        query = query.where(col(Dispute.owner) == owner)
    if invoice_id is not None:
        query = query.where(col(Dispute.invoice_id) == invoice_id)
    if overdue_on is not None:
        query = query.where(
            col(Dispute.status).in_(ACTIVE),
            col(Dispute.due_on).is_not(None),
            col(Dispute.due_on) < overdue_on,
        )
    query = query.order_by(col(Dispute.opened_at), col(Dispute.id)).limit(limit).offset(offset)
    return list(session.execute(query).scalars())


def dispute_summary(dispute: Dispute, invoice: InvoiceRecord | None = None) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "invoice_id": dispute.invoice_id,
        "invoice_number": invoice.number if invoice else None,
        "status": dispute.status,
        "category": dispute.category,
        "origin": dispute.origin,
        "reason": dispute.reason,
        "amount": dispute.amount,
        "owner": dispute.owner,
        "due_date": dispute.due_on.isoformat() if dispute.due_on else None,
        "opened_by": dispute.opened_by,
        "opened_at": dispute.opened_at.isoformat(),
        "resolved_at": dispute.resolved_at.isoformat() if dispute.resolved_at else None,
        "resolved_by": dispute.resolved_by,
        "resolution_note": dispute.resolution_note,
        "credit_amount": dispute.credit_amount,
        "credit_requested_by": dispute.credit_requested_by,
        "credit_note_invoice_id": dispute.credit_note_invoice_id,
        "paused_days": dispute.paused_days,
    }


def message_view(message: DisputeMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "at": message.at.isoformat(),
        "author": message.author,
        "from": message.side,
        "event": message.event,
        "text": message.text,
        "attachment": (
            {"document_id": message.attachment_key, "filename": message.attachment_name,
             "media_type": message.attachment_type}
            if message.attachment_key else None
        ),
    }  # fmt: skip


def dispute_view(session: Session, dispute: Dispute, *, now: dt.datetime) -> dict[str, Any]:
    """The dispute with its invoice, its whole history and the days follow-up has been paused so far."""
    invoice = session.get(InvoiceRecord, dispute.invoice_id)
    assert invoice is not None
    messages = session.execute(
        select(DisputeMessage)
        .where(col(DisputeMessage.dispute_id) == dispute.id)
        .order_by(col(DisputeMessage.at), col(DisputeMessage.id))
    ).scalars()
    view = dispute_summary(dispute, invoice)
    view["days_paused"] = (
        dispute.paused_days if dispute.resolved_at is not None else days_paused(dispute, now)
    )
    view["invoice"] = {
        "id": invoice.id,
        "number": invoice.number,
        "currency": invoice.currency,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "payable_amount": invoice.payable_amount,
        "open_amount": str(open_amount(invoice)),
        "payment_status": invoice.payment_status,
        "customer_key": invoice.customer_key,
    }
    view["messages"] = [message_view(m) for m in messages]
    return view


def disputes_for_customer(session: Session, tenant_id: str, customer_key: str) -> dict[str, int]:
    """How many of a customer's disputes are in each status (for the customer view)."""
    rows = session.execute(
        select(Dispute.status, func.count())  # type: ignore[call-overload]
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(Dispute.invoice_id))
        .where(col(Dispute.tenant_id) == tenant_id, col(InvoiceRecord.customer_key) == customer_key)
        .group_by(col(Dispute.status))
    ).all()
    return {status: int(count) for status, count in rows}
