"""A follow-up notice goes out as a delivery through the outbox, with its own history, like an invoice.

`queue_notice` turns a `queued` `ReminderNotice` into a `Delivery` of `document_kind` "reminder":

* **Channel.** The level's channel when the notice names one (`ReminderNotice.channel`), else the first
  reminded invoice's chain as `gateway.services.outbound.routing` builds it (receiver profile: preferred
  channel + fallbacks and the address per channel; a consumer: the tenant's consumer waterfall; else the
  default channel). A channel that does not send reminders (its `ChannelCapabilities.documents`: eFaktura
  and AvtaleGiro carry invoices only) is passed over with a line in the notice's history saying why, as is
  one that needs an address the receiver has none for.
* **Format.** An EHF Reminder (`ehf-reminder`) only on PEPPOL, only to a business, and only for a nudge or a
  reminder: a debt-collection warning or a payment demand must reach the debtor in a form the law accepts
  for it (inkassoloven § 9), never as EHF; it goes as the PDF (`reminder-pdf`) on the next channel of the
  chain that carries a PDF, or else on an e-mail / Digipost / print channel the profile has an address for.
  With none, the notice is `failed`, and why is kept in `cancel_reason` (the notice's "why it ended").
* **Rendered by the worker, not at queue time.** Queueing only chooses the channel and format and writes
  the delivery, so a daily run that writes 50,000 notices renders nothing. The worker that claims the
  delivery renders the notice (`reminder_outbound`): an EHF Reminder is validated then by the UBL XSD and
  the three reminder rule sets, and a finding puts the delivery in deviation naming the rule, as for an
  invoice. The first rendering is kept in the document store (`store_document`, kind "reminder"), with the
  `ReminderDocument` as JSON beside it (kind "reminder-data"; the channels name the notice by it), both
  named by a `rendered` event on the delivery; a retry or a resend sends those same bytes.
* **Statements** (kind "statement", `gateway.services.followup.statements`; `notice_kind`) go the same way,
  always as the statement PDF (`statement-pdf`).

Why the delivery has no `invoice_id`: a delivery with an invoice id *is* that invoice's delivery to the rest
of the gateway — the worker renders the invoice for it, a resend by invoice id takes the newest delivery,
the fallback chain counts the invoice's chain positions, webhooks and metrics report it as the invoice's
status, corrections re-send it, bounces and Invoice Responses attach to it. A reminder is none of those.
So it is linked by `ReminderNotice.delivery_id`, and each reminded invoice's own history gets a note
(`note_event` on the invoice's newest delivery) when the notice is queued, leaves, fails or is cancelled.

**Holds and fallback.** The tenant's review hold (`hold_for_review` / `hold_channels`) and sending window
apply at queue time as at an invoice's intake (the delivery starts `held`). A delivery that `failed`
(Digipost: no mailbox) goes on to the next step of the same chain that can carry the notice
(`fall_back_notice`, reached through `gateway.services.outbound.fallback.fall_back_document`), each step
a new delivery whose first event says why; with none left the notice is `failed` with the reason. The
next step renders nothing either: when it takes the same format, it names the rendering the worker kept
for the failed delivery (the same bytes go on); else its own worker renders it at its first claim.

`on_delivery_status_change` (subscribed in `gateway.services`) keeps the notice's status on its delivery's:
sent/delivered → `sent`, failed (or cancelled by someone else) → `failed`, a resend → `queued` again.

**Returned after it left.** A delivery that reached `sent`/`delivered` and later goes to `deviation` (a
print letter returned through print returns, an e-mail bounce, a Digipost PRINT_FAILED event) means the
notice never reached the debtor: the notice becomes `failed` with the deviation's reason kept in
`cancel_reason`, each reminded invoice's history gets a line, and the invoices' `FollowUpState` goes back
as a cancel sets it (`restore_state`). Why roll back rather than keep the level: the Norwegian rules
(inkassoloven § 9 and the reminder-fee rules) count the next step's time from a notice the debtor
*received*; a returned letter was not received, so it can neither start the next level's clock nor carry
its fee. The next daily run therefore writes the same level again (to a
corrected address, or on the chain's next channel). A deviation before the notice left (a rule finding,
a channel that cannot carry it) changes nothing here: it waits for a person, who resends or cancels. A
resend of a returned notice's delivery makes it `queued` again and it stands in the state once more.

`cancel_waiting_notices` cancels a notice still waiting (awaiting approval, or queued with its delivery not
yet taken by a worker) that has nothing left to remind, with its delivery, and sets the invoices'
`FollowUpState` back to what their notices still standing say, so their history stays honest: payment
matching calls it whenever money is applied (`cancel_paid_notices`), a dispute or a promise when it is
opened on an invoice (`gateway.services.followup.disputes`, `promises`).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from channels import ChannelUnavailable, UnknownChannel, channel_class
from channels.base import OutboundDelivery
from channels.context import DocumentKind
from db.models import (
    Delivery,
    DeliveryEvent,
    FollowUpState,
    InvoiceRecord,
    ReminderNotice,
    ReminderNoticeItem,
    utcnow,
)
from gateway.services.followup.rules import NOTICE_FEE_KINDS
from gateway.services.outbound.channel_context import NotSendable
from gateway.services.outbound.documents import (
    DocumentNotFound,
    DocumentStore,
    DocumentStoreError,
    load_document,
    store_document,
)
from gateway.services.outbound.routing import (
    RoutingError,
    chain_for,
    is_consumer_invoice,
    load_profiles,
    route_for,
)
from gateway.services.portal.delivery_links import delivery_portal_link
from gateway.services.tenancy.tenants import tenant_settings
from gateway.services.validation import ValidationReport, validator_from_settings
from gateway.settings import Settings
from mappings.base import FormatError, RenderedDocument
from mappings.invoice import canonical_json
from outbox.hooks import StatusChange
from outbox.queue import StaleStatus, change_status, enqueue_delivery, note_event
from outbox.states import DeliveryStatus
from schemas.branding import PdfTemplate
from schemas.canonical import Invoice, ReceiverProfile
from schemas.followup import NoticeKind, NoticeStatus, RemindedInvoice, ReminderDocument
from schemas.national_id import mask_national_ids
from schemas.tenant import TenantSettings

S = DeliveryStatus

EHF_REMINDER = "ehf-reminder"
REMINDER_PDF = "reminder-pdf"
STATEMENT_PDF = "statement-pdf"
#: The notice kind of a consolidated statement (`gateway.services.followup.statements`): always a PDF.
STATEMENT: Literal["statement"] = "statement"
#: Kinds that may go as an EHF Reminder; a collection warning and a payment demand never do.
EHF_KINDS = frozenset({NoticeKind.NUDGE, NoticeKind.REMINDER})
#: Channels that carry the EHF Reminder (PEPPOL); every other channel that sends reminders takes the PDF.
EHF_CHANNELS = frozenset({"peppol"})
#: Where a notice that must be a PDF goes when its chain has no channel for it: a channel the receiver
#: profile has an address for, in this order.
PDF_BY_ADDRESS = ("email", "digipost", "print")
#: Why a channel of the chain that carries only invoices is passed over, in the notice's history.
NOT_FOR_NOTICES = {
    "efaktura": "eFaktura carries invoices, not reminders; passed over to the next channel",
    "avtalegiro": "AvtaleGiro collects invoices by direct debit, it carries no reminder",
}
#: What the channels are handed: their own format names (a PDF is "pdf", UBL for PEPPOL is "ehf").
CHANNEL_DOCUMENTS = {
    EHF_REMINDER: ("ehf", "application/xml", "xml"),
    REMINDER_PDF: ("pdf", "application/pdf", "pdf"),
    STATEMENT_PDF: ("pdf", "application/pdf", "pdf"),
}
#: Notice statuses a payment can still cancel: the notice has not left.
CANCELLABLE = (NoticeStatus.QUEUED.value, NoticeStatus.AWAITING_APPROVAL.value)
#: Delivery statuses of a notice's delivery that has not left and may be cancelled.
NOT_LEFT = frozenset({S.QUEUED, S.HELD, S.DEVIATION})
PAID = frozenset({"paid", "overpaid"})

#: A renderer: the notice and the tenant's PDF branding (None for EHF) → the document's bytes.
Renderer = Callable[[ReminderDocument, PdfTemplate | None], bytes]

#: The renderers by format; filled from `mappings.reminder` on first use. This is the seam between the
#: notices and the documents they carry: a test may put its own renderer here.
RENDERERS: dict[str, Renderer] = {}

_RENDERER_MODULES = {
    EHF_REMINDER: ("mappings.reminder.ehf_reminder", "render_ehf_reminder"),
    REMINDER_PDF: ("mappings.reminder.reminder_pdf", "render_reminder_pdf"),
    STATEMENT_PDF: ("mappings.reminder.reminder_pdf", "render_reminder_pdf"),  # the kind says statement
}


class NoticeNotFound(LookupError):
    """No notice with that id (for that tenant)."""


class NoticeNotQueueable(ValueError):
    """The notice is not in a state to be queued (awaiting approval, cancelled, already ended)."""


class NoticeUndeliverable(ValueError):
    """No channel can carry the notice, or it cannot be rendered: the notice is now `failed` in the
    caller's session with `reason` (commit it, so the failure is kept)."""

    def __init__(self, notice_id: str, reason: str) -> None:
        super().__init__(f"notice {notice_id}: {reason}")
        self.notice_id = notice_id
        self.reason = reason


