"""`POST /inbound`: the one door for any file the gateway receives (`gateway.services.inbound.door`).

The file is the raw body, recognised by its bytes (the declared content type is not needed and not
trusted); the tenant is the token's. The answer says what the file was, which service took it, and that
service's own answer, as its own route gives it (`/responses`, `/bounces`, `/edi`, `/remittances`,
`/pods`; print returns and eFaktura receipts have no route of their own).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_body
from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.parsing import parse_pool
from gateway.api.views import MatchRunView, PaymentSummary, PodView, RemittanceError, View
from gateway.services.inbound.door import (
    REMITTANCES,
    InboundDoor,
    InboundFile,
    InboundRefused,
    body_limit_and_setting,
    detect,
    reader,
    receive_inbound,
)
from gateway.services.payments.intake import zip_limits
from gateway.services.payments.remittances import (
    is_statement_zip,
    read_remittance_archive,
    read_remittance_file,
)

router = APIRouter(tags=["inbound"])


# --- each service's answer, as its own route gives it -----------------------------------------------------


class StatusDocumentAnswer(View):
    """An Invoice Response, MLR or MLS: stored, linked to its delivery, applied or not (as `/responses`)."""

    id: str
    kind: str = Field(description="invoice-response, mlr or mls")
    document_id: str | None
    response_code: str | None
    referenced_document_id: str | None
    invoice_id: str | None
    delivery_id: str | None
    delivery_status: str | None
    applied: bool
    note: str | None
    duplicate: bool
    validated: bool | None


class BounceAnswer(View):
    """An e-mail delivery status notification: stored, linked, applied or not (as `/bounces`)."""

    id: str
    kind: Literal["dsn"]
    classification: str | None
    original_envelope_id: str | None
    message_id: str | None
    invoice_id: str | None
    delivery_id: str | None
    delivery_status: str | None
    attempt: int | None
    linked_by: str | None
    applied: bool
    note: str | None
    duplicate: bool
    recipients: list[dict[str, Any]]


class EdiAnswer(View):
    """An EDI file: an acknowledgement linked and applied, or a message recorded and answered (as `/edi`)."""

    id: str
    kind: str = Field(description="edi-ack, edi-message or edi-rejected")
    standard: str
    message_type: str
    interchange_ref: str
    partner_id: str | None
    status: str | None
    applied: bool
    linked: list[dict[str, Any]]
    answer: dict[str, Any] | None = Field(description="our CONTRL / 997 / 999 and its delivery")
    ack_written: str | None
    errors: list[dict[str, Any]]
    note: str | None
    duplicate: bool


class PrintReturnAnswer(View):
    """A print-house return file (receipt, production report, returned mail), stored and applied."""

    document_id: str
    kind: str | None = Field(description="receipt, production or returned")
    batch_id: str | None
    applied: int
    noted: int
    unlinked: list[str]
    repeated: bool
    rejected: str | None
    results: list[dict[str, Any]]
    note: str | None


class EfakturaReceiptAnswer(View):
    """An eFaktura receipt file (accepted / rejected per invoice), stored and applied; a consumer who
    withdrew consent or blocked the issuer has the receiver's next channel queued (`fallbacks`)."""

    document_id: str
    applied: int
    noted: int
    unlinked: list[str]
    fallbacks: list[str]
    repeated: bool
    rejected: str | None
    results: list[dict[str, Any]]


class MandatesAnswer(View):
    """Nets' AvtaleGiro agreements file applied to the tenant's mandates: how many of each change."""

    source_file: str | None
    account: str = Field(description="the payee's account the agreements are for")
    nets_date: str | None
    new: int
    updated: int
    deleted: int
    unchanged: int


class RemittanceAnswer(View):
    """A remittance file booked and its payments matched (as `/remittances`)."""

    file_id: str
    outcome: str = Field(description="accepted or duplicate")
    status: str
    format: str | None
    duplicate_payments: int
    error: RemittanceError | None = None
    matching: MatchRunView | dict[str, str] | None = Field(
        None, description="the matching run, or why it was left to the worker ({deferred})"
    )
    payments: list[PaymentSummary]


