"""Webhooks: the tenant's ERP endpoints with their backlog, last success and last error, one endpoint's
failed events, and (for operators) switching an endpoint off and on as `PUT /webhooks` does with `active`.

A URL is shown as scheme, host and path only (`webhooks.shown_url`); secrets are never read here."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import Operator, Viewer
from gateway.console.templating import page, redirect
from gateway.services.tenancy import webhooks

router = APIRouter()

EVENT_WORDS = {
    webhooks.STATUS_CHANGED: "delivery status changes",
    webhooks.DEVIATION_OPENED: "deviations opened",
    webhooks.DEVIATION_CLOSED: "deviations closed",
    webhooks.ALL_EVENTS: "all events",
}

#: One event of each type, as a row says it.
EVENT_NAMES = {
    webhooks.STATUS_CHANGED: "status change",
    webhooks.DEVIATION_OPENED: "deviation opened",
    webhooks.DEVIATION_CLOSED: "deviation closed",
}


def _context() -> dict[str, object]:
    return {"event_words": EVENT_WORDS, "event_names": EVENT_NAMES, "shown_url": webhooks.shown_url}


@router.get("/console/webhooks")
def endpoints(request: Request, identity: Viewer) -> Response:
    with session_scope(request.app.state.engine) as session:
        health = webhooks.endpoint_health(session, identity.tenant_id)
    return page(
        request,
        "operations/webhooks.html",
        {"title": "Webhooks", "endpoints": health, **_context()},
        identity=identity,
    )


@router.get("/console/webhooks/{endpoint_id}")
def endpoint(request: Request, endpoint_id: str, identity: Viewer) -> Response:
    with session_scope(request.app.state.engine) as session:
        found = webhooks.get_endpoint(session, identity.tenant_id, endpoint_id)
        if found is None:
            raise HTTPException(404, f"There is no webhook endpoint {endpoint_id}.")
        [health] = [
            h for h in webhooks.endpoint_health(session, identity.tenant_id) if h.endpoint.id == found.id
        ]
        failed = webhooks.failed_events(session, identity.tenant_id, found.id)
    return page(
        request,
        "operations/webhook.html",
        {
            "title": f"Webhook {webhooks.shown_url(found.url)}",
            "health": health,
            "failed": failed,
            **_context(),
        },
        identity=identity,
    )


def _switch(request: Request, identity: Operator, endpoint_id: str, active: bool) -> Response:
    with session_scope(request.app.state.engine) as session:
        found = webhooks.get_endpoint(session, identity.tenant_id, endpoint_id)
        if found is None:
            raise HTTPException(404, f"There is no webhook endpoint {endpoint_id}.")
        webhooks.put_endpoint(
            session,
            identity.tenant_id,
            url=found.url,
            events=list(found.events),
            active=active,
            actor=identity.actor,
        )
        url = webhooks.shown_url(found.url)
    webhooks.invalidate_endpoint_cache()  # after the commit, as the API does
    words = "gets new events again" if active else "gets no new events; those already queued are still sent"
    return redirect(request, f"/console/webhooks/{endpoint_id}", f"{url} {words}.")


@router.post("/console/webhooks/{endpoint_id}/deactivate")
def deactivate(request: Request, endpoint_id: str, identity: Operator) -> Response:
    return _switch(request, identity, endpoint_id, active=False)


@router.post("/console/webhooks/{endpoint_id}/activate")
def activate(request: Request, endpoint_id: str, identity: Operator) -> Response:
    return _switch(request, identity, endpoint_id, active=True)
