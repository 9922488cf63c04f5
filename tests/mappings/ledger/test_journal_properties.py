"""Over random balanced vouchers with any text: every journal format reads back (inspect) with the vouchers,
lines and totals rendered, balanced; a GBAT10 line always has its 28 fields; the bytes are deterministic."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import inspect_file, renderer
from mappings.ledger import gbat10
from schemas.ledger import Voucher, VoucherLine

_cents = st.integers(min_value=1, max_value=10**11).map(lambda cents: Decimal(cents) / 100)
_text = st.text(max_size=40)


@st.composite
def _voucher(draw: st.DrawFn, number: int) -> Voucher:
    amounts = draw(st.lists(_cents, min_size=1, max_size=4))
    text = draw(_text)
    lines = [VoucherLine(line_no=1, account="1500", debit=sum(amounts, Decimal(0)), text=text,
                         customer_key=draw(st.text(min_size=1, max_size=12)), kid=draw(_text))]  # fmt: skip
    lines += [
        VoucherLine(line_no=index + 2, account="3000", credit=amount, text=draw(_text))
        for index, amount in enumerate(amounts)
    ]
    day = dt.date(2026, 11, draw(st.integers(min_value=1, max_value=30)))
    return Voucher(
        number=number, period="2026-11", voucher_date=day, event_date=day, voucher_type="invoice",
        source_key=f"invoice:{number}", description=draw(_text), lines=lines,
    )  # fmt: skip


@st.composite
def _month(draw: st.DrawFn) -> list[Voucher]:
    return [draw(_voucher(number)) for number in range(1, draw(st.integers(min_value=1, max_value=5)) + 1)]


@settings(max_examples=60, deadline=None)
@given(_month())
def test_every_format_reads_back_what_was_rendered(vouchers: list[Voucher]) -> None:
    debit = sum((v.debit_total for v in vouchers), Decimal(0))
    lines = sum(len(v.lines) for v in vouchers)
    for name in ("gbat10", "journal-csv", "journal-json"):
        content = renderer(name)(vouchers).content
        assert content == renderer(name)(iter(vouchers)).content
        found = inspect_file(content)
        assert found["format"] == name
        assert (found["vouchers"], found["lines"], found["balanced"]) == (len(vouchers), lines, True)
        assert found["debit_total"] == found["credit_total"] == f"{debit:.2f}"
    rows = gbat10.render(vouchers).content.decode().split("\r\n")[:-1]
    assert len(rows) == lines and all(len(row.split(";")) == gbat10.FIELDS for row in rows)
