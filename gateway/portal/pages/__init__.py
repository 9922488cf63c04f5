"""Every portal page's router, in one list (`install_portal` includes them), and the providers' webhook
routers (API routes, in the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.portal.pages import common, pay, providers

PAGES: list[APIRouter] = [common.router, pay.router]
PROVIDER_ROUTERS: list[APIRouter] = [providers.router]
