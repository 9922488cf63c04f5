"""Print batches: the print house's runs (newest cut-off first), what waits for the next cut-off, and one
batch with its documents and the receipts and reports the print house sent back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from db.engine import session_scope
from db.models import Batch
from gateway.console.auth import Viewer
from gateway.console.templating import page
from gateway.services.outbound import batches as batch_service

router = APIRouter()

#: How a batch's status reads to a person, and the badge colour it wears.
BATCH_STATES: dict[str, tuple[str, str]] = {
    batch_service.BatchStatus.READY: ("to hand over", "queued"),
    batch_service.BatchStatus.SENDING: ("handing over", "sending"),
    batch_service.BatchStatus.SENT: ("handed over", "sent"),
    batch_service.BatchStatus.ACCEPTED: ("accepted", "accepted"),
    batch_service.BatchStatus.REJECTED: ("rejected", "rejected"),
    batch_service.BatchStatus.FAILED: ("hand-over failed", "failed"),
}
#: Return-file kinds (`print-return:<kind>`) in words.
RETURN_KINDS = {"receipt": "Receipt", "production": "Production report", "returned": "Returned mail"}
SHOWN = 100


def short_id(batch: Batch) -> str:
    """The batch id without its tenant prefix (the page is the tenant's already): profile, cut-off, number."""
    prefix = f"{batch.tenant_id}-"
    return batch.id[len(prefix) :] if batch.id.startswith(prefix) else batch.id


@router.get("/console/print-batches")
def print_batches(
    request: Request,
    identity: Viewer,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    if status and status not in BATCH_STATES:
        raise HTTPException(400, f"status: {status!r} is not one of {', '.join(BATCH_STATES)}")
    with session_scope(request.app.state.engine) as session:
        batches = batch_service.list_batches(session, identity.tenant_id, status=status or None, limit=SHOWN)
        figures = batch_service.batch_figures(session, identity.tenant_id, [b.id for b in batches])
        waiting = batch_service.open_items(session, identity.tenant_id)
    return page(
        request,
        "operations/print_batches.html",
        {
            "title": "Print batches",
            "batches": batches,
            "figures": figures,
            "waiting": waiting,
            "states": BATCH_STATES,
            "status": status or "",
            "shown": SHOWN,
            "short_id": short_id,
        },
        identity=identity,
    )


@router.get("/console/print-batches/{batch_id}")
def print_batch(request: Request, batch_id: str, identity: Viewer) -> Response:
    with session_scope(request.app.state.engine) as session:
        batch = batch_service.get_batch(session, identity.tenant_id, batch_id)
        if batch is None:
            raise HTTPException(404, f"There is no print batch {batch_id}.")
        documents = batch_service.batch_documents(session, batch)
        return_files = batch_service.batch_return_files(session, batch)
        figures = batch_service.batch_figures(session, identity.tenant_id, [batch.id])[batch.id]
    return page(
        request,
        "operations/print_batch.html",
        {
            "title": f"Print batch {batch.id}",
            "batch": batch,
            "documents": documents,
            "return_files": return_files,
            "figures": figures,
            "states": BATCH_STATES,
            "return_kinds": RETURN_KINDS,
        },
        identity=identity,
    )
