"""The monthly journal as JSON: the vouchers with their lines, for a ledger import that reads JSON (or a
person with `jq`).

    {"format":"gateway-ledger-journal","version":1,"vouchers":[
    {"number":1,"period":"2026-11",…,"lines":[{"line_no":1,"account":"1500","debit":"1250.00",…},…]},
    …
    ],"totals":{"vouchers":2,"lines":5,"debit":"…","credit":"…"}}

One voucher per line, so the file streams (the totals come last) and a diff of two exports reads voucher by
voucher. Amounts and rates are strings of exact decimals (never JSON numbers, which readers take as
floats); dates ISO 8601; every key is always there (null when it has no value); keys in a fixed order, UTF-8
as it is (no `\\u` escapes). Rendering is deterministic: the same vouchers give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from mappings.base import FormatError, RenderedDocument
from mappings.ledger.journal_totals import JournalTally, amount_text, read_amount
from schemas.ledger import Voucher, VoucherLine

FORMAT_NAME = "journal-json"
MEDIA_TYPE = "application/json"
EXTENSION = "json"
MARKER = "gateway-ledger-journal"
VERSION = 1
_HEAD = f'{{"format":"{MARKER}","version":{VERSION},"vouchers":['


def _money(value: Decimal | None) -> str | None:
    return None if value is None else amount_text(value)


def _exact(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _line(line: VoucherLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "account": line.account,
        "debit": amount_text(line.debit),
        "credit": amount_text(line.credit),
        "tax_code": line.tax_code,
        "tax_rate": _exact(line.tax_rate),
        "tax_base": _money(line.tax_base),
        "tax_amount": _money(line.tax_amount),
        "customer_number": line.customer_number or line.customer_key,
        "customer_key": line.customer_key,
        "document_number": line.document_number,
        "kid": line.kid,
        "due_date": line.due_date.isoformat() if line.due_date else None,
        "text": line.text,
        "currency": line.currency,
        "currency_amount": _exact(line.currency_amount),
        "exchange_rate": _exact(line.exchange_rate),
    }


def voucher_data(voucher: Voucher) -> dict[str, Any]:
    """One voucher as the file writes it."""
    return {
        "number": voucher.number,
        "period": voucher.period,
        "voucher_date": voucher.voucher_date.isoformat(),
        "event_date": voucher.event_date.isoformat(),
        "voucher_type": voucher.voucher_type,
        "source_key": voucher.source_key,
        "customer_key": voucher.customer_key,
        "description": voucher.description,
        "debit_total": amount_text(voucher.debit_total),
        "credit_total": amount_text(voucher.credit_total),
        "lines": [_line(line) for line in voucher.lines],
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def stream(vouchers: Iterable[Voucher]) -> Iterator[bytes]:
    """The file a voucher at a time (memory flat); the totals last."""
    yield (_HEAD + "\n").encode("utf-8")
    count = lines = 0
    debit = credit = Decimal(0)
    for voucher in vouchers:
        yield (("," if count else "") + _dumps(voucher_data(voucher)) + "\n").encode("utf-8")
        count += 1
        lines += len(voucher.lines)
        debit += voucher.debit_total
        credit += voucher.credit_total
    totals = {"vouchers": count, "lines": lines, "debit": amount_text(debit), "credit": amount_text(credit)}
    yield ("]," + _dumps({"totals": totals})[1:] + "\n").encode("utf-8")


def render(vouchers: Iterable[Voucher]) -> RenderedDocument:
    """The whole file (`stream` joined)."""
    content = b"".join(stream(vouchers))
    return RenderedDocument(format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension=EXTENSION)


def sniff(data: bytes) -> bool:
    return data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(f'{{"format":"{MARKER}"'.encode())


def inspect(data: bytes) -> dict[str, Any]:
    """Vouchers, lines, debit and credit totals of a journal JSON file, and whether it balances (and
    agrees with the totals it states)."""
    if not sniff(data):
        raise FormatError("format", f'not a journal JSON file: no "format": "{MARKER}" first')
    try:
        parsed = json.loads(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FormatError("file", f"not valid JSON ({error})") from None
    vouchers = parsed.get("vouchers") if isinstance(parsed, dict) else None
    if not isinstance(vouchers, list):
        raise FormatError("vouchers", "missing or not a list")
    tally = JournalTally(FORMAT_NAME)
    accounts: set[str] = set()
    for index, voucher in enumerate(vouchers):
        where = f"vouchers[{index}]"
        if not isinstance(voucher, dict) or not isinstance(voucher.get("lines"), list):
            raise FormatError(where, "not a voucher with lines")
        for position, line in enumerate(voucher["lines"]):
            at = f"{where}.lines[{position}]"
            if not isinstance(line, dict):
                raise FormatError(at, "not a line")
            debit = read_amount(str(line.get("debit", "")), f"{at}.debit")
            credit = read_amount(str(line.get("credit", "")), f"{at}.credit")
            tally.add(str(voucher.get("number")), debit, credit, str(voucher.get("period") or "") or None)
            accounts.add(str(line.get("account")))
    summary = {**tally.summary(), "accounts": sorted(accounts)}
    stated = parsed.get("totals")
    if isinstance(stated, dict):
        summary["totals_agree"] = (
            stated.get("debit") == summary["debit_total"] and stated.get("credit") == summary["credit_total"]
        )
    return summary