class RemittanceArchiveAnswer(View):
    """A statement zip: each member kept, booked and matched on its own (as `/remittances` answers it)."""

    archive: str | None
    members: int
    error: RemittanceError | None = None
    files: list[dict[str, Any]] = Field(description="one receipt per member, with `member` and its payments")
    matching: MatchRunView | dict[str, str] | None = None


class PodAnswer(View):
    """A proof of delivery stored and linked, or waiting with suggestions (as `/pods`)."""

    duplicate: bool
    pods: list[PodView]


class InboundReceiptView(View):
    """What the file was, which service took it, and that service's own answer."""

    filename: str | None
    format: str = Field(description="the format registry's name for what the file is (camt, dsn, invoic…)")
    kind: str = Field(description="the format's family (status-document, remittance, pod-file…)")
    service: Literal[
        "responses",
        "bounces",
        "edi",
        "print-returns",
        "remittances",
        "pods",
        "efaktura-receipts",
        "avtalegiro-mandates",
    ]
    duplicate: bool = Field(description="the same file was received before: its first receipt")
    result: (
        StatusDocumentAnswer
        | BounceAnswer
        | EdiAnswer
        | PrintReturnAnswer
        | EfakturaReceiptAnswer
        | MandatesAnswer
        | RemittanceAnswer
        | RemittanceArchiveAnswer
        | PodAnswer
    )


@router.post(
    "/inbound",
    status_code=201,
    response_model=InboundReceiptView,
    openapi_extra=raw_body_openapi(
        "application/octet-stream", "application/xml", "application/pdf", "image/jpeg", "image/png",
        "application/EDIFACT", "application/EDI-X12", "message/rfc822", "text/plain",
    ),
    responses={
        200: {
            "model": InboundReceiptView,
            "description": "the same file again: the first receipt, nothing applied or booked twice",
        },
        201: {"description": "taken by its service: stored, linked, applied or booked"},
        413: {"description": "too large for the service that takes this kind of file"},
        415: {"description": "not a file the gateway receives; `understood` lists what it takes"},
        422: {"description": "refused whole by its service (kept for inspection where it keeps them)"},
    },
)  # fmt: skip
async def post_inbound(
    request: Request,
    identity: IdentityDep,
    settings: SettingsDep,
    engine: EngineDep,
    store: DocumentStoreDep,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> JSONResponse:
    """Any file the gateway receives — status document, DSN, EDI acknowledgement or message, remittance
    file, proof of delivery, print return — recognised by its bytes and handed to the service for it."""
    body = await read_body(request, *body_limit_and_setting(settings))
    file = InboundFile(body, filename, identity.tenant_id, identity.actor, source="api")
    door = InboundDoor(engine, store, settings)
    try:
        _, route = await run_in_threadpool(detect, file)
        if len(body) <= route.limit(settings):  # (a larger one is refused unread by `receive_inbound`)
            # the CPU-heavy read in the parse pool: a slow file cannot stall the other requests (issue 18)
            if route is REMITTANCES and is_statement_zip(body):
                archive = await parse_pool(request).run(read_remittance_archive, body, zip_limits(settings))
                file = dataclasses.replace(file, archive=archive)
            elif route is REMITTANCES:
                reading = await parse_pool(request).run(read_remittance_file, body)
                file = dataclasses.replace(file, reading=reading)
            elif (read := reader(route, file, settings)) is not None:
                file = dataclasses.replace(file, parsed=await parse_pool(request).read(read))
        receipt = await run_in_threadpool(receive_inbound, door, file)
    except InboundRefused as error:
        raise ErrorAnswer(error.status, error.errors, **error.extra) from None
    if receipt.refused:
        raise ErrorAnswer(
            422, receipt.refused, format=receipt.format, service=receipt.service, receipt=receipt.as_dict()
        )
    return JSONResponse(receipt.as_dict(), status_code=200 if receipt.duplicate else 201)