@dataclass(frozen=True)
class NoticeRoute:
    """Where and how a notice goes, and why (for its history)."""

    channel: str
    address: str | None
    format: str
    why: str
    #: its step in the receiver's chain (then the profile's addresses): a fallback goes on after it
    position: int = 0


def renderer(format_name: str) -> Renderer:
    """The renderer of `format_name`: `RENDERERS`, else the documents' own function (`mappings.reminder`)."""
    found = RENDERERS.get(format_name) or (
        RENDERERS.get(REMINDER_PDF) if format_name == STATEMENT_PDF else None
    )
    if found is not None:
        return found
    module_name, function_name = _RENDERER_MODULES[format_name]
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise FormatError(format_name, f"no renderer for {format_name} ({error})") from None
    if format_name == EHF_REMINDER:
        return lambda document, _template: bytes(function(document))
    # the PDF also takes the customer portal's link (`portal_link`, keyword only)
    return lambda document, template, **options: bytes(function(document, template, **options))


# --- the notice as a document ------------------------------------------------------------------------------


def get_notice(session: Session, notice_id: str, tenant_id: str | None = None) -> ReminderNotice:
    notice = session.get(ReminderNotice, notice_id)
    if notice is None or (tenant_id is not None and notice.tenant_id != tenant_id):
        raise NoticeNotFound(f"no notice {notice_id}")
    return notice


def notice_items(session: Session, notice_id: str) -> list[ReminderNoticeItem]:
    return list(
        session.execute(
            select(ReminderNoticeItem)
            .where(col(ReminderNoticeItem.notice_id) == notice_id)
            .order_by(col(ReminderNoticeItem.id))
        ).scalars()
    )


def _records(session: Session, invoice_ids: Sequence[str]) -> dict[str, InvoiceRecord]:
    rows = session.execute(
        select(InvoiceRecord).where(col(InvoiceRecord.id).in_(list(invoice_ids)))
    ).scalars()
    return {row.id: row for row in rows}


