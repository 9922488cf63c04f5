"""Reading the journal back: vouchers in number order (keyset chunks, period and date filters), balances
before a date, the customer numbers the ledger shows, the API's voucher view."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.ledger import journal
from gateway.services.ledger.posting import post
from tests.services.ledger import factories as f

NOV = dt.date(2026, 11, 2)
DEC = dt.date(2026, 12, 3)


@pytest.fixture
def written(engine: Engine) -> Engine:
    """Five vouchers across two months and two customers, one of another tenant."""
    f.voucher(
        engine, 1, [("1500", "125.00", "0"), ("3000", "0", "100.00"), ("2700", "0", "25.00")], customer="A"
    )
    f.voucher(
        engine, 2, [("1500", "250.00", "0"), ("3000", "0", "250.00")], customer="B", day=dt.date(2026, 11, 9)
    )
    f.voucher(
        engine, 3, [("1920", "100.00", "0"), ("1500", "0", "100.00")], customer="A", day=dt.date(2026, 11, 30)
    )
    f.voucher(engine, 4, [("1920", "50.00", "0"), ("1500", "0", "50.00")], customer="B", day=DEC)
    f.voucher(engine, 5, [("1500", "10.00", "0"), ("3900", "0", "10.00")], customer="A", day=DEC)
    f.voucher(engine, 1, [("1500", "999.00", "0"), ("3000", "0", "999.00")], customer="A", tenant_id="other")
    return engine


def test_vouchers_come_in_number_order_in_chunks_with_their_lines(written: Engine) -> None:
    with session_scope(written) as session:
        found = list(journal.iter_vouchers(session, "acme", chunk=2))
    assert [v.number for v in found] == [1, 2, 3, 4, 5]
    first = found[0]
    assert [(line.line_no, line.account, line.debit, line.credit) for line in first.lines] == [
        (1, "1500", Decimal("125.00"), Decimal(0)),
        (2, "3000", Decimal(0), Decimal("100.00")),
        (3, "2700", Decimal(0), Decimal("25.00")),
    ]
    assert first.debit_total == first.credit_total == Decimal("125.00")


def test_vouchers_of_a_period_a_date_range_or_after_a_number(written: Engine) -> None:
    with session_scope(written) as session:
        assert [v.number for v in journal.iter_vouchers(session, "acme", period="2026-12")] == [4, 5]
        assert [
            v.number
            for v in journal.iter_vouchers(
                session, "acme", date_from=dt.date(2026, 11, 9), date_to=dt.date(2026, 11, 30)
            )
        ] == [2, 3]
        assert [v.number for v in journal.iter_vouchers(session, "acme", after=3, chunk=1)] == [4, 5]
        assert list(journal.iter_vouchers(session, "nobody")) == []


def test_balances_before_a_date(written: Engine) -> None:
    with session_scope(written) as session:
        assert journal.account_balances(session, "acme", dt.date(2026, 12, 1)) == {
            "1500": Decimal("275.00"),
            "1920": Decimal("100.00"),
            "2700": Decimal("-25.00"),
            "3000": Decimal("-350.00"),
        }
        everything = journal.account_balances(session, "acme", dt.date(2027, 1, 1))
        assert sum(everything.values(), Decimal(0)) == 0 and everything["3900"] == Decimal("-10.00")
        assert journal.customer_balances(session, "acme", dt.date(2026, 12, 1)) == {
            "A": Decimal("25.00"),
            "B": Decimal("250.00"),
        }
        assert journal.customer_balances(session, "acme", dt.date(2027, 1, 1)) == {
            "A": Decimal("35.00"),
            "B": Decimal("200.00"),
        }
        assert journal.account_balances(session, "acme", NOV) == {}


def test_customer_numbers_are_receiver_ids_when_invoices_name_one(engine: Engine) -> None:
    f.invoice(engine, org="910667831", receiver_id="K-1001")
    f.invoice(engine, org="923609016")
    post(engine, "acme", until=dt.date(2026, 11, 30), actor="test")
    with session_scope(engine) as session:
        numbers = journal.customer_numbers(session, "acme")
        assert numbers == {
            f.customer_key("910667831"): "K-1001",
            f.customer_key("923609016"): f.customer_key("923609016"),
        }
        [first] = [
            v for v in journal.iter_vouchers(session, "acme") if v.customer_key == f.customer_key("910667831")
        ]
    assert first.lines[0].customer_number == "K-1001"
    assert first.lines[1].customer_number is None  # only receivables lines name the customer


def test_a_voucher_by_number_and_its_view(written: Engine) -> None:
    with session_scope(written) as session:
        voucher = journal.get_voucher(session, "acme", 3)
        with pytest.raises(journal.VoucherNotFound):
            journal.get_voucher(session, "acme", 6)
        view = journal.voucher_view(voucher)
        balances = journal.balances_view(session, "acme", dt.date(2026, 11, 30))
    assert view["number"] == 3 and view["voucher_date"] == "2026-11-30"
    assert (view["debit_total"], view["credit_total"]) == ("100.00", "100.00")
    assert [(line["account"], line["debit"], line["credit"]) for line in view["lines"]] == [
        ("1920", "100.00", "0"),
        ("1500", "0", "100.00"),
    ]
    assert balances["total"] == "0.00"
    assert {row["account"]: row["balance"] for row in balances["accounts"]}["1500"] == "275.00"
    assert {row["account"]: row["name"] for row in balances["accounts"]}["1500"] == "Kundefordringer"
    assert balances["customers"] == [
        {"customer_key": "A", "customer_number": "A", "balance": "25.00"},
        {"customer_key": "B", "customer_number": "B", "balance": "250.00"},
    ]
