"""A statement zip: several bank files (camt.053 / camt.054, OCR giro…) in one .zip, as banks deliver them.

The archive is only a wrapper: each file inside is read, kept and reported on its own by remittance intake
(`gateway.services.payments`). This module opens the archive safely and hands back its members' bytes, or
refuses the archive whole — naming the member and the reason — before anything is read from it:

* more members than `ZipLimits.max_members` (counted from the central directory, before reading);
* a member name that is a path out of the archive: `..` as a part, an absolute path (`/x`, `\\x`), a drive
  letter (`C:`), control characters — a name like that is a mistake or an attack, never cleaned silently;
* an encrypted member (the gateway holds no password; a bank's zip is not encrypted member by member);
* a compression method other than stored / deflate;
* a nested zip (a member that is itself an archive, by its name or its first bytes);
* a zip bomb: the bytes actually decompressed, counted while streaming each member in chunks (never the
  sizes the headers declare, which a bomb lies about), past `max_total_bytes` for the archive, past
  `max_member_bytes` for one member, or past `max_ratio` times the member's compressed size once a member
  is past `RATIO_FLOOR_BYTES` (a small repetitive file may compress very well and harms nobody);
* two members of the same name, no files at all, or an archive `zipfile` cannot read (a bad CRC included).

Directory entries (`statements/`) are skipped; a member in a sub-folder keeps its relative path in its name.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, Final

from mappings.base import FormatError

__all__ = ["RATIO_FLOOR_BYTES", "ZipLimits", "ZipMember", "inspect", "open_statement_zip", "sniff"]

FORMAT_NAME = "statement-zip"

#: Local file header, empty archive (end of central directory), spanned archive marker.
_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
#: The compression ratio is held against `max_ratio` only past this many decompressed bytes of a member.
RATIO_FLOOR_BYTES: Final = 1024 * 1024
_CHUNK: Final = 64 * 1024
_READ_METHODS: Final = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_ARCHIVE_NAME: Final = re.compile(r"\.(zip|jar|7z|rar|gz|tgz|tar|bz2|xz)$", re.IGNORECASE)


@dataclass(frozen=True)
class ZipLimits:
    """What one statement zip may hold (the gateway's settings give the values)."""

    max_members: int = 100
    max_total_bytes: int = 200_000_000
    max_member_bytes: int = 200_000_000
    max_ratio: int = 100


@dataclass(frozen=True)
class ZipMember:
    """One file inside the archive: its name there (a relative path) and its bytes."""

    name: str
    data: bytes


#: The smallest zip there is: an empty archive's end-of-central-directory record.
_SMALLEST_ZIP: Final = 22


def sniff(data: bytes) -> bool:
    """True for a zip archive: its first four bytes, and at least as long as the smallest archive."""
    return len(data) >= _SMALLEST_ZIP and data[:4] in _MAGIC


def _where(name: str) -> str:
    return f"zip member {name!r}"


def name_problem(name: str) -> str | None:
    """Why a member name is refused (a path out of the archive), or None."""
    if not name.strip("/\\"):
        return "an empty name"
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in name):
        return "control or invisible formatting characters in the name"
    if name.startswith(("/", "\\")):
        return "an absolute path"
    if _DRIVE.match(name):
        return "a drive letter in the name"
    if any(part == ".." for part in re.split(r"[/\\]", name)):
        return "'..' in the path (outside the archive)"
    return None


def _check_entry(info: zipfile.ZipInfo) -> None:
    name = info.filename
    problem = name_problem(name)
    if problem is not None:
        raise FormatError(_where(name), f"refused: {problem}")
    if info.flag_bits & 0x1:
        raise FormatError(_where(name), "refused: encrypted (the gateway reads no encrypted member)")
    if info.is_dir():
        return
    if info.compress_type not in _READ_METHODS:
        raise FormatError(
            _where(name), f"refused: compression method {info.compress_type} (only stored and deflate)"
        )
    if _ARCHIVE_NAME.search(name):
        raise FormatError(_where(name), "refused: a nested archive (an archive inside the zip)")


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, total_before: int
) -> bytes:
    """The member's bytes, decompressed in chunks and counted as they come: stops at the first limit."""
    name = info.filename
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_member_bytes:
                raise FormatError(
                    _where(name),
                    f"refused: decompresses past {limits.max_member_bytes:,} bytes (a zip bomb?)",
                )
            if total_before + size > limits.max_total_bytes:
                raise FormatError(
                    _where(name),
                    f"refused: the archive decompresses past {limits.max_total_bytes:,} bytes in all "
                    "(a zip bomb?)",
                )
            if size > RATIO_FLOOR_BYTES and size > limits.max_ratio * max(info.compress_size, 1):
                raise FormatError(
                    _where(name),
                    f"refused: compression ratio over {limits.max_ratio}:1 "
                    f"({info.compress_size:,} bytes give more than {size:,}; a zip bomb?)",
                )
            if not chunks and sniff(chunk):
                raise FormatError(_where(name), "refused: a nested archive (a zip inside the zip)")
            chunks.append(chunk)
    return b"".join(chunks)


def open_statement_zip(data: bytes, limits: ZipLimits | None = None) -> list[ZipMember]:
    """Every file in the archive, in archive order; `FormatError` naming the member that made it refused."""
    limits = limits or ZipLimits()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise FormatError("zip", f"not a readable zip archive ({error})") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_members:
            raise FormatError("zip", f"refused: {len(entries):,} members, at most {limits.max_members:,}")
        seen: set[str] = set()
        for info in entries:
            _check_entry(info)
            if info.filename in seen:
                raise FormatError(_where(info.filename), "refused: two members have this name")
            seen.add(info.filename)
        members: list[ZipMember] = []
        total = 0
        for info in entries:
            if info.is_dir():
                continue
            try:
                member = _read_member(archive, info, limits, total)
            except FormatError:
                raise
            except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, ValueError, zlib.error) as error:
                # zlib.error: a deflate stream that is not one (a damaged member; found by the fuzz tests)
                raise FormatError(_where(info.filename), f"refused: cannot be read ({error})") from None
            total += len(member)
            members.append(ZipMember(info.filename, member))
    if not members:
        raise FormatError("zip", "refused: the archive holds no files")
    return members


def inspect(data: bytes) -> dict[str, Any]:
    """What the archive holds (for `gateway inspect`): each member's name and size (default limits)."""
    members = open_statement_zip(data)
    return {
        "format": FORMAT_NAME,
        "members": [{"name": member.name, "size": len(member.data)} for member in members],
    }
