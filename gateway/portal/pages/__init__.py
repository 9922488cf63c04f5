"""Every portal page's router, in one list (`install_portal` includes them), and the providers' webhook
routers (API routes, in the OpenAPI document). The tabs every page shows are `templating.NAVIGATION`."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.portal.pages import access, common, inquiries, invoices, pay, providers

PAGES: list[APIRouter] = [common.router, access.router, invoices.router, inquiries.router, pay.router]
PROVIDER_ROUTERS: list[APIRouter] = [providers.router]

