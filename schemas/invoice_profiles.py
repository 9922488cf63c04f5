"""The invoice profiles the gateway knows: specification identifier (BT-24) and business process (BT-23).

An invoice read from the network carries both, and both say how it must be written back: a receiver's
validator picks its rules by the specification identifier (a self-billed invoice checked as ordinary billing
fails PEPPOL-EN16931-P0100), and PEPPOL routes by the pair. The canonical model keeps them as read; an
invoice without them is PEPPOL BIS Billing 3.0 / EHF 3.0, the gateway's default.
"""

from __future__ import annotations

from typing import Literal

#: PEPPOL BIS Billing 3.0 (and EHF 3.0 billing, which uses the same identifiers).
PEPPOL_BILLING_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
#: PEPPOL BIS Self-Billing 3.0: the buyer issues the invoice in the seller's name.
SELF_BILLING_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:selfbilling:3.0"
SELF_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:selfbilling:01:1.0"
#: EHF forward billing 3.0 (viderefakturering, e.g. grid rent billed through the power supplier).
EHF_FORWARD_BILLING_CUSTOMIZATION = (
    PEPPOL_BILLING_CUSTOMIZATION + "#conformant#urn:fdc:anskaffelser.no:2019:ehf:forward-billing:3.0"
)
EHF_FORWARD_BILLING_PROCESS = "urn:fdc:anskaffelser.no:2019:ehf:postaward:g3:08:1.0"
#: XRechnung 3.0, the German CIUS of EN 16931 (its UBL syntax).
XRECHNUNG_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

#: UNCL 1001 codes PEPPOL BIS Self-Billing allows (PEPPOL-EN16931-P0100 / P0101): 389 self-billed invoice,
#: 527 self-billed debit note; 261 self-billed credit note.
SELF_BILLING_INVOICE_TYPE_CODES = ("389", "527")
SELF_BILLING_CREDIT_NOTE_TYPE_CODES = ("261",)
SELF_BILLED_INVOICE = "389"
SELF_BILLED_CREDIT_NOTE = "261"

ProfileName = Literal["peppol-billing", "peppol-self-billing", "ehf-forward-billing", "xrechnung", "other"]


def _normalised(identifier: str | None) -> str:
    return " ".join((identifier or "").split())


def is_self_billing(customization_id: str | None) -> bool:
    """The specification identifier is PEPPOL BIS Self-Billing 3.0 (or a CIUS/extension of it: the SB rules
    test with `starts-with`, as PEPPOL-EN16931-R004 does)."""
    return _normalised(customization_id).startswith(SELF_BILLING_CUSTOMIZATION)


def is_xrechnung(customization_id: str | None) -> bool:
    """XRechnung (any version): the KoSIT CIUS, whose rules are not PEPPOL's."""
    return "urn:xeinkauf.de:kosit:xrechnung" in _normalised(customization_id)


def profile_name(customization_id: str | None) -> ProfileName:
    """A short name for the profile a specification identifier belongs to (None: the gateway's default)."""
    customization = _normalised(customization_id)
    if not customization:
        return "peppol-billing"
    if is_self_billing(customization):
        return "peppol-self-billing"
    if is_xrechnung(customization):
        return "xrechnung"
    if customization.startswith(EHF_FORWARD_BILLING_CUSTOMIZATION):
        return "ehf-forward-billing"
    if customization.startswith(PEPPOL_BILLING_CUSTOMIZATION):
        return "peppol-billing"
    return "other"
