"""`GET /metrics`: the gateway's figures in Prometheus' text format, for a scraper holding the metrics token.

Not a tenant's resource, so not an API token: a separate secret (`GATEWAY_METRICS_TOKEN`) that only the
monitoring system holds. Without it configured the route does not exist (404): the figures are not
public by accident, and an operator who prefers a private port sets `GATEWAY_METRICS_PORT` instead
(`gateway serve` then serves the same registry there, without a token). Left out of the OpenAPI
document: it is for Prometheus, not for API clients.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    if settings.metrics_token is None:
        raise HTTPException(404, "metrics are not exposed on this port (set GATEWAY_METRICS_TOKEN)")
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    offered = request.headers.get("authorization", "").encode()
    if not secrets.compare_digest(offered, expected):
        raise HTTPException(401, "missing or wrong metrics token", headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
