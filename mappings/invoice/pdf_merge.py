"""Append pages to an invoice PDF: another PDF's pages, or a photo as a page (a proof of delivery).

Every appended page is A4 portrait with the content scaled into the area right of the free left 15 mm
(and a little more), so a document that passed `mappings.print.printability.check_printable` before still
does:
a print house or Digipost may take the merged PDF as it is.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

from PIL import Image, UnidentifiedImageError
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PdfReadError
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from mappings.base import FormatError

PAGE_WIDTH, PAGE_HEIGHT = A4
#: The box appended content is fitted into: 20 mm from the left (15 mm free strip + a gap), 10 mm elsewhere.
AREA_LEFT = 20 * mm
AREA_RIGHT = PAGE_WIDTH - 10 * mm
AREA_BOTTOM = 10 * mm
AREA_TOP = PAGE_HEIGHT - 10 * mm
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
PDF_TYPE = "application/pdf"
#: A photo bigger than this in pixels is refused (a decompression bomb, not a delivery note).
MAX_IMAGE_PIXELS = 80_000_000


#: ReportLab names a font on every page; an embedded one, so a photo page passes the "fonts embedded" check.
PAGE_FONT = "GatewayMergeVera"


@cache
def _register_page_font() -> str:
    pdfmetrics.registerFont(TTFont(PAGE_FONT, "Vera.ttf"))
    return PAGE_FONT


def _fit(width: float, height: float) -> tuple[float, float, float]:
    """Scale (never enlarging) and offset placing a `width` × `height` box top-centred in the area."""
    area_width, area_height = AREA_RIGHT - AREA_LEFT, AREA_TOP - AREA_BOTTOM
    scale = min(1.0, area_width / width, area_height / height)
    x = AREA_LEFT + (area_width - width * scale) / 2
    y = AREA_TOP - height * scale
    return scale, x, y


def _pdf_pages(data: bytes, where: str) -> list[PageObject]:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise FormatError(where, "the PDF is encrypted")
        # pages of a writer, so a rotated page's rotation can be moved into its content
        pages = list(PdfWriter(clone_from=reader).pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise FormatError(where, f"not a readable PDF ({type(error).__name__}: {error})") from None
    if not pages:
        raise FormatError(where, "the PDF has no pages")
    return pages


def _image_page(data: bytes, where: str) -> PageObject:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise FormatError(where, f"the image is {image.width} × {image.height} pixels: too large")
            image.verify()
        reader = ImageReader(io.BytesIO(data))
        width, height = reader.getSize()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise FormatError(where, f"not a readable image ({type(error).__name__}: {error})") from None
    # A photo has no natural print size: fill the area's width or height rather than keep pixel size.
    area_width, area_height = AREA_RIGHT - AREA_LEFT, AREA_TOP - AREA_BOTTOM
    scale = min(area_width / width, area_height / height)
    x = AREA_LEFT + (area_width - width * scale) / 2
    y = AREA_TOP - height * scale
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName=_register_page_font())
    canvas.drawImage(reader, x, y, width * scale, height * scale, mask="auto")
    canvas.showPage()
    canvas.save()
    return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]


def append_pages(pdf: bytes, attachments: Sequence[tuple[str, bytes]]) -> bytes:
    """`pdf` with each attachment (media type, bytes) appended: a PDF's pages, a JPEG/PNG as one page.

    Appended pages are A4 with their content scaled into the area right of the free left margin. Raises
    `FormatError` naming the attachment (`attachment 1`, …) that cannot be read or is of another type.
    """
    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise FormatError("document", f"not a readable PDF ({type(error).__name__}: {error})") from None
    for number, (media_type, data) in enumerate(attachments, start=1):
        where = f"attachment {number}"
        if media_type == PDF_TYPE:
            for source in _pdf_pages(data, where):
                if source.rotation % 360:
                    source.transfer_rotation_to_content()
                box = source.mediabox
                scale, x, y = _fit(float(box.width), float(box.height))
                page = writer.add_blank_page(PAGE_WIDTH, PAGE_HEIGHT)
                page.merge_transformed_page(
                    source,
                    Transformation()
                    .translate(-float(box.left), -float(box.bottom))
                    .scale(scale, scale)
                    .translate(x, y),
                )
        elif media_type in IMAGE_TYPES:
            writer.add_page(_image_page(data, where))
        else:
            raise FormatError(where, f"{media_type} cannot be appended to a PDF (PDF, JPEG or PNG only)")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
