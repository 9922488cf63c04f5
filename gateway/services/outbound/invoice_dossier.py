"""Everything known about one invoice, in the order a person asks about it (the console's invoice page).

`deliveries.invoice_view` is the API's answer: each delivery with its own history. A person reading an
invoice wants one story instead: every event of every delivery on one timeline (when, who, what, why, on
which channel), each document exactly as it was handed over (named by the events that sent it), the
proofs of delivery and the payments. The totals come from the invoice as accepted (its canonical JSON),
so the page shows what the buyer was sent, VAT by rate included.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import (
    CollectionHandoff,
    Delivery,
    DeliveryEvent,
    FollowUpState,
    InvoiceRecord,
    PaymentPromise,
    ReminderNotice,
    ReminderNoticeItem,
    StoredDocument,
)
from gateway.services.downloads import INLINE_MEDIA_TYPES, safe_media_type
from gateway.services.followup.disputes import active_dispute
from gateway.services.inbound.pods import pod_summary, pods_for_invoice
from gateway.services.outbound.consumer_dossier import ConsumerDossier, consumer_dossier, mandate_view
from gateway.services.outbound.deliveries import delivery_view
from gateway.services.outbound.documents import DocumentStore, DocumentStoreError, load_document
from gateway.services.payments.matching_runs import invoice_payments
from mappings.invoice.canonical_json import parse as parse_invoice
from schemas.canonical import ArithmeticWarning, Identifier, Invoice, currency_minor_units
from schemas.invoice_profiles import specification_name

#: A document this size or smaller that is text (XML, JSON, EDI) is shown in the page as text.
TEXT_PREVIEW_BYTES = 256_000
_TEXT_TYPES = ("text/", "application/xml", "application/json", "application/edifact", "application/edi-x12")


@dataclass(frozen=True)
class Actor:
    """Who did something, as the event history names them: the kind and the name a person reads."""

    kind: str  # worker, api, console, cli, system
    name: str
    raw: str


def describe_actor(actor: str) -> Actor:
    """`api:erp` → an API token named erp; `console:ops@x` → a console user; a worker id → the worker."""
    prefix, colon, rest = actor.partition(":")
    if colon and prefix in ("api", "console", "cli") and rest:
        return Actor(prefix, rest, actor)
    if actor in ("system", "") or actor.startswith("system"):
        return Actor("system", actor or "system", actor)
    return Actor("worker", actor, actor)


@dataclass
class SentDocument:
    """One stored document and the events that handed it over (or received it, for a POD)."""

    id: str
    filename: str
    media_type: str
    size: int
    sha256: str
    kind: str
    created_at: dt.datetime
    sent: list[dict[str, Any]] = field(default_factory=list)  # channel, attempt, at, role (invoice / pod)
    text: str | None = None  # the content, when it is short text (XML, JSON, EDI)
    problem: str | None = None  # the store could not give the bytes back

    @property
    def is_pdf(self) -> bool:
        return self.media_type == "application/pdf"

    @property
    def shown_inline(self) -> bool:
        return self.media_type in INLINE_MEDIA_TYPES


@dataclass
class InvoiceDossier:
    """The invoice page's facts; `record` is the row, `invoice` the canonical invoice as accepted."""

    record: InvoiceRecord
    facts: dict[str, Any]
    deliveries: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    documents: list[SentDocument]
    pods: list[dict[str, Any]]
    payment: dict[str, Any]
    #: the stated amounts the official rules tolerate (`tolerated_differences`)
    tolerated: list[dict[str, Any]] = field(default_factory=list)
    #: the specification the invoice was accepted under (`profile_of`)
    profile: dict[str, Any] = field(default_factory=dict)
    #: the consumer side (`consumer_dossier.consumer_dossier`), None when the buyer is no consumer
    consumer: ConsumerDossier | None = None
    #: the AvtaleGiro mandate for the invoice's KID, None when there is none
    mandate: dict[str, Any] | None = None

    @property
    def shown_pdf(self) -> SentDocument | None:
        """The PDF the page shows: the invoice's own as sent, before a POD that went along with it."""
        pdfs = [document for document in self.documents if document.is_pdf]
        own = [d for d in pdfs if any(use.get("role") != "attachment" for use in d.sent)]
        chosen = own or pdfs
        return chosen[0] if chosen else None


