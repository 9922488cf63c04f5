"""Reading the small semicolon-separated text files print houses and carriers exchange.

Shared by the print index and the print return files: UTF-8 (a BOM allowed) and RFC 4180 quoting, with
every problem reported by line as a `FormatError`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from mappings.base import FormatError


def decode_utf8(data: bytes) -> str:
    """The text of `data` (UTF-8, an optional BOM removed); the line of the first bad byte otherwise."""
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise FormatError(f"line {line}", "not UTF-8 text") from None


def csv_rows(text: str, delimiter: str = ";") -> Iterator[tuple[int, list[str]]]:
    """Rows with the line they start on; blank lines skipped; a broken quote is a `FormatError`."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FormatError(f"line {reader.line_num}", f"not valid CSV ({error})") from None
        if row and any(cell.strip() for cell in row):
            yield line, row
        line = reader.line_num + 1
