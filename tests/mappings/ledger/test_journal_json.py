"""Journal JSON: vouchers with lines, exact decimal strings, totals last, deterministic bytes, inspect."""

from __future__ import annotations

import json

import pytest

import mappings
from mappings import FormatError
from mappings.ledger import journal_json
from tests.mappings.ledger.vouchers import month, notice, unbalanced


def test_vouchers_with_their_lines_and_the_totals_last() -> None:
    data = journal_json.render(month()).content
    parsed = json.loads(data)
    assert (parsed["format"], parsed["version"]) == ("gateway-ledger-journal", 1)
    assert parsed["totals"] == {"vouchers": 3, "lines": 9, "debit": "2530.50", "credit": "2530.50"}
    first = parsed["vouchers"][0]
    assert (first["number"], first["voucher_type"], first["debit_total"]) == (1, "invoice", "1250.00")
    assert first["lines"][1] == {
        "line_no": 2, "account": "3000", "debit": "0.00", "credit": "1000.00", "tax_code": "3",
        "tax_rate": "25", "tax_base": "1000.00", "tax_amount": "250.00", "customer_number": None,
        "customer_key": None, "document_number": None, "kid": None, "due_date": None,
        "text": "Invoice 1001", "currency": None, "currency_amount": None, "exchange_rate": None,
    }  # fmt: skip
    assert parsed["vouchers"][1]["lines"][0]["exchange_rate"] == "11.755"
    assert len(data.splitlines()) == 5  # the head, a voucher a line, the totals


def test_text_is_utf8_as_it_is_and_the_bytes_are_deterministic() -> None:
    data = journal_json.render([notice()]).content
    assert "Forsinkelsesrente øre".encode() in data
    assert json.loads(data)["vouchers"][0]["description"] == "Purregebyr; 2.\ngang =SUM(A1)"
    assert data == journal_json.render(iter([notice()])).content
    empty = json.loads(journal_json.render([]).content)
    assert empty["vouchers"] == [] and empty["totals"]["vouchers"] == 0


def test_inspect_checks_balance_and_the_stated_totals() -> None:
    data = journal_json.render([*month(), unbalanced()]).content
    assert mappings.detect_format(data) == "journal-json"
    found = mappings.inspect_file(data)
    assert (found["vouchers"], found["lines"], found["balanced"], found["unbalanced"]) == (
        4,
        11,
        False,
        ["9"],
    )
    assert found["totals_agree"] is True
    edited = data.replace(b'"debit":"1250.00"', b'"debit":"1250.01"', 1)
    assert journal_json.inspect(edited)["totals_agree"] is False


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'{"format":"gateway-ledger-journal","version":1,"vouchers":[', "file"),
        (b'{"format":"gateway-ledger-journal","vouchers":{}}', "vouchers"),
        (b'{"format":"gateway-ledger-journal","vouchers":[{"lines":[{"debit":"x","credit":"0"}]}]}',
         "vouchers[0].lines[0].debit"),
        (b'{"format":"gateway-ledger-journal","vouchers":[1]}', "vouchers[0]"),
        (b'{"format":"something-else"}', "format"),
    ],
)  # fmt: skip
def test_a_broken_file_is_refused_naming_where(data: bytes, where: str) -> None:
    with pytest.raises(FormatError) as refused:
        journal_json.inspect(data)
    assert refused.value.where == where
