"""The monthly journal as GBAT10 lines: the semicolon voucher import of Mamut, which Visma (eAccounting,
Business via Mamut's import), Tripletex ("Mamut GBAT10"), PowerOffice and 24SevenOffice read too.

Source followed: Mamut Business Software's own description of the file, "Bilag: GBAT10"
(help.mamut.com, import_export/csv_formats/journal_formats/gbat10.htm, repeated in Visma Community's
"Import av bilag i Mamut"), columns 0–27; Tripletex's "Bilagsimport (GBAT10-import)" for how an importer
treats columns 26–27. One line per journal line, fields separated by `;`, no quoting, no header:

  0 "GBAT10" · 1 voucher number · 2 voucher date YYYYMMDD · 3 voucher type (bilagsart) · 4 period (month,
  1–12) · 5 accounting year · 6 account · 7 VAT code · 8 amount ("Saldo": signed, debit positive, credit
  negative, two decimals) · 9 customer number · 10 supplier number · 11 contact name · 12 address ·
  13 postal code · 14 city · 15 invoice number · 16 KID · 17 due date YYYYMMDD · 18 not used (present,
  blank) · 19 bank account · 20 ledger text · 21 sub-ledger text · 22 interest invoicing · 23 project ·
  24 department · 25 payment terms · 26 gross flag (T/F/blank) · 27 gross amount.

Decisions where the description leaves a choice:
- The decimal mark is a point ("1250.00"): the description says only "numeric, two decimals"; Tripletex
  reads a point or a comma, and a Norwegian installation that wants a comma passes `decimal_comma=True`.
- Column 26 is "F" and column 27 repeats the line's amount: the journal posts its output VAT on lines of
  its own (27xx), so the importer must not compute VAT again from a gross amount (Mamut: F = the amount is
  net; Tripletex in "import the VAT postings" mode uses the net amount and keeps our VAT lines).
- VAT code (column 7) is the line's standard SAF-T tax code (3, 31, 33, 5, 51, 52, 6), "0" on lines
  without one; an importer maps these "external VAT codes" to its own (Tripletex's VAT settings, Mamut's
  StdReg), as it does for every GBAT10 file.
- Voucher types (column 3) are per installation (StdReg): invoices 1 and credit notes 3 as Mamut exports
  commonly use, payments 2, allocations and reversals 9, notice charges 1 and their reversals 3;
  `voucher_types` replaces any of them.
- Customer number (column 9) is the line's `customer_number` (else its customer key) as it is; Mamut wants
  a number, so a tenant whose customers are not numbered maps them in the importer.
- Text fields are one line: line breaks and tabs become spaces, `;` a comma, `"` a `'`; a value a
  spreadsheet would run as a formula gets a leading `'` (`csv_text.neutral_cell`); texts are cut to the
  description's maximum length (100 for the two texts), identifiers (invoice number, KID) never are.
- UTF-8 without a BOM, CRLF line ends (Tripletex's import asks for the encoding; Mamut-era files were
  ISO-8859-1: an importer that wants it converts the file).
Rendering is streaming and deterministic: the same vouchers give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mappings.base import FormatError, RenderedDocument
from mappings.csv_text import neutral_cell
from mappings.ledger.journal_totals import JournalTally, amount_text, read_amount
from schemas.ledger import Voucher, VoucherLine

FORMAT_NAME = "gbat10"
MEDIA_TYPE = "text/csv"
EXTENSION = "txt"
IDENTIFICATION = "GBAT10"
FIELDS = 28
#: Column 3 (bilagsart) per voucher type; `render(voucher_types=…)` replaces any of them.
VOUCHER_TYPES: dict[str, str] = {
    "invoice": "1",
    "credit_note": "3",
    "payment": "2",
    "allocation": "9",
    "allocation_reversal": "9",
    "notice": "1",
    "notice_reversal": "3",
}
TEXT_LENGTH = 100
NAME_LENGTH = 30
_FLAT = str.maketrans({"\r": " ", "\n": " ", "\t": " ", ";": ",", '"': "'"})


def _flat(value: str | None) -> str:
    """A value safe in an unquoted `;` field on one line (see the module's docstring)."""
    return neutral_cell(" ".join((value or "").translate(_FLAT).split()))


def _text(value: str | None, limit: int) -> str:
    return _flat(value)[:limit]


def _date(value: Any) -> str:
    return value.strftime("%Y%m%d") if value is not None else ""


def _line_fields(voucher: Voucher, line: VoucherLine, voucher_type: str, decimal_comma: bool) -> list[str]:
    amount = amount_text(line.debit - line.credit)
    if decimal_comma:
        amount = amount.replace(".", ",")
    text = _text(line.text or voucher.description, TEXT_LENGTH)
    customer = line.customer_number or line.customer_key
    year, month = voucher.period.split("-")
    return [
        IDENTIFICATION,
        str(voucher.number),
        _date(voucher.voucher_date),
        voucher_type,
        str(int(month)),
        year,
        line.account,
        line.tax_code or "0",
        amount,
        _flat(customer),
        "",  # supplier number
        "",  # contact name: the ledger has the customer already, by number
        "",
        "",
        "",
        _flat(line.document_number),
        _flat(line.kid),
        _date(line.due_date),
        "",  # not used, present
        "",  # bank account
        text,
        text if customer else "",
        "",
        "",
        "",
        "",
        "F",
        amount,
    ]


def stream(
    vouchers: Iterable[Voucher],
    *,
    voucher_types: Mapping[str, str] | None = None,
    decimal_comma: bool = False,
) -> Iterator[bytes]:
    """The file a voucher at a time (memory flat for any number of vouchers)."""
    types = {**VOUCHER_TYPES, **(voucher_types or {})}
    for voucher in vouchers:
        voucher_type = types.get(voucher.voucher_type, "9")
        rows = (
            ";".join(_line_fields(voucher, line, voucher_type, decimal_comma)) + "\r\n"
            for line in voucher.lines
        )
        yield "".join(rows).encode("utf-8")


def render(
    vouchers: Iterable[Voucher],
    *,
    voucher_types: Mapping[str, str] | None = None,
    decimal_comma: bool = False,
) -> RenderedDocument:
    """The whole file (`stream` joined)."""
    content = b"".join(stream(vouchers, voucher_types=voucher_types, decimal_comma=decimal_comma))
    return RenderedDocument(format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension=EXTENSION)


def sniff(data: bytes) -> bool:
    return data.removeprefix(b"\xef\xbb\xbf").startswith(b"GBAT10;")


def _text_of(data: bytes) -> str:
    body = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("iso-8859-1")  # a Mamut-era file: every byte is a character


def inspect(data: bytes) -> dict[str, Any]:
    """Vouchers, lines, debit and credit totals of a GBAT10 file, and whether it balances."""
    if not sniff(data):
        raise FormatError("file", "not a GBAT10 journal: its first field is not GBAT10")
    tally = JournalTally(FORMAT_NAME)
    accounts: set[str] = set()
    for number, row in enumerate(_text_of(data).splitlines(), start=1):
        if not row.strip():
            continue
        fields = row.split(";")
        if fields[0] != IDENTIFICATION:
            raise FormatError(f"line {number}", f"field 0 is {fields[0][:20]!r}, not {IDENTIFICATION}")
        if len(fields) < 9:
            raise FormatError(f"line {number}", f"{len(fields)} fields; a GBAT10 line has at least 9")
        voucher, day, month, year, account = fields[1], fields[2], fields[4], fields[5], fields[6]
        if not (len(day) == 8 and day.isdigit()):
            raise FormatError(f"line {number}: field 2", f"voucher date {day[:20]!r} is not YYYYMMDD")
        if not account.strip():
            raise FormatError(f"line {number}: field 6", "no account")
        amount = read_amount(fields[8], f"line {number}: field 8")
        period = f"{year}-{int(month):02d}" if year.isdigit() and month.isdigit() else None
        tally.add_signed(voucher, amount, period)
        accounts.add(account)
    if tally.lines == 0:
        raise FormatError("file", "a GBAT10 journal without lines")
    return {**tally.summary(), "accounts": sorted(accounts)}
