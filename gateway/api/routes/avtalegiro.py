"""AvtaleGiro mandates: which payers let the tenant debit their account, by KID (Nets' agreements files)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.params import Limit
from gateway.api.views import MandateList
from gateway.services.outbound import avtalegiro as avtalegiro_service

router = APIRouter(tags=["avtalegiro"])


@router.get("/avtalegiro/mandates")
def get_mandates(
    identity: IdentityDep,
    session: SessionDep,
    kid: Annotated[str | None, Query(min_length=1, max_length=25, pattern=r"^\d+$")] = None,
    status: Literal["active", "deleted"] | None = None,
    limit: Limit = 100,
) -> MandateList:
    """The tenant's AvtaleGiro mandates by KID: active or deleted, whether the bank notifies the payer,
    and which agreements file said so last."""
    found = avtalegiro_service.list_mandates(session, identity.tenant_id, kid=kid, status=status, limit=limit)
    return MandateList.model_validate({"items": found, "next": None})
