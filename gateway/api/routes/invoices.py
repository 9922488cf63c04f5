"""Invoices: push one (canonical JSON, EHF / PEPPOL BIS UBL or UN/CEFACT CII) or many, find them, read one,
resend or correct it. Wherever a route names an invoice, its number does as well as its id
(`lookup.find_invoice`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from channels import ChannelUnavailable, UnknownChannel
from gateway.api.bodies import XML_CONTENT_TYPES, content_type, read_body, require_json
from gateway.api.deps import EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.api.requests import CorrectionRequest, InvoiceResendRequest
from gateway.api.views import CorrectedInvoiceView, InvoiceList, InvoiceView, ResentDeliveryView
from gateway.samples import sample_invoice_json
from gateway.services.outbound import corrections
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound import resend as resend_service
from gateway.services.outbound import search as search_service
from gateway.services.outbound.intake import IntakeItem, accept_invoices, ubl_intake_data
from gateway.services.outbound.lookup import find_invoice
from mappings.base import FormatError
from mappings.invoice.canonical_json import InvoiceValidationError, loads_exact

router = APIRouter()

_EXAMPLE = sample_invoice_json(1)
_INVOICE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}, "example": _EXAMPLE},
            "application/xml": {
                "schema": {
                    "type": "string",
                    "description": "EHF 3.0 / PEPPOL BIS 3 UBL Invoice, or UN/CEFACT CII "
                    "CrossIndustryInvoice (XRechnung CII, Factur-X / ZUGFeRD XML)",
                }
            },
        },
    }
}
_BULK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
                "example": [_EXAMPLE, sample_invoice_json(2)],
            }
        },
    }
}


async def _json_body(request: Request, limit: int, setting: str = "GATEWAY_MAX_BODY_BYTES") -> Any:
    """The body as JSON with exact decimals (never through float); a 400 naming where it broke.

    Read in a thread, not in the parse pool (issue 18): `json`'s C scanner is bounded (25 MB at most,
    `loads_exact`) and fast — 0.35 s of CPU for 25 MB of invoices — while the parsed invoices are about as
    large as the text, and unpickling them in the API process would cost more (0.45 s) than parsing did.
    """
    require_json(request)
    body = await read_body(request, limit, setting)
    try:
        return await run_in_threadpool(loads_exact, body)
    except FormatError as error:
        raise ErrorAnswer(400, [error.as_dict()]) from None


async def _invoice_body(request: Request, limit: int) -> Any:
    """One invoice as the intake takes it: canonical JSON, or UBL or CII as application/xml or text/xml."""
    if content_type(request) not in XML_CONTENT_TYPES:
        return await _json_body(request, limit)
    body = await read_body(request, limit)
    try:
        # lxml and the UBL mapping in the parse pool: a slow file cannot stall the other requests (issue 18)
        return await parse_pool(request).run(ubl_intake_data, body)
    except InvoiceValidationError as error:
        raise ErrorAnswer(422, error.errors) from None
    except FormatError as error:
        raise ErrorAnswer(400, [error.as_dict()]) from None


@router.post(
    "/invoices",
    tags=["invoices"],
    openapi_extra=_INVOICE_BODY,
    status_code=201,
    responses={
        200: {"description": "a repeat: the first result"},
        409: {"description": "conflict"},
        422: {"description": "invalid; errors name field and EN 16931 rule"},
    },
)
async def post_invoice(
    request: Request,
    identity: IdentityDep,
    settings: SettingsDep,
    engine: EngineDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    data = await _invoice_body(request, settings.max_body_bytes)
    if not isinstance(data, dict):
        raise ErrorAnswer.one(422, "body", "expected one invoice object; use /invoices:bulk")
    [result] = await run_in_threadpool(
        accept_invoices,
        engine,
        identity.tenant_id,
        [IntakeItem(data, idempotency_key)],
        actor=identity.actor,
        default_channel=settings.default_channel,
    )
    headers = {"Location": f"/invoices/{result.invoice_id}"} if result.invoice_id else None
    return JSONResponse(result.as_dict(), status_code=result.http_status, headers=headers)


@router.post(
    "/invoices:bulk",
    tags=["invoices"],
    openapi_extra=_BULK_BODY,
    responses={200: {"description": "one result per item, in order"}},
)
async def post_invoices_bulk(
    request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
) -> JSONResponse:
    data = await _json_body(request, settings.max_body_bytes * 4, "4 × GATEWAY_MAX_BODY_BYTES")
    if isinstance(data, dict) and isinstance(data.get("invoices"), list):
        data = data["invoices"]
    if not isinstance(data, list):
        raise ErrorAnswer.one(422, "body", "expected a JSON array of invoices")
    if len(data) > settings.max_bulk_items:
        raise ErrorAnswer.one(
            413, "body", f"{len(data)} invoices; at most {settings.max_bulk_items} per request"
        )
    results = await run_in_threadpool(
        accept_invoices,
        engine,
        identity.tenant_id,
        [IntakeItem(item) for item in data],
        actor=identity.actor,
        default_channel=settings.default_channel,
    )
    summary: dict[str, int] = {}
    for result in results:
        summary[result.outcome] = summary.get(result.outcome, 0) + 1
    return JSONResponse({"summary": summary, "results": [r.as_dict() for r in results]})


class InvoiceSearchQuery(search_service.InvoiceSearch):
    """The search's filters and order, and which page."""

    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="from the previous page's `next`; unset: the first page",
    )
    limit: int = Field(50, ge=1, le=500, description="invoices per page")


