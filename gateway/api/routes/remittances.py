"""Remittance files: receive one (its payments booked at once, matched right after the answer or, with
`?wait=true`, before it), list them, read one back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from gateway.api.bodies import raw_body_openapi, read_family_body
from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit
from gateway.api.parsing import parse_pool
from gateway.api.views import RemittanceFileList, RemittanceFileWithPayments
from gateway.services.downloads import content_disposition
from gateway.services.outbound.documents import DocumentStoreError
from gateway.services.payments import matching_runs as payment_service
from gateway.services.payments import remittances as remittance_service
from gateway.services.payments.intake import (
    RemittanceIntake,
    RemittanceUpload,
    match_after_answer,
    receive_and_match,
    zip_limits,
)
from gateway.services.payments.remittances import (
    is_statement_zip,
    read_remittance_archive,
    read_remittance_file,
)

router = APIRouter(tags=["payments"])


@router.post(
    "/remittances",
    status_code=201,
    openapi_extra=raw_body_openapi(
        "application/xml", "text/plain", "application/EDIFACT", "application/EDI-X12",
        "application/octet-stream",
    ),
    responses={
        200: {"description": "the same file again: the first receipt, nothing booked twice"},
        201: {
            "description": "read whole; its payments booked (`new`) and matched right after this answer "
            "(`matching: {\"queued\": …}`; `GET /payments?file_id=` shows the decisions), or before it with "
            "`?wait=true` (`matching` is the run's report, each payment's status its decision). A statement "
            "zip (several bank files in one .zip): each member read, kept and booked on its own — `files` "
            "holds one receipt per member. A REMADV / 820 file of several interchanges: one file with the "
            "payments of every interchange that reads; one refused on its own is named in `warnings`"
        },
        413: {"description": "larger than GATEWAY_MAX_REMITTANCE_BYTES (the answer names the limit)"},
        422: {
            "description": "refused whole: the field and the reason; kept for inspection unless the tenant's "
            "quota for refused files is full (`kept: false` and a note say so); a statement zip refused "
            "whole (a zip bomb, a path in a member name, a nested zip, too many or encrypted members: the "
            "field names the member), or whose members were all refused; an EDI file none of whose "
            "interchanges reads (the first one's refusal, naming it)"
        },
    },
)  # fmt: skip
async def post_remittance(
    request: Request,
    identity: IdentityDep,
    settings: SettingsDep,
    engine: EngineDep,
    store: DocumentStoreDep,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    match: Annotated[bool, Query(description="false: booked `new` and not matched now")] = True,
    wait: Annotated[
        bool, Query(description="true: matched before the answer, the decisions in it (slower)")
    ] = False,
) -> JSONResponse:
    """A remittance file as the raw body (camt.053/054, OCR giro, REMADV, X12 820, Invoice Response).

    The answer comes once the file is kept and its payments booked `new`; matching runs right after it
    (under the tenant's matching lease: when another run holds it, or the process stops first, the worker's
    periodic matching takes the payments, never lost). `?wait=true` matches before answering, as a caller
    that wants the decisions in the answer asks; `?match=false` books without matching now."""
    try:
        remittance_service.check_remittance_filename(filename)  # before the body is read
    except remittance_service.RemittanceNameRefused as error:
        raise ErrorAnswer.one(422, error.field, error.reason) from None
    body = await read_family_body(request, settings, "remittances")
    # the CPU-heavy read in the parse pool: a slow file cannot stall the other requests (issue 18)
    limits = zip_limits(settings)
    if is_statement_zip(body):
        archive = await parse_pool(request).run(read_remittance_archive, body, limits)
        upload = RemittanceUpload(body, filename, archive=archive)
    else:
        upload = RemittanceUpload(body, filename, await parse_pool(request).run(read_remittance_file, body))
    intake = await run_in_threadpool(
        lambda: receive_and_match(
            engine, store, [upload], tenant_id=identity.tenant_id,
            source="api", actor=identity.actor, max_bytes=settings.max_remittance_bytes, match=match,
            refused_quota_bytes=settings.refused_remittance_quota_bytes, limits=limits, wait=wait,
        )
    )  # fmt: skip
    after = BackgroundTask(match_after_answer, engine, identity.tenant_id) if intake.matching_queued else None
    if intake.archives:
        return _archive_answer(intake, after)
    [received] = intake.files
    receipt = received.receipt
    if receipt.status == "rejected":
        reason = receipt.reason or "refused"
        kept = {} if receipt.kept else {"kept": False, "note": receipt.note}
        raise ErrorAnswer.one(
            422,
            receipt.error_field or "file",
            reason,
            file_id=receipt.file_id,
            outcome=receipt.outcome,
            **kept,
        )
    status = 200 if receipt.outcome == "duplicate" else 201
    headers = {"Location": f"/remittances/{receipt.file_id}"}
    return JSONResponse(intake.file_answer(), status_code=status, headers=headers, background=after)


def _archive_answer(intake: RemittanceIntake, after: BackgroundTask | None) -> JSONResponse:
    """A statement zip's answer: 422 when the archive was refused whole or no member was taken (each
    member's error listed), else 201 (200 when every member was a repeat) with one receipt per member."""
    [archive] = intake.archives
    if archive.refused is not None:
        [refused] = intake.files
        receipt = refused.receipt
        kept = {} if receipt.kept else {"kept": False, "note": receipt.note}
        raise ErrorAnswer.one(
            422, archive.error_field or "zip", archive.error_reason or "refused", file_id=receipt.file_id,
            outcome=receipt.outcome, archive=archive.archive, **kept,
        )  # fmt: skip
    outcomes = [received.receipt.outcome for received in intake.files]
    answer = intake.archive_answer()
    if "accepted" not in outcomes and "rejected" in outcomes:
        errors = [
            {"field": f"{received.member}: {received.receipt.error_field}", "reason": received.receipt.reason}
            for received in intake.files
            if received.receipt.status == "rejected"
        ]
        raise ErrorAnswer(422, errors, archive=archive.archive, files=answer["files"])
    status = 201 if "accepted" in outcomes else 200
    return JSONResponse(answer, status_code=status, background=after)


