"""Wire formats by name: render canonical → wire, parse wire → canonical, and sniff/inspect any file.

Each format is one module exposing the same verbs; this registry names them so the CLI's `render` and
`inspect`, the worker and the intake find them without knowing the modules. Adding a format is one module
and one entry here.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from mappings.base import FormatError, RenderedDocument
from schemas.canonical import Invoice

__all__ = ["FORMATS", "FormatError", "RenderedDocument", "UnknownFormat", "inspect_file", "render"]


@dataclass(frozen=True)
class FormatEntry:
    """Where a format's functions live ("module:function"); imported on first use."""

    render: str | None
    sniff: str | None = None
    inspect: str | None = None
    description: str = ""
    #: Official validation (XSD + schematron) must pass before a document in this format may leave.
    validated: bool = False


FORMATS: dict[str, FormatEntry] = {
    # First: an SBDH envelope is XML too, and must be recognised as the envelope, not as what it carries.
    "sbdh": FormatEntry(
        render=None,
        sniff="mappings.sbdh:sniff",
        inspect="mappings.sbdh:inspect_sbdh",
        description="PEPPOL envelope: SBDH 1.3 StandardBusinessDocument around a business document",
    ),
    "canonical-json": FormatEntry(
        render="mappings.invoice.canonical_json:render_invoice_json",
        sniff="mappings.invoice.canonical_json:sniff",
        inspect="mappings.invoice.canonical_json:inspect_invoice_json",
        description="the gateway's canonical invoice (EN 16931 fields) as JSON",
    ),
    "ehf": FormatEntry(
        render="mappings.invoice.ubl:render_invoice_ubl",
        sniff="mappings.invoice.ubl:sniff",
        inspect="mappings.invoice.ubl:inspect_ubl",
        description="EHF 3.0 / PEPPOL BIS Billing 3.0: UBL 2.1 Invoice or CreditNote",
        validated=True,
    ),
    "pdf": FormatEntry(
        render="mappings.invoice.pdf:render_invoice_pdf",
        sniff="mappings.invoice.pdf:sniff",
        inspect="mappings.invoice.pdf:inspect_pdf",
        description="printable A4 invoice or credit note PDF (embedded fonts, free 15 mm left margin)",
    ),
    "invoice-response": FormatEntry(
        render=None,
        sniff="mappings.status.invoice_response:sniff",
        inspect="mappings.status.invoice_response:inspect_status_document",
        description="PEPPOL status documents: Invoice Response (T111), MLR (T71), MLS (ApplicationResponse)",
    ),
    "dsn": FormatEntry(
        render=None,
        sniff="mappings.status.dsn:sniff",
        inspect="mappings.status.dsn:inspect_dsn",
        description="e-mail delivery status notification (RFC 3464 report-type=delivery-status)",
    ),
    "camt": FormatEntry(
        render=None,
        sniff="mappings.remittance.camt:sniff_camt",
        inspect="mappings.remittance.camt:inspect_camt",
        description="ISO 20022 camt.052 / camt.053 / camt.054 (.001.02/.04/.08): bank statements and "
        "debit/credit notifications with remittance information",
    ),
    "ocr-giro": FormatEntry(
        render=None,
        sniff="mappings.remittance.ocr_giro:sniff_ocr_giro",
        inspect="mappings.remittance.ocr_giro:inspect_ocr_giro",
        description="Nets OCR giro (incoming KID payments, AvtaleGiro payments) and AvtaleGiro claim / "
        "agreement files",
    ),
    # Acknowledgements before the generic syntax entries: a CONTRL is EDIFACT too, but is read as an ack.
    "invoic": FormatEntry(
        render=None,
        sniff="mappings.invoice.edifact_invoic:sniff_invoic",
        inspect="mappings.invoice.edifact_invoic:inspect_invoic",
        description="UN/EDIFACT INVOIC interchange (EANCOM D.96A EAN008, D.01B, other D releases): "
        "invoices and credit notes",
    ),
    "edifact-d96a": FormatEntry(
        render="mappings.invoice.edifact_invoic:render_invoic_d96a",
        description="EANCOM 1997 INVOIC (UN D.96A, EAN008) in an EDIFACT interchange",
    ),
    "edifact-d01b": FormatEntry(
        render="mappings.invoice.edifact_invoic:render_invoic_d01b",
        description="UN D.01B INVOIC in an EDIFACT interchange",
    ),
    "edifact-ack": FormatEntry(
        render=None,
        sniff="mappings.acks.edi_acks:sniff_edifact_ack",
        inspect="mappings.acks.edi_acks:inspect_ack",
        description="EDIFACT acknowledgements: CONTRL (syntax, UCI/UCF/UCM/UCS/UCD) and APERAK (application)",
    ),
    "x12-ack": FormatEntry(
        render=None,
        sniff="mappings.acks.edi_acks:sniff_x12_ack",
        inspect="mappings.acks.edi_acks:inspect_ack",
        description="X12 acknowledgements: TA1 (interchange), 997 / 999 (functional group, AK3/AK4, IK3/IK4)",
    ),
    "x12-810": FormatEntry(
        render="mappings.invoice.x12_810:render_810_4010",
        sniff="mappings.invoice.x12_810:sniff_810",
        inspect="mappings.invoice.x12_810:inspect_810",
        description="ASC X12 810 invoice, 004010 (reads any 810 interchange)",
    ),
    "x12-810-5010": FormatEntry(
        render="mappings.invoice.x12_810:render_810_5010",
        description="ASC X12 810 invoice, 005010",
    ),
    # Remittance advices before the generic syntax entries: a REMADV is EDIFACT, an 820 is X12.
    "remadv": FormatEntry(
        render=None,
        sniff="mappings.remittance.edifact_remadv:sniff_remadv",
        inspect="mappings.remittance.edifact_remadv:inspect_remadv",
        description="UN/EDIFACT REMADV remittance advice (EANCOM D.96A / D.01B): one payment per message",
    ),
    "x12-820": FormatEntry(
        render=None,
        sniff="mappings.remittance.x12_820:sniff_820",
        inspect="mappings.remittance.x12_820:inspect_820",
        description="ASC X12 820 payment order / remittance advice: BPR, TRN, RMR/ADX; one payment per set",
    ),
    # Transport statuses before the generic syntax entries: an IFTSTA is EDIFACT, a 214 is X12.
    "iftsta": FormatEntry(
        render=None,
        sniff="mappings.status.transport_status:sniff_iftsta",
        inspect="mappings.status.transport_status:inspect_transport_status",
        description="UN/EDIFACT IFTSTA transport status (D.96A … D.01B): consignments, status, signer",
    ),
    "x12-214": FormatEntry(
        render=None,
        sniff="mappings.status.transport_status:sniff_214",
        inspect="mappings.status.transport_status:inspect_transport_status",
        description="ASC X12 214 carrier shipment status: B10, L11, AT7 status (D1 = delivered), POD",
    ),
    "edifact": FormatEntry(
        render=None,
        sniff="mappings.syntax.edifact:sniff",
        inspect="mappings.syntax.edifact:inspect_edifact",
        description="UN/EDIFACT interchange (ISO 9735 syntax 1–4): UNA/UNB…UNZ, UNG groups, UNH…UNT messages",
    ),
    "x12": FormatEntry(
        render=None,
        sniff="mappings.syntax.x12:sniff",
        inspect="mappings.syntax.x12:inspect_x12",
        description="ANSI ASC X12 interchange: ISA/IEA, GS/GE groups, ST…SE transaction sets, TA1",
    ),
    "print-index": FormatEntry(
        render="mappings.print.batch:render_print_index_preview",
        sniff="mappings.print.batch:sniff_print_index",
        inspect="mappings.print.batch:inspect_print_index",
        description="print-house batch index, CSV or XML (urn:invoice-gateway:print-batch:1)",
    ),
    "print-return": FormatEntry(
        render=None,
        sniff="mappings.print.returns:sniff_print_return",
        inspect="mappings.print.returns:inspect_print_return",
        description="print-house return file (CSV or XML urn:invoice-gateway:print-return:1): receipt, "
        "production report or returned mail",
    ),
}


