"""The customer's pages: the overview, the invoice list, one invoice (facts, lines, documents as sent, proofs
of delivery, payments, reminders), its documents and PODs byte for byte, the statements and reminders it was
sent, and everything as one zip.

Routes are thin: `gateway.services.portal.customer_documents` looks everything up by the session's customer
(and an invoice link's one invoice), and its `NotFound` is the page's 404 — the same answer as for an id that
does not exist. The lists are for a signed-in customer (`Customer`); an invoice link's visitor (`Visitor`)
sees its one invoice, with its documents and PODs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import StoredDocument
from gateway.portal.auth import Customer, Visitor
from gateway.portal.templating import page
from gateway.services.downloads import content_disposition, document_headers
from gateway.services.followup.credit import today_in
from gateway.services.outbound.documents import DocumentStore, DocumentStoreError, document_store
from gateway.services.portal import customer_documents as documents
from gateway.services.portal.sessions import PortalIdentity
from gateway.settings import Settings

router = APIRouter()


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _store(request: Request) -> DocumentStore:
    return document_store(_settings(request), _engine(request))


def _context(request: Request, identity: PortalIdentity, **values: Any) -> dict[str, Any]:
    """What every one of these pages has: the navigation, and the pay form's providers."""
    return {
        "providers": documents.configured_providers(_settings(request), identity.tenant_id),
        **values,
    }


def _not_found(error: LookupError) -> HTTPException:
    return HTTPException(404, str(error))


def _file(stored: StoredDocument, data: bytes) -> Response:
    """A stored file exactly as kept: a PDF (or image) shown in the browser, anything else downloaded."""
    media_type, headers = document_headers(stored, inline=True)
    headers["Cache-Control"] = "private, no-store"
    return Response(data, media_type=media_type, headers=headers)


@router.get("/portal/")
def overview(request: Request, identity: Customer) -> Response:
    """What the customer owes per currency, what is overdue and due next, the open invoices with a pay
    form, and the last paid ones."""
    today = today_in()
    with session_scope(_engine(request)) as session:
        shown = documents.customer_overview(session, identity, today=today)
    return page(
        request,
        "invoices/overview.html",
        _context(
            request,
            identity,
            totals=shown.totals,
            open_rows=shown.open_rows,
            open_count=shown.open_count,
            paid_rows=shown.paid_rows,
            today=today,
        ),
        identity=identity,
    )


@router.get("/portal/invoices")
def invoice_list(
    request: Request,
    identity: Customer,
    show: Literal["open", "paid", "all"] = "all",
    after: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The customer's invoices and credit notes: open, paid or all, a page at a time ("show more" gives
    `after`, the last invoice shown)."""
    today = today_in()
    with session_scope(_engine(request)) as session:
        try:
            listed = documents.invoice_list_page(session, identity, today=today, show=show, after=after)
        except documents.NotFound as error:
            raise _not_found(error) from None
    more = f"/portal/invoices?{urlencode({'show': show, 'after': listed.after})}" if listed.after else None
    return page(
        request,
        "invoices/list.html",
        _context(request, identity, rows=listed.rows, show=show, more=more, first_page=after is None),
        identity=identity,
    )


@router.get("/portal/invoices/{invoice_id}")
def invoice(request: Request, invoice_id: str, identity: Visitor) -> Response:
    """One invoice: facts, lines, documents as sent, proofs of delivery, payments applied, reminders about
    it, the pay form and the way to ask about it."""
    with session_scope(_engine(request)) as session:
        try:
            shown = documents.invoice_page(session, identity, invoice_id, today=today_in())
        except documents.NotFound as error:
            raise _not_found(error) from None
    return page(request, "invoices/invoice.html", _context(request, identity, page=shown), identity=identity)


@router.get("/portal/invoices/{invoice_id}/documents/{document_id}")
def invoice_document(request: Request, invoice_id: str, document_id: str, identity: Visitor) -> Response:
    """A document the invoice was sent as, byte for byte (a PDF shown, XML downloaded)."""
    with session_scope(_engine(request)) as session:
        try:
            stored, data = documents.invoice_document(
                session, _store(request), identity, invoice_id, document_id
            )
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
        except LookupError as error:
            raise _not_found(error) from None
    return _file(stored, data)


@router.get("/portal/invoices/{invoice_id}/pods/{pod_id}")
def invoice_pod(request: Request, invoice_id: str, pod_id: str, identity: Visitor) -> Response:
    """A proof of delivery of the invoice, its file as received."""
    with session_scope(_engine(request)) as session:
        try:
            stored, data = documents.invoice_pod(session, _store(request), identity, invoice_id, pod_id)
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
        except LookupError as error:
            raise _not_found(error) from None
    return _file(stored, data)


def _notices(request: Request, identity: PortalIdentity, *, statements: bool) -> Response:
    with session_scope(_engine(request)) as session:
        notices = documents.customer_notices(session, identity, statements=statements)
    return page(
        request,
        "invoices/notices.html",
        _context(request, identity, notices=notices, statements=statements),
        identity=identity,
    )


def _notice_file(request: Request, identity: PortalIdentity, notice_id: str, *, statements: bool) -> Response:
    with session_scope(_engine(request)) as session:
        try:
            stored, data = documents.notice_document(
                session, _store(request), identity, notice_id, statements=statements
            )
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
        except LookupError as error:
            raise _not_found(error) from None
    return _file(stored, data)


@router.get("/portal/statements")
def statements(request: Request, identity: Customer) -> Response:
    """The account statements sent to the customer."""
    return _notices(request, identity, statements=True)


@router.get("/portal/statements/{notice_id}.pdf")
def statement_file(request: Request, notice_id: str, identity: Customer) -> Response:
    return _notice_file(request, identity, notice_id, statements=True)


@router.get("/portal/reminders")
def reminders(request: Request, identity: Customer) -> Response:
    """The payment reminders (and notices of collection) sent to the customer."""
    return _notices(request, identity, statements=False)


@router.get("/portal/reminders/{notice_id}.pdf")
def reminder_file(request: Request, notice_id: str, identity: Customer) -> Response:
    return _notice_file(request, identity, notice_id, statements=False)


@router.get("/portal/download.zip")
def download_zip(request: Request, identity: Customer) -> Response:
    """Everything of the customer's as one zip (documents as sent, PODs, statements, reminders, index.csv),
    streamed."""
    with session_scope(_engine(request)) as session:
        try:
            entries = documents.zip_plan(session, identity)
        except documents.TooLarge as error:
            raise HTTPException(413, str(error)) from None
    name = f"invoices-{identity.receiver_id}-{today_in().isoformat()}.zip"
    # Streamed a file at a time (a customer with thousands of documents is not held in memory); a store
    # that fails midway breaks the download off, as a broken connection would.
    return StreamingResponse(
        documents.zip_stream(_store(request), entries),
        media_type="application/zip",
        headers={
            "Content-Disposition": content_disposition(name, fallback="invoices.zip"),
            "Cache-Control": "private, no-store",
        },
    )