@router.get("/remittances")
def get_remittances(
    identity: IdentityDep,
    session: SessionDep,
    status: str | None = None,
    limit: Limit = 100,
) -> RemittanceFileList:
    """Received remittance files, newest first (`status=rejected`: the ones to look at)."""
    files = remittance_service.list_files(session, identity.tenant_id, status=status, limit=limit)
    return RemittanceFileList.model_validate({"items": [remittance_service.file_view(f) for f in files]})


@router.get("/remittances/{file_id}")
def get_remittance(file_id: str, identity: IdentityDep, session: SessionDep) -> RemittanceFileWithPayments:
    file = remittance_service.get_file(session, identity.tenant_id, file_id)
    payments = payment_service.list_payments(session, identity.tenant_id, file_id=file.id, limit=100_000)
    return RemittanceFileWithPayments.model_validate(
        {
            **remittance_service.file_view(file),
            "payment_items": [payment_service.payment_summary(payment) for payment in payments],
        }
    )


@router.get(
    "/remittances/{file_id}/content",
    responses={410: {"description": "a refused file whose body was not kept (the tenant's quota was full)"}},
)
def get_remittance_content(
    file_id: str, identity: IdentityDep, session: SessionDep, store: DocumentStoreDep
) -> Response:
    """The file as received (also a refused one, for inspection)."""
    file = remittance_service.get_file(session, identity.tenant_id, file_id)
    if file.document_key == remittance_service.NOT_KEPT:
        raise ErrorAnswer.one(
            410,
            "content",
            f"{remittance_service.NOT_KEPT_NOTE}; SHA-256 {file.payload_sha256}, {file.size:,} bytes",
        )
    try:
        data = store.get(file.document_key)
    except DocumentStoreError as error:
        raise HTTPException(500, str(error)) from None
    disposition = content_disposition(file.filename, fallback=f"remittance-{file.id}")
    return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": disposition})
