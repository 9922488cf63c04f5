"""Proof-of-delivery files, known by their bytes (registry format "pod"): a signed PDF, a JPEG or PNG photo of
the signed delivery note, or a carrier's transport status (EDIFACT IFTSTA, X12 214).

A POD is accepted by what its bytes are, never by its name or declared type: `kind_of` says which of the
five it is, `looks_like` names what a refused file seems to be (so the sender hears "a ZIP archive", not
"unknown"), and `image_size` reads a photo's dimensions from its header without decoding it (a
decompression bomb is refused before any pixel exists). What a POD may be (size, pixels, pages) is the
intake's policy (`gateway.services.inbound.pods`); the transport statuses are read by
`mappings.status.iftsta` and `mappings.status.x12_214`.

Pure functions, no I/O.
"""

from __future__ import annotations

import struct
from typing import Any, Literal

from mappings.base import FormatError
from mappings.status import iftsta, x12_214

FORMAT_NAME = "pod"

PodFileKind = Literal["pdf", "jpeg", "png", "iftsta", "x12-214"]

#: kind → (media type, file extension)
MEDIA_TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "pdf"),
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "iftsta": ("application/EDIFACT", "edi"),
    "x12-214": ("application/EDI-X12", "x12"),
}
IMAGE_KINDS = frozenset({"jpeg", "png"})

#: what refused content looks like, by its first bytes (for a message that says what was sent)
_LOOKS_LIKE: list[tuple[bytes, str]] = [
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"MZ", "a Windows executable"),
    (b"\x7fELF", "an ELF executable"),
    (b"\xca\xfe\xba\xbe", "a Java class or Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O executable"),
    (b"#!", "a script"),
    (b"GIF8", "a GIF image (only JPEG and PNG photos are accepted)"),
    (b"II*\x00", "a TIFF image (only JPEG and PNG photos are accepted)"),
    (b"MM\x00*", "a TIFF image (only JPEG and PNG photos are accepted)"),
    (b"BM", "a BMP image (only JPEG and PNG photos are accepted)"),
    (b"\xd0\xcf\x11\xe0", "an OLE document (Office)"),
]
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def kind_of(data: bytes) -> PodFileKind | None:
    """pdf, jpeg, png, iftsta or x12-214 by the bytes (in that order); None for anything else."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if iftsta.sniff(data):
        return "iftsta"
    if x12_214.sniff(data):
        return "x12-214"
    return None


def sniff(data: bytes) -> bool:
    """Any of the five proof-of-delivery files."""
    return kind_of(data) is not None


def looks_like(data: bytes) -> str:
    """What a file that is no POD seems to be, in words ("a ZIP archive", "an HTML document", "empty")."""
    for magic, what in _LOOKS_LIKE:
        if data.startswith(magic):
            return what
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head:
        return "an SVG image (it can carry scripts)"
    if head.startswith((b"<!doctype html", b"<html")) or b"<script" in head:
        return "an HTML document"
    if head.startswith(b"<"):
        return "an XML or markup document"
    if not data:
        return "empty"
    return "an unknown kind of file"


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise FormatError("content", "not a valid PNG: the IHDR header is missing")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from the first SOF marker, walking the segment headers only (nothing decoded)."""
    index = 2
    while index + 4 <= len(data):
        if data[index] != 0xFF:
            break
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in {0xD8, 0x01} or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        if marker in {0xD9, 0xDA}:  # end of image or start of scan before any frame header
            break
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if marker in _SOF_MARKERS:
            if index + 9 > len(data) or length < 7:
                break
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        if length < 2:
            break
        index += 2 + length
    raise FormatError("content", "not a valid JPEG: no frame header (SOF) with the image size")


def image_size(kind: str, data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG photo from its header; `FormatError` when the header is broken."""
    return _png_size(data) if kind == "png" else _jpeg_size(data)


def inspect(data: bytes) -> dict[str, Any]:
    """What kind of POD file `data` is (for `gateway inspect --json`): its kind, media type and extension,
    and a photo's size; `FormatError` for a file that is no POD."""
    kind = kind_of(data)
    if kind is None:
        raise FormatError("content", f"the file is {looks_like(data)}, not a proof of delivery")
    media_type, extension = MEDIA_TYPES[kind]
    found: dict[str, Any] = {"format": FORMAT_NAME, "kind": kind, "media_type": media_type,
                             "extension": extension}  # fmt: skip
    if kind in IMAGE_KINDS:
        found["width"], found["height"] = image_size(kind, data)
    return found
