"""Webhook endpoints of the token's tenant: add or change one by URL, list them, delete one."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, Response

from db.engine import session_scope
from gateway.api.deps import EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.requests import WebhookRequest
from gateway.api.views import WebhookEndpointList
from gateway.services.tenancy import webhooks

router = APIRouter(tags=["webhooks"])


@router.put("/webhooks", status_code=201, responses={200: {"description": "changed"}})
def put_webhook(
    body: WebhookRequest, identity: IdentityDep, engine: EngineDep, settings: SettingsDep
) -> JSONResponse:
    """Add (201; a generated secret is shown this once) or change (200) the endpoint with this URL.

    The URL's host must resolve, from the gateway, to public addresses (no loopback, private, link-local…
    unless the operator allows them): a 422 on `url` says which address it resolved to and why it is
    refused, or that it does not resolve (the example's `erp.example.com` does not: use your ERP's real
    name). It is resolved again at every send. Over https the certificate must be valid for that name."""
    try:
        with session_scope(engine) as session:
            endpoint, created, secret = webhooks.put_endpoint(
                session,
                identity.tenant_id,
                url=body.url,
                events=body.events,
                secret=body.secret,
                active=body.active,
                actor=identity.actor,
                addresses=webhooks.webhook_addresses(settings),
            )
            view = webhooks.endpoint_view(endpoint, secret=secret)
    except webhooks.WebhookError as error:
        raise ErrorAnswer.one(422, error.field, error.reason) from None
    webhooks.invalidate_endpoint_cache()  # after the commit: no request re-reads the old list
    return JSONResponse(view, status_code=201 if created else 200)


@router.get("/webhooks")
def get_webhooks(identity: IdentityDep, session: SessionDep) -> WebhookEndpointList:
    """The tenant's endpoints (secrets are never shown again)."""
    endpoints = webhooks.list_endpoints(session, identity.tenant_id)
    return WebhookEndpointList.model_validate({"items": [webhooks.endpoint_view(e) for e in endpoints]})


@router.delete("/webhooks/{endpoint_id}", status_code=204)
def delete_webhook(endpoint_id: str, identity: IdentityDep, engine: EngineDep) -> Response:
    with session_scope(engine) as session:
        found = webhooks.delete_endpoint(session, identity.tenant_id, endpoint_id, actor=identity.actor)
    webhooks.invalidate_endpoint_cache()
    if not found:
        raise HTTPException(404, f"no webhook endpoint {endpoint_id}")
    return Response(status_code=204)
