"""The token's tenant: its sending window, hold-for-review and matching policy."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import IdentityDep, SessionDep
from gateway.services.tenancy.tenants import put_tenant_settings, tenant_settings
from schemas.tenant import TenantSettings

router = APIRouter(tags=["tenant"])


@router.get("/settings")
def get_settings_route(identity: IdentityDep, session: SessionDep) -> TenantSettings:
    return tenant_settings(session, identity.tenant_id)


@router.put("/settings")
def put_settings_route(body: TenantSettings, identity: IdentityDep, session: SessionDep) -> TenantSettings:
    """Sending window and hold-for-review for the token's tenant."""
    put_tenant_settings(session, identity.tenant_id, body, actor=identity.actor)
    return body