def _facts(record: InvoiceRecord, invoice: Invoice) -> dict[str, Any]:
    """The header: who, when, how much (VAT by rate), how to pay, as the invoice was accepted."""
    buyer = invoice.buyer
    totals = invoice.totals
    kids = [means.payment_id for means in invoice.payment_means if means.payment_id]
    return {
        "kind": "credit note" if record.document_type == "credit_note" else "invoice",
        "buyer_name": buyer.name,
        "buyer_org": buyer.legal_registration.value if buyer.legal_registration else None,
        "buyer_vat": buyer.vat_id,
        "buyer_endpoint": _endpoint(buyer.endpoint),
        "buyer_email": buyer.contact.email if buyer.contact else None,
        "buyer_reference": invoice.buyer_reference,
        "order_reference": invoice.order_reference,
        "seller_name": invoice.seller.name,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "currency": invoice.currency,
        "net": totals.tax_exclusive,
        "vat": totals.tax_amount,
        "vat_by_rate": [
            {
                "category": str(vb.category),
                "rate": vb.rate,
                "taxable": vb.taxable_amount,
                "tax": vb.tax_amount,
            }
            for vb in invoice.vat_breakdown
        ],
        "gross": totals.tax_inclusive,
        "prepaid": totals.prepaid,
        "payable": totals.payable,
        "kid": kids[0] if kids else record.payment_reference,
        "payment_status": record.payment_status,
        "open_amount": Decimal(
            record.open_amount if record.open_amount is not None else record.payable_amount
        ),
        "paid_at": record.paid_at,
        "receiver_id": record.receiver_id,
        "accepted_at": record.created_at,
        "preceding": [reference.id for reference in invoice.preceding_invoices],
    }


def _endpoint(endpoint: Identifier | None) -> str | None:
    """An electronic address as PEPPOL writes it: `0192:910667831`."""
    if endpoint is None:
        return None
    return f"{endpoint.scheme}:{endpoint.value}" if endpoint.scheme else endpoint.value


def _timeline(deliveries: list[Delivery], session: Session) -> list[dict[str, Any]]:
    """Every event of every delivery of the invoice, oldest first, with its delivery's channel."""
    by_id = {delivery.id: delivery for delivery in deliveries}
    if not by_id:
        return []
    events = session.execute(
        select(DeliveryEvent)
        .where(col(DeliveryEvent.delivery_id).in_(list(by_id)))
        .order_by(col(DeliveryEvent.at), col(DeliveryEvent.id))
    ).scalars()
    timeline = []
    for event in events:
        delivery = by_id[event.delivery_id]
        details = dict(event.details or {})
        timeline.append(
            {
                "at": event.at,
                "delivery_id": delivery.id,
                "channel": delivery.channel,
                "chain_position": delivery.chain_position,
                "attempt": event.attempt,
                "from": event.from_status,
                "to": event.to_status,
                "actor": describe_actor(event.actor),
                "reason": event.reason,
                "channel_message_id": event.channel_message_id,
                "document_id": details.pop("document_id", None),
                "notes": _notes(details, by_id, event, delivery),
            }
        )
    return timeline


#: Details the page shows in their own place: the documents sent beside the invoice are in its documents.
_SHOWN_ELSEWHERE = frozenset({"extra_documents", "with_pod"})


