"""Each request counted, timed and logged once: `gateway_http_requests_total` and its duration histogram by
route template, and one `request` log line (method, route, path, status, milliseconds).

The route is the template the router matched (`/invoices/{invoice_id}`), never the raw path: a path
holds invoice numbers and ids, which would make one time series per invoice. A path no route matched
is `unmatched`. Pure ASGI, so a streamed answer is timed to its last byte and passes through untouched;
it runs inside `RequestIdMiddleware`, so its log line carries the request id.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logging_setup import get_logger
from gateway.services import metrics

log = get_logger("gateway.api")

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The matched route's path template, or `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def loggable_path(path: str, route: str) -> str:
    """The path for the request log; a route whose path carries a credential (the portal's one-time links,
    `{token}`) is logged by its template, never with the token."""
    return route if "{token}" in route else path


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes becomes the server error middleware's 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            seconds = time.perf_counter() - started
            method, route = str(scope.get("method", "")), route_template(scope)
            metrics.record_http_request(method, route, status, seconds)
            log.info(
                "request",
                method=method,
                route=route,
                path=loggable_path(str(scope.get("path", "")), route),
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )
