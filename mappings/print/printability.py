"""Will a print house (Digipost's published rules) accept this PDF? Checked with pypdf, never raising.

Rules: every page A4 (portrait or landscape, ±2 pt), a free left margin (the barcode / franking strip),
at most 20 pages, every font embedded, not encrypted, and readable at all.

The left-margin check walks each page's content stream (and the Form XObjects it paints) with the
current transformation matrix, and finds where text is shown, where images are placed and where paths
are stroked or filled (white fills excepted: a white background paints nothing a scanner sees). By default
it looks where Digipost's own validator looks: the strip `left_margin_mm` wide, 100–170 mm from the top of
the page (their barcode area; their "free barcode area" sample has text in the margin above and below it,
and passes). `margin_band_mm=None` checks the whole height, which is what our own renderer promises.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, ContentStream, DictionaryObject, IndirectObject, NameObject, PdfObject

MM = 72 / 25.4
A4_SHORT, A4_LONG = 210 * MM, 297 * MM
SIZE_TOLERANCE = 2.0
#: Digipost's barcode area, measured from the top of a portrait page.
DIGIPOST_BAND_MM: tuple[float, float] = (100.0, 170.0)
MAX_FORM_DEPTH = 8

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Problem:
    """One reason a print house would refuse the PDF; `page` is 1-based, None for the whole document."""

    code: str
    page: int | None
    detail: str


def _multiply(m1: Matrix, m2: Matrix) -> Matrix:
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _resolve(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject | PdfObject) else value


def _floats(operands: list[Any]) -> list[float]:
    result: list[float] = []
    for operand in operands:
        try:
            result.append(float(operand))
        except (TypeError, ValueError):
            result.append(0.0)
    return result


@dataclass
class _Mark:
    kind: str  # "text", "image", "path"
    x0: float
    y0: float
    x1: float
    y1: float
    detail: str


class _Painter:
    """A small content-stream interpreter: where text, images and painted paths land on the page."""

    def __init__(self, reader: PdfReader) -> None:
        self.reader = reader
        self.marks: list[_Mark] = []

    def run(self, content: Any, resources: DictionaryObject | None, ctm: Matrix, depth: int = 0) -> None:
        if content is None or depth > MAX_FORM_DEPTH:
            return
        stream = ContentStream(content, self.reader)
        stack: list[tuple[Matrix, bool]] = []
        white_fill = False
        text_matrix = line_matrix = IDENTITY
        font_size = 0.0
        leading = 0.0
        rise = 0.0
        path: list[tuple[float, float]] = []
        xobjects = _resolve(resources.get("/XObject")) if resources else None
        for operands, operator in stream.operations:
            op = operator if isinstance(operator, bytes) else bytes(operator)
            if op == b"q":
                stack.append((ctm, white_fill))
            elif op == b"Q":
                if stack:
                    ctm, white_fill = stack.pop()
            elif op == b"cm" and len(operands) == 6:
                a, b, c, d, e, f = _floats(operands)
                ctm = _multiply((a, b, c, d, e, f), ctm)
            elif op in (b"g", b"rg", b"k", b"sc", b"scn"):
                values = _floats([o for o in operands if not isinstance(o, NameObject)])
                if op == b"k":
                    white_fill = bool(values) and all(v == 0 for v in values)
                else:
                    white_fill = bool(values) and all(v >= 0.999 for v in values)
            elif op == b"BT":
                text_matrix = line_matrix = IDENTITY
            elif op == b"Tf" and len(operands) == 2:
                font_size = _floats(operands[1:])[0]
            elif op == b"TL" and operands:
                leading = _floats(operands)[0]
            elif op == b"Ts" and operands:
                rise = _floats(operands)[0]
            elif op == b"Tm" and len(operands) == 6:
                a, b, c, d, e, f = _floats(operands)
                text_matrix = line_matrix = (a, b, c, d, e, f)
            elif op in (b"Td", b"TD") and len(operands) == 2:
                tx, ty = _floats(operands)
                if op == b"TD":
                    leading = -ty
                line_matrix = _multiply((1, 0, 0, 1, tx, ty), line_matrix)
                text_matrix = line_matrix
            elif op == b"T*":
                line_matrix = _multiply((1, 0, 0, 1, 0, -leading), line_matrix)
                text_matrix = line_matrix
            elif op in (b"Tj", b"TJ", b"'", b'"'):
                if op in (b"'", b'"'):
                    line_matrix = _multiply((1, 0, 0, 1, 0, -leading), line_matrix)
                    text_matrix = line_matrix
                if _shows_something(operands):
                    render = _multiply(text_matrix, ctm)
                    x, y = _apply(render, 0, rise)
                    _, top = _apply(render, 0, rise + font_size)
                    self.marks.append(_Mark("text", x, min(y, top), x, max(y, top), "text"))
            elif op in (b"m", b"l") and len(operands) == 2:
                path.append(_apply(ctm, *_floats(operands)))
            elif op == b"c" and len(operands) == 6:
                values = _floats(operands)
                path.extend(_apply(ctm, values[i], values[i + 1]) for i in (0, 2, 4))
            elif op in (b"v", b"y") and len(operands) == 4:
                values = _floats(operands)
                path.extend(_apply(ctm, values[i], values[i + 1]) for i in (0, 2))
            elif op == b"re" and len(operands) == 4:
                x, y, w, h = _floats(operands)
                path.extend(
                    _apply(ctm, px, py) for px, py in ((x, y), (x + w, y), (x, y + h), (x + w, y + h))
                )
            elif op in (b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"):
                filled_only = op in (b"f", b"F", b"f*")
                if path and not (filled_only and white_fill):
                    xs = [p[0] for p in path]
                    ys = [p[1] for p in path]
                    self.marks.append(_Mark("path", min(xs), min(ys), max(xs), max(ys), "vector graphics"))
                path = []
            elif op == b"n":
                path = []
            elif op == b"Do" and operands and xobjects is not None:
                self._xobject(str(operands[0]), xobjects, ctm, depth)
            elif op == b"INLINE IMAGE":
                self._unit_square("image", ctm, "inline image")

    def _xobject(self, name: str, xobjects: Any, ctm: Matrix, depth: int) -> None:
        xobject = _resolve(xobjects.get(name))
        if xobject is None:
            return
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            self._unit_square("image", ctm, f"image {name}")
        elif subtype == "/Form":
            matrix = _floats(list(xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])))
            form_ctm = _multiply((matrix[0], matrix[1], matrix[2], matrix[3], matrix[4], matrix[5]), ctm)
            resources = _resolve(xobject.get("/Resources"))
            self.run(xobject, resources, form_ctm, depth + 1)

    def _unit_square(self, kind: str, ctm: Matrix, detail: str) -> None:
        corners = [_apply(ctm, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))]
        xs = [c[0] for c in corners]
        ys = [c[1] for c in corners]
        self.marks.append(_Mark(kind, min(xs), min(ys), max(xs), max(ys), detail))


def _shows_something(operands: list[Any]) -> bool:
    for operand in operands:
        if isinstance(operand, ArrayObject):
            if any(isinstance(item, str | bytes) and len(item) > 0 for item in operand):
                return True
        elif isinstance(operand, str | bytes) and len(operand) > 0:
            return True
    return False


# ------------------------------------------------------------------------------------------ checks


def _page_size(page: Any) -> tuple[float, float]:
    box = page.mediabox
    width, height = float(box.width), float(box.height)
    if int(page.get("/Rotate", 0) or 0) % 180 == 90:
        width, height = height, width
    return width, height


def _is_a4(width: float, height: float) -> bool:
    portrait = abs(width - A4_SHORT) <= SIZE_TOLERANCE and abs(height - A4_LONG) <= SIZE_TOLERANCE
    landscape = abs(width - A4_LONG) <= SIZE_TOLERANCE and abs(height - A4_SHORT) <= SIZE_TOLERANCE
    return portrait or landscape


def _fonts_of(resources: Any, seen: set[int], depth: int = 0) -> Iterator[tuple[str, DictionaryObject]]:
    """(resource name, font dict) for every font a page can use, in Form XObjects and Type 3 fonts too."""
    if resources is None or depth > MAX_FORM_DEPTH:
        return
    fonts = _resolve(resources.get("/Font"))
    if isinstance(fonts, DictionaryObject):
        for key, reference in fonts.items():
            font = _resolve(reference)
            if not isinstance(font, DictionaryObject):
                continue
            if id(font) in seen:
                continue
            seen.add(id(font))
            yield str(key), font
            if font.get("/Subtype") == "/Type3":
                yield from _fonts_of(_resolve(font.get("/Resources")), seen, depth + 1)
    xobjects = _resolve(resources.get("/XObject"))
    if isinstance(xobjects, DictionaryObject):
        for reference in xobjects.values():
            xobject = _resolve(reference)
            if isinstance(xobject, DictionaryObject) and xobject.get("/Subtype") == "/Form":
                yield from _fonts_of(_resolve(xobject.get("/Resources")), seen, depth + 1)


def font_info(font: DictionaryObject) -> dict[str, Any]:
    """Name, subtype and whether the glyph program is embedded (Type 0: its descendant's descriptor)."""
    subtype = str(font.get("/Subtype", "?"))
    name = str(font.get("/BaseFont", font.get("/Name", "?")))
    if subtype == "/Type3":
        return {"name": name, "subtype": subtype, "embedded": True}
    target = font
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if isinstance(descendants, ArrayObject) and descendants:
            target = _resolve(descendants[0])
    descriptor = _resolve(target.get("/FontDescriptor")) if isinstance(target, DictionaryObject) else None
    embedded = isinstance(descriptor, DictionaryObject) and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )
    return {"name": name.lstrip("/"), "subtype": subtype.lstrip("/"), "embedded": embedded}


