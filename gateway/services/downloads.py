"""Files handed back as they were kept: a `Content-Disposition` that is safe whatever the file was called.

A stored file name comes from outside (an invoice number, an uploaded file's name): it may hold quotes,
line breaks, path separators, right-to-left overrides or Windows device names. The header never carries it
raw: `filename=` is a plain-ASCII fallback and `filename*` the cleaned name in UTF-8 (RFC 6266, RFC 5987).

The API and the console hand stored documents back the same way (`document_headers`); the console may show
a document in the page (`inline`), but only of a type a browser displays without running anything in it.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from db.models import StoredDocument
from schemas.search_keys import without_accents

#: RFC 5987 attr-char besides letters and digits: what `filename*` may carry unencoded.
_ATTR_CHARS = "!#$&+-.^_`|~"
#: Characters a file name must not have on any common system.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._()+ -]")
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
)
_MAX_NAME = 150
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def _visible(character: str) -> str:
    kind = unicodedata.category(character)[0]
    return "" if kind == "C" else " " if kind == "Z" else character


def filename_problem(name: str, max_length: int) -> str | None:
    """Why `name` cannot be kept as an uploaded file's name, or None. Never cleaned silently: a path in a
    name is a mistake or an attack, and the sender should hear which. Shared by every upload that keeps
    its name (proofs of delivery, remittance files)."""
    if not name or name in {".", ".."}:
        return "a file name is required"
    if len(name) > max_length:
        return f"{len(name)} characters; at most {max_length}"
    if "/" in name or "\\" in name:
        return f"{name!r} contains a path separator; give the bare file name"
    if ".." in name:
        return f"{name!r} contains '..'"
    if ":" in name:
        return f"{name!r} contains ':' (a drive or stream name)"
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in name):
        return f"{name!r} contains control or invisible formatting characters"
    return None


def safe_filename(name: str, fallback: str) -> str:
    """`name` as a plain file name: its last path part, without control or format characters (line
    breaks, NUL, bidirectional overrides), characters that are not allowed in file names, leading dots or a
    Windows device name; `fallback` when nothing is left."""
    last = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    kept = "".join(_visible(c) for c in last)
    cleaned = " ".join(_FORBIDDEN.sub("_", kept).split()).strip(". ")
    if len(cleaned) > _MAX_NAME:
        stem, dot, extension = cleaned.rpartition(".")
        cleaned = (
            stem[: _MAX_NAME - len(extension) - 1] + dot + extension
            if dot and len(extension) <= 10
            else cleaned[:_MAX_NAME]
        )
    if cleaned.partition(".")[0].upper() in _WINDOWS_DEVICES:
        cleaned = "_" + cleaned
    return cleaned or fallback


def ascii_filename(name: str, fallback: str) -> str:
    """The ASCII fallback of a safe name: accents dropped, anything else outside a small set as `_`."""
    ascii_name = _ASCII_UNSAFE.sub("_", without_accents(name)).strip(". ")
    return ascii_name if ascii_name.strip("_") else fallback


def content_disposition(name: str | None, *, fallback: str, disposition: str = "attachment") -> str:
    """`attachment; filename="…"; filename*=UTF-8''…` for a stored file called `name`."""
    safe = safe_filename(name or "", fallback)
    plain = ascii_filename(safe, fallback)
    encoded = quote(safe, safe=_ATTR_CHARS)
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{encoded}"


def safe_media_type(media_type: str | None) -> str:
    """A stored media type when it is one (`type/subtype`, parameters dropped), else octet-stream."""
    essence = (media_type or "").split(";")[0].strip().lower()
    return essence if _MEDIA_TYPE.fullmatch(essence) else "application/octet-stream"


#: Media types a browser shows without running anything from them. A stored document of any other type is
#: always handed over as an attachment: an HTML, SVG or XML file (XHTML, XSLT) shown in the page would run
#: its scripts with the console's origin.
INLINE_MEDIA_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"})


def document_headers(document: StoredDocument, *, inline: bool = False) -> tuple[str, dict[str, str]]:
    """The media type and headers a stored document is answered with: its safe media type, a safe file
    name, no sniffing, its SHA-256 as the ETag. `inline` is honoured only for `INLINE_MEDIA_TYPES`."""
    media_type = safe_media_type(document.media_type)
    disposition = "inline" if inline and media_type in INLINE_MEDIA_TYPES else "attachment"
    headers = {
        "Content-Disposition": content_disposition(
            document.filename, fallback=f"document-{document.id}", disposition=disposition
        ),
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{document.sha256}"',
    }
    return media_type, headers
