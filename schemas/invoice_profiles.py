"""The invoice profiles the gateway knows: specification identifier (BT-24) and business process (BT-23).

An invoice read from the network carries both, and both say how it must be written back: a receiver's
validator picks its rules by the specification identifier (a self-billed invoice checked as ordinary billing
fails PEPPOL-EN16931-P0100), and PEPPOL routes by the pair. The canonical model keeps them as read; an
invoice without them is PEPPOL BIS Billing 3.0 / EHF 3.0, the gateway's default.

The specification also says which rules are the document's own: PEPPOL's rules (PEPPOL-EN16931-R120 line
net, R040 allowance amount…) belong to PEPPOL documents. A plain EN 16931, Factur-X / ZUGFeRD or XRechnung
invoice (the CII family, read from German and French senders) is checked by the CEN rules and its CIUS's,
which do not include them (`peppol_rules_apply`).
"""

from __future__ import annotations

import re
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
#: EHF Reminder 3.0 (purring): a UBL Invoice with its own profile and three rule sets of its own.
EHF_REMINDER_CUSTOMIZATION = (
    PEPPOL_BILLING_CUSTOMIZATION + "#conformant#urn:fdc:anskaffelser.no:2019:ehf:reminder:3.0"
)
EHF_REMINDER_PROCESS = "urn:fdc:anskaffelser.no:2019:ehf:postaward:g3:06:1.0"
#: XRechnung 3.0, the German CIUS of EN 16931 (its UBL syntax).
XRECHNUNG_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

#: BT-24 of a plain EN 16931 invoice (no CIUS), which is also Factur-X / ZUGFeRD 2's EN 16931 (COMFORT) level.
EN16931_CUSTOMIZATION = "urn:cen.eu:en16931:2017"
FACTUR_X_MINIMUM = "urn:factur-x.eu:1p0:minimum"
FACTUR_X_BASIC_WL = "urn:factur-x.eu:1p0:basicwl"
FACTUR_X_BASIC = "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"
FACTUR_X_EXTENDED = "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
ZUGFERD_2_MINIMUM = "urn:zugferd.de:2p0:minimum"
ZUGFERD_2_BASIC_WL = "urn:zugferd.de:2p0:basicwl"
ZUGFERD_2_BASIC = "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic"
ZUGFERD_2_EXTENDED = "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended"
#: ZUGFeRD 1.0 COMFORT's identifier, as three of the official CEN CII examples carry it in a D16B document.
ZUGFERD_1_COMFORT = "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"
#: The Factur-X / ZUGFeRD levels by specification identifier → a person's name for each.
FACTUR_X_LEVELS = {
    EN16931_CUSTOMIZATION: "EN 16931 (Factur-X / ZUGFeRD EN 16931)",
    FACTUR_X_MINIMUM: "Factur-X MINIMUM",
    FACTUR_X_BASIC_WL: "Factur-X BASIC WL",
    FACTUR_X_BASIC: "Factur-X BASIC",
    FACTUR_X_EXTENDED: "Factur-X EXTENDED",
    ZUGFERD_2_EXTENDED: "ZUGFeRD 2.0 EXTENDED",
    ZUGFERD_2_MINIMUM: "ZUGFeRD 2.0 MINIMUM",
    ZUGFERD_2_BASIC_WL: "ZUGFeRD 2.0 BASIC WL",
    ZUGFERD_2_BASIC: "ZUGFeRD 2.0 BASIC",
    ZUGFERD_1_COMFORT: "ZUGFeRD 1.0 COMFORT",
}
_XRECHNUNG_VERSION = re.compile(r"urn:xeinkauf\.de:kosit:xrechnung_([0-9.]+)")

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


def is_ehf_reminder(customization_id: str | None) -> bool:
    """The specification identifier is EHF Reminder 3.0: a reminder, validated by its own rule sets (the
    billing rules would refuse it: it has no type code, BR-04)."""
    return _normalised(customization_id).endswith(":ehf:reminder:3.0")


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


def is_factur_x(customization_id: str | None) -> bool:
    """A Factur-X / ZUGFeRD level (plain EN 16931 included: it is Factur-X's EN 16931 level)."""
    return _normalised(customization_id) in FACTUR_X_LEVELS


def is_cii_family(customization_id: str | None) -> bool:
    """A specification whose home syntax is CII and which is not PEPPOL's: plain EN 16931, the Factur-X /
    ZUGFeRD levels, XRechnung. A CII document is written in its own one of these."""
    return is_factur_x(customization_id) or is_xrechnung(customization_id)


def peppol_rules_apply(customization_id: str | None) -> bool:
    """The PEPPOL BIS rules (PEPPOL-EN16931-*) are this invoice's rules: it is PEPPOL-bound by its profile
    (none given: PEPPOL BIS Billing 3.0; PEPPOL billing, self-billing, EHF forward billing; any identifier the
    gateway does not know, since its deliveries go to PEPPOL / EHF). Not for plain EN 16931, Factur-X /
    ZUGFeRD or XRechnung, whose own rule sets do not contain them."""
    return not is_cii_family(customization_id)


def converts_to_peppol_billing(customization_id: str | None) -> bool:
    """Written as EHF / PEPPOL BIS Billing 3.0, the invoice takes PEPPOL's identifiers: it is plain EN 16931
    or a Factur-X / ZUGFeRD level, and PEPPOL BIS Billing is a CIUS of EN 16931 (the conversion takes the
    CIUS's identifiers; its rules then apply). XRechnung, self-billing and forward billing keep their own."""
    return is_factur_x(customization_id)


def specification_name(customization_id: str | None) -> str:
    """A person's name for a specification identifier (`XRechnung 3.0`, `Factur-X BASIC`…)."""
    customization = _normalised(customization_id)
    xrechnung = _XRECHNUNG_VERSION.search(customization)
    if xrechnung:
        return f"XRechnung {xrechnung.group(1)}"
    if customization in FACTUR_X_LEVELS:
        return FACTUR_X_LEVELS[customization]
    names = {
        "peppol-billing": "PEPPOL BIS Billing 3.0",
        "peppol-self-billing": "PEPPOL BIS Self-Billing 3.0",
        "ehf-forward-billing": "EHF forward billing 3.0",
    }
    return names.get(profile_name(customization), customization)
