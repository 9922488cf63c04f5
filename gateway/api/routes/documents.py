"""Documents the gateway kept: an invoice exactly as a channel handed it over (each outcome event names its
`document_id`), a proof of delivery as received."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from gateway.api.deps import DocumentStoreDep, IdentityDep, SessionDep
from gateway.services.downloads import document_headers
from gateway.services.outbound.documents import DocumentStoreError, load_document

router = APIRouter(tags=["documents"])

_FILE = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/documents/{document_id}",
    response_class=Response,
    responses={
        200: {
            "description": "the bytes as they were sent (checked against their SHA-256 on the way out)",
            "content": {
                "application/octet-stream": _FILE,
                "application/xml": _FILE,
                "application/pdf": _FILE,
            },
        },
        404: {"description": "no such document for the tenant"},
    },
)
def get_document(
    document_id: str, identity: IdentityDep, session: SessionDep, store: DocumentStoreDep
) -> Response:
    """The document as it was sent, with its media type and a safe file name."""
    try:
        document, data = load_document(session, store, document_id, identity.tenant_id)
    except DocumentStoreError as error:  # lost or corrupted in the store: never sent on as if it were fine
        raise HTTPException(500, str(error)) from None
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    media_type, headers = document_headers(document)
    return Response(data, media_type=media_type, headers=headers)
