"""Factur-X / ZUGFeRD: the invoice PDF as PDF/A-3 with its CII XML embedded, both ways.

A German or French receiver's software reads the embedded `factur-x.xml` (EN 16931 profile: BT-24
`urn:cen.eu:en16931:2017`), a person reads the page. `render` draws the gateway's printable PDF (the tenant's
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

FORMAT_NAME = "factur-x"
MEDIA_TYPE = "application/pdf"
EXTENSION = "pdf"


def _quiet() -> None:
    """The `factur-x` package logs every step at INFO on its own logger: keep it to warnings."""
    logging.getLogger("factur-x").setLevel(logging.WARNING)


def render(invoice: Invoice, template: PdfTemplate | None = None) -> RenderedDocument:
    """Canonical → the invoice PDF with the CII (EN 16931 profile) embedded as PDF/A-3 `factur-x.xml`."""
    import facturx

    _quiet()
    page = pdf.render(invoice, template)
    xml = cii.render(invoice)
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
            level="en16931",
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