def _notes(
    details: dict[str, Any], deliveries: dict[str, Delivery], event: DeliveryEvent, delivery: Delivery
) -> list[str]:
    """An event's details as short phrases ("format pdf", "checked against UBL-2.1-XSD"), not raw JSON;
    what the event's line says already (its reason, its channel, its actor) is not repeated."""
    said = {event.reason, delivery.channel, event.actor}
    notes = []
    for key, value in details.items():
        if value in (None, "", [], {}, False) or (isinstance(value, str) and value in said):
            continue
        if key in _SHOWN_ELSEWHERE:
            continue
        if value is True:
            notes.append(key.replace("_", " "))
            continue
        if key == "pod_ids" and isinstance(value, list):
            notes.append(f"with {len(value)} proof{'s' if len(value) > 1 else ''} of delivery")
            continue
        if key == "attachments" and isinstance(value, list):
            notes.append("with " + ", ".join(str(item) for item in value))
        elif key == "validation" and isinstance(value, dict):
            rules = ", ".join(str(rule) for rule in value.get("rule_sets") or [])
            warnings = value.get("warnings") or []
            notes.append(f"checked against {rules}" + (f" ({len(warnings)} warnings)" if warnings else ""))
        elif key == "bytes" and isinstance(value, int):
            notes.append(f"{value:,} bytes".replace(",", "\u202f"))
        elif key == "fallback_of" and isinstance(value, str):
            earlier = deliveries.get(value)
            if not (event.reason or "").startswith("fallback"):  # the reason says it already
                notes.append(f"after {earlier.channel}" if earlier else f"after delivery {value[:8]}")
        elif isinstance(value, str | int | float | bool):
            notes.append(f"{key.replace('_', ' ')} {value}")
        else:
            notes.append(f"{key.replace('_', ' ')}: {json.dumps(value, ensure_ascii=False, default=str)}")
    return notes


def _documents(
    session: Session,
    store: DocumentStore | None,
    tenant_id: str,
    deliveries: list[Delivery],
    timeline: list[dict[str, Any]],
) -> list[SentDocument]:
    """The documents the timeline names (the invoice as each channel handed it over) and those sent beside
    it (a POD with a resend), newest first; text ones with their content when short."""
    uses: dict[str, list[dict[str, Any]]] = {}
    for entry in timeline:
        if entry["document_id"]:
            uses.setdefault(str(entry["document_id"]), []).append(
                {
                    "channel": entry["channel"],
                    "attempt": entry["attempt"],
                    "at": entry["at"],
                    "role": "invoice",
                }
            )
    for delivery in deliveries:
        for document_id in delivery.extra_documents or []:
            uses.setdefault(str(document_id), []).append(
                {"channel": delivery.channel, "attempt": delivery.attempt, "at": None, "role": "attachment"}
            )
    if not uses:
        return []
    rows = session.execute(
        select(StoredDocument).where(
            col(StoredDocument.id).in_(list(uses)), col(StoredDocument.tenant_id) == tenant_id
        )
    ).scalars()
    documents = []
    for row in rows:
        media_type = safe_media_type(row.media_type)
        document = SentDocument(
            id=row.id,
            filename=row.filename,
            media_type=media_type,
            size=row.size,
            sha256=row.sha256,
            kind=row.kind,
            created_at=row.created_at,
            sent=uses[row.id],
        )
        if store is not None and row.size <= TEXT_PREVIEW_BYTES and media_type.startswith(_TEXT_TYPES):
            try:
                _, data = load_document(session, store, row.id, tenant_id)
            except DocumentStoreError as error:
                document.problem = str(error)
            else:
                document.text = data.decode("utf-8", errors="replace")
        documents.append(document)
    documents.sort(key=_last_sent, reverse=True)
    return documents


def _last_sent(document: SentDocument) -> dt.datetime:
    return max((use["at"] for use in document.sent if use["at"] is not None), default=document.created_at)


