"""Invoices: the search (one box plus filters, keyset pages), one invoice's page (its facts, the timeline of
every delivery event, each document as it was sent, its PODs and payments), and the documents themselves.

The search is `GET /invoices`'s service (`search.search_invoices`); the invoice is found the API's way
(`lookup.find_invoice`: its id or its number, for the signed-in tenant only), and a stored document is
answered with the API's headers (`downloads.document_headers`), inline only for types a browser shows
without running anything.
"""

from __future__ import annotations

from typing import Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from channels import known_channels
from db.engine import session_scope
from gateway.console.auth import Viewer
from gateway.console.templating import page, redirect
from gateway.services.downloads import document_headers
from gateway.services.followup.holds import hold_note
from gateway.services.outbound import search as search_service
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentStoreError, document_store, load_document
from gateway.services.outbound.invoice_dossier import empty_follow_up, follow_up_of, invoice_dossier
from gateway.services.outbound.lookup import AmbiguousReference, find_invoice
from gateway.services.tenancy.console_users import ConsoleIdentity
from gateway.settings import Settings
from outbox.states import DeliveryStatus
from schemas.canonical import DocumentType

router = APIRouter()

PAGE_SIZE = 50

#: The search form's fields and how the page names them (in messages too).
FIELD_LABELS = {
    "q": "Search",
    "status": "Delivery status",
    "channel": "Channel",
    "payment_status": "Payment status",
    "issued_from": "Issued from",
    "issued_to": "Issued to",
    "due_from": "Due from",
    "due_to": "Due to",
    "amount": "Amount",
    "amount_min": "Amount from",
    "amount_max": "Amount to",
    "since": "Changed since",
    "number": "Number",
    "buyer": "Buyer",
    "buyer_id": "Buyer org. no.",
    "receiver_id": "Receiver",
    "kid": "KID",
    "sort": "Sort",
    "cursor": "Page",
}
SORT_CHOICES = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("due_date", "Due date, earliest first"),
    ("-due_date", "Due date, latest first"),
    ("-issue_date", "Issue date, latest first"),
    ("issue_date", "Issue date, earliest first"),
    ("-amount", "Amount, largest first"),
    ("amount", "Amount, smallest first"),
    ("number", "Number, A–Z"),
    ("-number", "Number, Z–A"),
]
PAYMENT_CHOICES = [(value, value.replace("_", " ")) for value in get_args(search_service.PaymentStatus)]
STATUS_CHOICES = [(status.value, status.value) for status in DeliveryStatus]


def _described(search: search_service.InvoiceSearch) -> str:
    """What was searched, in words (“midnattsol” and payment status “paid”): for the results line and the
    empty state. The order is no filter and is left out."""
    parts = [f"“{search.q.strip()}”"] if search.q and search.q.strip() else []
    for name, value in search.model_dump(exclude_defaults=True, exclude={"q", "sort"}).items():
        if value in (None, [], ""):
            continue
        shown = " or ".join(str(item) for item in value) if isinstance(value, list) else str(value)
        parts.append(f"{FIELD_LABELS.get(name, name).lower()} “{shown.replace('_', ' ')}”")
    return " and ".join(parts)


def _form_values(request: Request) -> dict[str, str]:
    """The form as typed (first value of each field), to fill it in again."""
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        values.setdefault(name, value)
    return values


@router.get("/console/invoices")
def search_invoices(request: Request, identity: Viewer) -> Response:
    """The search: a bad field is a 400 page naming it (with the form kept as typed), never a 500."""
    values = _form_values(request)
    context: dict[str, Any] = {
        "title": "Invoices",
        "form": values,
        "field_labels": FIELD_LABELS,
        "sort_choices": SORT_CHOICES,
        "status_choices": STATUS_CHOICES,
        "payment_choices": PAYMENT_CHOICES,
        "channel_choices": [(name, name) for name in known_channels()],
        "error": None,
        "results": None,
        "searched": "",
        "next_url": None,
        "first_url": None,
    }
    cursor = values.get("cursor") or None
    try:
        search = search_service.search_from_form(request.query_params.multi_items())
        with session_scope(request.app.state.engine) as session:
            found = search_service.search_invoices(
                session, identity.tenant_id, search, cursor=cursor, limit=PAGE_SIZE
            )
    except search_service.InvalidSearch as error:
        label = FIELD_LABELS.get(error.field, error.field)
        context["error"] = {"field": error.field, "label": label, "reason": error.reason}
        return page(request, "invoices/search.html", context, identity=identity, status=400)
    typed = (search.q or "").strip()
    if typed and cursor is None and len(found.items) == 1 and found.next_cursor is None:
        [only] = found.items
        if typed in (only["number"], only["id"]):  # a number typed in full: straight to that invoice
            return redirect(
                request,
                f"/console/invoices/{only['id']}",
                f"{only['number']} is the only invoice numbered so.",
            )
    context["results"] = found.items
    context["searched"] = _described(search)
    if found.next_cursor is not None:
        context["next_url"] = _page_link(request, found.next_cursor)
    if cursor is not None:
        context["first_url"] = _page_link(request, None)
    return page(request, "invoices/search.html", context, identity=identity)


