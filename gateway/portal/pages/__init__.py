"""Every portal page's router, in one list (`install_portal` includes them), and the providers' webhook
routers (API routes, in the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.portal.pages import common, inquiries

PAGES: list[APIRouter] = [common.router, inquiries.router]
PROVIDER_ROUTERS: list[APIRouter] = []

#: The tabs of a signed-in customer's pages: (path, text key). Pages pass it as `portal_navigation`.
PORTAL_NAVIGATION: list[tuple[str, str]] = [
    ("/portal/", "overview"),
    ("/portal/invoices", "invoices"),
    ("/portal/inquiries", "inquiries"),
    ("/portal/statements", "statements"),
    ("/portal/account", "account"),
]