def notice_kind(text: str) -> NoticeKind | Literal["statement"]:
    """A stored notice's kind: one of the dunning kinds, or a periodic statement (kind "statement")."""
    return STATEMENT if text == STATEMENT else NoticeKind(text)


def notice_document(session: Session, notice_id: str) -> ReminderDocument:
    """What the notice says: its amounts and dates, the parties and payment details of the first reminded
    invoice (so the notice carries the invoices' own names, identifiers and account), and every invoice."""
    notice = get_notice(session, notice_id)
    items = notice_items(session, notice.id)
    if not items:
        raise NoticeNotQueueable(f"notice {notice.id} reminds of no invoice")
    records = _records(session, [item.invoice_id for item in items])
    invoices: list[RemindedInvoice] = []
    canonical: dict[str, Invoice] = {}
    for item in items:
        record = records[item.invoice_id]
        invoice = canonical_json.parse(record.payload)
        canonical[record.id] = invoice
        invoices.append(
            RemindedInvoice(
                number=record.number,
                issue_date=record.issue_date,
                due_date=record.due_date or invoice.due_date or record.issue_date,
                currency=record.currency,
                invoiced_amount=Decimal(record.payable_amount),
                open_amount=Decimal(item.open_amount),
                interest=Decimal(item.interest),
                days_late=item.days_late,
                kid=record.payment_reference or invoice.kid,
                document_type="credit_note" if record.document_type == "credit_note" else "invoice",
            )
        )
    first = canonical[items[0].invoice_id]
    account = next((means.account for means in first.payment_means if means.account is not None), None)
    single_kid = invoices[0].kid if len(invoices) == 1 else None
    kind = notice_kind(notice.kind)
    statement = kind == STATEMENT
    return ReminderDocument(
        notice_id=notice.id,
        kind=kind,
        level=notice.level,
        notice_date=notice.notice_on,
        deadline=notice.deadline,
        currency=notice.currency,
        seller=first.seller.model_dump(mode="json", exclude_none=True),
        buyer=first.buyer.model_dump(mode="json", exclude_none=True),
        invoices=invoices,
        fee=Decimal(notice.fee),
        interest=Decimal(notice.interest),
        compensation=Decimal(notice.compensation),
        kid=notice.kid or single_kid,
        payee_account=account.id if account is not None else None,
        payee_bic=account.bic if account is not None else None,
        note="Statement of account: every open item on the date, each with its own KID."
        if statement
        else None,
    )


# --- channel and format ------------------------------------------------------------------------------------


def _is_channel(channel: str) -> bool:
    """Known to the gateway (the registry first: `known_channels` reads the plugins' entry points)."""
    try:
        channel_class(channel)
    except UnknownChannel:
        return False
    except ChannelUnavailable:
        return True  # known, its dependencies missing: `_sends_reminders` says so
    return True


def _sends_reminders(channel: str) -> bool:
    try:
        return DocumentKind.REMINDER in channel_class(channel).capabilities.documents
    except UnknownChannel:
        return False


def _needs_address(channel: str) -> bool:
    return channel_class(channel).capabilities.needs_address


def choose_route(
    notice: ReminderNotice,
    invoice: Invoice,
    profile: ReceiverProfile | None,
    *,
    level_channel: str | None,
    default_channel: str,
    consumer_waterfall: Sequence[str] = (),
    start: int = 0,
) -> NoticeRoute | str:
    """The channel, address and format of `notice` (see the module's docstring); or why there is none.

    `invoice` is the first reminded invoice: its chain (`routing.chain_for`) is the receiver's, unless the
    level names its own channel (`level_channel`). The steps are numbered as the chain's positions, then
    the receiver profile's e-mail / Digipost / print addresses after them; `start` skips the steps before
    it (a fallback goes on after the step that gave up). Channels are looked up in the registry
    (`_is_channel`), not by the plugins' entry points: a run routes thousands of notices."""
    kind = notice_kind(notice.kind)
    business = not is_consumer_invoice(invoice, profile)
    ehf_allowed = kind in EHF_KINDS and business
    pdf = STATEMENT_PDF if kind == STATEMENT else REMINDER_PDF
    passed: list[str] = []
    steps: list[tuple[int, str, str | None]] = []
    if level_channel:
        address = profile.addresses.get(level_channel) if profile is not None else None
        steps.append((0, level_channel, address))
        source, length = "the level's channel", 1
    else:
        try:
            chain = chain_for(invoice, profile, default_channel, consumer_waterfall)
        except RoutingError as error:
            return str(error)
        for position in range(len(chain.channels)):
            try:
                route = route_for(invoice, profile, default_channel, position, consumer_waterfall)
            except RoutingError as error:
                if position >= start:
                    passed.append(str(error))
                continue
            if route is not None:
                steps.append((position, route.channel, route.address))
        source, length = chain.source, len(chain.channels)
    for position, channel, address in steps:
        if position < start:
            continue
        where = f"step {position + 1} of {length} of {source}"
        if not _is_channel(channel):
            passed.append(f"{channel}: no such channel")
        elif not _sends_reminders(channel):
            passed.append(f"{channel}: {NOT_FOR_NOTICES.get(channel, 'does not send reminders')}")
        elif channel in EHF_CHANNELS:
            if ehf_allowed:
                return NoticeRoute(channel, address, EHF_REMINDER, f"{where}, as EHF Reminder", position)
            passed.append(
                f"{channel}: a {notice.kind.replace('_', ' ')} is never sent as EHF"
                if business
                else f"{channel}: an EHF Reminder is for businesses"
            )
        elif _needs_address(channel) and not address:
            passed.append(f"{channel}: no address")
        else:
            return NoticeRoute(channel, address, pdf, f"{where}, as PDF" + _passed(passed), position)
    addresses = profile.addresses if profile is not None else {}
    in_chain = {channel for _position, channel, _address in steps}
    for offset, channel in enumerate(PDF_BY_ADDRESS):
        position = length + offset
        if position < start or channel in in_chain:
            continue
        if addresses.get(channel) and _is_channel(channel) and _sends_reminders(channel):
            why = f"the receiver profile's {channel} address, as PDF" + _passed(passed)
            return NoticeRoute(channel, addresses[channel], pdf, why, position)
    if start > 0:
        return "no further channel can carry this notice" + _passed(passed, prefix=": ")
    return "no channel can carry this notice" + _passed(passed, prefix=": ")


