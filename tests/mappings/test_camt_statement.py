"""`read_statement`: a camt.053's balances, period and entries as bank reconciliation reads them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mappings.base import FormatError
from mappings.remittance.camt import parse, read_statement
from tests.conftest import SHARED

CAMT = SHARED / "samples" / "camt"
SAMPLES = ["genkgo_camt053.v2.minimal.xml", "genkgo_camt053.v4.xml", "genkgo_camt053.v8.xml"]


@pytest.mark.parametrize("name", SAMPLES)
def test_the_shared_statements_balances_and_entries(name: str) -> None:
    statement = read_statement((CAMT / name).read_bytes())
    assert statement.accounts == ("NL26VAYB8060476890",) and statement.currency == "EUR"
    assert (statement.period_from, statement.period_to) == (dt.date(2007, 10, 18), dt.date(2007, 10, 18))
    codes = [(b.code, b.amount, b.currency, b.position) for b in statement.balances]
    assert codes == [
        ("OPBD", Decimal("18.15"), "EUR", "Stmt[1]/Bal[1]"),
        ("CLBD", Decimal("-27.00"), "SEK", "Stmt[1]/Bal[2]"),  # DBIT: negative
        ("OPAV", Decimal("35.00"), "CHF", "Stmt[1]/Bal[3]"),
        ("CLAV", Decimal("-2700"), "JPY", "Stmt[1]/Bal[4]"),
    ]
    assert statement.balance("OPBD", "PRCD") == statement.balances[0]
    assert statement.last_balance("CLBD") == statement.balances[1]
    [entry] = statement.entries
    assert (entry.amount, entry.currency, entry.direction, entry.booking_date) == (
        Decimal("8.85"),
        "EUR",
        "credit",
        dt.date(2014, 12, 31),
    )
    assert entry.booked and entry.payer_accounts == ("NL56AGDH9619008421",)
    assert entry.payee_accounts == ("NL56AGDH9619008421",)
    expected = () if "v2" in name else ("AAAASESS-FP-CN_98765/01",)
    assert entry.references == expected
    # the document is what `parse` reads: balances change nothing there
    assert statement.document == parse((CAMT / name).read_bytes())


@pytest.mark.parametrize(
    "name", ["genkgo_camt054.v8.xml", "genkgo_camt052.v8.xml", "SYNTHETIC_no_camt054_v08_kid_batch.xml"]
)
def test_a_notification_or_report_is_not_a_statement(name: str) -> None:
    with pytest.raises(FormatError) as refused:
        read_statement((CAMT / name).read_bytes())
    assert refused.value.where == "Document" and "not a camt.053" in refused.value.reason


@pytest.mark.parametrize(
    ("old", "new", "where", "reason"),
    [
        (b'<Amt Ccy="EUR">18.15</Amt>', b'<Amt Ccy="EUR">-18.15</Amt>', "Stmt[1]/Bal[1]/Amt", "negative"),
        (b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>", "Stmt[1]/Bal[2]/CdtDbtInd", "CRDT"),
        (b"<Cd>OPBD</Cd>", b"", "Stmt[1]/Bal[1]/Tp/CdOrPrtry", "missing"),
        (b"<Dt>2014-12-30</Dt>", b"<Dt>30.12.2014</Dt>", "Stmt[1]/Bal[1]/Dt/Dt", "not a date"),
    ],
)
def test_a_broken_balance_refuses_the_statement(old: bytes, new: bytes, where: str, reason: str) -> None:
    data = (CAMT / "genkgo_camt053.v8.xml").read_bytes().replace(old, new, 1)
    with pytest.raises(FormatError) as refused:
        read_statement(data)
    assert refused.value.where == where and reason in refused.value.reason
    parse(data)  # remittance intake reads no balances: the same file is still taken in