def _page_link(request: Request, cursor: str | None) -> str:
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != "cursor" and value]
    if cursor is not None:
        kept.append(("cursor", cursor))
    return request.url.path + ("?" + urlencode(kept) if kept else "")


@router.get("/console/invoices/{reference}")
def invoice_page(request: Request, reference: str, identity: Viewer) -> Response:
    """One invoice by its id or number; another tenant's is not found; a number two documents share lists
    both to choose from."""
    return render_invoice_page(request, reference, identity)


def render_invoice_page(
    request: Request,
    reference: str,
    identity: ConsoleIdentity,
    *,
    card: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The invoice page; `card` is what a refused follow-up form sent and why (shown in its card, with
    `status` 422), so a mistake is said beside the field rather than on an error page."""
    settings: Settings = request.app.state.settings
    with session_scope(request.app.state.engine) as session:
        try:
            record = find_invoice(session, identity.tenant_id, reference)
        except NotFound:
            raise HTTPException(
                404, f"There is no invoice {reference} for tenant {identity.tenant_id}."
            ) from None
        except AmbiguousReference as error:
            candidates = [candidate.as_dict() for candidate in error.candidates]
            return page(
                request,
                "invoices/ambiguous.html",
                {"title": f"Which {reference}?", "reference": reference, "candidates": candidates},
                identity=identity,
                status=409,
            )
        store = document_store(settings, request.app.state.engine)
        dossier = invoice_dossier(session, identity.tenant_id, record, store=store)
        follow_up = follow_up_of(session, record)
        hold = hold_note(session, record.id) if follow_up and follow_up["held"] else None
    facts = dossier.facts
    may_promise = identity.role != "viewer" and record.document_type != DocumentType.CREDIT_NOTE.value
    if follow_up is None and may_promise:  # nothing yet, but a person may start: the card's forms
        follow_up = empty_follow_up()
    return page(
        request,
        "invoices/invoice.html",
        {
            "title": f"{facts['kind'].capitalize()} {record.number}",
            "record": record,
            "facts": facts,
            "invoice_id": record.id,
            "invoice_number": record.number,
            "deliveries": dossier.deliveries,
            "timeline": dossier.timeline,
            "documents": dossier.documents,
            "pdf": dossier.shown_pdf,
            "pods": dossier.pods,
            "payment": dossier.payment,
            "tolerated": dossier.tolerated,
            "profile": dossier.profile,
            "consumer": dossier.consumer,
            "mandate": dossier.mandate,
            "follow_up": follow_up,
            "follow_up_hold": hold,
            "follow_up_forms": {
                "promise": may_promise,
                "hold": identity.may("payments"),
                "sent": (card or {}).get("sent", {}),
                "errors": (card or {}).get("errors", {}),
            },
        },
        identity=identity,
        status=status,
    )


@router.get("/console/documents/{document_id}")
def document(request: Request, document_id: str, identity: Viewer, download: str | None = None) -> Response:
    """A stored document of the tenant exactly as kept: shown in the page when its type is safe to show
    (a PDF, an image, plain text), else, or with `?download=1`, as a download."""
    settings: Settings = request.app.state.settings
    with session_scope(request.app.state.engine) as session:
        try:
            store = document_store(settings, request.app.state.engine)
            stored, data = load_document(session, store, document_id, identity.tenant_id)
        except DocumentStoreError as error:  # lost or corrupted in the store: never handed on as if fine
            raise HTTPException(500, str(error)) from None
        except LookupError:
            raise HTTPException(
                404, f"There is no document {document_id} for tenant {identity.tenant_id}."
            ) from None
    media_type, headers = document_headers(stored, inline=download in (None, "", "0"))
    headers["Cache-Control"] = "private, no-store"
    return Response(data, media_type=media_type, headers=headers)
