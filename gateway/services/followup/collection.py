"""Hand-off to a collection agency: the invoices past the last level of their strategy, exported as a CSV.

A candidate is an open invoice whose follow-up reached its strategy's last level (`FollowUpState.level`,
the strategy of its receiver's segment) and whose last notice's deadline has passed, that is not disputed
(an open dispute, or one awaiting approval of a credit), not promised (an open promise whose date has not
passed), not held by a person and not handed off already.

The export is one CSV, kept in the document store (its `stored_documents` id is the export id, so
`GET /collection/exports/{id}` gives the same bytes again), and one `CollectionHandoff` row per invoice
(unique per tenant and invoice: an invoice is never handed off twice, and a second export at the same time
fails instead of listing it again); `FollowUpState.handed_off_at` is set so follow-up stops.

The file: UTF-8 with a byte order mark (a spreadsheet opens the Norwegian letters right), `;` between
fields (the list separator of Norwegian spreadsheets; names and addresses hold commas), CRLF line ends,
a header row, dates ISO 8601 (YYYY-MM-DD), amounts with a full stop and two decimals, never a thousands
separator. One row per invoice; its notices in one field, `date kind level` joined by ` | `. Its
`interest_accrued` is the late-payment interest on each day's balance from the due date to the export date
at the dated rates (`rules.late_interest_on_balances`: a part paid late keeps what it earned until paid),
what the debtor owes that day, not the sum earlier notices stated.

The debtor's full organisation number or national identity number is in the file: the agency needs it to
pursue the claim. It is the one place the gateway lets it out; nothing here logs it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import (
    CollectionHandoff,
    Dispute,
    FollowUpState,
    InvoiceRecord,
    PaymentPromise,
    Receiver,
    ReminderNotice,
    ReminderNoticeItem,
    StoredDocument,
    utcnow,
)
from gateway.services.followup import rules
from gateway.services.followup.credit import OPEN_STATUSES, money_text
from gateway.services.followup.customers import applied_payments
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentStore, load_document, store_document
from gateway.services.tenancy.tenants import tenant_settings
from schemas.canonical import ReceiverProfile
from schemas.followup import DisputeStatus, FollowUpSettings, NoticeStatus, PromiseStatus

EXPORT_KIND = "collection-export"
MEDIA_TYPE = "text/csv; charset=utf-8"
COLUMNS = (
    "debtor_name",
    "debtor_org_number",
    "debtor_national_id",
    "address",
    "postal_code",
    "city",
    "country",
    "email",
    "invoice_number",
    "issue_date",
    "due_date",
    "original_amount",
    "open_amount",
    "currency",
    "kid",
    "fees_charged",
    "interest_accrued",
    "notices",
)


class CollectionRefused(ValueError):
    """An export that cannot be made as asked: `field` names what to fix."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Candidate:
    invoice: InvoiceRecord
    state: FollowUpState
    profile: ReceiverProfile | None

    def as_dict(self) -> dict[str, Any]:
        invoice = self.invoice
        return {
            "invoice_id": invoice.id,
            "number": invoice.number,
            "receiver_id": invoice.receiver_id,
            "buyer_name": invoice.buyer_name,
            "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
            "currency": invoice.currency,
            "payable_amount": invoice.payable_amount,
            "open_amount": invoice.open_amount or invoice.payable_amount,
            "level": self.state.level,
            "last_notice_on": self.state.last_notice_on.isoformat() if self.state.last_notice_on else None,
            "last_deadline": self.state.last_deadline.isoformat() if self.state.last_deadline else None,
            "fees_charged": self.state.fee_total,
            "interest": self.state.interest_total,
        }


def _profiles(session: Session, tenant_id: str, receiver_ids: set[str]) -> dict[str, ReceiverProfile]:
    if not receiver_ids:
        return {}
    rows = session.execute(
        select(col(Receiver.profile)).where(
            col(Receiver.tenant_id) == tenant_id, col(Receiver.receiver_id).in_(sorted(receiver_ids))
        )
    ).scalars()
    profiles = (ReceiverProfile.model_validate(row) for row in rows)
    return {profile.receiver_id: profile for profile in profiles}


