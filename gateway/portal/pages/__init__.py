"""Every portal page's router, in one list (`install_portal` includes them), the providers' webhook
routers (API routes, in the OpenAPI document), and the navigation a signed-in customer sees on every page
(`PORTAL_NAVIGATION`: (path, text key); each area adds its entry)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.portal.pages import access, common, invoices, pay, providers

PORTAL_NAVIGATION: list[tuple[str, str]] = [
    ("/portal/", "overview"),
    ("/portal/invoices", "invoices"),
    ("/portal/inquiries", "inquiries"),
    ("/portal/statements", "statements"),
    ("/portal/reminders", "reminders"),
    ("/portal/account", "account"),
]

PAGES: list[APIRouter] = [common.router, access.router, invoices.router, pay.router]
PROVIDER_ROUTERS: list[APIRouter] = [providers.router]

