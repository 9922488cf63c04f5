"""GBAT10 lines: the Mamut column order, signed amounts, one-line texts, deterministic bytes, inspect."""

from __future__ import annotations

import pytest

import mappings
from mappings import FormatError
from mappings.ledger import gbat10
from tests.mappings.ledger.vouchers import fx_payment, invoice, month, notice, unbalanced


def _rows(data: bytes) -> list[list[str]]:
    return [row.split(";") for row in data.decode("utf-8").split("\r\n") if row]


def test_an_invoice_is_three_lines_in_mamuts_column_order() -> None:
    rows = _rows(gbat10.render([invoice()]).content)
    assert len(rows) == 3 and all(len(row) == gbat10.FIELDS for row in rows)
    receivable, revenue, vat = rows
    assert receivable[:10] == ["GBAT10", "1", "20261103", "1", "11", "2026", "1500", "0", "1250.00", "10001"]
    assert receivable[15:18] == ["1001", "10010", "20261203"]
    assert receivable[20] == receivable[21] == "Invoice 1001"
    assert receivable[26:] == ["F", "1250.00"]
    assert (revenue[6], revenue[7], revenue[8], revenue[9], revenue[21]) == ("3000", "3", "-1000.00", "", "")
    assert (vat[6], vat[8], vat[27]) == ("2700", "-250.00", "-250.00")
    assert sum(float(row[8]) for row in rows) == 0


def test_texts_are_one_line_without_separators_and_neutral() -> None:
    rows = _rows(gbat10.render([notice()]).content)
    assert len(rows) == 3 and all(len(row) == gbat10.FIELDS for row in rows)
    assert rows[0][20] == "Purregebyr, 2. gang =SUM(A1)"
    assert rows[2][20] == "Forsinkelsesrente øre"
    assert rows[0][16] == "0000123"  # a KID keeps its leading zeros
    formula = invoice(text="=HYPERLINK(1)")
    assert _rows(gbat10.render([formula]).content)[0][20] == "'=HYPERLINK(1)"
    long = invoice(text="x" * 300)
    assert len(_rows(gbat10.render([long]).content)[0][20]) == gbat10.TEXT_LENGTH


def test_voucher_types_decimal_comma_and_the_customer_key_when_there_is_no_number() -> None:
    rows = _rows(gbat10.render([fx_payment()], voucher_types={"payment": "12"}, decimal_comma=True).content)
    assert [row[3] for row in rows] == ["12", "12", "12"]
    assert [row[8] for row in rows] == ["1175,50", "-1170,00", "-5,50"]
    assert rows[1][9] == "C-2"  # no customer number: the key as it is
    assert [row[3] for row in _rows(gbat10.render([notice()]).content)] == ["1", "1", "1"]


def test_the_same_vouchers_give_the_same_bytes_and_stream_in_pieces() -> None:
    first = gbat10.render(month()).content
    assert first == gbat10.render(iter(month())).content
    pieces = list(gbat10.stream(month()))
    assert len(pieces) == 3 and b"".join(pieces) == first
    assert gbat10.render([]).content == b""


def test_inspect_says_what_the_file_holds() -> None:
    data = gbat10.render(month()).content
    assert mappings.detect_format(data) == "gbat10"
    found = mappings.inspect_file(data)
    assert found == {
        "format": "gbat10", "vouchers": 3, "lines": 9, "debit_total": "2530.50", "credit_total": "2530.50",
        "balanced": True, "unbalanced_vouchers": 0, "unbalanced": [], "periods": ["2026-11"],
        "accounts": ["1500", "1920", "2700", "3000", "3900", "8050", "8060"],
    }  # fmt: skip
    off = gbat10.inspect(gbat10.render([*month(), unbalanced()]).content)
    assert (off["balanced"], off["unbalanced"]) == (False, ["9"])
    comma = gbat10.inspect(gbat10.render(month(), decimal_comma=True).content)
    assert comma["debit_total"] == "2530.50"
    latin = gbat10.inspect(gbat10.render([notice()]).content.decode().encode("iso-8859-1"))
    assert latin["lines"] == 3


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"GBAT10;1;20261103;1;11;2026;1500;0;12x\r\n", "line 1: field 8"),
        (b"GBAT10;1;2026-11-03;1;11;2026;1500;0;1\r\n", "line 1: field 2"),
        (b"GBAT10;1;20261103;1;11;2026;1500;0;1\r\nXBAT10;2\r\n", "line 2"),
        (b"GBAT10;1;20261103;1\r\n", "line 1"),
        (b"GBAT10;1;20261103;1;11;2026;;0;1\r\n", "line 1: field 6"),
        (b"GBAT10;", "line 1"),
    ],
)
def test_a_broken_file_is_refused_naming_the_line_and_field(data: bytes, where: str) -> None:
    with pytest.raises(FormatError) as refused:
        gbat10.inspect(data)
    assert refused.value.where == where
