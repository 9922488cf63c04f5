"""A provider's eFaktura recipient-search answer as CSV: what `gateway efaktura recipients import` reads.

The issuer API is not public, so the shape is ours (README, "eFaktura"): UTF-8 (a BOM allowed), `;`
separated, RFC 4180 quoting, this header first:

    national_id;name;street;postal_code;efaktura_id;status

One consumer per line, found by `national_id` (11 digits, checked) or by `name` + `street` +
`postal_code`; `status` is `found` (then `efaktura_id` is required), `not-found` or `blocked` (the
consumer blocked this issuer). A file with any bad line is refused whole, every bad line named by number
and field — never by the national identity number it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mappings.base import FormatError
from mappings.csv_text import csv_rows, decode_utf8
from schemas.national_id import NationalId, mask_national_id

COLUMNS = ("national_id", "name", "street", "postal_code", "efaktura_id", "status")
STATUSES = ("found", "not-found", "blocked")
MAX_BYTES = 50_000_000
_NATIONAL_ID: TypeAdapter[str] = TypeAdapter(NationalId)


@dataclass(frozen=True)
class RecipientLine:
    """One consumer of the answer; `national_id` as 11 digits when given."""

    line: int
    status: str
    national_id: str | None = None
    name: str | None = None
    street: str | None = None
    postal_code: str | None = None
    efaktura_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As every view shows it: the national identity number masked."""
        return {
            "line": self.line,
            "status": self.status,
            "national_id": mask_national_id(self.national_id),
            "name": self.name,
            "street": self.street,
            "postal_code": self.postal_code,
            "efaktura_id": self.efaktura_id,
        }


class RecipientFileRefused(FormatError):
    """The file is refused whole; `errors` names every bad line's field and reason."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        shown = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:5])
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        super().__init__("file", shown + more)
        self.errors = errors


def _cell(row: list[str], index: int, limit: int) -> str | None:
    value = row[index].strip() if index < len(row) else ""
    return value[:limit] or None


def parse(data: bytes) -> list[RecipientLine]:
    """Every consumer in the file; `RecipientFileRefused` naming each bad line, `FormatError` for the file."""
    if len(data) > MAX_BYTES:
        raise FormatError("file", f"{len(data):,} bytes; at most {MAX_BYTES:,}")
    rows = csv_rows(decode_utf8(data))
    first = next(rows, None)
    if first is None:
        raise FormatError("file", "empty: the header " + ";".join(COLUMNS) + " is needed")
    header = tuple(cell.strip().lower() for cell in first[1])
    if header != COLUMNS:
        raise FormatError("line 1", "the header must be " + ";".join(COLUMNS))
    found: list[RecipientLine] = []
    errors: list[dict[str, str]] = []
    for line, row in rows:
        where = f"line {line}"
        if len(row) != len(COLUMNS):
            errors.append({"field": where, "reason": f"{len(row)} columns, {len(COLUMNS)} expected"})
            continue
        status = (_cell(row, 5, 20) or "").lower().replace("_", "-")
        national_id = _cell(row, 0, 20)
        name, street, postal_code = _cell(row, 1, 200), _cell(row, 2, 200), _cell(row, 3, 20)
        efaktura_id = _cell(row, 4, 100)
        if status not in STATUSES:
            errors.append({"field": f"{where}: status", "reason": f"not one of {', '.join(STATUSES)}"})
            continue
        if national_id is not None:
            try:
                national_id = _NATIONAL_ID.validate_python(national_id)
            except ValidationError as error:
                reason = error.errors(include_input=False, include_url=False)[0]["msg"]
                errors.append({"field": f"{where}: national_id", "reason": reason})
                continue
        elif not (name and street and postal_code):
            errors.append(
                {"field": where, "reason": "needs a national_id, or a name, street and postal_code"}
            )
            continue
        if status == "found" and efaktura_id is None:
            errors.append(
                {"field": f"{where}: efaktura_id", "reason": "a found recipient needs its identifier"}
            )
            continue
        found.append(RecipientLine(line, status, national_id, name, street, postal_code, efaktura_id))
    if errors:
        raise RecipientFileRefused(errors)
    return found


def sniff(data: bytes) -> bool:
    """Our header on the first line."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.lower().startswith(";".join(COLUMNS).encode())


def inspect(data: bytes) -> dict[str, Any]:
    """What an import would read (for `gateway inspect`): every line, national identity numbers masked."""
    lines = parse(data)
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    return {
        "format": "efaktura-recipients",
        "lines": [line.as_dict() for line in lines],
        "by_status": dict(sorted(counts.items())),
    }
