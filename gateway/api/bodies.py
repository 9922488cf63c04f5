"""Raw request bodies: read bounded in size, checked for content type, documented in OpenAPI.

Files (invoices, status documents, bounces, EDI, PODs, remittances) are read as bytes, never through a
JSON or form parser: decimals stay exact and nothing is buffered past the size limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request

XML_CONTENT_TYPES = frozenset({"application/xml", "text/xml"})


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or a 413 as soon as the declared or streamed size passes `limit`."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body is {declared} bytes, the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body exceeds the limit of {limit} bytes")
    return bytes(body)


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


def require_json(request: Request) -> None:
    require_content_type(request, {"application/json", ""}, send="application/json", suffix="+json")


def raw_body_openapi(*media_types: str) -> dict[str, Any]:
    """OpenAPI for a route that reads its file as the raw body, in any of `media_types`."""
    content = {media: {"schema": {"type": "string", "format": "binary"}} for media in media_types}
    return {"requestBody": {"required": True, "content": content}}
