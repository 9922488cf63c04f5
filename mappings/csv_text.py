"""CSV text: reading the small semicolon-separated files print houses and carriers exchange, and the one
function every CSV the gateway writes passes its cells through (`neutral_cell`).

Reading is shared by the print index and the print return files: UTF-8 (a BOM allowed) and RFC 4180
quoting, with every problem reported by line as a `FormatError`.

Writing: a cell a spreadsheet would run as a formula ("CSV injection": a buyer named
`=HYPERLINK("http://…")`) gets a leading `'`. Spreadsheets are lenient about what comes before the `=`,
so the check is made on the cell as a person would read it: NFKC-normalised (a full-width `＝＋－＠`, a
small or superscript sign becomes the ASCII one), with leading spaces, line breaks, tabs, control and
invisible characters (zero-width space, joiners, BOM, word joiner) taken away; a leading tab or CR is a
trigger by itself. A plain number (`-12.50`) runs nothing and is left a number unless told otherwise.

Every CSV the gateway writes is written record by record through `csv_record`, which neutralises each
cell and quotes every cell with a line break whatever the line terminator: Python's writer quotes only
the terminator's own characters, so with `\n` lines a CR inside a cell went out bare and a reader
started a new row there: `x\r=cmd…` smuggled an unneutralised formula into a row of its own.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator

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


#: What a spreadsheet reads as the start of a formula, once the cell is normalised and stripped.
FORMULA_STARTS = "=+-@"
#: Characters that start a formula (or a DDE payload) in some spreadsheet even without a sign after them.
_TRIGGERS = "\t\r"
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def _unseen(character: str) -> bool:
    """Space, a line break, a control or an invisible format character (U+200B…U+200D, U+2060, U+FEFF)."""
    return character.isspace() or unicodedata.category(character) in {"Cc", "Cf", "Zs", "Zl", "Zp"}


def _shown_start(value: str) -> str:
    """`value` as a person reads its start: NFKC-normalised, leading unseen characters removed."""
    shown = unicodedata.normalize("NFKC", value)
    start = 0
    while start < len(shown) and _unseen(shown[start]):
        start += 1
    return shown[start:]


def looks_like_formula(value: str) -> bool:
    """Whether a spreadsheet could run `value` as a formula (see the module's docstring)."""
    start = _shown_start(value)[:1]
    return (value[:1] != "" and value[0] in _TRIGGERS) or (start != "" and start in FORMULA_STARTS)


def neutral_cell(value: str, *, numbers: bool = True) -> str:
    """`value` as a CSV cell no spreadsheet runs: a formula-looking one gets a leading `'`.

    The quote is reversible (`restored_cell`): a value that already starts with quotes before a formula
    gets one more, so every value survives the round trip unchanged. With `numbers`, a plain number
    (`-12.50`, `+47`) stays as it is: a spreadsheet reads it as the number it is (a file read back by
    `restored_cell` is written with `numbers=False`).
    """
    if numbers and _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value if looks_like_formula(value.lstrip("'")) else value


def restored_cell(value: str) -> str:
    """The value `neutral_cell(…, numbers=False)` was given: exactly one neutralising quote dropped."""
    return value[1:] if value[:1] == "'" and looks_like_formula(value[1:].lstrip("'")) else value


def csv_record(
    cells: Iterable[object],
    *,
    delimiter: str = ",",
    lineterminator: str = "\n",
    numbers: bool = True,
) -> str:
    """One CSV record (RFC 4180 quoting) ending in `lineterminator`: every cell through `neutral_cell`
    (None is an empty cell), and every cell with a CR or LF quoted (see the module's docstring)."""
    out = io.StringIO(newline="")
    # CRLF while writing: the writer then quotes every cell holding either; the record ends as asked
    writer = csv.writer(
        out, delimiter=delimiter, quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n"
    )
    writer.writerow([neutral_cell("" if cell is None else str(cell), numbers=numbers) for cell in cells])
    return out.getvalue().removesuffix("\r\n") + lineterminator
