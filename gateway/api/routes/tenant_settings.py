"""The token's tenant: its sending window, hold-for-review and matching policy."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.services.outbound.routing import waterfall_problems
from gateway.services.tenancy.tenants import put_tenant_settings, tenant_settings
from schemas.tenant import TenantSettings

router = APIRouter(tags=["tenant"])


@router.get("/settings")
def get_settings_route(identity: IdentityDep, session: SessionDep) -> TenantSettings:
    return tenant_settings(session, identity.tenant_id)


@router.put("/settings")
def put_settings_route(body: TenantSettings, identity: IdentityDep, session: SessionDep) -> TenantSettings:
    """Sending window, hold-for-review, KID agreement and consumer waterfall for the token's tenant; a
    waterfall naming an unknown channel is a 422 naming its place (`consumer_waterfall.1`)."""
    problems = waterfall_problems(body.consumer_waterfall)
    if problems:
        raise ErrorAnswer(422, problems)
    put_tenant_settings(session, identity.tenant_id, body, actor=identity.actor)
    return body
