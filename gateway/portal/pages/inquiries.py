"""Inquiries and promises to pay: a customer asks about (or objects to) one of its invoices, follows the
thread the seller's team answers from the console, replies, and can say when it will pay.

Thin over `gateway.services.portal.inquiries` (the disputes and promises services seen from the customer's
side, scoped to its tenant and receiver: another customer's id is the same 404 as no such id). Every page is
for a signed-in customer (`Customer`); every POST carries the session's CSRF token (`CustomerPost`). A
refused form comes back with the field's message in the customer's language (422), never a 500. A form with
a file is bounded by its Content-Length before it is read (`max_pod_bytes` and a little for the fields).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from db.engine import session_scope
from gateway.portal.auth import Customer, CustomerPost
from gateway.portal.templating import language_of, page, redirect
from gateway.portal.texts import text
from gateway.services.downloads import document_headers
from gateway.services.followup.disputes import (
    CATEGORIES,
    MAX_REASON,
    MAX_TEXT,
    AttachmentUpload,
    FollowUpRefused,
    local_date,
    open_amount,
)
from gateway.services.outbound.documents import DocumentStoreError, document_store
from gateway.services.portal import inquiries as service
from gateway.services.portal.sessions import PortalIdentity
from gateway.settings import Settings

router = APIRouter()

#: Room for the form's fields beside the file in a multipart body.
FORM_OVERHEAD = 64 * 1024


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def bounded_body(request: Request) -> AsyncIterator[None]:
    """Before anything reads the form: a body larger than a file may be (plus the fields) is refused (413),
    and one of unknown length too (411): a browser always names the length of a form it sends. After the
    answer (or a refusal, the CSRF check's too), the form's spooled files are closed."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "the form's length is missing")
    if int(length) > _settings(request).max_pod_bytes + FORM_OVERHEAD:
        limit = _settings(request).max_pod_bytes // 1_000_000
        raise HTTPException(413, f"the file is too large: at most {limit} MB")
    try:
        yield
    finally:
        await request.close()


Bounded = Depends(bounded_body)


@contextmanager
def _not_found(request: Request, identity: PortalIdentity) -> Iterator[None]:
    """Another customer's (or no such) invoice, inquiry or attachment: the one 404 page."""
    try:
        yield
    except service.InquiryNotFound:
        raise HTTPException(404, text("not_found_text", language_of(request, identity))) from None


def _message(request: Request, identity: PortalIdentity, error: FollowUpRefused) -> str:
    """A refusal in the customer's words: the portal's text for it, else the service's reason."""
    language = language_of(request, identity)
    if isinstance(error, service.InquiryRefused):
        return text(f"inq_error_{error.key}", language, **error.values)
    return text("inq_error_other", language, reason=error.reason)


async def _upload(form: FormData, name: str = "attachment") -> AttachmentUpload | None:
    """The form's file, if one was chosen (an empty file field sends no name and no bytes)."""
    value = form.get(name)
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read()
    if not data:
        return None
    return AttachmentUpload(data, value.filename, value.content_type)


def _field(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


# --- the form on an invoice ---------------------------------------------------------------------------------


def _form_context(
    session: Session, identity: PortalIdentity, invoice_id: str, now: dt.datetime
) -> dict[str, Any]:
    invoice = service.customer_invoice(session, identity, invoice_id)
    days = service.promise_limit(session, identity)
    today = local_date(now)
    promise = service.open_promise(session, identity, invoice_id)
    current = [
        item for item in service.invoice_inquiries(session, identity, invoice_id) if item.state == "open"
    ]
    return {
        "invoice": {
            "id": invoice.id,
            "number": invoice.number,
            "currency": invoice.currency,
            "due_date": invoice.due_date,
            "open_amount": str(open_amount(invoice)),
            "credit_note": invoice.document_type == "credit_note",
        },
        "categories": CATEGORIES,
        "promise_days": days,
        "today": today.isoformat(),
        "latest": (today + dt.timedelta(days=days)).isoformat(),
        "promise": promise,
        "open_inquiry": current[0] if current else None,
        "max_reason": MAX_REASON,
    }


def _render_form(
    request: Request,
    identity: PortalIdentity,
    invoice_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    now = dt.datetime.now(dt.UTC)
    with session_scope(request.app.state.engine) as session, _not_found(request, identity):
        context = _form_context(session, identity, invoice_id, now)
    context.update(
        {
            "title": text("inq_title", language_of(request, identity), number=context["invoice"]["number"]),
            "errors": errors or {},
            "values": values or {},
            "max_mb": _settings(request).max_pod_bytes // 1_000_000,
        }
    )
    return page(request, "inquiries/form.html", context, status=status, identity=identity)


@router.get("/portal/invoices/{invoice_id}/inquiry")
def inquiry_form(request: Request, invoice_id: str, identity: Customer) -> Response:
    """Ask about the invoice (category, text, a file) or say when it will be paid."""
    return _render_form(request, identity, invoice_id)


@router.post("/portal/invoices/{invoice_id}/inquiry", dependencies=[Bounded])
async def send_inquiry(request: Request, invoice_id: str, identity: CustomerPost) -> Response:
    """`action=inquiry` opens one (or adds to the open one); `action=promise` records a promise to pay."""
    form = await request.form()
    action = _field(form, "action", 20)
    values = {
        "category": _field(form, "category", 40),
        "text": _field(form, "text", MAX_REASON + 100),
        "date": _field(form, "date", 20),
        "amount": _field(form, "amount", 40),
    }
    language = language_of(request, identity)
    now = dt.datetime.now(dt.UTC)
    try:
        if action == "promise":
            with session_scope(request.app.state.engine) as session, _not_found(request, identity):
                promise = service.promise_to_pay(
                    session, identity, invoice_id, promised_on=values["date"],
                    amount=values["amount"] or None, now=now,
                )  # fmt: skip
                amount, promised_on = promise.amount, promise.promised_on.isoformat()
                currency = service.customer_invoice(session, identity, invoice_id).currency
            notice = text("inq_promise_saved", language, amount=f"{amount} {currency}", date=promised_on)
            return redirect(request, f"/portal/invoices/{invoice_id}/inquiry", notice)
        upload = await _upload(form)
        settings = _settings(request)
        with session_scope(request.app.state.engine) as session, _not_found(request, identity):
            opened = service.open_inquiry(
                session, document_store(settings, request.app.state.engine), identity, invoice_id,
                category=values["category"], text=values["text"], attachment=upload,
                max_bytes=settings.max_pod_bytes, now=now,
            )  # fmt: skip
            dispute_id, added = opened.dispute.id, opened.added
    except FollowUpRefused as error:
        field = error.field or "text"
        field = "attachment" if field.startswith("attachment") else field
        return _render_form(
            request, identity, invoice_id,
            errors={field: _message(request, identity, error)}, values={**values, "action": action},
            status=422,
        )  # fmt: skip
    notice = text("inq_added" if added else "inq_opened", language)
    return redirect(request, f"/portal/inquiries/{dispute_id}", notice)


# --- the customer's inquiries -------------------------------------------------------------------------------


@router.get("/portal/inquiries")
def inquiries(request: Request, identity: Customer) -> Response:
    """The customer's inquiries, open ones first."""
    with session_scope(request.app.state.engine) as session:
        items = service.list_inquiries(session, identity)
    context = {
        "title": text("inquiries", language_of(request, identity)),
        "items": items,
    }
    return page(request, "inquiries/list.html", context, identity=identity)


def _render_thread(
    request: Request,
    identity: PortalIdentity,
    dispute_id: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with session_scope(request.app.state.engine) as session, _not_found(request, identity):
        thread = service.inquiry_thread(session, identity, dispute_id)
    language = language_of(request, identity)
    context = {
        "title": text("inq_thread_title", language, number=thread.invoice_number),
        "thread": thread,
        "errors": errors or {},
        "values": values or {},
        "max_text": MAX_TEXT,
        "max_mb": _settings(request).max_pod_bytes // 1_000_000,
    }
    return page(request, "inquiries/thread.html", context, status=status, identity=identity)


@router.get("/portal/inquiries/{dispute_id}")
def inquiry(request: Request, dispute_id: str, identity: Customer) -> Response:
    """One inquiry: what the customer wrote, the seller's answers, where it stands, and a reply form."""
    return _render_thread(request, identity, dispute_id)


@router.post("/portal/inquiries/{dispute_id}/messages", dependencies=[Bounded])
async def send_reply(request: Request, dispute_id: str, identity: CustomerPost) -> Response:
    """The customer's reply (text and/or a file) on its open inquiry."""
    form = await request.form()
    body = _field(form, "text", MAX_TEXT + 100)
    settings = _settings(request)
    try:
        upload = await _upload(form)
        with session_scope(request.app.state.engine) as session, _not_found(request, identity):
            service.reply(
                session, document_store(settings, request.app.state.engine), identity, dispute_id,
                text=body, attachment=upload, max_bytes=settings.max_pod_bytes, now=dt.datetime.now(dt.UTC),
            )  # fmt: skip
    except FollowUpRefused as error:
        field = "attachment" if (error.field or "").startswith("attachment") else "text"
        return _render_thread(
            request, identity, dispute_id, errors={field: _message(request, identity, error)},
            values={"text": body}, status=error.status if error.status == 409 else 422,
        )  # fmt: skip
    notice = text("inq_reply_sent", language_of(request, identity))
    return redirect(request, f"/portal/inquiries/{dispute_id}#latest", notice)


@router.get("/portal/inquiries/{dispute_id}/attachments/{message_id}")
def attachment(request: Request, dispute_id: str, message_id: str, identity: Customer) -> Response:
    """A file on the customer's own inquiry (its own or one the seller sent it), as a download (a PDF or an
    image may be shown in the browser)."""
    settings = _settings(request)
    if not message_id.isdigit() or len(message_id) > 18:
        raise HTTPException(404, text("not_found_text", language_of(request, identity)))
    with session_scope(request.app.state.engine) as session, _not_found(request, identity):
        try:
            stored, data = service.thread_attachment(
                session,
                document_store(settings, request.app.state.engine),
                identity,
                dispute_id,
                int(message_id),
            )
        except DocumentStoreError:  # lost or corrupted in the store: never handed on as if fine
            raise HTTPException(500, "the file could not be read") from None
    media_type, headers = document_headers(stored, inline=True)
    headers["Cache-Control"] = "private, no-store"
    return Response(data, media_type=media_type, headers=headers)
