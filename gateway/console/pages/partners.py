"""EDI trading partners: who they are, how files travel, and their interchanges with the acknowledgement
state of each (accepted, rejected, partially, overdue, waiting, not expected) in words."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from db.engine import session_scope
from gateway.console.auth import Viewer
from gateway.console.templating import page
from gateway.services.inbound.edi_interchanges import ACK_STATES, partner_activity, partner_interchanges
from gateway.services.tenancy.edi_partners import get_partner, list_partners
from schemas.edi_partner import TradingPartner

router = APIRouter()

PAGE_SIZE = 25
#: A state's badge colour (the style sheet's badge classes).
ACK_COLOURS = {
    "accepted": "accepted",
    "rejected": "rejected",
    "partially": "partially-paid",
    "overdue": "overdue",
    "waiting": "waiting",
    "received": "pending",
    "not expected": "closed",
}
FORMATS = {
    "edifact-d96a": "EDIFACT INVOIC D96A",
    "edifact-d01b": "EDIFACT INVOIC D01B",
    "x12-810": "X12 810 (004010)",
    "x12-810-5010": "X12 810 (005010)",
}


def transport_words(partner: TradingPartner) -> tuple[str, str]:
    """How files travel and where, without credentials: ("Folder", its path) or ("SFTP", host and folders)."""
    transport = partner.transport
    if transport.kind == "sftp" and transport.sftp is not None:
        return "SFTP", f"{transport.sftp.host} (out: {transport.outgoing}, in: {transport.incoming})"
    return "Folder", str(transport.directory or "")


def ack_expectation(partner: TradingPartner) -> str:
    if not partner.ack_requested:
        return "not requested"
    if partner.ack_deadline_hours:
        return f"within {partner.ack_deadline_hours:g} h"
    return "requested, no deadline"


@router.get("/console/partners")
def partners(request: Request, identity: Viewer) -> Response:
    with session_scope(request.app.state.engine) as session:
        found = [partner for _tenant, partner in list_partners(session, identity.tenant_id)]
        activity = partner_activity(session, identity.tenant_id)
    return page(
        request,
        "operations/partners.html",
        {
            "title": "EDI partners",
            "partners": found,
            "activity": activity,
            "formats": FORMATS,
            "transport_words": transport_words,
            "ack_expectation": ack_expectation,
            "ack_states": ACK_STATES,
            "ack_colours": ACK_COLOURS,
        },
        identity=identity,
    )


@router.get("/console/partners/{partner_id}")
def partner(
    request: Request,
    partner_id: str,
    identity: Viewer,
    after: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    with session_scope(request.app.state.engine) as session:
        try:
            profile = get_partner(session, identity.tenant_id, partner_id)
        except ValidationError:
            raise HTTPException(
                409, f"The stored profile of {partner_id} no longer validates: put it again through the API."
            ) from None
        if profile is None:
            raise HTTPException(404, f"There is no trading partner {partner_id}.")
        interchanges = partner_interchanges(
            session, identity.tenant_id, partner_id, after=after, limit=PAGE_SIZE
        )
        activity = partner_activity(session, identity.tenant_id).get(partner_id)
    return page(
        request,
        "operations/partner.html",
        {
            "title": f"EDI partner {profile.name or partner_id}",
            "partner": profile,
            "interchanges": interchanges,
            "activity": activity,
            "after": after,
            "formats": FORMATS,
            "transport": transport_words(profile),
            "expectation": ack_expectation(profile),
            "ack_states": ACK_STATES,
            "ack_colours": ACK_COLOURS,
        },
        identity=identity,
    )
