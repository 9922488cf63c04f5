"""Every portal page's router, in one list (`install_portal` includes them), and the providers' webhook
routers (API routes, in the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.portal.pages import access, common

PAGES: list[APIRouter] = [common.router, access.router]
PROVIDER_ROUTERS: list[APIRouter] = []