def _passed(passed: list[str], prefix: str = " (passed over: ") -> str:
    if not passed:
        return ""
    return prefix + "; ".join(passed) + (")" if prefix.startswith(" (") else "")


# --- queueing ----------------------------------------------------------------------------------------------

NOTICE_TITLES = {
    "nudge": "payment reminder (nudge)",
    "reminder": "reminder",
    "collection_warning": "debt-collection warning",
    "payment_demand": "payment demand",
    STATEMENT: "statement",
}


def _title(notice: ReminderNotice) -> str:
    return f"{NOTICE_TITLES.get(notice.kind, notice.kind)} {notice.id} (level {notice.level})"


def set_notice_status(
    session: Session, notice: ReminderNotice, status: NoticeStatus, *, reason: str | None, actor: str | None
) -> None:
    """Move `notice` to `status`, recording who ended it and why (both None when it goes on again)."""
    notice.status = status.value
    notice.cancel_reason = reason
    notice.cancelled_by = actor
    notice.updated_at = utcnow()
    session.add(notice)
    session.flush()


def _fail(session: Session, notice: ReminderNotice, reason: str, actor: str) -> NoticeUndeliverable:
    set_notice_status(session, notice, NoticeStatus.FAILED, reason=reason, actor=actor)
    return NoticeUndeliverable(notice.id, reason)


def queue_notice(
    session: Session,
    notice_id: str,
    *,
    actor: str,
    settings: Settings,
    tenant: TenantSettings | None = None,
) -> str:
    """Choose the queued notice's channel and format and queue its delivery; the delivery's id.

    Nothing is rendered here: a daily run that writes 50,000 notices queues 50,000 deliveries, and each
    worker renders its own (`reminder_outbound`). Queueing a notice that already has its delivery returns
    that delivery. `NoticeUndeliverable` when no channel can carry it (the notice is then `failed` in
    `session`). `settings` give the default channel; `tenant` the tenant's settings when the caller has
    them already (a run queues many notices of one tenant).

    The tenant's review hold (`hold_for_review` / `hold_channels`) and sending window apply as to an
    invoice at intake: a held notice's delivery waits as `held` until a person releases it."""
    notice = get_notice(session, notice_id)
    if notice.delivery_id is not None:
        return notice.delivery_id
    if notice.status != NoticeStatus.QUEUED.value:
        raise NoticeNotQueueable(f"notice {notice.id} is {notice.status}; only a queued notice is sent")
    facts = _facts(session, notice, tenant)
    level_channel = notice.channel or None
    route = choose_route(
        notice,
        facts.first,
        facts.profile,
        level_channel=level_channel,
        default_channel=settings.default_channel,
        consumer_waterfall=facts.tenant.consumer_waterfall,
    )
    if isinstance(route, str):
        raise _fail(session, notice, route, actor)
    now = utcnow()
    held = facts.tenant.holds(route.channel)
    due = facts.tenant.due_at(route.channel, now)
    reason = (
        f"{_title(notice)} for invoice {', '.join(facts.numbers)}: {route.why}"
        + ("; held for review" if held else "")
        + (f"; sending window opens {due.isoformat()}" if due > now else "")
    )
    delivery = _enqueue(
        session,
        notice,
        route,
        facts,
        actor=actor,
        reason=reason,
        level_channel=level_channel,
        held=held,
        due=due,
        extra={},
    )
    _note_on_invoices(
        session,
        facts.invoice_ids,
        actor=actor,
        reason=f"{_title(notice)} queued on {route.channel} as delivery {delivery.id}"
        + (" (held for review)" if held else ""),
        notice=notice,
    )
    return delivery.id


@dataclass(frozen=True)
class _Facts:
    """What routing a notice needs, read cheaply (one payload parsed, nothing rendered): its items, the
    numbers of the reminded invoices, the first reminded invoice, the receiver's profile and the tenant's
    settings."""

    items: list[ReminderNoticeItem]
    numbers: list[str]
    first: Invoice
    profile: ReceiverProfile | None
    tenant: TenantSettings

    @property
    def invoice_ids(self) -> list[str]:
        return [item.invoice_id for item in self.items]


def _facts(session: Session, notice: ReminderNotice, tenant: TenantSettings | None = None) -> _Facts:
    items = notice_items(session, notice.id)
    if not items:
        raise NoticeNotQueueable(f"notice {notice.id} reminds of no invoice")
    records = _records(session, [item.invoice_id for item in items])
    first = canonical_json.parse(records[items[0].invoice_id].payload)
    receiver_id = notice.receiver_id or (first.routing.receiver_id if first.routing else None)
    profile = (
        load_profiles(session, notice.tenant_id, {receiver_id}).get(receiver_id) if receiver_id else None
    )
    numbers = [records[item.invoice_id].number for item in items if item.invoice_id in records]
    return _Facts(items, numbers, first, profile, tenant or tenant_settings(session, notice.tenant_id))