def invoice_dossier(
    session: Session, tenant_id: str, record: InvoiceRecord, *, store: DocumentStore | None = None
) -> InvoiceDossier:
    """The invoice page of `record` (found for `tenant_id` by `lookup.find_invoice`): its facts, its
    deliveries, one timeline of all their events, the documents as sent (text ones read from `store`), its
    proofs of delivery and its payments."""
    if record.tenant_id != tenant_id:  # the lookup already says so; a second lock on the door
        raise LookupError(f"invoice {record.id} is not the tenant's")
    deliveries = list(
        session.execute(
            select(Delivery)
            .where(col(Delivery.invoice_id) == record.id)
            .order_by(col(Delivery.chain_position), col(Delivery.created_at), col(Delivery.id))
        ).scalars()
    )
    timeline = _timeline(deliveries, session)
    invoice = parse_invoice(record.payload)
    facts = _facts(record, invoice)
    views = [delivery_view(delivery) for delivery in deliveries]
    return InvoiceDossier(
        record=record,
        facts=facts,
        deliveries=views,
        timeline=timeline,
        documents=_documents(session, store, tenant_id, deliveries, timeline),
        pods=[pod_summary(pod) for pod in pods_for_invoice(session, tenant_id, record.id)],
        payment=_payment(session, record),
        tolerated=tolerated_differences(invoice),
        profile=profile_of(invoice),
        consumer=consumer_dossier(session, tenant_id, invoice, deliveries=views, timeline=timeline),
        mandate=mandate_view(session, tenant_id, facts["kid"]),
    )


def profile_of(invoice: Invoice) -> dict[str, Any]:
    """The specification the invoice was accepted under, by a person's name (`specification_name`), with
    the identifier as sent (BT-24, BT-23); `stated` is False when the invoice named none (the default)."""
    return {
        "name": specification_name(invoice.customization_id),
        "customization_id": invoice.customization_id,
        "process_id": invoice.profile_id,
        "stated": invoice.customization_id is not None,
    }


#: "a difference of at most 0.02" (PEPPOL's slack), as `ArithmeticWarning.tolerance` words it.
_AT_MOST = re.compile(r"at most (?P<amount>[0-9]+(?:\.[0-9]+)?)")


def tolerated_differences(invoice: Invoice) -> list[dict[str, Any]]:
    """`Invoice.arithmetic_warnings` as a person reads them: which amount (VAT (25 %), line 2's net
    amount), the stated and the exact figure, and the official tolerance as an amount in the invoice's
    currency (None when the rule words it otherwise; `tolerance_words` then says it)."""
    return [
        {
            "rule": warning.rule,
            "what": _what(invoice, warning),
            "stated": warning.stated,
            "computed": warning.computed,
            "difference": warning.difference,
            "tolerance": _tolerance(warning, invoice.currency),
            "tolerance_words": warning.tolerance,
            "outside_specification": warning.outside_specification,
        }
        for warning in invoice.arithmetic_warnings
    ]


def _tolerance(warning: ArithmeticWarning, currency: str) -> Decimal | None:
    if "one currency unit" in warning.tolerance:
        return Decimal(1).quantize(Decimal(1).scaleb(-currency_minor_units(currency)))
    slack = _AT_MOST.search(warning.tolerance)
    return Decimal(slack["amount"]) if slack else None


def _what(invoice: Invoice, warning: ArithmeticWarning) -> str:
    """The amount a warning's field path names, in words: `vat_breakdown.0.tax_amount` → "VAT" (or "VAT
    (25 %)" when the invoice has several rates), `lines.1.net_amount` → "Line 2 net amount"."""
    parts = warning.field.split(".")
    try:
        if parts[0] == "vat_breakdown":
            breakdown = invoice.vat_breakdown[int(parts[1])]
            rate = f" ({_rate(breakdown.rate)} %)" if len(invoice.vat_breakdown) > 1 else ""
            return f"VAT{rate}" if parts[2] == "tax_amount" else f"Taxable amount{rate}"
        if parts[0] == "lines":
            line = invoice.lines[int(parts[1])]
            if len(parts) > 3 and parts[2] == "allowances_charges":
                ac = line.allowances_charges[int(parts[3])]
                return f"Line {line.id} {'charge' if ac.is_charge else 'allowance'} amount"
            return f"Line {line.id} net amount"
        if parts[0] == "allowances_charges":
            ac = invoice.allowances_charges[int(parts[1])]
            kind = "charge" if ac.is_charge else "allowance"
            return f"Document {kind} ({ac.reason})" if ac.reason else f"Document {kind}"
    except (IndexError, ValueError):
        pass
    return warning.field


