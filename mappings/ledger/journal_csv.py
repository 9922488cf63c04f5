"""The monthly journal as plain CSV: a header row, then one row per journal line with its voucher's facts
repeated, for a spreadsheet or a ledger import that maps columns itself.

RFC 4180: `,`-separated, `"`-quoted where needed, CRLF line ends, UTF-8 without a BOM. Amounts are exact
decimals with a point, debit and credit in columns of their own (one of them 0.00); dates ISO 8601; an
empty cell is "none". Every cell passes `csv_text.neutral_cell` (a text a spreadsheet would run as a formula
gets a leading `'`; numbers stay numbers). Rendering is streaming and deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mappings.base import FormatError, RenderedDocument
from mappings.csv_text import csv_record, csv_rows, decode_utf8, restored_cell
from mappings.ledger.journal_totals import JournalTally, amount_text, read_amount
from schemas.ledger import Voucher, VoucherLine

FORMAT_NAME = "journal-csv"
MEDIA_TYPE = "text/csv"
EXTENSION = "csv"
COLUMNS = (
    "voucher_number",
    "period",
    "voucher_date",
    "event_date",
    "voucher_type",
    "source_key",
    "line_no",
    "account",
    "debit",
    "credit",
    "tax_code",
    "tax_rate",
    "tax_base",
    "tax_amount",
    "customer_number",
    "document_number",
    "kid",
    "due_date",
    "currency",
    "currency_amount",
    "exchange_rate",
    "text",
)
HEADER = ",".join(COLUMNS)


def _decimal(value: Any) -> str:
    return "" if value is None else str(value)


def _row(voucher: Voucher, line: VoucherLine) -> list[object]:
    return [
        voucher.number,
        voucher.period,
        voucher.voucher_date.isoformat(),
        voucher.event_date.isoformat(),
        voucher.voucher_type,
        voucher.source_key,
        line.line_no,
        line.account,
        amount_text(line.debit),
        amount_text(line.credit),
        line.tax_code,
        _decimal(line.tax_rate),
        amount_text(line.tax_base) if line.tax_base is not None else "",
        amount_text(line.tax_amount) if line.tax_amount is not None else "",
        line.customer_number or line.customer_key,
        line.document_number,
        line.kid,
        line.due_date.isoformat() if line.due_date else "",
        line.currency,
        _decimal(line.currency_amount),
        _decimal(line.exchange_rate),
        line.text or voucher.description,
    ]


def stream(vouchers: Iterable[Voucher]) -> Iterator[bytes]:
    """The header, then the file a voucher at a time (memory flat)."""
    yield (HEADER + "\r\n").encode("utf-8")
    for voucher in vouchers:
        rows = (csv_record(_row(voucher, line), lineterminator="\r\n") for line in voucher.lines)
        yield "".join(rows).encode("utf-8")


def render(vouchers: Iterable[Voucher]) -> RenderedDocument:
    """The whole file (`stream` joined)."""
    content = b"".join(stream(vouchers))
    return RenderedDocument(format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension=EXTENSION)


def sniff(data: bytes) -> bool:
    head = data.removeprefix(b"\xef\xbb\xbf")
    return head.startswith(HEADER.encode() + b"\r\n") or head.startswith(HEADER.encode() + b"\n")


def inspect(data: bytes) -> dict[str, Any]:
    """Vouchers, lines, debit and credit totals of a journal CSV, and whether it balances."""
    if not sniff(data):
        raise FormatError("line 1", f"not a journal CSV: the header is not {HEADER[:40]}…")
    tally = JournalTally(FORMAT_NAME)
    accounts: set[str] = set()
    for number, row in csv_rows(decode_utf8(data), delimiter=","):
        if number == 1:
            continue
        if len(row) != len(COLUMNS):
            raise FormatError(f"line {number}", f"{len(row)} cells; the header has {len(COLUMNS)}")
        cells = dict(zip(COLUMNS, (restored_cell(cell) for cell in row), strict=True))
        debit = read_amount(cells["debit"], f"line {number}: debit")
        credit = read_amount(cells["credit"], f"line {number}: credit")
        tally.add(cells["voucher_number"], debit, credit, cells["period"])
        accounts.add(cells["account"])
    if tally.lines == 0:
        raise FormatError("file", "a journal CSV without lines")
    return {**tally.summary(), "accounts": sorted(accounts)}
