"""Each tenant's payment providers for pay-by-link, from the installation's providers file.

The file (`GATEWAY_PAYMENT_PROVIDERS_FILE`, JSON `{tenant: {stripe: {...}, vipps: {...}}}`) keeps the
credentials out of the database, like the channels' settings. It is read again when it changes (its
modification time), so a rotated webhook secret takes effect without a restart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import TypeAdapter, ValidationError

from gateway.settings import Settings
from transports.payment_providers import (
    PROVIDERS,
    PaymentProvider,
    ProviderName,
    StripeSettings,
    TenantProviders,
    VippsSettings,
)
from transports.payment_providers.stripe import StripeProvider
from transports.payment_providers.vipps import VippsProvider

_FILE = TypeAdapter(dict[str, TenantProviders])
_cache: dict[Path, tuple[float, dict[str, TenantProviders]]] = {}
_providers: dict[tuple[str, str], tuple[object, PaymentProvider]] = {}
_lock = threading.Lock()


class ProvidersFileError(Exception):
    """The providers file cannot be read: no tenant can take card payments until it is fixed."""


def load_providers(settings: Settings) -> dict[str, TenantProviders]:
    """Every tenant's providers (empty without a file)."""
    path = settings.payment_providers_file
    if path is None:
        return {}
    try:
        mtime = path.stat().st_mtime
    except OSError as error:
        raise ProvidersFileError(f"{path}: {error.strerror}") from None
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    try:
        loaded = _FILE.validate_python(json.loads(path.read_bytes()))
    except (OSError, ValueError, ValidationError) as error:
        raise ProvidersFileError(f"{path}: {error}") from None
    with _lock:
        _cache[path] = (mtime, loaded)
    return loaded


def tenant_providers(settings: Settings, tenant_id: str) -> TenantProviders:
    return load_providers(settings).get(tenant_id) or TenantProviders()


def configured(settings: Settings, tenant_id: str) -> list[ProviderName]:
    """The providers a tenant's customers may pay with, in a fixed order (for the pay form)."""
    found = tenant_providers(settings, tenant_id)
    return [name for name in PROVIDERS if getattr(found, name) is not None]


def provider_settings(settings: Settings, tenant_id: str, name: str) -> StripeSettings | VippsSettings | None:
    found = tenant_providers(settings, tenant_id)
    value: StripeSettings | VippsSettings | None = getattr(found, name, None) if name in PROVIDERS else None
    return value


def provider_for(
    settings: Settings,
    tenant_id: str,
    name: str,
    *,
    client: Callable[[], httpx.Client] | None = None,
) -> PaymentProvider | None:
    """The tenant's provider `name` (None: not configured). One client per tenant and settings, so a
    Vipps access token is fetched once and reused until it expires."""
    found = provider_settings(settings, tenant_id, name)
    if found is None:
        return None
    key = (tenant_id, name)
    with _lock:
        cached = _providers.get(key)
        if cached is not None and cached[0] is found and client is None:
            return cached[1]
    provider: PaymentProvider
    if isinstance(found, StripeSettings):
        provider = StripeProvider(found, client=client)
    else:
        provider = VippsProvider(found, client=client)
    if client is None:
        with _lock:
            _providers[key] = (found, provider)
    return provider


def webhook_secret(settings: Settings, tenant_id: str, name: str) -> str | None:
    found = provider_settings(settings, tenant_id, name)
    return found.webhook_secret.get_secret_value() if found is not None else None


def tenants_with(settings: Settings, name: str) -> list[str]:
    """The tenants that configured provider `name`: whose secrets an event naming no tenant is tried with."""
    return sorted(tenant for tenant, found in load_providers(settings).items() if getattr(found, name))


def checkout_origins(settings: Settings) -> list[str]:
    """The origins a pay form may be sent on to besides `https:` (which covers the providers' own hosted
    pages): a configured `api_base` that is not HTTPS (a stand-in on loopback, a sandbox behind a proxy).
    The portal's content policy lists them in `form-action`, or the browser would stop the redirect to the
    provider's page. None when the providers file cannot be read."""
    try:
        everything = load_providers(settings).values()
    except ProvidersFileError:
        return []
    origins = set()
    for found in everything:
        for name in PROVIDERS:
            configured_provider = getattr(found, name, None)
            if configured_provider is None:
                continue
            parts = urlsplit(configured_provider.api_base)
            if parts.scheme == "http" and parts.netloc:
                origins.add(f"http://{parts.netloc}")
    return sorted(origins)