def _open(pdf: bytes) -> tuple[PdfReader | None, Problem | None]:
    try:
        reader = PdfReader(io.BytesIO(pdf), strict=False)
    except Exception as error:
        return None, Problem("unreadable", None, f"not a readable PDF ({type(error).__name__}: {error})")
    if reader.is_encrypted:
        return reader, Problem("encrypted", None, "the PDF is encrypted; print houses need it unencrypted")
    try:
        if len(reader.pages) == 0:
            return None, Problem("unreadable", None, "the PDF has no pages")
    except Exception as error:
        return None, Problem(
            "unreadable", None, f"the page tree cannot be read ({type(error).__name__}: {error})"
        )
    return reader, None


@contextmanager
def quiet_pypdf() -> Iterator[None]:
    """pypdf reports repairs of broken files as log records and warnings; a check is not the place."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def check_printable(
    pdf: bytes,
    *,
    left_margin_mm: float = 15,
    max_pages: int = 20,
    margin_band_mm: tuple[float, float] | None = DIGIPOST_BAND_MM,
) -> list[Problem]:
    """Every reason a print house would refuse `pdf`; empty when it is printable. Never raises."""
    with quiet_pypdf():
        try:
            return _check(pdf, left_margin_mm, max_pages, margin_band_mm)
        except Exception as error:  # a damaged object deep inside: unreadable, not a crash
            return [Problem("unreadable", None, f"the PDF cannot be read ({type(error).__name__}: {error})")]


def _check(
    pdf: bytes, left_margin_mm: float, max_pages: int, band: tuple[float, float] | None
) -> list[Problem]:
    reader, problem = _open(pdf)
    if problem is not None or reader is None:
        return [problem] if problem else []
    problems: list[Problem] = []
    page_count = len(reader.pages)
    if page_count > max_pages:
        problems.append(
            Problem("too-many-pages", None, f"{page_count} pages; print houses take at most {max_pages}")
        )
    margin = left_margin_mm * MM
    reported_fonts: set[str] = set()
    for number, page in enumerate(reader.pages, start=1):
        width, height = _page_size(page)
        if not _is_a4(width, height):
            problems.append(
                Problem(
                    "not-a4",
                    number,
                    f"page is {width / MM:.0f} × {height / MM:.0f} mm ({width:.0f} × {height:.0f} pt), "
                    "not A4 (210 × 297 mm)",
                )
            )
        mark = _margin_mark(reader, page, margin, band)
        if mark is not None:
            problems.append(
                Problem(
                    "left-margin",
                    number,
                    f"{mark.detail} at x = {mark.x0 / MM:.1f} mm, inside the free left {left_margin_mm:g} mm",
                )
            )
        seen: set[int] = set()
        for _, font in _fonts_of(_resolve(page.get("/Resources")), seen):
            info = font_info(font)
            if not info["embedded"] and info["name"] not in reported_fonts:
                reported_fonts.add(info["name"])
                problems.append(
                    Problem(
                        "font-not-embedded",
                        number,
                        f"font {info['name']} ({info['subtype']}) is not embedded",
                    )
                )
    return problems


def _margin_mark(
    reader: PdfReader, page: Any, margin: float, band: tuple[float, float] | None
) -> _Mark | None:
    box = page.mediabox
    left, bottom, top = float(box.left), float(box.bottom), float(box.top)
    rotation = int(page.get("/Rotate", 0) or 0) % 360
    painter = _Painter(reader)
    painter.run(page.get_contents(), _resolve(page.get("/Resources")), IDENTITY)
    # Rotated pages: express marks in the coordinates of the page as printed (left edge after rotation).
    width, height = float(box.width), float(box.height)
    for mark in painter.marks:
        x0, y0, x1, y1 = mark.x0 - left, mark.y0 - bottom, mark.x1 - left, mark.y1 - bottom
        if rotation == 90:
            x0, y0, x1, y1 = height - y1, x0, height - y0, x1
        elif rotation == 180:
            x0, y0, x1, y1 = width - x1, height - y1, width - x0, height - y0
        elif rotation == 270:
            x0, y0, x1, y1 = y0, width - x1, y1, width - x0
        page_height = width if rotation in (90, 270) else (top - bottom)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            continue
        if x0 >= margin or x1 < 0 or y1 < 0 or y0 > page_height:
            continue
        if band is not None:
            band_low = page_height - band[1] * MM
            band_high = page_height - band[0] * MM
            if y1 < band_low or y0 > band_high:
                continue
        mark.x0 = x0
        return mark
    return None


def describe_pdf(data: bytes) -> dict[str, Any]:
    """What `gateway inspect` shows of a PDF: pages, sizes, fonts, encryption, printability, our facts."""
    from mappings.invoice.pdf import CREATOR, invoice_facts_from_text

    problems = check_printable(data)
    result: dict[str, Any] = {
        "format": "pdf",
        "printable": not problems,
        "problems": [asdict(p) for p in problems],
    }
    with quiet_pypdf():
        try:
            reader, problem = _open(data)
            result["encrypted"] = bool(problem and problem.code == "encrypted")
            if reader is None or problem is not None:
                return result
            result["pages"] = len(reader.pages)
            sizes = {f"{w / MM:.0f} × {h / MM:.0f} mm" for w, h in (_page_size(p) for p in reader.pages)}
            result["page_sizes"] = sorted(sizes)
            fonts: dict[str, dict[str, Any]] = {}
            for page in reader.pages:
                for _, font in _fonts_of(_resolve(page.get("/Resources")), set()):
                    info = font_info(font)
                    fonts.setdefault(info["name"], info)
            result["fonts"] = list(fonts.values())
            metadata = reader.metadata
            if metadata is not None:
                result["title"] = metadata.title
                result["creator"] = metadata.creator
            if metadata is not None and metadata.creator == CREATOR:
                text = "\n".join(page.extract_text() or "" for page in reader.pages)
                result["invoice"] = invoice_facts_from_text(text)
        except Exception as error:
            result["error"] = f"{type(error).__name__}: {error}"
    return result