@router.get("/invoices", tags=["invoices"], responses={400: {"description": "a cursor of another search"}})
def list_invoices(
    query: Annotated[InvoiceSearchQuery, Query()],
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
) -> InvoiceList:
    """Find the tenant's invoices by number, buyer, KID, amount, dates, delivery or payment status, or all
    of these in one box (`q`); newest first unless `sort` says otherwise. Follow `next` for more."""
    search = search_service.InvoiceSearch.model_validate(query.model_dump(exclude={"cursor", "limit"}))
    try:
        page = search_service.search_invoices(
            session, identity.tenant_id, search, cursor=query.cursor, limit=query.limit
        )
    except search_service.InvalidSearch as error:
        raise ErrorAnswer.one(400, f"query.{error.field}", error.reason) from None
    next_link = None
    if page.next_cursor is not None:
        kept = [(name, value) for name, value in request.query_params.multi_items() if name != "cursor"]
        next_link = f"{request.url.path}?{urlencode([*kept, ('cursor', page.next_cursor)])}"
    return InvoiceList.model_validate({"items": page.items, "next": next_link})


@router.get("/invoices/{invoice_id}", tags=["invoices"])
def get_invoice(invoice_id: str, identity: IdentityDep, session: SessionDep) -> InvoiceView:
    """One invoice by its id or number, with every delivery and its history, its PODs and payments."""
    record = find_invoice(session, identity.tenant_id, invoice_id)
    return InvoiceView.model_validate(delivery_service.invoice_view(session, identity.tenant_id, record.id))


@router.post("/invoices/{invoice_id}/resend", tags=["deliveries"], status_code=202)
def resend_invoice(
    invoice_id: str, identity: IdentityDep, session: SessionDep, body: InvoiceResendRequest | None = None
) -> ResentDeliveryView:
    """Send the invoice again (its latest delivery, or the one on `channel`), with its PODs if asked; its
    other deliveries still waiting are named (`warnings`), or cancelled with `cancel_others`."""
    body = body or InvoiceResendRequest()
    record = find_invoice(session, identity.tenant_id, invoice_id)
    try:
        resent = resend_service.resend_invoice(
            session,
            identity.tenant_id,
            record.id,
            actor=identity.actor,
            reason=body.reason,
            with_pod=body.with_pod,
            channel=body.channel,
            address=body.to,
        )
    except resend_service.ResendRefused as error:
        raise HTTPException(409, str(error)) from None
    except (UnknownChannel, ChannelUnavailable) as error:
        raise HTTPException(422, str(error)) from None
    siblings = resend_service.settle_siblings(
        session, resent, actor=identity.actor, reason=body.reason, cancel_others=body.cancel_others
    )
    return ResentDeliveryView.model_validate(
        {**delivery_service.delivery_view(resent), **resend_service.sibling_report(siblings)}
    )


@router.post("/invoices/{invoice_id}/corrections", tags=["deliveries"])
def correct_invoice(
    invoice_id: str, body: CorrectionRequest, identity: IdentityDep, session: SessionDep
) -> CorrectedInvoiceView:
    """Correct the buyer's address, e-mail or endpoint after a failed delivery; `resend` sends again.

    Only the deliveries on the corrected channel (and on channels no buyer field addresses) are touched;
    `correction.resend_target` names the delivery a resend goes to, `warnings` the invoice's other
    deliveries still waiting (cancelled with `cancel_others`)."""
    record = find_invoice(session, identity.tenant_id, invoice_id)
    try:
        correction = corrections.correct_and_resend(
            session,
            identity.tenant_id,
            record.id,
            actor=identity.actor,
            reason=body.reason,
            buyer_address=body.buyer_address,
            buyer_email=body.buyer_email,
            buyer_endpoint=body.buyer_endpoint,
            resend=body.resend,
            cancel_others=body.cancel_others,
        )
    except corrections.CorrectionInvalid as error:
        raise ErrorAnswer(422, error.errors) from None  # nothing was written; the session rolls back
    except (corrections.CorrectionRefused, resend_service.ResendRefused) as error:
        raise HTTPException(409, str(error)) from None
    view = delivery_service.invoice_view(session, identity.tenant_id, record.id)
    return CorrectedInvoiceView.model_validate({**view, "correction": correction.as_dict()})