def _rate(rate: Decimal | None) -> str:
    """25.00 → 25, 11.11 → 11.11 (as the amounts card writes a rate)."""
    if rate is None:
        return "0"
    text = format(rate, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _payment(session: Session, record: InvoiceRecord) -> dict[str, Any]:
    """`invoice_payments`, its amounts as decimals (a page compares and formats them)."""
    payment = invoice_payments(session, record)
    for allocation in payment["allocations"]:
        for key in ("amount", "write_off"):
            if allocation.get(key) not in (None, ""):
                allocation[key] = Decimal(str(allocation[key]))
    return payment


def follow_up_of(session: Session, record: InvoiceRecord) -> dict[str, Any] | None:
    """Where receivables follow-up stands on the invoice (the invoice page's "Follow-up" card): the level
    reached, the notices that listed it (with dates), the open dispute, the open promise, a hand-off to
    collection. None when follow-up never touched it."""
    state = session.get(FollowUpState, record.id)
    notices = session.execute(
        select(ReminderNotice, ReminderNoticeItem)
        .join(ReminderNoticeItem, col(ReminderNoticeItem.notice_id) == col(ReminderNotice.id))
        .where(
            col(ReminderNoticeItem.invoice_id) == record.id, col(ReminderNotice.tenant_id) == record.tenant_id
        )
        .order_by(col(ReminderNotice.notice_on), col(ReminderNotice.created_at))
    ).all()
    dispute = active_dispute(session, record.id)
    promise = session.execute(
        select(PaymentPromise)
        .where(col(PaymentPromise.invoice_id) == record.id, col(PaymentPromise.status) == "open")
        .order_by(col(PaymentPromise.promised_on))
        .limit(1)
    ).scalar_one_or_none()
    handoff = session.execute(
        select(CollectionHandoff).where(col(CollectionHandoff.invoice_id) == record.id).limit(1)
    ).scalar_one_or_none()
    handed_off_at = handoff.handed_off_at if handoff else (state.handed_off_at if state else None)
    if state is None and not notices and dispute is None and promise is None and handoff is None:
        return None
    return {
        "level": state.level if state else 0,
        "held": bool(state and state.held),
        "paused_days": state.paused_days if state else 0,
        "fee_total": state.fee_total if state else "0",
        "interest_total": state.interest_total if state else "0",
        "last_deadline": state.last_deadline if state else None,
        "notices": [
            {"id": notice.id, "level": notice.level, "kind": notice.kind, "status": notice.status,
             "notice_on": notice.notice_on, "deadline": notice.deadline, "fee": item.fee,
             "interest": item.interest}
            for notice, item in notices
        ],
        "dispute": None if dispute is None else {
            "id": dispute.id, "status": dispute.status, "category": dispute.category,
            "amount": dispute.amount, "owner": dispute.owner, "due_on": dispute.due_on,
        },
        "promise": None if promise is None else {
            "id": promise.id, "date": promise.promised_on, "amount": promise.amount,
            "created_by": promise.created_by,
        },
        "handed_off_at": handed_off_at,
    }  # fmt: skip


def empty_follow_up() -> dict[str, Any]:
    """`follow_up_of`'s answer for an invoice follow-up never touched (the card shows its forms on it)."""
    return {
        "level": 0, "held": False, "paused_days": 0, "fee_total": "0", "interest_total": "0",
        "last_deadline": None, "notices": [], "dispute": None, "promise": None, "handed_off_at": None,
    }  # fmt: skip
