"""eFaktura receipts and rejections read back: one line per invoice sent, in a shape of ours.

The provider's receipt format is not public, so the gateway documents its own (README, "eFaktura") until a
provider's is known; a provider (or its adapter) writes either form:

* CSV — UTF-8 (a BOM allowed), `;` separated, this header first:

      message_id;status;reason_code;reason;timestamp

* JSON — `{"efaktura_receipts": [{"message_id": …, "status": …, "reason_code": …, "reason": …,
  "timestamp": …}, …]}`.

`message_id` is what the channel answered the send with (the SBDH instance id, `<delivery id>-<attempt>`,
or the provider's id from its HTTP answer); `status` is `accepted` or `rejected`; a rejection's
`reason_code` is one of `REASON_CODES` (`validation-error`, `consent-withdrawn`, `blocked`,
`unknown-recipient`, `duplicate`, `other`); `timestamp` is ISO 8601 (UTC when it has no zone).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from mappings.base import FormatError
from mappings.csv_text import csv_rows, decode_utf8

FORMAT_NAME = "efaktura-receipt"
COLUMNS = ("message_id", "status", "reason_code", "reason", "timestamp")
JSON_KEY = "efaktura_receipts"
STATUSES = ("accepted", "rejected")
#: Why a provider rejects an invoice. The first group is the invoice's fault (a deviation); the second
#: means the consumer does not (any longer) take eFaktura from this issuer (the next channel takes over).
REASON_CODES = ("validation-error", "duplicate", "other", "consent-withdrawn", "blocked", "unknown-recipient")
NO_CONSENT = frozenset({"consent-withdrawn", "blocked", "unknown-recipient"})
MAX_BYTES = 20_000_000


@dataclass(frozen=True)
class ReceiptLine:
    line: int
    message_id: str
    status: str
    reason_code: str | None
    reason: str | None
    timestamp: dt.datetime | None

    @property
    def no_consent(self) -> bool:
        """The consumer no longer takes eFaktura from this issuer: the waterfall goes on."""
        return self.status == "rejected" and self.reason_code in NO_CONSENT

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "message_id": self.message_id,
            "status": self.status,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
        }


@dataclass(frozen=True)
class ReceiptFile:
    form: str  # csv | json
    lines: list[ReceiptLine] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"form": self.form, "lines": [line.as_dict() for line in self.lines]}


def _timestamp(value: str | None, where: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"{where}: timestamp", f"{value[:40]!r} is not an ISO 8601 date and time") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _line(number: int, values: dict[str, Any]) -> ReceiptLine:
    where = f"line {number}"
    cleaned = {key: (str(values[key]).strip() if values.get(key) is not None else "") for key in COLUMNS}
    if not cleaned["message_id"]:
        raise FormatError(f"{where}: message_id", "missing")
    status = cleaned["status"].lower()
    if status not in STATUSES:
        raise FormatError(f"{where}: status", f"{cleaned['status'][:40]!r} is not accepted or rejected")
    code = cleaned["reason_code"].lower().replace("_", "-") or None
    if status == "rejected" and code is None:
        raise FormatError(f"{where}: reason_code", "a rejection needs a reason code")
    if code is not None and code not in REASON_CODES:
        raise FormatError(f"{where}: reason_code", f"{code[:40]!r} is not one of {', '.join(REASON_CODES)}")
    return ReceiptLine(
        number,
        cleaned["message_id"][:500],
        status,
        code,
        cleaned["reason"][:500] or None,
        _timestamp(cleaned["timestamp"], where),
    )


def _is_json(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse(data: bytes) -> ReceiptFile:
    """Every line of a receipt file, CSV or JSON; `FormatError` naming the line and field refuses it whole."""
    if len(data) > MAX_BYTES:
        raise FormatError("file", f"{len(data):,} bytes; at most {MAX_BYTES:,}")
    if _is_json(data):
        try:
            body = json.loads(decode_utf8(data))
        except json.JSONDecodeError as error:
            raise FormatError(f"line {error.lineno}", f"not valid JSON ({error.msg})") from None
        items = body.get(JSON_KEY) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise FormatError(JSON_KEY, "a list of receipts is needed")
        lines = []
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise FormatError(f"line {number}", "a receipt is a JSON object")
            lines.append(_line(number, item))
        return ReceiptFile("json", lines)
    rows = csv_rows(decode_utf8(data))
    first = next(rows, None)
    if first is None or tuple(cell.strip().lower() for cell in first[1]) != COLUMNS:
        raise FormatError("line 1", "the header must be " + ";".join(COLUMNS))
    lines = []
    for number, row in rows:
        if len(row) != len(COLUMNS):
            raise FormatError(f"line {number}", f"{len(row)} columns, {len(COLUMNS)} expected")
        lines.append(_line(number, dict(zip(COLUMNS, row, strict=True))))
    return ReceiptFile("csv", lines)


def sniff(data: bytes) -> bool:
    """Our CSV header on the first line, or a JSON object whose first key is `efaktura_receipts`."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.lower().startswith(";".join(COLUMNS).encode()):
        return True
    return head.startswith(b"{") and head[1:].lstrip().startswith(f'"{JSON_KEY}"'.encode())


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a receipt file (for `gateway inspect`), with counts per outcome."""
    parsed = parse(data)
    counts: dict[str, int] = {}
    for line in parsed.lines:
        key = line.status if line.reason_code is None else f"{line.status}:{line.reason_code}"
        counts[key] = counts.get(key, 0) + 1
    return {"format": FORMAT_NAME, **parsed.as_dict(), "by_outcome": dict(sorted(counts.items()))}
