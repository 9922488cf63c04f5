"""The overview: the first page after signing in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.console.auth import Viewer
from gateway.console.templating import page

router = APIRouter()


@router.get("/console/")
def overview(request: Request, identity: Viewer) -> Response:
    return page(request, "overview.html", {"title": "Overview"}, identity=identity)
