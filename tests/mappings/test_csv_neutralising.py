"""Every CSV the gateway writes neutralises formula-looking cells (issue 18, defect 8).

Reproducer: a buyer or payer named "\\n=HYPERLINK(…)", " =1+1", "＝1+1" (full-width), "\\u200b=1+1" or
"\\t=1" went into the print index and the CLI's CSV as it was: the old check looked at the first character
only, and only for the ASCII `= + - @` and tab/CR. A spreadsheet trims the space and the line break,
and reads the full-width sign as its ASCII twin, so each ran as a formula. Now the check is made on the
cell NFKC-normalised and stripped of leading space, control and invisible characters, by one function
(`mappings.csv_text.neutral_cell`) that the print index and every CLI CSV go through.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

import gateway.cli.common as cli_common
from mappings.csv_text import csv_record, neutral_cell, restored_cell
from mappings.print import batch as print_batch
from tests.mappings.test_print_batch_files import _build, _index_rows, _named

#: What precedes a formula sign in the campaign's payloads, and the signs a spreadsheet reads as formulas.
LEADERS = [
    "",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\r",
    "\u200b",
    "\u200c",
    "\u200d",
    "\ufeff",
    "\u2060",
    "\u3000",
    "\xa0",
]
SIGNS = ["=", "+", "-", "@", "＝", "＋", "－", "＠", "﹦", "﹢", "﹣", "﹫", "⁼", "⁺", "₌"]
REPRODUCERS = [
    '\n=HYPERLINK("http://evil.example","x")',
    " =1+1",
    "＝1+1",
    "＋cmd|' /C calc'!A0",
    "－2+3",
    "＠SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "\u200b=1+1",
    "\ufeff=1+1",
    "\u2060@SUM(1)",
    "\u200c\u200d-1+1",
]
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def _as_read(cell: str) -> str:
    """A cell as a person (and a lenient spreadsheet) reads its start: NFKC, leading blanks removed."""
    shown = unicodedata.normalize("NFKC", cell)
    return shown.lstrip(
        "".join(
            c for c in set(shown) if c.isspace() or c in _INVISIBLE or unicodedata.category(c) in ("Cc", "Cf")
        )
    )


def _safe(cell: str) -> bool:
    if cell.startswith("'") or _PLAIN_NUMBER.fullmatch(cell):
        return True
    first, shown = cell[:1], _as_read(cell)[:1]
    return not (first and first in "\t\r") and not (shown and shown in "=+-@")


def _round_trip(cells: list[str], delimiter: str, lineterminator: str, numbers: bool) -> list[list[str]]:
    """The records `csv_record` writes for `cells` (twice: a row must not spill into the next), read back."""
    text = csv_record(cells, delimiter=delimiter, lineterminator=lineterminator, numbers=numbers) * 2
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


values = st.builds(
    lambda leader, sign, rest: leader + sign + rest,
    st.lists(st.sampled_from(LEADERS), max_size=3).map("".join),
    st.sampled_from([*SIGNS, "", "'", "''"]),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20),
) | st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30)


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(values)
@example("-12.50")
@example("'=1")
def test_no_written_cell_starts_with_a_formula_unless_quoted(value: str) -> None:
    for numbers in (True, False):
        cell = neutral_cell(value, numbers=numbers)
        for delimiter, lineterminator in ((";", "\r\n"), (",", "\n")):
            records = _round_trip([value, "x"], delimiter, lineterminator, numbers)
            assert records == [[cell, "x"], [cell, "x"]], (value, records)
            assert _safe(cell), (value, cell)
    assert restored_cell(neutral_cell(value, numbers=False)) == value


@pytest.mark.parametrize("value", REPRODUCERS)
def test_each_reproducer_gets_the_neutralising_quote(value: str) -> None:
    assert neutral_cell(value) == "'" + value
    assert restored_cell("'" + value) == value


def test_plain_text_and_numbers_are_left_alone() -> None:
    for value in ("Fjordbyen Bygg AS", "-12.50", "+47", "1250.00", "a=b", "", " ", "\u200b", "'quoted"):
        assert neutral_cell(value) == value
    assert neutral_cell("-12.50", numbers=False) == "'-12.50"  # a file read back keeps even numbers exact


@pytest.mark.parametrize(
    "name", [value for value in REPRODUCERS if not any(unicodedata.category(c)[0] == "C" for c in value)]
)
def test_the_print_index_neutralises_and_reads_back_every_reproducer(name: str) -> None:
    """(A postal recipient has no control or format character: those reproducers never reach the index.)"""
    index = _build([_named(name, 1, city=name)]).files[-1][1]
    row = _index_rows(index)[0]
    assert row["recipient_name"] == row["city"] == "'" + name
    assert print_batch.parse(index).entries[0].recipient.city == name.strip()  # the reader trims


def test_the_cli_csv_neutralises_every_reproducer(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(cli_common, "console", Console(file=out))
    cli_common.write_csv(["name", "amount"], [[value, "-12.50"] for value in REPRODUCERS])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == ["name", "amount"]
    assert [row[0] for row in rows[1:]] == ["'" + value for value in REPRODUCERS]
    assert {row[1] for row in rows[1:]} == {"-12.50"}