def _enqueue(
    session: Session,
    notice: ReminderNotice,
    route: NoticeRoute,
    facts: _Facts,
    *,
    actor: str,
    reason: str,
    level_channel: str | None,
    held: bool,
    due: dt.datetime,
    extra: dict[str, Any],
) -> Delivery:
    """The notice's delivery on `route` (held for review when `held`), and the notice pointing at it."""
    delivery = enqueue_delivery(
        session,
        invoice_id=None,
        tenant_id=notice.tenant_id,
        channel=route.channel,
        actor=actor,
        reason=reason,
        address=route.address,
        format=route.format,
        chain_position=route.position,
        details={
            "document_kind": DocumentKind.REMINDER.value,
            "notice_id": notice.id,
            "format": route.format,
            "invoices": facts.numbers,
            "level_channel": level_channel,
            **extra,
        },
        next_attempt_at=due,
        status=S.HELD if held else S.QUEUED,
    )
    delivery.document_kind = DocumentKind.REMINDER.value
    session.add(delivery)
    notice.delivery_id = delivery.id
    notice.channel = route.channel
    notice.format = route.format
    set_notice_status(session, notice, NoticeStatus.QUEUED, reason=None, actor=None)
    return delivery


# --- fallback ----------------------------------------------------------------------------------------------


def fall_back_notice(
    session: Session,
    delivery_id: str,
    status: DeliveryStatus,
    reason: str,
    *,
    default_channel: str,
    actor: str,
) -> str | None:
    """A notice's delivery ended without reaching the receiver: queue the next step of its chain that can
    carry it, as an invoice's fallback does (`gateway.services.outbound.fallback`); the channel queued.

    The new delivery's first event names the channel that gave up, why (a national identity number masked)
    and which step comes next; the reminded invoices' histories say so too. Nothing is rendered: when the
    next step takes the same format, its first event names the rendering the worker kept for the failed
    delivery (the same bytes go on); else the next step's worker renders it. With no step left a notice
    whose delivery `failed` is failed with the reason (one in deviation waits for a person). Called in the
    transaction that recorded the end; only the notice's current delivery moves it on (a second call for
    the same end queues nothing)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.document_kind != DocumentKind.REMINDER.value:
        return None
    notice = session.execute(
        select(ReminderNotice).where(col(ReminderNotice.delivery_id) == delivery_id)
    ).scalar_one_or_none()
    if notice is None or notice.status in (NoticeStatus.CANCELLED.value, NoticeStatus.SENT.value):
        return None
    events = _event_details(session, delivery_id)
    level_channel = next((d["level_channel"] for d in events if d.get("level_channel")), None)
    facts = _facts(session, notice)
    route = choose_route(
        notice,
        facts.first,
        facts.profile,
        level_channel=str(level_channel) if level_channel else None,
        default_channel=default_channel,
        consumer_waterfall=facts.tenant.consumer_waterfall,
        start=delivery.chain_position + 1,
    )
    ended = f"{delivery.channel} ended {status.value} ({mask_national_ids(reason)})"
    if isinstance(route, str):
        if status is S.FAILED:
            why = f"{ended}; {route}"
            _fail(session, notice, why, actor)
            _note_on_invoices(
                session,
                facts.invoice_ids,
                actor=actor,
                reason=f"{_title(notice)} failed: {why}",
                notice=notice,
            )
        return None
    kept = _kept(events)
    reused = (
        {key: kept[key] for key in KEPT_KEYS if key in kept}
        if kept and (delivery.format or notice.format) == route.format
        else {}
    )
    new = _enqueue(
        session,
        notice,
        route,
        facts,
        actor=actor,
        reason=f"fallback: {ended}; next {route.channel}, {route.why}"
        + ("; the kept rendering goes on" if reused else ""),
        level_channel=str(level_channel) if level_channel else None,
        held=False,  # as an invoice's fallback: the review was at the first step
        due=facts.tenant.due_at(route.channel, utcnow()),
        extra={"fallback_of": delivery.id, **reused},
    )
    _note_on_invoices(
        session,
        facts.invoice_ids,
        actor=actor,
        reason=f"{_title(notice)}: {ended}; falls back to {route.channel} as delivery {new.id}",
        notice=notice,
    )
    return route.channel


def _note_on_invoices(
    session: Session, invoice_ids: Sequence[str], *, actor: str, reason: str, notice: ReminderNotice
) -> None:
    """A line in each reminded invoice's own history (on its newest delivery; an invoice that was never
    delivered has no history to write in, and the notice keeps the record)."""
    details = {"reminder_notice": notice.id, "reminder_delivery": notice.delivery_id}
    note_on_invoices(session, invoice_ids, actor=actor, reason=reason, details=details)


def note_on_invoices(
    session: Session, invoice_ids: Sequence[str], *, actor: str, reason: str, details: dict[str, Any]
) -> None:
    """A line in each invoice's own history, on its newest delivery (an invoice never delivered has no
    history to write in: nothing is written for it)."""
    wanted = list(dict.fromkeys(invoice_ids))
    newest: dict[str, Delivery] = {}
    for delivery in session.execute(  # one query for the notice's invoices, newest first
        select(Delivery)
        .where(col(Delivery.invoice_id).in_(wanted))
        .order_by(col(Delivery.created_at).desc(), col(Delivery.id).desc())
    ).scalars():
        if delivery.invoice_id is not None:
            newest.setdefault(delivery.invoice_id, delivery)
    for invoice_id in wanted:
        if invoice_id not in newest:
            continue
        note_event(
            session,
            newest[invoice_id],
            actor=actor,
            reason=reason,
            details=details,
        )


# --- what the worker sends --------------------------------------------------------------------------------


#: What a kept rendering's event names: the bytes, what they say, their size and the rule sets passed.
KEPT_KEYS = ("document_id", "notice_document_id", "bytes", "validation")


def _event_details(session: Session, delivery_id: str) -> list[dict[str, Any]]:
    """The details of the delivery's events, first to last."""
    events = session.execute(
        select(DeliveryEvent)
        .where(col(DeliveryEvent.delivery_id) == delivery_id)
        .order_by(col(DeliveryEvent.id))
    ).scalars()
    return [event.details or {} for event in events]


