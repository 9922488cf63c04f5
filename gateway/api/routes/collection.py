"""Collection hand-off: the invoices past their strategy's last level, exported for a collection agency."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Response

from gateway.api.deps import DocumentStoreDep, IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.requests import CollectionExportRequest
from gateway.api.views import CollectionCandidateList, CollectionExportView
from gateway.services.followup import collection as collection_service
from gateway.services.followup.credit import today_in

router = APIRouter(tags=["receivables"])


@router.get("/collection/candidates")
def get_collection_candidates(
    identity: IdentityDep, session: SessionDep, on: dt.date | None = None
) -> CollectionCandidateList:
    """Open invoices past the last level of their strategy whose last deadline has passed: not disputed,
    not promised, not held, not handed off."""
    found = collection_service.collection_candidates(session, identity.tenant_id, on=on or today_in())
    return CollectionCandidateList.model_validate({"items": [c.as_dict() for c in found]})


@router.post("/collection/exports", status_code=201)
def post_collection_export(
    identity: IdentityDep,
    session: SessionDep,
    store: DocumentStoreDep,
    body: CollectionExportRequest | None = None,
) -> CollectionExportView:
    """Hand the candidates (or the named ones) to collection: one CSV (UTF-8 with BOM, `;`-separated),
    kept for `GET /collection/exports/{id}`; each invoice marked handed off, so follow-up stops."""
    body = body or CollectionExportRequest()
    try:
        export = collection_service.export_candidates(
            session,
            store,
            identity.tenant_id,
            on=body.on or today_in(),
            actor=identity.actor,
            invoice_ids=body.invoice_ids,
        )
    except collection_service.CollectionRefused as refused:
        raise ErrorAnswer.one(
            409 if refused.field == "invoice_ids" else 422, refused.field, refused.reason
        ) from None
    return CollectionExportView.model_validate(export.as_dict())


@router.get(
    "/collection/exports/{export_id}",
    response_class=Response,
    responses={
        200: {
            "description": "the export's CSV, as first written",
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        },
        404: {"description": "no such export for the tenant"},
    },
)
def get_collection_export(
    export_id: str, identity: IdentityDep, session: SessionDep, store: DocumentStoreDep
) -> Response:
    filename, data = collection_service.load_export(session, store, identity.tenant_id, export_id)
    return Response(
        data,
        media_type=collection_service.MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