def collection_candidates(
    session: Session, tenant_id: str, *, on: dt.date, invoice_ids: list[str] | None = None
) -> list[Candidate]:
    """The invoices ready for a collection agency on `on`, by due date and number."""
    query = (
        select(InvoiceRecord, FollowUpState)
        .join(FollowUpState, col(FollowUpState.invoice_id) == col(InvoiceRecord.id))
        .where(
            col(FollowUpState.tenant_id) == tenant_id,
            col(InvoiceRecord.tenant_id) == tenant_id,
            col(InvoiceRecord.document_type) == "invoice",
            col(InvoiceRecord.payment_status).in_(OPEN_STATUSES),
            col(FollowUpState.handed_off_at).is_(None),
            col(FollowUpState.held).is_(False),
            col(FollowUpState.level) >= 1,
            col(FollowUpState.last_deadline) < on,
        )
        .order_by(col(InvoiceRecord.due_date), col(InvoiceRecord.number))
    )
    if invoice_ids is not None:
        query = query.where(col(InvoiceRecord.id).in_(invoice_ids))
    rows = [(invoice, state) for invoice, state in session.execute(query).all()]
    ids = [invoice.id for invoice, _ in rows]
    if not ids:
        return []
    stopped = set(
        session.execute(
            select(col(Dispute.invoice_id)).where(
                col(Dispute.tenant_id) == tenant_id,
                col(Dispute.invoice_id).in_(ids),
                col(Dispute.status).in_((DisputeStatus.OPEN.value, DisputeStatus.AWAITING_APPROVAL.value)),
            )
        ).scalars()
    )
    stopped |= set(
        session.execute(
            select(col(PaymentPromise.invoice_id)).where(
                col(PaymentPromise.tenant_id) == tenant_id,
                col(PaymentPromise.invoice_id).in_(ids),
                col(PaymentPromise.status) == PromiseStatus.OPEN.value,
                col(PaymentPromise.promised_on) >= on,
            )
        ).scalars()
    )
    stopped |= set(
        session.execute(
            select(col(CollectionHandoff.invoice_id)).where(
                col(CollectionHandoff.tenant_id) == tenant_id, col(CollectionHandoff.invoice_id).in_(ids)
            )
        ).scalars()
    )
    follow_up = tenant_settings(session, tenant_id).follow_up
    profiles = _profiles(session, tenant_id, {i.receiver_id for i, _ in rows if i.receiver_id})
    found: list[Candidate] = []
    for invoice, state in rows:
        if invoice.id in stopped:
            continue
        profile = profiles.get(invoice.receiver_id or "")
        strategy = follow_up.strategy_for(profile.segment if profile else None)
        if strategy is None or state.level < strategy.levels[-1].level:
            continue
        found.append(Candidate(invoice, state, profile))
    return found


def _notices(session: Session, invoice_ids: list[str]) -> dict[str, list[str]]:
    """Every notice sent for each invoice, oldest first, as `date kind level`."""
    rows = session.execute(
        select(
            col(ReminderNoticeItem.invoice_id),
            col(ReminderNotice.notice_on),
            col(ReminderNotice.kind),
            col(ReminderNotice.level),
        )
        .join(ReminderNotice, col(ReminderNotice.id) == col(ReminderNoticeItem.notice_id))
        .where(
            col(ReminderNoticeItem.invoice_id).in_(invoice_ids),
            col(ReminderNotice.status) == NoticeStatus.SENT.value,
        )
        .order_by(col(ReminderNotice.notice_on), col(ReminderNotice.level))
    )
    notices: defaultdict[str, list[str]] = defaultdict(list)
    for invoice_id, notice_on, kind, level in rows:
        notices[invoice_id].append(f"{notice_on.isoformat()} {kind} level {level}")
    return notices


def accrued_interest(
    candidate: Candidate,
    follow_up: FollowUpSettings,
    on: dt.date,
    payments: Sequence[tuple[dt.date, Decimal]] = (),
) -> Decimal:
    """Late-payment interest on each day's balance from the due date to `on`, at the dated rates in force
    on each day (`rules.late_interest_on_balances`; `payments`: the (day, amount) applied to the invoice, so
    a part paid late keeps the interest it earned until paid): what is owed on the export date, not what
    earlier notices stated."""
    invoice = candidate.invoice
    if invoice.due_date is None:
        return Decimal("0.00")
    open_amount = Decimal(invoice.open_amount or invoice.payable_amount)
    balances = rules.balance_history(open_amount, payments, due_date=invoice.due_date)
    return rules.late_interest_on_balances(follow_up, balances, due_date=invoice.due_date, on=on)


