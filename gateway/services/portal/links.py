"""The "view online / pay" link an invoice e-mail and PDF carry: a signed token naming one invoice.

The token is the tenant and the invoice id, signed with the installation's key under a salt of its own
(`itsdangerous`), so nobody can make one for another invoice; it carries no expiry because it is valid for
the invoice's life (the portal checks the invoice is still the tenant's when the link is opened). Opening it
shows that invoice only, until the customer signs in. The link is made only when `portal_base_url` is set:
an e-mail or a PDF needs the portal's public address, not the address a worker happens to run on.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from gateway.services.installation_key import signing_key
from gateway.settings import Settings

SALT = "gw-portal-invoice"
PATH = "/portal/i/"


@dataclass(frozen=True)
class InvoiceLink:
    """What an invoice link names: the seller and the invoice."""

    tenant_id: str
    invoice_id: str


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(signing_key(settings), salt=SALT)


def invoice_link_token(settings: Settings, tenant_id: str, invoice_id: str) -> str:
    return str(_serializer(settings).dumps({"t": tenant_id, "i": invoice_id}))


def invoice_link(settings: Settings, tenant_id: str, invoice_id: str) -> str | None:
    """The public link to the invoice's page, or None without `portal_base_url`."""
    if not settings.portal_base_url:
        return None
    return settings.portal_base_url.rstrip("/") + PATH + invoice_link_token(settings, tenant_id, invoice_id)


def read_invoice_link(settings: Settings, token: str) -> InvoiceLink | None:
    """The invoice a token names, or None for anything not signed by this installation for this purpose."""
    if len(token) > 400:
        return None
    try:
        value = _serializer(settings).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("t"), str)
        or not isinstance(value.get("i"), str)
    ):
        return None
    return InvoiceLink(tenant_id=value["t"], invoice_id=value["i"])