def _kept(events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The kept rendering the events name: the `rendered` event of the delivery's first claim, or the
    first event of a fallback that goes on with the failed step's rendering."""
    for details in events:
        if details.get("document_id") and details.get("notice_document_id"):
            return details
    return {}


def _kept_ids(session: Session, delivery_id: str) -> dict[str, Any]:
    """The document ids of the delivery's kept rendering (`_kept`)."""
    return _kept(_event_details(session, delivery_id))


def validation_refusal(report: ValidationReport, shown: int = 5) -> str:
    """The blocking rule ids and texts of a refused EHF Reminder, as the worker says it of an invoice."""
    blocking = report.blocking
    parts = [f"{f.rule_id} ({f.flag}): {f.text.strip()[:160]}" for f in blocking[:shown]]
    more = f"; and {len(blocking) - shown} more" if len(blocking) > shown else ""
    return f"validation failed ({', '.join(report.rule_sets)}): " + "; ".join(parts) + more


def _render(
    session: Session, notice: ReminderNotice, format_name: str, settings: Settings
) -> tuple[bytes, ReminderDocument, list[str]] | NotSendable:
    """The notice rendered in `format_name` (an EHF Reminder validated by its rule sets); or why not."""
    try:
        document = notice_document(session, notice.id)
    except (NoticeNotQueueable, ValidationError, FormatError) as error:
        return NotSendable(f"notice {notice.id} cannot be written: {error}")
    template = (
        tenant_settings(session, notice.tenant_id).pdf_template if format_name != EHF_REMINDER else None
    )
    try:
        link = None if format_name == EHF_REMINDER else notice_portal_link(session, notice, settings)
        if link is None:
            content = renderer(format_name)(document, template)
        else:  # the PDF says where the customer sees the invoices online (issue 21's portal)
            content = cast(Callable[..., bytes], renderer(format_name))(document, template, portal_link=link)
    except (FormatError, ValueError) as error:
        return NotSendable(f"cannot render the {format_name}: {error}")
    if format_name != EHF_REMINDER:
        return content, document, []
    report = validator_from_settings(settings).validate(content)
    if not report.ok:
        return NotSendable(validation_refusal(report), {"validation": report.as_dict()})
    return content, document, list(report.rule_sets)


def notice_portal_link(session: Session, notice: ReminderNotice, settings: Settings) -> str | None:
    """The customer portal's link for a notice: its one invoice's link, the portal's sign-in page for a
    notice about several; None without a portal address or when the invoices name no receiver."""
    tenant_id = notice.tenant_id
    records = _records(session, [item.invoice_id for item in notice_items(session, notice.id)])
    ours = [record for record in records.values() if record.tenant_id == tenant_id]
    receivers = {record.receiver_id for record in ours}
    receiver_id = next(iter(receivers)) if len(receivers) == 1 else None
    return delivery_portal_link(settings, tenant_id, sorted(record.id for record in ours), receiver_id)


def reminder_outbound(
    session: Session,
    *,
    delivery_id: str,
    tenant_id: str,
    attempt: int,
    address: str | None,
    store: DocumentStore | None,
    settings: Settings,
    actor: str,
    keep: bool = True,
) -> OutboundDelivery | NotSendable:
    """The claimed delivery of a notice, rendered; or why it cannot be sent (the worker's deviation).

    The first claim renders the notice (an EHF Reminder is validated by the UBL XSD and the three reminder
    rule sets; a finding is a deviation naming the rule, as for an invoice) and, with `keep`, keeps the
    bytes and what the notice says in the document store, named by a `rendered` event on the delivery; every
    later claim (a retry, a resend) sends those same bytes. A dry run (`keep=False`) renders without keeping.

    The channel is handed the notice as rendered (`document`), what it says (`notice`) and the first
    reminded invoice (`invoice`: parties and routing, for the channels that address by them)."""
    notice = session.execute(
        select(ReminderNotice).where(col(ReminderNotice.delivery_id) == delivery_id)
    ).scalar_one_or_none()
    if notice is None:
        return NotSendable(f"delivery {delivery_id} carries a reminder, but no notice names it")
    format_name = notice.format or REMINDER_PDF
    kept = _kept_ids(session, delivery_id)
    if kept:
        if store is None:
            return NotSendable(f"no document store to read notice {notice.id} from")
        try:
            _, content = load_document(session, store, str(kept["document_id"]), tenant_id)
            _, data = load_document(session, store, str(kept["notice_document_id"]), tenant_id)
            said = ReminderDocument.model_validate_json(data)
        except (DocumentStoreError, DocumentNotFound, ValidationError) as error:
            return NotSendable(f"the document of notice {notice.id} cannot be read: {error}")
    else:
        rendered = _render(session, notice, format_name, settings)
        if isinstance(rendered, NotSendable):
            return rendered
        content, said, checked = rendered
        if keep:
            if store is None:
                return NotSendable(f"no document store to keep notice {notice.id} in")
            _keep(session, store, notice, delivery_id, content, said, checked, actor=actor)
    items = notice_items(session, notice.id)
    record = session.get(InvoiceRecord, items[0].invoice_id) if items else None
    if record is None:
        return NotSendable(f"notice {notice.id} reminds of no invoice")
    channel_format, media_type, extension = CHANNEL_DOCUMENTS.get(
        format_name, CHANNEL_DOCUMENTS[REMINDER_PDF]
    )
    return OutboundDelivery(
        delivery_id=delivery_id,
        invoice_id=None,
        tenant_id=tenant_id,
        attempt=attempt,
        address=address,
        document=RenderedDocument(channel_format, content, media_type, extension),
        invoice=canonical_json.parse(record.payload),
        tenant_settings=tenant_settings(session, tenant_id),
        document_kind=DocumentKind.REMINDER,
        notice=said,
        portal_link=notice_portal_link(session, notice, settings),
    )


def _keep(
    session: Session,
    store: DocumentStore,
    notice: ReminderNotice,
    delivery_id: str,
    content: bytes,
    said: ReminderDocument,
    checked: list[str],
    *,
    actor: str,
) -> None:
    """Keep the first rendering (bytes and what it says) and name both in an event on the delivery."""
    format_name = notice.format or REMINDER_PDF
    _, media_type, extension = CHANNEL_DOCUMENTS.get(format_name, CHANNEL_DOCUMENTS[REMINDER_PDF])
    kept = store_document(
        session,
        store,
        tenant_id=notice.tenant_id,
        data=content,
        media_type=media_type,
        filename=f"{notice.kind}-{notice.id}.{extension}",
        kind="reminder",
    )
    data = store_document(
        session,
        store,
        tenant_id=notice.tenant_id,
        data=said.model_dump_json().encode(),
        media_type="application/json",
        filename=f"{notice.kind}-{notice.id}.json",
        kind="reminder-data",
    )
    session.flush()
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None  # the notice names it
    note_event(
        session,
        delivery,
        actor=actor,
        reason=f"{_title(notice)} rendered as {format_name} and kept (a resend sends these bytes)",
        details={
            "document_id": kept.id,
            "notice_document_id": data.id,
            "format": format_name,
            "bytes": len(content),
            **({"validation": {"rule_sets": checked}} if checked else {}),
        },
    )


# --- the notice follows its delivery -----------------------------------------------------------------------

_FOLLOWS: dict[str, NoticeStatus] = {
    S.SENT.value: NoticeStatus.SENT,
    S.DELIVERED.value: NoticeStatus.SENT,
    S.FAILED.value: NoticeStatus.FAILED,
    S.DEVIATION.value: NoticeStatus.FAILED,  # only after it left (returned); before, it waits for a person
    S.CANCELLED.value: NoticeStatus.FAILED,  # by someone else: a payment's cancel marks the notice first
    S.QUEUED.value: NoticeStatus.QUEUED,  # a resend
}


def on_delivery_status_change(session: Session, change: StatusChange) -> None:
    """Keep a notice's status on its delivery's (an outbox status-change hook, in the change's transaction).

    Only deliveries without an invoice can carry a notice, so an invoice's own changes cost nothing."""
    if change.invoice_id is not None:
        return
    notice = session.execute(
        select(ReminderNotice).where(col(ReminderNotice.delivery_id) == change.delivery_id)
    ).scalar_one_or_none()
    if notice is None or notice.status == NoticeStatus.CANCELLED.value:
        return
    new = _FOLLOWS.get(change.to_status)
    if new is None or new.value == notice.status:
        return
    if change.to_status == S.DEVIATION.value and change.from_status not in (S.SENT, S.DELIVERED):
        return  # a deviation before it left (a rule finding, a channel refusal) waits for a person
    if new is NoticeStatus.QUEUED and change.from_status not in (S.SENT, S.DELIVERED, S.FAILED, S.DEVIATION):
        return  # a retry, not a resend: the notice was queued all along
    returned = new is NoticeStatus.FAILED and change.to_status == S.DEVIATION.value
    requeued = new is NoticeStatus.QUEUED and notice.status == NoticeStatus.FAILED.value
    notice.status = new.value
    notice.updated_at = change.at
    if new is NoticeStatus.FAILED:
        notice.cancel_reason = change.reason or f"its delivery ended {change.to_status}"
    session.add(notice)
    session.flush()
    invoice_ids = list(dict.fromkeys(item.invoice_id for item in notice_items(session, notice.id)))
    if returned or requeued:  # not received: it stops counting; resent: it counts again (module docstring)
        for invoice_id in invoice_ids:
            restore_state(session, invoice_id)
    words = {NoticeStatus.SENT: "sent", NoticeStatus.FAILED: "failed", NoticeStatus.QUEUED: "queued again"}
    reason = f"{_title(notice)} {words[new]} on {notice.channel} (delivery {change.delivery_id})"
    if returned:
        reason = (
            f"{_title(notice)} returned on {notice.channel} (delivery {change.delivery_id}), not received:"
            " failed, and follow-up goes back to the notices still standing"
        )
    if new is NoticeStatus.FAILED and change.reason:
        reason += f": {change.reason}"
    _note_on_invoices(session, invoice_ids, actor=change.actor, reason=reason, notice=notice)


# --- a payment before it left -----------------------------------------------------------------------------


def _is_paid(record: InvoiceRecord) -> bool:
    open_amount = Decimal(record.open_amount if record.open_amount is not None else record.payable_amount)
    return record.payment_status in PAID or open_amount <= 0


def cancel_paid_notices(
    session: Session,
    tenant_id: str,
    invoice_ids: Sequence[str],
    *,
    actor: str,
    payment: str | None = None,
) -> list[str]:
    """Cancel every notice not yet left whose invoices are all paid now; the ids of those cancelled.

    Called where money is applied to invoices (in that transaction). A partial payment leaves a notice
    alone (it still reminds of the rest)."""
    reason = f"paid before it left: payment {payment}" if payment else "paid before it left"
    return cancel_waiting_notices(session, tenant_id, invoice_ids, actor=actor, reason=reason)


def cancel_waiting_notices(
    session: Session,
    tenant_id: str,
    invoice_ids: Sequence[str],
    *,
    actor: str,
    reason: str,
    stopped: Sequence[str] = (),
) -> list[str]:
    """Cancel every notice of `invoice_ids` still waiting (awaiting approval, or queued with its delivery
    not yet taken by a worker) that has no invoice left to remind: each of its invoices is paid, or in
    `stopped` (follow-up just stopped on it: a dispute or a promise opened); the ids of those cancelled.

    Each invoice's `FollowUpState` goes back to what its notices still standing say (`restore_state`), so
    a next run may write the notice again. A notice whose delivery a worker already holds (rendering,
    sending) or that has left is not touched: it is on its way."""
    if not invoice_ids:
        return []
    halted = set(stopped)
    notices = list(
        session.execute(
            select(ReminderNotice)
            .where(
                col(ReminderNotice.tenant_id) == tenant_id,
                col(ReminderNotice.status).in_(CANCELLABLE),
                col(ReminderNotice.id).in_(
                    select(col(ReminderNoticeItem.notice_id)).where(
                        col(ReminderNoticeItem.invoice_id).in_(list(dict.fromkeys(invoice_ids)))
                    )
                ),
            )
            .order_by(col(ReminderNotice.created_at))
        ).scalars()
    )
    cancelled: list[str] = []
    for notice in notices:
        items = notice_items(session, notice.id)
        records = _records(session, [item.invoice_id for item in items])
        if not records or not all(r.id in halted or _is_paid(r) for r in records.values()):
            continue
        if _cancel(session, notice, items, reason=reason, actor=actor):
            cancelled.append(notice.id)
    return cancelled


def _cancel(
    session: Session, notice: ReminderNotice, items: list[ReminderNoticeItem], *, reason: str, actor: str
) -> bool:
    """Cancel `notice` and its delivery if it has not left; False when it is already on its way."""
    delivery = session.get(Delivery, notice.delivery_id) if notice.delivery_id else None
    if delivery is not None and DeliveryStatus(delivery.status) not in NOT_LEFT:
        return False
    try:
        with session.begin_nested():  # a worker may claim the delivery this instant: then it goes
            set_notice_status(session, notice, NoticeStatus.CANCELLED, reason=reason, actor=actor)
            if delivery is not None:
                why = f"{_title(notice)}: {reason}"
                change_status(session, delivery, S.CANCELLED, actor=actor, reason=why)
    except StaleStatus:
        session.refresh(notice)
        return False
    for invoice_id in dict.fromkeys(item.invoice_id for item in items):
        restore_state(session, invoice_id)
    _note_on_invoices(
        session,
        [item.invoice_id for item in items],
        actor=actor,
        reason=f"{_title(notice)} cancelled: {reason}",
        notice=notice,
    )
    return True


def restore_state(session: Session, invoice_id: str) -> None:
    """An invoice's follow-up state as its notices still standing (neither cancelled nor failed) say: the
    level, last notice and deadline of the last of them, the fees they charged; used whenever a notice is
    cancelled or returned. A failed notice never reached the debtor, so it starts no next level's clock
    and its fee is not owed (the module docstring, "Returned after it left")."""
    state = session.get(FollowUpState, invoice_id)
    if state is None:
        return
    standing = session.execute(
        select(ReminderNotice, ReminderNoticeItem)
        .join(ReminderNoticeItem, col(ReminderNoticeItem.notice_id) == col(ReminderNotice.id))
        .where(
            col(ReminderNoticeItem.invoice_id) == invoice_id,
            col(ReminderNotice.status).not_in([NoticeStatus.CANCELLED.value, NoticeStatus.FAILED.value]),
            col(ReminderNotice.kind) != STATEMENT,
        )
        .order_by(col(ReminderNotice.notice_on), col(ReminderNotice.created_at), col(ReminderNotice.id))
    ).all()
    fees = [Decimal(item.fee) for _, item in standing]
    state.fees_charged = sum(
        1
        for (notice, _), fee in zip(standing, fees, strict=True)
        if fee > 0 and NoticeKind(notice.kind) in NOTICE_FEE_KINDS
    )
    state.fee_total = str(sum(fees, Decimal("0")))
    if standing:
        last, last_item = standing[-1]
        state.level, state.last_notice_id = last.level, last.id
        state.last_notice_on, state.last_deadline = last.notice_on, last.deadline
        state.interest_total = last_item.interest
    else:
        state.level, state.last_notice_id, state.last_notice_on, state.last_deadline = 0, None, None, None
        state.interest_total = "0"
    state.next_action_on = None
    state.updated_at = utcnow()
    session.add(state)
    session.flush()


def notice_view(session: Session, notice: ReminderNotice) -> dict[str, Any]:
    """A notice's facts with its delivery's status (for pages and tests)."""
    delivery = session.get(Delivery, notice.delivery_id) if notice.delivery_id else None
    return {
        "id": notice.id,
        "status": notice.status,
        "kind": notice.kind,
        "level": notice.level,
        "channel": notice.channel,
        "format": notice.format,
        "delivery_id": notice.delivery_id,
        "delivery_status": delivery.status if delivery is not None else None,
        "reason": notice.cancel_reason,
        "notice_on": notice.notice_on.isoformat(),
        "deadline": notice.deadline.isoformat(),
        "updated_at": notice.updated_at.isoformat() if isinstance(notice.updated_at, dt.datetime) else None,
    }


__all__ = [
    "EHF_REMINDER",
    "REMINDER_PDF",
    "RENDERERS",
    "NoticeNotFound",
    "NoticeNotQueueable",
    "NoticeRoute",
    "NoticeUndeliverable",
    "cancel_paid_notices",
    "cancel_waiting_notices",
    "choose_route",
    "fall_back_notice",
    "notice_document",
    "notice_kind",
    "on_delivery_status_change",
    "queue_notice",
    "reminder_outbound",
    "restore_state",
]
