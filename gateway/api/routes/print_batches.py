"""Print batches: a batching channel's runs (newest cut-off first) and the documents waiting for one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.params import Limit
from gateway.api.views import BatchList, BatchWithItems
from gateway.services.outbound import batches as batch_service

router = APIRouter(tags=["print"])


@router.get("/batches")
def get_batches(
    identity: IdentityDep,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Limit = 100,
) -> BatchList:
    """The tenant's print batches (newest cut-off first) and the documents still waiting for one."""
    batches = batch_service.list_batches(session, identity.tenant_id, status=status, limit=limit)
    return BatchList.model_validate(
        {
            "items": [batch_service.batch_view(session, batch) for batch in batches],
            "waiting": batch_service.open_items(session, identity.tenant_id),
        }
    )


@router.get("/batches/{batch_id}")
def get_batch(batch_id: str, identity: IdentityDep, session: SessionDep) -> BatchWithItems:
    batch = batch_service.get_batch(session, identity.tenant_id, batch_id)
    if batch is None:
        raise HTTPException(404, f"no batch {batch_id}")
    return BatchWithItems.model_validate(batch_service.batch_view(session, batch, with_items=True))