class UnknownFormat(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown format {name!r}.{hint} Known formats: {', '.join(sorted(known))}")


def _load(target: str) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    return cast(Callable[..., Any], getattr(importlib.import_module(module_name), attribute))


def renderable_formats() -> list[str]:
    return sorted(name for name, entry in FORMATS.items() if entry.render)


def render(format_name: str, invoice: Invoice, options: Any = None) -> RenderedDocument:
    """Render `invoice` in the named wire format; `options` (e.g. a tenant's PDF template) if it takes any."""
    entry = FORMATS.get(format_name)
    if entry is None or entry.render is None:
        raise UnknownFormat(format_name, renderable_formats())
    renderer = _load(entry.render)
    return cast(RenderedDocument, renderer(invoice) if options is None else renderer(invoice, options))


def detect_format(data: bytes) -> str | None:
    """The first registered format whose sniffer recognises `data`."""
    for name, entry in FORMATS.items():
        if entry.sniff and _load(entry.sniff)(data):
            return name
    return None


def inspect_file(data: bytes) -> dict[str, Any]:
    """Detect what `data` is and return what the gateway reads from it; `FormatError` if nothing fits."""
    name = detect_format(data)
    if name is None:
        raise FormatError("file", "not a format the gateway understands (known: " + ", ".join(FORMATS) + ")")
    inspector = FORMATS[name].inspect
    if inspector is None:
        return {"format": name}
    return cast(dict[str, Any], _load(inspector)(data))
