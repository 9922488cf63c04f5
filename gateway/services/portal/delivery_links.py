"""The portal link a delivery carries: which link an invoice or a notice gets, if any.

An invoice e-mail and PDF say where the customer sees the invoice online and pays it (the signed invoice
link of `gateway.services.portal.links`); a follow-up notice about one invoice carries that invoice's link,
a notice about several the portal's sign-in page for the seller (an invoice link shows one invoice only).
Only a portal customer gets one: the invoice must name a receiver (`routing.receiver_id`, the id the
portal's customer is), and the portal must have a public address (`portal_base_url`); otherwise the
documents are exactly as without the portal. Worked out here, where the settings are, and handed to the
renderers and channels, which know no portal and open no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from gateway.services.portal.links import invoice_link
from gateway.settings import Settings

SIGN_IN_PATH = "/portal/sign-in"


def delivery_portal_link(
    settings: Settings, tenant_id: str, invoice_ids: Sequence[str], receiver_id: str | None
) -> str | None:
    """The link for a document about `invoice_ids` (one invoice, or a notice's invoices), or None."""
    if not settings.portal_base_url or not receiver_id or not invoice_ids:
        return None
    if len(set(invoice_ids)) == 1:
        return invoice_link(settings, tenant_id, invoice_ids[0])
    return f"{settings.portal_base_url.rstrip('/')}{SIGN_IN_PATH}?seller={quote(tenant_id, safe='')}"


__all__ = ["SIGN_IN_PATH", "delivery_portal_link"]
