"""Raw request bodies: read bounded in size, checked for content type, documented in OpenAPI.

Files (invoices, status documents, bounces, EDI, PODs, remittances) are read as bytes, never through a
JSON or form parser: decimals stay exact and nothing is buffered past the size limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.settings import Settings

XML_CONTENT_TYPES = frozenset({"application/xml", "text/xml"})
#: The largest JSON body any route reads, in units of `max_body_bytes`: `POST /invoices:bulk` reads four.
JSON_BODY_FACTOR = 4


async def read_body(request: Request, limit: int, setting: str = "GATEWAY_MAX_BODY_BYTES") -> bytes:
    """The whole body, or a 413 as soon as the declared or streamed size passes `limit`; the answer names
    the limit and the `setting` that sets it (each route family has its own: `Settings.intake_limit`)."""
    named = f"the limit is {limit:,} bytes ({setting})"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body is {int(declared):,} bytes; {named}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body exceeds {limit:,} bytes; {named}")
    return bytes(body)


async def read_family_body(
    request: Request, settings: Settings, family: str, cap: int | None = None
) -> bytes:
    """The body within the route family's intake limit (and `cap`, a reader's own bound, if lower)."""
    limit, setting = settings.intake_limit(family)
    return await read_body(request, limit if cap is None else min(limit, cap), setting)


def content_type(request: Request) -> str:
    """The media type without parameters, lower case; "" when the client sent none."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_content_type(
    request: Request, accepted: Iterable[str], *, send: str, suffix: str | None = None
) -> str:
    """The request's media type if it is one of `accepted` (or ends with `suffix`); a 415 naming `send`."""
    found = content_type(request)
    if found not in set(accepted) and not (suffix and found.endswith(suffix)):
        raise HTTPException(415, f"content type {found!r} is not accepted here; send {send}")
    return found


def is_json_media_type(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def documented_media_types(request: Request) -> list[str]:
    """The media types the matched route's OpenAPI `requestBody` lists (none for a route without one)."""
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    return list(extra.get("requestBody", {}).get("content", {}))


def require_json(request: Request) -> None:
    """A JSON body (or one without a content type). The 415 names every media type the route documents:
    a route that reads XML too (`POST /invoices`) says so, instead of asking for JSON only."""
    send = " or ".join(documented_media_types(request) or ["application/json"])
    require_content_type(request, {"application/json", ""}, send=send, suffix="+json")


def raw_body_openapi(*media_types: str) -> dict[str, Any]:
    """OpenAPI for a route that reads its file as the raw body, in any of `media_types`."""
    content = {media: {"schema": {"type": "string", "format": "binary"}} for media in media_types}
    return {"requestBody": {"required": True, "content": content}}


class JsonBodyLimit:
    """Bounds every JSON body before a route reads it: FastAPI reads a JSON model's body whole, unbounded.

    The routes that read files (`read_body`) keep their own, tighter limits; this one is the outer bound,
    `JSON_BODY_FACTOR × max_body_bytes`, answered as a 413 like theirs (raised where the body is read,
    so it passes through the error handlers).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not is_json_media_type(headers.get("content-type", "").split(";")[0].strip().lower()):
            await self.app(scope, receive, send)
            return
        limit = scope["app"].state.settings.max_body_bytes * JSON_BODY_FACTOR
        named = f"the limit is {limit:,} bytes ({JSON_BODY_FACTOR} × GATEWAY_MAX_BODY_BYTES)"
        declared = headers.get("content-length", "")
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            if declared.isdigit() and int(declared) > limit:
                raise HTTPException(413, f"body is {declared} bytes; {named}")
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"body exceeds {limit:,} bytes; {named}")
            return message

        await self.app(scope, bounded, send)
