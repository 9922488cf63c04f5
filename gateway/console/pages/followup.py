"""Follow-up: reminder notices (approve or cancel them, the last run, a dry-run preview), the dispute
inbox and one dispute (its thread, a note or attachment, owner, resolution, approving a proposed credit)
and one customer's receivables.

Thin over `gateway.services.followup` (reminders, run, disputes, customers), which hold the rules, and
`desk`, which reads what these pages list. Who may do what is decided here on the server, whatever a page
showed: approving or cancelling a notice and a dry run need credit control (role credit or admin); writing
to a dispute, changing its owner and resolving it need any role but viewer; approving a proposed credit
needs credit or admin *and* another person than the one who proposed it (the disputes service refuses
that itself too: four eyes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from db.engine import session_scope
from gateway.console.amounts import form_amount
from gateway.console.auth import CreditController, Viewer, csrf_protected
from gateway.console.pages.invoices import render_invoice_page
from gateway.console.pages.portal_access import portal_block
from gateway.console.templating import page, redirect
from gateway.services.followup import desk
from gateway.services.followup import disputes as dispute_service
from gateway.services.followup import holds as hold_service
from gateway.services.followup import promises as promise_service
from gateway.services.followup import reminders as reminder_service
from gateway.services.followup.customers import customer_view, list_customers
from gateway.services.followup.run import run_follow_up, tenant_today
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import document_store
from gateway.services.portal.notify import tell_customer
from gateway.services.tenancy.console_users import ConsoleIdentity
from gateway.settings import Settings
from schemas.followup import NoticeStatus

router = APIRouter()

BASE = "/console/follow-up"
PAGE_SIZE = 50
_ID = re.compile(r"^[0-9a-f]{32}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOTICE_STATUSES = [status.value for status in NoticeStatus]
KIND_LABELS = {
    "nudge": "Friendly nudge",
    "reminder": "Reminder",
    "collection_warning": "Debt-collection warning",
    "payment_demand": "Payment demand",
}
VIEW_LABELS = {
    "open": "Open",
    "awaiting": "Awaiting approval",
    "overdue": "Overdue",
    "closed": "Closed",
    "all": "All",
}
OUTCOME_LABELS = {"rejected": "Rejected (claim stands)", "withdrawn": "Withdrawn", "credited": "Credited"}


async def _writer(identity: Annotated[ConsoleIdentity, Depends(csrf_protected)]) -> ConsoleIdentity:
    """Any role but viewer: an operator, credit controller or admin may write to a dispute."""
    if identity.role == "viewer":
        raise HTTPException(403, f"your role ({identity.role}) may not do this")
    return identity


Writer = Annotated[ConsoleIdentity, Depends(_writer)]


def _id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise HTTPException(404, f"There is no {what} {value[:40]}.")
    return value


def _day(text: str, field: str) -> dt.date | None:
    text = text.strip()
    if not text:
        return None
    try:
        if not _DATE.match(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise HTTPException(422, f"{field}: {text[:20]!r} is not a date; write it as YYYY-MM-DD") from None


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _refused(error: dispute_service.FollowUpRefused) -> HTTPException:
    return HTTPException(error.status, str(error))


def _no_notice(notice_id: str, tenant_id: str) -> HTTPException:
    """Another tenant's notice reads as no notice at all: the same 404."""
    return HTTPException(404, f"There is no notice {notice_id} for tenant {tenant_id}.")


def _no_dispute(dispute_id: str, tenant_id: str) -> HTTPException:
    """Another tenant's dispute reads as no dispute at all: the same 404."""
    return HTTPException(404, f"There is no dispute {dispute_id} for tenant {tenant_id}.")


@contextmanager
def _dispute_errors(dispute_id: str, tenant_id: str) -> Iterator[None]:
    """What a dispute step answers when the service says no: 404 for a missing dispute, else the refusal's
    own status and reason."""
    try:
        yield
    except dispute_service.DisputeNotFound:
        raise _no_dispute(dispute_id, tenant_id) from None
    except dispute_service.FollowUpRefused as error:
        raise _refused(error) from None


# --- reminders ----------------------------------------------------------------------------------------------


@router.get("/console/follow-up")
def follow_up_home(request: Request, identity: Viewer) -> Response:
    return redirect(request, f"{BASE}/reminders")


@router.get("/console/follow-up/reminders")
def reminders_list(
    request: Request, identity: Viewer, status: str = "", customer: str = "", page_number: int = 1
) -> Response:
    """Notices, those awaiting approval first; the last run's counts; a dry run for credit control."""
    if status and status not in NOTICE_STATUSES:
        raise HTTPException(422, f"status: {status[:30]!r} is not one of {', '.join(NOTICE_STATUSES)}")
    if len(customer) > 200:
        raise HTTPException(422, "customer: at most 200 characters")
    page_number = max(1, min(page_number, 10_000))
    with session_scope(request.app.state.engine) as session:
        rows = desk.notice_rows(
            session,
            identity.tenant_id,
            status=status or None,
            customer=customer.strip() or None,
            limit=PAGE_SIZE + 1,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        counts = desk.notice_status_counts(session, identity.tenant_id)
        last = desk.last_run(session, identity.tenant_id)
    more = len(rows) > PAGE_SIZE
    context: dict[str, Any] = {
        "title": "Reminders",
        "tab": "reminders",
        "rows": rows[:PAGE_SIZE],
        "filters": {"status": status, "customer": customer},
        "status_choices": [(s, f"{s.replace('_', ' ')} ({counts.get(s, 0)})") for s in NOTICE_STATUSES],
        "awaiting": counts.get(NoticeStatus.AWAITING_APPROVAL.value, 0),
        "kind_labels": KIND_LABELS,
        "last_run": last,
        "today": tenant_today(),
        "may_credit": identity.may("payments"),
        "next_url": f"{BASE}/reminders?status={status}&customer={customer}&page_number={page_number + 1}"
        if more
        else None,
        "filtered": bool(status or customer),
    }
    return page(request, "followup/reminders.html", context, identity=identity)


@router.post("/console/follow-up/run-preview")
def run_preview(
    request: Request, identity: CreditController, on: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    """What a run would decide on a day (today by default), written nowhere."""
    day = _day(on, "on") or tenant_today()
    with session_scope(request.app.state.engine) as session:
        report = run_follow_up(
            session,
            identity.tenant_id,
            on=day,
            dry_run=True,
            actor=identity.actor,
            settings=_settings(request),
        )
        last = desk.last_run(session, identity.tenant_id)
    context = {"title": "Run preview", "tab": "reminders", "report": report.as_dict(), "last_run": last}
    return page(request, "followup/preview.html", context, identity=identity)


def _notice_step(
    request: Request,
    identity: ConsoleIdentity,
    notice_id: str,
    step: Callable[[Session], None],
    done: str,
) -> Response:
    """Run a notice's step and go back to the notice saying `done`; a notice not in a state for it goes back
    with a warning (nothing done), a missing one is a 404."""
    with session_scope(request.app.state.engine) as session:
        try:
            step(session)
        except reminder_service.NoticeNotFound:
            raise _no_notice(notice_id, identity.tenant_id) from None
        except reminder_service.NoticeStateError as error:
            return redirect(request, f"{BASE}/reminders/{notice_id}", f"Nothing done: {error}.", kind="warn")
    return redirect(request, f"{BASE}/reminders/{notice_id}", done)


@router.get("/console/follow-up/reminders/{notice_id}")
def notice_page(request: Request, notice_id: str, identity: Viewer) -> Response:
    _id(notice_id, "notice")
    with session_scope(request.app.state.engine) as session:
        try:
            notice = reminder_service.show_notice(session, identity.tenant_id, notice_id)
        except reminder_service.NoticeNotFound:
            raise _no_notice(notice_id, identity.tenant_id) from None
        delivery = desk.notice_delivery(session, identity.tenant_id, notice["delivery_id"])
        buyer = desk.notice_buyer(session, notice_id)
    numbers = {item["invoice_id"]: item["invoice_number"] for item in notice["items"]}
    for decision in notice["decisions"]:  # a reason names an invoice by its id; a person reads its number
        for invoice_id, number in numbers.items():
            if decision["reason"] and invoice_id in decision["reason"]:
                decision["reason"] = decision["reason"].replace(invoice_id, number)
    context = {
        "title": f"{KIND_LABELS.get(notice['kind'], notice['kind'])} to {buyer or notice['customer_key']}",
        "tab": "reminders",
        "reminder": notice,
        "buyer": buyer,
        "delivery": delivery,
        "kind_labels": KIND_LABELS,
        "may_credit": identity.may("payments"),
        "cancellable": notice["status"] in reminder_service.CANCELLABLE,
    }
    return page(request, "followup/notice.html", context, identity=identity)


@router.post("/console/follow-up/reminders/{notice_id}/approve")
def approve_notice(request: Request, notice_id: str, identity: CreditController) -> Response:
    _id(notice_id, "notice")
    settings = _settings(request)

    def approve(session: Session) -> None:
        reminder_service.approve_notice(
            session, identity.tenant_id, notice_id, actor=identity.actor, settings=settings
        )

    return _notice_step(request, identity, notice_id, approve, "Notice approved: it is queued for delivery.")


@router.post("/console/follow-up/reminders/{notice_id}/cancel")
def cancel_notice(
    request: Request,
    notice_id: str,
    identity: CreditController,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    _id(notice_id, "notice")
    if not reason.strip():
        raise HTTPException(422, "reason: say why the notice is cancelled (it is written to its history)")

    def cancel(session: Session) -> None:
        reminder_service.cancel_notice(
            session, identity.tenant_id, notice_id, actor=identity.actor, reason=reason.strip()
        )

    done = "Notice cancelled; its invoices' follow-up went back a level, so a next run may write it again."
    return _notice_step(request, identity, notice_id, cancel, done)


# --- the invoice page's follow-up card: a promise to pay, holding follow-up ---------------------------------


def _invoice_path(invoice_id: str) -> str:
    return f"/console/invoices/{invoice_id}"


def _no_invoice(invoice_id: str, tenant_id: str) -> HTTPException:
    """Another tenant's invoice reads as no invoice at all: the same 404."""
    return HTTPException(404, f"There is no invoice {invoice_id} for tenant {tenant_id}.")


def _card_refused(
    request: Request,
    invoice_id: str,
    identity: ConsoleIdentity,
    sent: dict[str, str],
    field: str,
    reason: str,
) -> Response:
    """The invoice page again, its card saying beside the field what to fix (422), the form as sent."""
    card = {"sent": sent, "errors": {field: reason}}
    return render_invoice_page(request, invoice_id, identity, card=card, status=422)


@router.post("/console/follow-up/invoices/{invoice_id}/promise")
def add_promise(
    request: Request,
    invoice_id: str,
    identity: Writer,
    date: Annotated[str, Form(max_length=20)] = "",
    amount: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """A promise to pay `amount` by `date` (an open one on the invoice is replaced)."""
    _id(invoice_id, "invoice")
    sent = {"form": "promise", "date": date, "amount": amount}
    try:
        promised_on = _day(date, "date")
    except HTTPException as error:
        return _card_refused(request, invoice_id, identity, sent, "date", str(error.detail))
    if promised_on is None:
        missing = "date: the day the customer will pay"
        return _card_refused(request, invoice_id, identity, sent, "date", missing)
    with session_scope(request.app.state.engine) as session:
        try:
            promise = promise_service.add_promise(
                session, identity.tenant_id, invoice_id, promised_on=promised_on, amount=amount,
                actor=identity.actor, on=tenant_today(), now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        except NotFound:
            raise _no_invoice(invoice_id, identity.tenant_id) from None
        except dispute_service.FollowUpRefused as error:
            if error.status != 422:
                raise _refused(error) from None
            session.rollback()
            refusal = (error.field or "date", str(error))
        else:
            text = f"Promise to pay {promise.amount} by {promise.promised_on.isoformat()} recorded."
            return redirect(request, _invoice_path(invoice_id), text)
    return _card_refused(request, invoice_id, identity, sent, *refusal)


@router.post("/console/follow-up/invoices/{invoice_id}/promises/{promise_id}/cancel")
def cancel_promise(request: Request, invoice_id: str, promise_id: str, identity: Writer) -> Response:
    """Cancel the invoice's open promise: follow-up no longer waits for it."""
    _id(invoice_id, "invoice")
    _id(promise_id, "promise")
    with session_scope(request.app.state.engine) as session:
        try:
            promise = promise_service.get_promise(session, identity.tenant_id, promise_id)
            if promise.invoice_id != invoice_id:
                raise promise_service.PromiseNotFound(promise_id)
            promise_service.cancel_promise(
                session, identity.tenant_id, promise_id, actor=identity.actor, now=dt.datetime.now(dt.UTC)
            )
        except promise_service.PromiseNotFound:
            raise HTTPException(404, f"There is no promise {promise_id} on invoice {invoice_id}.") from None
        except dispute_service.FollowUpRefused as error:
            return redirect(request, _invoice_path(invoice_id), f"Nothing done: {error}.", kind="warn")
    done = "Promise cancelled: follow-up no longer waits for it."
    return redirect(request, _invoice_path(invoice_id), done)


@router.post("/console/follow-up/invoices/{invoice_id}/hold")
def hold_follow_up(
    request: Request,
    invoice_id: str,
    identity: CreditController,
    step: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Hold (`step=hold`) or resume (`step=resume`) follow-up on the invoice, saying why. (Not a field named
    `action`: it would shadow the form's own `action` in the browser's DOM.)"""
    _id(invoice_id, "invoice")
    if step not in ("hold", "resume"):
        raise HTTPException(422, "step: hold or resume")
    sent = {"form": "hold", "reason": reason}
    with session_scope(request.app.state.engine) as session:
        try:
            hold_service.set_hold(
                session, identity.tenant_id, invoice_id, held=step == "hold", reason=reason,
                actor=identity.actor, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        except NotFound:
            raise _no_invoice(invoice_id, identity.tenant_id) from None
        except dispute_service.FollowUpRefused as error:
            if error.status != 422:
                return redirect(request, _invoice_path(invoice_id), f"Nothing done: {error}.", kind="warn")
            session.rollback()
            refusal = (error.field or "reason", str(error))
        else:
            text = "Follow-up held: the run skips this invoice." if step == "hold" else "Follow-up resumed."
            return redirect(request, _invoice_path(invoice_id), text)
    return _card_refused(request, invoice_id, identity, sent, *refusal)


# --- disputes -----------------------------------------------------------------------------------------------


@router.get("/console/follow-up/disputes")
def disputes_inbox(
    request: Request, identity: Viewer, view: str = "open", owner: str = "", page_number: int = 1
) -> Response:
    if view not in desk.DISPUTE_VIEWS:
        raise HTTPException(422, f"view: {view[:30]!r} is not one of {', '.join(desk.DISPUTE_VIEWS)}")
    if len(owner) > dispute_service.MAX_NAME:
        raise HTTPException(422, f"owner: at most {dispute_service.MAX_NAME} characters")
    page_number = max(1, min(page_number, 10_000))
    on = dispute_service.today()
    with session_scope(request.app.state.engine) as session:
        rows = desk.dispute_inbox(
            session,
            identity.tenant_id,
            view=view,  # checked against DISPUTE_VIEWS above
            on=on,
            owner=owner or None,
            limit=PAGE_SIZE + 1,
            offset=(page_number - 1) * PAGE_SIZE,
        )
        counts = desk.dispute_view_counts(session, identity.tenant_id, on=on)
        owners = desk.dispute_owners(session, identity.tenant_id)
    more = len(rows) > PAGE_SIZE
    context: dict[str, Any] = {
        "title": "Disputes",
        "tab": "disputes",
        "rows": rows[:PAGE_SIZE],
        "view": view,
        "owner": owner,
        "views": [(key, VIEW_LABELS[key], counts[key]) for key in desk.DISPUTE_VIEWS],
        "owner_choices": [(name, name) for name in sorted({*owners, *([owner] if owner else [])})],
        "today": on,
        "next_url": f"{BASE}/disputes?view={view}&owner={owner}&page_number={page_number + 1}"
        if more
        else None,
    }
    return page(request, "followup/disputes.html", context, identity=identity)


@router.get("/console/follow-up/disputes/{dispute_id}")
def dispute_page(request: Request, dispute_id: str, identity: Viewer) -> Response:
    _id(dispute_id, "dispute")
    now = dt.datetime.now(dt.UTC)
    with session_scope(request.app.state.engine) as session:
        try:
            found = dispute_service.get_dispute(session, identity.tenant_id, dispute_id)
        except dispute_service.DisputeNotFound:
            raise _no_dispute(dispute_id, identity.tenant_id) from None
        dispute = dispute_service.dispute_view(session, found, now=now)
        receiver_id = desk.invoice_receiver(session, dispute["invoice_id"])
        buyer_name = desk.invoice_buyer(session, dispute["invoice_id"])
        credit_note = desk.invoice_number(session, dispute["credit_note_invoice_id"])
    blocker = desk.credit_approval_blocker(dispute, actor=identity.actor, role=identity.role)
    on = dispute_service.local_date(now)
    context = {
        "title": f"Dispute on {dispute['invoice']['number']}",
        "tab": "disputes",
        "dispute": dispute,
        "receiver_id": receiver_id,
        "buyer_name": buyer_name,
        "credit_note": credit_note,
        "active": dispute["status"] in dispute_service.ACTIVE,
        "overdue": dispute["status"] in dispute_service.ACTIVE
        and dispute["due_date"] is not None
        and dispute["due_date"] < on.isoformat(),
        "may_write": identity.role != "viewer",
        "approval_blocker": blocker,
        "outcomes": OUTCOME_LABELS,
    }
    return page(request, "followup/dispute.html", context, identity=identity)


def _dispute_path(dispute_id: str) -> str:
    return f"{BASE}/disputes/{dispute_id}"


def _tell(
    request: Request, background: BackgroundTasks, tenant_id: str, dispute_id: str, answer_id: int | None
) -> None:
    """After the answer or resolution is committed and the page answered: e-mail the customer's portal users
    (`notify.tell_customer` decides whether they are told, and notes a failed mail on the history)."""
    engine, settings = request.app.state.engine, _settings(request)
    background.add_task(tell_customer, engine, settings, tenant_id, dispute_id, message_id=answer_id)


@router.post("/console/follow-up/disputes/{dispute_id}/messages")
async def add_message(
    request: Request,
    dispute_id: str,
    identity: Writer,
    background: BackgroundTasks,
    text: Annotated[str, Form(max_length=dispute_service.MAX_TEXT)] = "",
    side: Annotated[str, Form(max_length=20)] = "internal",
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A note (internal, or what the customer said) and/or one attachment, checked as the API checks it.
    Written on the `seller` side it is an answer: the customer is told by e-mail (`_tell`)."""
    _id(dispute_id, "dispute")
    settings = _settings(request)
    upload = None
    if attachment is not None and attachment.filename:
        data = await attachment.read(settings.max_pod_bytes + 1)
        if data:
            upload = dispute_service.AttachmentUpload(data, attachment.filename, attachment.content_type)
    with session_scope(request.app.state.engine) as session, _dispute_errors(dispute_id, identity.tenant_id):
        message = dispute_service.add_message(
            session,
            document_store(settings, request.app.state.engine),
            identity.tenant_id,
            dispute_id,
            text=text or None,
            side=side,
            attachment=upload,
            max_bytes=settings.max_pod_bytes,
            actor=identity.actor,
            now=dt.datetime.now(dt.UTC),
        )
        answer_id = message.id if message.side == "seller" else None
    if answer_id is not None:
        _tell(request, background, identity.tenant_id, dispute_id, answer_id)
    return redirect(request, _dispute_path(dispute_id), "Added to the dispute's history.")


@router.post("/console/follow-up/disputes/{dispute_id}/reply")
async def reply_to_customer(
    request: Request,
    dispute_id: str,
    identity: Writer,
    background: BackgroundTasks,
    text: Annotated[str, Form(max_length=dispute_service.MAX_TEXT)] = "",
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The seller's answer to the customer (side `seller`): unlike a note, the customer reads it in the
    portal, with its attachment, and its portal users are told by e-mail once it is saved. Who may write to
    a dispute may answer (any role but viewer)."""
    _id(dispute_id, "dispute")
    settings = _settings(request)
    upload = None
    if attachment is not None and attachment.filename:
        data = await attachment.read(settings.max_pod_bytes + 1)
        if data:
            upload = dispute_service.AttachmentUpload(data, attachment.filename, attachment.content_type)
    if not text.strip() and upload is None:
        raise HTTPException(422, "text: write the answer the customer should read")
    with session_scope(request.app.state.engine) as session, _dispute_errors(dispute_id, identity.tenant_id):
        message = dispute_service.add_message(
            session,
            document_store(settings, request.app.state.engine),
            identity.tenant_id,
            dispute_id,
            text=text or None,
            side="seller",
            attachment=upload,
            max_bytes=settings.max_pod_bytes,
            actor=identity.actor,
            now=dt.datetime.now(dt.UTC),
        )
        answer_id = message.id
    _tell(request, background, identity.tenant_id, dispute_id, answer_id)
    return redirect(request, _dispute_path(dispute_id), "Sent to the customer: it shows in their portal.")


@router.post("/console/follow-up/disputes/{dispute_id}/owner")
def change_owner(
    request: Request,
    dispute_id: str,
    identity: Writer,
    owner: Annotated[str, Form(max_length=dispute_service.MAX_NAME)] = "",
    due_date: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    _id(dispute_id, "dispute")
    changes: dict[str, Any] = {"owner": owner.strip() or None, "due_date": _day(due_date, "due_date")}
    with session_scope(request.app.state.engine) as session, _dispute_errors(dispute_id, identity.tenant_id):
        dispute_service.update_dispute(
            session, identity.tenant_id, dispute_id, changes=changes, actor=identity.actor,
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    return redirect(request, _dispute_path(dispute_id), "Owner and due date saved.")


@router.post("/console/follow-up/disputes/{dispute_id}/resolve")
def resolve(
    request: Request,
    dispute_id: str,
    identity: Writer,
    background: BackgroundTasks,
    outcome: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=dispute_service.MAX_TEXT)] = "",
    credit_amount: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """rejected / withdrawn close the dispute (follow-up resumes); credited proposes a credit for approval."""
    _id(dispute_id, "dispute")
    if outcome not in OUTCOME_LABELS:
        raise HTTPException(422, "outcome: choose rejected, withdrawn or credited")
    with session_scope(request.app.state.engine) as session, _dispute_errors(dispute_id, identity.tenant_id):
        found = dispute_service.get_dispute(session, identity.tenant_id, dispute_id)
        currency = desk.invoice_currency(session, found.invoice_id)
        amount = None
        if outcome == "credited":
            amount = form_amount(credit_amount, field="credit_amount", currency=currency)
        elif credit_amount.strip():
            raise HTTPException(422, f"credit_amount: only with the outcome credited, not {outcome}")
        dispute_service.resolve_dispute(
            session, identity.tenant_id, dispute_id, outcome=outcome, note=note or None,
            credit_amount=amount, actor=identity.actor, now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    if outcome == "credited":
        text = f"Credit of {amount} {currency} proposed; another person (credit or admin) approves it."
    else:
        text = f"Dispute {outcome}; follow-up resumes with the days paused added."
        _tell(request, background, identity.tenant_id, dispute_id, None)
    return redirect(request, _dispute_path(dispute_id), text)


@router.post("/console/follow-up/disputes/{dispute_id}/approve-credit")
def approve_credit(
    request: Request, dispute_id: str, identity: CreditController, background: BackgroundTasks
) -> Response:
    """The credit note is written and sent; the service refuses the proposer (four eyes) with a 403."""
    _id(dispute_id, "dispute")
    with session_scope(request.app.state.engine) as session:
        with _dispute_errors(dispute_id, identity.tenant_id):
            dispute = dispute_service.approve_credit(
                session, dispute_id, approver=identity.actor, approver_role=identity.role,
                tenant_id=identity.tenant_id, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
        number = desk.invoice_number(session, dispute.credit_note_invoice_id)
    _tell(request, background, identity.tenant_id, dispute_id, None)
    return redirect(
        request, _dispute_path(dispute_id), f"Credit approved: credit note {number} is on its way."
    )


# --- customers ----------------------------------------------------------------------------------------------


@router.get("/console/follow-up/customers/{receiver_id}")
def customer_page(request: Request, receiver_id: str, identity: Viewer) -> Response:
    """One customer's receivables: balance, overdue, limit and headroom, risk, disputes, promises, lateness,
    follow-up level and its notices."""
    if not 0 < len(receiver_id) <= 100:
        raise HTTPException(404, "There is no such customer.")
    on = tenant_today()
    with session_scope(request.app.state.engine) as session:
        try:
            customer = customer_view(session, identity.tenant_id, receiver_id, on=on)
        except NotFound:
            raise HTTPException(
                404, f"There is no customer {receiver_id} for tenant {identity.tenant_id}."
            ) from None
        notices = desk.notice_rows(session, identity.tenant_id, customer=receiver_id, limit=20)
        disputes = desk.dispute_inbox(
            session, identity.tenant_id, view="all", on=on, receiver_id=receiver_id, limit=PAGE_SIZE
        )
        portal = portal_block(session, identity, receiver_id)
    context = {
        "title": f"Customer {customer['name'] or receiver_id}",
        "portal": portal,
        "tab": "customers",
        "customer": customer,
        "notices": notices,
        "disputes": disputes,
        "kind_labels": KIND_LABELS,
    }
    return page(request, "followup/customer.html", context, identity=identity)


@router.get("/console/follow-up/customers")
def customers_list(
    request: Request, identity: Viewer, over_limit: str = "", page_number: int = 1
) -> Response:
    """The tenant's customers with balance, limit and headroom; optionally only those over their limit."""
    page_number = max(1, min(page_number, 10_000))
    only_over = over_limit not in ("", "0")
    with session_scope(request.app.state.engine) as session:
        rows = list_customers(
            session, identity.tenant_id, on=tenant_today(), over_limit=only_over, limit=PAGE_SIZE + 1,
            offset=(page_number - 1) * PAGE_SIZE,
        )  # fmt: skip
    more = len(rows) > PAGE_SIZE
    next_url = f"{BASE}/customers?over_limit={int(only_over)}&page_number={page_number + 1}" if more else None
    context = {
        "title": "Customers",
        "tab": "customers",
        "rows": rows[:PAGE_SIZE],
        "over_limit": only_over,
        "next_url": next_url,
    }
    return page(request, "followup/customers.html", context, identity=identity)
