"""Journal CSV: a header and one row per line, exact amounts, neutral cells, deterministic bytes, inspect."""

from __future__ import annotations

import csv
import io

import pytest

import mappings
from mappings import FormatError
from mappings.ledger import journal_csv
from tests.mappings.ledger.vouchers import invoice, month, notice, unbalanced


def _records(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_one_row_per_line_under_the_header() -> None:
    data = journal_csv.render(month()).content
    assert data.startswith((journal_csv.HEADER + "\r\n").encode())
    rows = _records(data)
    assert len(rows) == 9
    first = rows[0]
    assert {k: first[k] for k in ("voucher_number", "period", "voucher_date", "voucher_type", "account")} == {
        "voucher_number": "1", "period": "2026-11", "voucher_date": "2026-11-03", "voucher_type": "invoice",
        "account": "1500",
    }  # fmt: skip
    assert (first["debit"], first["credit"], first["customer_number"], first["kid"]) == (
        "1250.00", "0.00", "10001", "10010",
    )  # fmt: skip
    revenue = rows[1]
    assert (revenue["tax_code"], revenue["tax_rate"], revenue["tax_base"], revenue["tax_amount"]) == (
        "3", "25", "1000.00", "250.00",
    )  # fmt: skip
    fx = rows[4]
    assert (fx["event_date"], fx["currency"], fx["currency_amount"], fx["exchange_rate"]) == (
        "2026-10-31", "EUR", "-100.00", "11.70",
    )  # fmt: skip
    assert fx["customer_number"] == "C-2"


def test_texts_keep_their_separators_quoted_and_formulas_neutral() -> None:
    rows = _records(journal_csv.render([notice()]).content)
    assert rows[0]["text"] == "Purregebyr; 2.\ngang =SUM(A1)"  # the voucher's description, quoted whole
    assert rows[2]["text"] == "Forsinkelsesrente øre"
    assert _records(journal_csv.render([invoice(text="=1+2")]).content)[0]["text"] == "'=1+2"


def test_the_same_vouchers_give_the_same_bytes() -> None:
    assert journal_csv.render(month()).content == journal_csv.render(iter(month())).content
    assert journal_csv.render([]).content == (journal_csv.HEADER + "\r\n").encode()


def test_inspect_reads_back_the_totals() -> None:
    data = journal_csv.render([*month(), unbalanced()]).content
    assert mappings.detect_format(data) == "journal-csv"
    found = mappings.inspect_file(data)
    assert (found["vouchers"], found["lines"], found["debit_total"], found["credit_total"]) == (
        4, 11, "2540.50", "2539.50",
    )  # fmt: skip
    assert (found["balanced"], found["unbalanced"]) == (False, ["9"])
    with pytest.raises(FormatError, match="without lines"):
        journal_csv.inspect(journal_csv.render([]).content)
    with pytest.raises(FormatError) as short:
        journal_csv.inspect(data.replace(b"\r\n1,", b"\r\n1,x,", 1))
    assert short.value.where == "line 2"
