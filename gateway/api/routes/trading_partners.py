"""EDI trading partners: one profile per partner and tenant (identifiers, syntax, format, transport)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from gateway.api.deps import IdentityDep, SessionDep
from gateway.services.tenancy.edi_partners import get_partner, put_partner
from gateway.services.tenancy.tenants import ensure_tenant
from schemas.edi_partner import TradingPartner

router = APIRouter(tags=["trading partners"])


@router.put("/trading-partners/{partner_id}")
def put_trading_partner(
    partner_id: str, partner: TradingPartner, identity: IdentityDep, session: SessionDep
) -> TradingPartner:
    """An EDI trading partner's profile (identifiers, syntax, message format, transport); secrets are
    never shown back."""
    if partner.partner_id != partner_id:
        raise RequestValidationError(
            [{"loc": ("body", "partner_id"), "msg": "differs from the path", "type": "value_error"}]
        )
    ensure_tenant(session, identity.tenant_id)
    put_partner(session, identity.tenant_id, partner)
    return partner


@router.get("/trading-partners/{partner_id}")
def get_trading_partner(partner_id: str, identity: IdentityDep, session: SessionDep) -> TradingPartner:
    try:
        partner = get_partner(session, identity.tenant_id, partner_id)
    except ValidationError:
        raise HTTPException(
            409, f"the stored profile of {partner_id} no longer validates: put it again"
        ) from None
    if partner is None:
        raise HTTPException(404, f"no trading partner {partner_id}")
    return partner
