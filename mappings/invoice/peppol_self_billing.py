"""PEPPOL BIS Self-Billing 3.0: the canonical invoice as a self-billed UBL Invoice or CreditNote, both ways.

Self-billing is the same UBL syntax and the same EN 16931 model as PEPPOL BIS Billing, with other rules:

* The specification identifier (BT-24) is `…#compliant#urn:fdc:peppol.eu:2017:poacc:selfbilling:3.0` and the
  process (BT-23) `urn:fdc:peppol.eu:2017:poacc:selfbilling:01:1.0`; both are PEPPOL's routing key too.
* The type code (BT-3) is 389 (self-billed invoice) or 527 (self-billed debit note) on an Invoice and 261
  (self-billed credit note) on a CreditNote (PEPPOL-EN16931-P0100 / P0101); the billing rules refuse these.
* The roles stay EN 16931's: the seller (BG-4, `AccountingSupplierParty`) supplies and is paid, the buyer
  (BG-7, `AccountingCustomerParty`) issues the document. So the document travels from the buyer to the
  seller: on PEPPOL the buyer's endpoint sends and the seller's receives (channels/peppol.py).

`render` writes any canonical invoice as self-billing (an invoice without a type code becomes 389, a credit
note 261; another code is refused, naming the field); `parse` reads only self-billing documents (a billing
invoice is `ehf`). The UBL work is `mappings.invoice.ubl`'s, so both formats stay one mapping.
"""

from __future__ import annotations

from typing import Any

from mappings.base import FormatError, RenderedDocument
from mappings.invoice import ubl
from mappings.xml import parse_xml
from schemas.canonical import DocumentType, Invoice
from schemas.invoice_profiles import (
    SELF_BILLING_CREDIT_NOTE_TYPE_CODES,
    SELF_BILLING_CUSTOMIZATION,
    SELF_BILLING_INVOICE_TYPE_CODES,
    SELF_BILLING_PROCESS,
    is_self_billing,
)

FORMAT_NAME = "peppol-self-billing"
MEDIA_TYPE = ubl.MEDIA_TYPE
CUSTOMIZATION_ID = SELF_BILLING_CUSTOMIZATION
PROFILE_ID = SELF_BILLING_PROCESS

_MARKER = b"poacc:selfbilling:3.0"
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def render(invoice: Invoice) -> RenderedDocument:
    """Canonical → self-billed UBL Invoice or CreditNote (PEPPOL BIS Self-Billing 3.0)."""
    credit_note = invoice.document_type is DocumentType.CREDIT_NOTE
    allowed = SELF_BILLING_CREDIT_NOTE_TYPE_CODES if credit_note else SELF_BILLING_INVOICE_TYPE_CODES
    if invoice.type_code is not None and invoice.type_code not in allowed:
        what = "credit note" if credit_note else "invoice"
        raise FormatError(
            "type_code",
            f"{invoice.type_code} is no self-billing type code: a self-billed {what} (PEPPOL BIS "
            f"Self-Billing 3.0) has {' or '.join(allowed)} (PEPPOL-EN16931-P010{1 if credit_note else 0})",
        )
    own = is_self_billing(invoice.customization_id)
    customization_id = invoice.customization_id if own and invoice.customization_id else CUSTOMIZATION_ID
    profile_id = invoice.profile_id if own and invoice.profile_id else PROFILE_ID
    # the type code then defaults to the self-billing one (389 / 261): `Invoice.effective_type_code`
    as_self_billed = invoice if own else invoice.model_copy(update={"customization_id": customization_id})
    return ubl.write_ubl(
        as_self_billed, customization_id=customization_id, profile_id=profile_id, format_name=FORMAT_NAME
    )


def _customization(data: bytes) -> str | None:
    root = parse_xml(data)
    found = root.findtext(f"{{{_CBC}}}CustomizationID")
    return " ".join(found.split()) if found is not None else None


def parse(data: bytes) -> Invoice:
    """Self-billed UBL → canonical `Invoice` (its profile kept); `FormatError` for a billing document."""
    customization = _customization(data)
    if not is_self_billing(customization):
        raise FormatError(
            "cbc:CustomizationID",
            f"{customization!r} is not PEPPOL BIS Self-Billing 3.0 ({CUSTOMIZATION_ID}); read it as ehf",
        )
    return ubl.parse(data)


def sniff(data: bytes) -> bool:
    """A UBL Invoice or CreditNote whose CustomizationID is PEPPOL BIS Self-Billing."""
    if _MARKER not in data[:8192] or not ubl.sniff(data):
        return False
    try:
        return is_self_billing(_customization(data))
    except FormatError:
        return False


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a self-billed invoice or credit note (its profile included)."""
    return ubl.inspect(data)