def _row(candidate: Candidate, notices: list[str], interest: Decimal) -> list[str]:
    invoice, state, profile = candidate.invoice, candidate.state, candidate.profile
    payload: dict[str, Any] = json.loads(invoice.payload)
    buyer: dict[str, Any] = payload.get("buyer") or {}
    address: dict[str, Any] = buyer.get("address") or {}
    routing: dict[str, Any] = payload.get("routing") or {}
    legal = buyer.get("legal_registration") or {}
    national_id = (profile.national_id if profile else None) or routing.get("national_id") or ""
    email = (profile.addresses.get("email") if profile else None) or (buyer.get("contact") or {}).get("email")
    return [
        buyer.get("name") or invoice.buyer_name,
        str(legal.get("value") or ""),
        str(national_id),
        ", ".join(address.get("lines") or []),
        address.get("postal_code") or "",
        address.get("city") or "",
        address.get("country") or "",
        email or "",
        invoice.number,
        invoice.issue_date.isoformat(),
        invoice.due_date.isoformat() if invoice.due_date else "",
        money_text(Decimal(invoice.payable_amount)),
        money_text(Decimal(invoice.open_amount or invoice.payable_amount)),
        invoice.currency,
        invoice.payment_reference or "",
        money_text(Decimal(state.fee_total or "0")),
        money_text(interest),
        " | ".join(notices),
    ]


def export_csv(
    session: Session, candidates: list[Candidate], *, on: dt.date, follow_up: FollowUpSettings
) -> bytes:
    """The agency's file for `candidates` on `on` (see the module's note on its shape)."""
    notices = _notices(session, [c.invoice.id for c in candidates])
    # one tenant's candidates (`collection_candidates`): their payments in one query
    tenant_id = candidates[0].invoice.tenant_id if candidates else ""
    payments = applied_payments(session, tenant_id, [c.invoice.id for c in candidates])
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for candidate in candidates:
        interest = accrued_interest(candidate, follow_up, on, payments.get(candidate.invoice.id, ()))
        writer.writerow(_row(candidate, notices.get(candidate.invoice.id, []), interest))
    return text.getvalue().encode("utf-8-sig")


@dataclass(frozen=True)
class CollectionExport:
    export_id: str
    filename: str
    data: bytes
    invoices: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "filename": self.filename,
            "count": len(self.invoices),
            "invoices": self.invoices,
            "download": f"/collection/exports/{self.export_id}",
        }


def export_candidates(
    session: Session,
    store: DocumentStore,
    tenant_id: str,
    *,
    on: dt.date,
    actor: str,
    invoice_ids: list[str] | None = None,
) -> CollectionExport:
    """Hand the candidates (all, or those named) to collection: the CSV kept, each invoice marked.

    `CollectionRefused` when nothing is ready, or a named invoice is not a candidate (unknown, another
    tenant's, not past its last level, disputed, promised, or handed off before)."""
    found = collection_candidates(session, tenant_id, on=on, invoice_ids=invoice_ids)
    if invoice_ids is not None:
        ready = {c.invoice.id for c in found}
        for position, invoice_id in enumerate(invoice_ids):
            if invoice_id not in ready:
                raise CollectionRefused(
                    f"invoice_ids[{position}]",
                    f"invoice {invoice_id} is not ready for collection on {on.isoformat()} (unknown, not "
                    "past the last level and its deadline, disputed, promised, held or handed off already)",
                )
    if not found:
        raise CollectionRefused("invoice_ids", f"no invoice is ready for collection on {on.isoformat()}")
    data = export_csv(session, found, on=on, follow_up=tenant_settings(session, tenant_id).follow_up)
    filename = f"collection-{tenant_id}-{on.isoformat()}.csv"
    document = store_document(
        session,
        store,
        tenant_id=tenant_id,
        data=data,
        media_type=MEDIA_TYPE,
        filename=filename,
        kind=EXPORT_KIND,
    )
    session.flush()
    now = utcnow()
    for candidate in found:
        session.add(
            CollectionHandoff(
                tenant_id=tenant_id,
                invoice_id=candidate.invoice.id,
                export_id=document.id,
                handed_off_by=actor,
                handed_off_at=now,
            )
        )
        candidate.state.handed_off_at = now
        candidate.state.next_action_on = None
        candidate.state.updated_at = now
        session.add(candidate.state)
    session.flush()  # the unique (tenant, invoice) refuses a concurrent export of the same invoice here
    return CollectionExport(document.id, document.filename, data, [c.as_dict() for c in found])


def load_export(session: Session, store: DocumentStore, tenant_id: str, export_id: str) -> tuple[str, bytes]:
    """An earlier export's file name and bytes (`NotFound` for another tenant's or an unknown id)."""
    document = session.get(StoredDocument, export_id)
    if document is None or document.tenant_id != tenant_id or document.kind != EXPORT_KIND:
        raise NotFound(f"collection export {export_id} not found")
    _, data = load_document(session, store, export_id, tenant_id)
    return document.filename, data
