"""Proofs of delivery: receive one as a file, list and read them, link them to invoices by hand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import content_type, raw_body_openapi, read_family_body
from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit, Offset
from gateway.api.parsing import parse_pool
from gateway.api.requests import PodLinkRequest
from gateway.api.views import PodPage, PodView
from gateway.services.downloads import content_disposition, safe_media_type
from gateway.services.inbound import pods as pod_service
from gateway.services.outbound.documents import DocumentStoreError, load_document
from gateway.services.outbound.lookup import find_invoice

router = APIRouter(tags=["proof of delivery"])

ReferenceQuery = Annotated[list[str] | None, Query()]


def _pod_view(session: Session, tenant_id: str, pod_id: str) -> PodView:
    return PodView.model_validate(
        pod_service.pod_view(session, pod_service.get_pod(session, tenant_id, pod_id))
    )


@router.post(
    "/pods",
    status_code=201,
    openapi_extra=raw_body_openapi(
        "application/pdf", "image/jpeg", "image/png", "application/EDIFACT", "application/EDI-X12"
    ),
    responses={
        200: {"description": "the same file again: the first receipt"},
        201: {
            "description": "stored and linked (or waiting unlinked with suggestions); an IFTSTA / 214 file "
            "of several interchanges: the delivered shipments of every interchange that reads, one refused "
            "on its own named in `warnings`"
        },
        413: {"description": "too large"},
        415: {"description": "not a PDF, JPEG, PNG, IFTSTA or X12 214 (by content and Content-Type)"},
        422: {"description": "a bad file name or metadata, or a broken / oversized document"},
    },
)
async def post_pod(
    request: Request,
    identity: IdentityDep,
    settings: SettingsDep,
    engine: EngineDep,
    store: DocumentStoreDep,
    filename: str | None = None,
    signer_name: str | None = None,
    signed_at: str | None = None,
    place: str | None = None,
    order_number: ReferenceQuery = None,
    delivery_note: ReferenceQuery = None,
    shipment_id: ReferenceQuery = None,
    invoice_number: ReferenceQuery = None,
) -> JSONResponse:
    """A proof of delivery as the raw body; its metadata in the query (each reference may repeat)."""
    media_type = content_type(request)
    if media_type not in pod_service.POD_CONTENT_TYPES:
        raise ErrorAnswer.one(
            415,
            "content_type",
            f"{media_type!r} is not accepted; send application/pdf, image/jpeg, image/png, "
            "application/EDIFACT or application/EDI-X12",
        )
    named = {
        "order_numbers": order_number,
        "delivery_notes": delivery_note,
        "shipment_ids": shipment_id,
        "invoice_numbers": invoice_number,
    }
    references = {kind: values for kind, values in named.items() if values}
    try:
        if filename is not None:
            pod_service.check_filename(filename)
        when = pod_service.parse_signed_at(signed_at)
        try:
            body = await read_family_body(request, settings, "pods")
        except HTTPException as error:
            raise pod_service.PodRefused("content", str(error.detail), status=error.status_code) from None
        # the CPU-heavy check (a PDF's pages, an image's header, an IFTSTA / 214) in the parse pool (issue 18)
        examined = await parse_pool(request).read(
            pod_service.examine, body, media_type_hint=media_type, max_bytes=settings.max_pod_bytes
        )
        receipt = await run_in_threadpool(
            lambda: pod_service.receive_pod(
                engine, store, tenant_id=identity.tenant_id, data=body, filename=filename,
                media_type_hint=media_type, signer_name=signer_name, signed_at=when, place=place,
                references=references, source="api", actor=identity.actor, max_bytes=settings.max_pod_bytes,
                examined=examined,
            )
        )  # fmt: skip
    except pod_service.PodRefused as error:
        raise ErrorAnswer(error.status, [error.as_dict()]) from None
    headers = {"Location": f"/pods/{receipt.pod_ids[0]}"}
    return JSONResponse(receipt.as_dict(), status_code=200 if receipt.duplicate else 201, headers=headers)


@router.get("/pods")
def get_pods(
    identity: IdentityDep,
    session: SessionDep,
    linked: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PodPage:
    """The tenant's proofs of delivery, newest first; `linked=false` is the queue to work through."""
    found = pod_service.list_pods(session, identity.tenant_id, linked, limit=limit, offset=offset)
    items = [pod_service.pod_view(session, pod) for pod in found]
    return PodPage.model_validate({"items": items, "limit": limit, "offset": offset})


@router.get("/pods/{pod_id}")
def get_pod(pod_id: str, identity: IdentityDep, session: SessionDep) -> PodView:
    """One POD with its links (invoice, by what, who, when), suggestions and stored file."""
    return _pod_view(session, identity.tenant_id, pod_id)


@router.get("/pods/{pod_id}/content")
def get_pod_content(
    pod_id: str, identity: IdentityDep, session: SessionDep, store: DocumentStoreDep
) -> Response:
    """The file as received (checked against its SHA-256 on the way out)."""
    try:
        pod = pod_service.get_pod(session, identity.tenant_id, pod_id)
        if pod.document_id is None:
            raise pod_service.NotFound(f"proof of delivery {pod_id} has no stored file")
        document, data = load_document(session, store, pod.document_id, identity.tenant_id)
    except DocumentStoreError as error:
        raise HTTPException(500, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    disposition = content_disposition(document.filename, fallback=f"pod-{pod_id}")
    return Response(
        data, media_type=safe_media_type(document.media_type), headers={"Content-Disposition": disposition}
    )


@router.post("/pods/{pod_id}/links", status_code=201)
def post_pod_link(pod_id: str, body: PodLinkRequest, identity: IdentityDep, session: SessionDep) -> PodView:
    """An operator links a POD to an invoice (answered with the POD and all its links)."""
    invoice_id = find_invoice(session, identity.tenant_id, body.invoice_id).id  # its id or number
    pod_service.link_pod(session, identity.tenant_id, pod_id, invoice_id, identity.actor)
    return _pod_view(session, identity.tenant_id, pod_id)


@router.delete("/pods/{pod_id}/links/{invoice_id}")
def delete_pod_link(pod_id: str, invoice_id: str, identity: IdentityDep, session: SessionDep) -> PodView:
    """Remove a link; a POD left with none goes back to the unlinked queue with fresh suggestions."""
    invoice_id = find_invoice(session, identity.tenant_id, invoice_id).id  # its id or number
    pod_service.unlink_pod(session, identity.tenant_id, pod_id, invoice_id, identity.actor)
    return _pod_view(session, identity.tenant_id, pod_id)
