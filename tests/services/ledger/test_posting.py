"""Posting: each kind of voucher with lines computed by hand, periods, numbering, idempotency, refusals.

Invoices go through the real intake, allocations and reversals through the real payment services
(`factories`), and the vouchers are read back from the tables.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import InvoiceRecord, LedgerLine, LedgerSource, LedgerVoucher
from gateway.services.ledger import journal
from gateway.services.ledger.posting import LedgerRefused, post
from gateway.services.tenancy.tenants import put_tenant_settings, tenant_settings
from tests.services.ledger import factories as f

NOV = dt.date(2026, 11, 30)
ORG = "910667831"
CUSTOMER = f.customer_key(ORG)

Row = tuple[str, str, str]


def voucher_of(engine: Engine, source_key: str) -> tuple[LedgerVoucher, list[LedgerLine]]:
    with session_scope(engine) as session:
        voucher = session.execute(
            select(LedgerVoucher).where(col(LedgerVoucher.source_key) == source_key)
        ).scalar_one()
        lines = list(
            session.execute(
                select(LedgerLine)
                .where(col(LedgerLine.voucher_id) == voucher.id)
                .order_by(col(LedgerLine.line_no))
            ).scalars()
        )
        return voucher, lines


def rows(engine: Engine, source_key: str) -> list[Row]:
    """A voucher's lines as (account, debit, credit)."""
    return [(line.account, line.debit, line.credit) for line in voucher_of(engine, source_key)[1]]


def count_vouchers(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(LedgerVoucher)).scalar_one()


def sources(engine: Engine) -> dict[str, str | None]:
    with session_scope(engine) as session:
        return {s.source_key: s.voucher_id for s in session.execute(select(LedgerSource)).scalars()}


def test_an_invoice_with_four_vat_rates_posts_revenue_and_vat_per_rate(engine: Engine) -> None:
    lines = [("S", "25", "1000.00"), ("S", "15", "200.00"), ("S", "12", "100.00"), ("Z", "0", "50.00")]
    invoice = f.invoice(engine, lines=lines, kid="000000010", org=ORG)
    result = post(engine, "acme", until=NOV, actor="test")
    assert result.vouchers == 1 and result.by_type == {"invoice": 1}
    voucher, posted = voucher_of(engine, f"invoice:{invoice.id}")
    assert (voucher.number, voucher.period, voucher.voucher_date, voucher.voucher_type) == (
        1, "2026-11", dt.date(2026, 11, 2), "invoice",
    )  # fmt: skip
    assert [(line.account, line.debit, line.credit, line.tax_code) for line in posted] == [
        ("1500", "1642.00", "0", None),
        ("3000", "0", "1000.00", "3"),
        ("2700", "0", "250.00", "3"),
        ("3000", "0", "200.00", "31"),
        ("2701", "0", "30.00", "31"),
        ("3000", "0", "100.00", "33"),
        ("2702", "0", "12.00", "33"),
        ("3100", "0", "50.00", "5"),
    ]
    receivables = posted[0]
    assert (receivables.customer_key, receivables.document_number, receivables.kid, receivables.due_date) == (
        CUSTOMER, invoice.number, "000000010", dt.date(2026, 11, 16),
    )  # fmt: skip
    revenue = posted[1]
    assert (revenue.tax_rate, revenue.tax_base, revenue.tax_amount) == ("25", "1000.00", "250.00")


def test_a_credit_note_posts_the_reverse(engine: Engine) -> None:
    note = f.invoice(engine, lines=[("S", "25", "100.00")], credit_note=True, org=ORG)
    post(engine, "acme", until=NOV, actor="test")
    voucher, posted = voucher_of(engine, f"invoice:{note.id}")
    assert voucher.voucher_type == "credit_note"
    assert rows(engine, f"invoice:{note.id}") == [
        ("1500", "0", "125.00"),
        ("3000", "100.00", "0"),
        ("2700", "25.00", "0"),
    ]
    assert posted[0].customer_key == CUSTOMER and posted[0].document_number == note.number


def test_a_partial_payment_credits_receivables_with_what_it_paid(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    payment = f.payment(engine, "500.00")
    f.apply(engine, payment.id, [(invoice.id, "500.00")], at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    assert rows(engine, f"payment:{payment.id}") == [("1920", "500.00", "0"), ("1500", "0", "500.00")]
    _, posted = voucher_of(engine, f"payment:{payment.id}")
    assert posted[1].customer_key == CUSTOMER and posted[1].document_number == invoice.number
    with session_scope(engine) as session:
        assert journal.customer_balances(session, "acme", dt.date(2026, 12, 1)) == {
            CUSTOMER: Decimal("750.00")
        }


def test_a_short_payment_written_off_debits_losses(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)  # 1250.00
    payment = f.payment(engine, "1240.00")
    f.apply(engine, payment.id, [(invoice.id, "1240.00")], write_off="10.00", at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    assert rows(engine, f"payment:{payment.id}") == [
        ("1920", "1240.00", "0"),
        ("1500", "0", "1250.00"),
        ("7830", "10.00", "0"),
    ]


def test_an_overpayment_goes_to_customer_prepayments(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    payment = f.payment(engine, "1300.00")
    f.apply(engine, payment.id, [(invoice.id, "1250.00")], at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    assert rows(engine, f"payment:{payment.id}") == [
        ("1920", "1300.00", "0"),
        ("1500", "0", "1250.00"),
        ("2900", "0", "50.00"),
    ]


def test_a_payment_against_an_invoice_and_a_credit_note_nets_them(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)  # 1250
    note = f.invoice(engine, lines=[("S", "25", "100.00")], credit_note=True, org=ORG)  # 125
    payment = f.payment(engine, "1125.00")
    f.apply(engine, payment.id, [(invoice.id, "1250.00"), (note.id, "125.00")], at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    posted = rows(engine, f"payment:{payment.id}")
    assert posted[0] == ("1920", "1125.00", "0")  # then the two allocations, in (made, id) order
    assert sorted(posted[1:]) == [("1500", "0", "1250.00"), ("1500", "125.00", "0")]
    with session_scope(engine) as session:
        assert journal.customer_balances(session, "acme", dt.date(2026, 12, 1)) == {CUSTOMER: Decimal(0)}


def test_money_first_and_its_application_later_is_a_payment_then_an_allocation(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    payment = f.payment(engine, "1250.00", booking_date=dt.date(2026, 11, 5))
    first = post(engine, "acme", until=dt.date(2026, 11, 10), actor="test")
    assert first.by_type == {"invoice": 1, "payment": 1}
    assert rows(engine, f"payment:{payment.id}") == [("1920", "1250.00", "0"), ("2900", "0", "1250.00")]
    [allocation] = f.apply(engine, payment.id, [(invoice.id, "1250.00")], at=dt.date(2026, 11, 15))
    second = post(engine, "acme", until=NOV, actor="test")
    assert second.by_type == {"allocation": 1} and second.first_number == 3
    voucher, _ = voucher_of(engine, f"allocation:{allocation}")
    assert voucher.event_date == dt.date(2026, 11, 15)
    assert rows(engine, f"allocation:{allocation}") == [("2900", "1250.00", "0"), ("1500", "0", "1250.00")]


def test_a_reversed_allocation_is_reversed_exactly_and_the_money_waits_in_prepayments(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    payment = f.payment(engine, "1240.00")
    [allocation] = f.apply(
        engine, payment.id, [(invoice.id, "1240.00")], write_off="10.00", at=dt.date(2026, 11, 10)
    )
    post(engine, "acme", until=NOV, actor="test")
    f.reverse(engine, payment.id, at=dt.date(2026, 12, 3))
    result = post(engine, "acme", until=dt.date(2026, 12, 31), actor="test")
    assert result.by_type == {"allocation_reversal": 1}
    voucher, posted = voucher_of(engine, f"reversal:{allocation}")
    assert (voucher.period, voucher.event_date) == ("2026-12", dt.date(2026, 12, 3))
    assert [(line.account, line.debit, line.credit) for line in posted] == [
        ("2900", "0", "1240.00"),
        ("1500", "1250.00", "0"),
        ("7830", "0", "10.00"),
    ]
    assert posted[1].customer_key == CUSTOMER and posted[1].document_number == invoice.number
    with session_scope(engine) as session:
        balances = journal.account_balances(session, "acme", dt.date(2027, 1, 1))
    assert balances["1500"] == Decimal("1250.00") and balances["2900"] == Decimal("-1240.00")
    assert balances.get("7830", Decimal(0)) == 0


def test_an_allocation_made_and_reversed_before_posting_posts_nothing(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    payment = f.payment(engine, "1250.00")
    [allocation] = f.apply(engine, payment.id, [(invoice.id, "1250.00")], at=dt.date(2026, 11, 10))
    f.reverse(engine, payment.id, at=dt.date(2026, 11, 12))
    result = post(engine, "acme", until=NOV, actor="test")
    assert result.by_type == {"invoice": 1, "payment": 1}
    assert rows(engine, f"payment:{payment.id}") == [("1920", "1250.00", "0"), ("2900", "0", "1250.00")]
    registered = sources(engine)
    assert registered[f"allocation:{allocation}"] is None and registered[f"reversal:{allocation}"] is None


def test_a_reapplication_reverses_the_old_allocation_and_posts_the_new_one(engine: Engine) -> None:
    wrong = f.invoice(engine, org=ORG)
    right = f.invoice(engine, org="923609016")
    payment = f.payment(engine, "1250.00")
    [first] = f.apply(engine, payment.id, [(wrong.id, "1250.00")], at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    [second] = f.apply(engine, payment.id, [(right.id, "1250.00")], at=dt.date(2026, 12, 2))
    result = post(engine, "acme", until=dt.date(2026, 12, 31), actor="test")
    assert result.by_type == {"allocation": 1, "allocation_reversal": 1}
    assert rows(engine, f"reversal:{first}") == [("2900", "0", "1250.00"), ("1500", "1250.00", "0")]
    assert rows(engine, f"allocation:{second}") == [("2900", "1250.00", "0"), ("1500", "0", "1250.00")]
    with session_scope(engine) as session:
        assert journal.customer_balances(session, "acme", dt.date(2027, 1, 1)) == {
            CUSTOMER: Decimal("1250.00"), f.customer_key("923609016"): Decimal(0),
        }  # fmt: skip


def test_notice_fee_and_interest_are_charged_and_reversed_when_the_notice_comes_back(engine: Engine) -> None:
    notice = f.notice(engine, org=ORG, fee="35.00", interest="12.34", kid="1234567890")
    result = post(engine, "acme", until=NOV, actor="test")
    assert result.by_type == {"notice": 1}
    voucher, posted = voucher_of(engine, f"notice:{notice.id}")
    assert voucher.event_date == dt.date(2026, 11, 20)
    assert [(line.account, line.debit, line.credit) for line in posted] == [
        ("1500", "47.34", "0"),
        ("3900", "0", "35.00"),
        ("8050", "0", "12.34"),
    ]
    assert (posted[0].customer_key, posted[0].document_number, posted[0].kid, posted[0].due_date) == (
        CUSTOMER, "1234567890", "1234567890", dt.date(2026, 12, 4),
    )  # fmt: skip
    f.fail_notice(engine, notice.id, at=dt.date(2026, 12, 2))
    later = post(engine, "acme", until=dt.date(2026, 12, 31), actor="test")
    assert later.by_type == {"notice_reversal": 1}
    assert rows(engine, f"notice-reversal:{notice.id}") == [
        ("1500", "0", "47.34"),
        ("3900", "35.00", "0"),
        ("8050", "12.34", "0"),
    ]
    assert post(engine, "acme", until=dt.date(2026, 12, 31), actor="test").vouchers == 0


def test_a_notice_without_charges_or_not_sent_posts_nothing(engine: Engine) -> None:
    free = f.notice(engine, org=ORG)
    failed = f.notice(engine, org=ORG, fee="35.00", status="failed")
    queued = f.notice(engine, org=ORG, fee="35.00", status="queued")
    assert post(engine, "acme", until=NOV, actor="test").vouchers == 0
    registered = sources(engine)
    assert registered == {f"notice:{free.id}": None}
    assert f"notice:{failed.id}" not in registered and f"notice:{queued.id}" not in registered


@pytest.fixture
def eur(engine: Engine) -> None:
    f.rates(
        engine,
        ("EUR", dt.date(2026, 11, 1), "11.50"),
        ("EUR", dt.date(2026, 11, 8), "11.60"),
    )


def _eur_invoice(engine: Engine) -> InvoiceRecord:
    return f.invoice(engine, lines=[("S", "25", "80.00")], currency="EUR", org=ORG)  # 100.00 EUR


@pytest.mark.usefixtures("eur")
def test_a_eur_invoice_posts_at_the_rate_of_its_issue_date(engine: Engine) -> None:
    invoice = _eur_invoice(engine)
    post(engine, "acme", until=NOV, actor="test")
    _, posted = voucher_of(engine, f"invoice:{invoice.id}")
    assert [(line.account, line.debit, line.credit) for line in posted] == [
        ("1500", "1150.00", "0"),
        ("3000", "0", "920.00"),
        ("2700", "0", "230.00"),
    ]
    assert [(line.currency, line.currency_amount, line.exchange_rate) for line in posted] == [
        ("EUR", "100.00", "11.50"),
        ("EUR", "-80.00", "11.50"),
        ("EUR", "-20.00", "11.50"),
    ]


@pytest.mark.usefixtures("eur")
@pytest.mark.parametrize(
    ("paid", "fx"),
    [("1170.00", ("8060", "0", "20.00")), ("1130.00", ("8160", "20.00", "0"))],
    ids=["gain", "loss"],
)
def test_a_eur_invoice_paid_in_nok_books_the_currency_difference(
    engine: Engine, paid: str, fx: tuple[str, str, str]
) -> None:
    invoice = _eur_invoice(engine)
    payment = f.payment(engine, paid, instructed=("100.00", "EUR"))
    f.apply(engine, payment.id, [(invoice.id, "100.00")], at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    assert rows(engine, f"payment:{payment.id}") == [
        ("1920", paid, "0"),
        ("1500", "0", "1150.00"),
        fx,
    ]
    with session_scope(engine) as session:
        assert journal.customer_balances(session, "acme", dt.date(2026, 12, 1)) == {CUSTOMER: Decimal(0)}


@pytest.mark.usefixtures("eur")
def test_a_eur_payment_posts_at_the_rate_of_its_booking_date(engine: Engine) -> None:
    invoice = _eur_invoice(engine)
    payment = f.payment(engine, "100.00", currency="EUR", booking_date=dt.date(2026, 11, 10))
    f.apply(engine, payment.id, [(invoice.id, "100.00")], at=dt.date(2026, 11, 10))
    post(engine, "acme", until=NOV, actor="test")
    _, posted = voucher_of(engine, f"payment:{payment.id}")
    assert [(line.account, line.debit, line.credit) for line in posted] == [
        ("1920", "1160.00", "0"),
        ("1500", "0", "1150.00"),
        ("8060", "0", "10.00"),
    ]
    assert (posted[0].currency, posted[0].currency_amount, posted[0].exchange_rate) == (
        "EUR",
        "100.00",
        "11.60",
    )


def test_foreign_lines_are_rounded_each_and_the_difference_lands_on_the_largest_revenue_line(
    engine: Engine,
) -> None:
    f.rates(engine, ("USD", dt.date(2026, 1, 1), "11.4567"))
    invoice = f.invoice(engine, lines=[("S", "25", "33.33")], currency="USD", org=ORG)  # 33.33 + 8.33 = 41.66
    post(engine, "acme", until=NOV, actor="test")
    # 41.66 × 11.4567 = 477.286… → 477.29; 33.33 × … = 381.85…; 8.33 × … = 95.43…: a cent short, on revenue
    assert rows(engine, f"invoice:{invoice.id}") == [
        ("1500", "477.29", "0"),
        ("3000", "0", "381.86"),
        ("2700", "0", "95.43"),
    ]


def test_a_credit_note_set_against_its_invoice_needs_no_voucher(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    note = f.invoice(engine, lines=[("S", "25", "100.00")], credit_note=True, org=ORG)
    post(engine, "acme", until=NOV, actor="test")
    f.set_off_credit_note(engine, invoice.id, note.id, "125.00")
    assert post(engine, "acme", until=NOV, actor="test").vouchers == 0
    with session_scope(engine) as session:
        assert journal.customer_balances(session, "acme", dt.date(2026, 12, 1)) == {
            CUSTOMER: Decimal("1125.00")
        }
        stored = session.get(InvoiceRecord, invoice.id)
        assert stored is not None and stored.open_amount == "1125.00"


def test_an_event_of_a_closed_period_lands_in_the_next_open_one(engine: Engine) -> None:
    f.close_period(engine, "2026-11")
    f.close_period(engine, "2026-12")
    invoice = f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 20))
    result = post(engine, "acme", until=NOV, actor="test")
    assert result.periods == {"2027-01"}
    voucher, lines = voucher_of(engine, f"invoice:{invoice.id}")
    assert (voucher.period, voucher.voucher_date, voucher.event_date) == (
        "2027-01", dt.date(2027, 1, 1), dt.date(2026, 11, 20),
    )  # fmt: skip
    assert {line.voucher_date for line in lines} == {dt.date(2027, 1, 1)}


def test_posting_twice_posts_nothing_new_and_numbers_follow_dates(engine: Engine) -> None:
    late = f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 20))
    early = f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 3))
    after = f.invoice(engine, org=ORG, issue_date=dt.date(2026, 12, 3))
    payment = f.payment(engine, "100.00", booking_date=dt.date(2026, 11, 3))
    first = post(engine, "acme", until=NOV, actor="test")
    assert (first.vouchers, first.first_number, first.last_number) == (3, 1, 3)
    assert voucher_of(engine, f"invoice:{early.id}")[0].number == 1
    assert voucher_of(engine, f"payment:{payment.id}")[0].number == 2  # an invoice first on the same day
    assert voucher_of(engine, f"invoice:{late.id}")[0].number == 3
    again = post(engine, "acme", until=NOV, actor="test")
    assert again.vouchers == 0 and count_vouchers(engine) == 3
    december = post(engine, "acme", until=dt.date(2026, 12, 31), actor="test")
    assert december.vouchers == 1 and voucher_of(engine, f"invoice:{after.id}")[0].number == 4


def test_chunks_smaller_than_the_events_post_the_same_journal(engine: Engine) -> None:
    from gateway.services.ledger.posting import post_in_session

    invoices = [f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 1 + n)) for n in range(5)]
    payments = [f.payment(engine, "1250.00", booking_date=dt.date(2026, 11, 2 + n)) for n in range(3)]
    for payment, invoice in zip(payments, invoices, strict=False):
        f.apply(engine, payment.id, [(invoice.id, "1250.00")], at=dt.date(2026, 11, 12))
    with session_scope(engine) as session:
        result = post_in_session(session, "acme", until=NOV, actor="test", chunk=2, scan_chunk=2)
    assert result.by_type == {"invoice": 5, "payment": 3}
    with session_scope(engine) as session:
        found = list(journal.iter_vouchers(session, "acme", chunk=3))
        assert [v.number for v in found] == list(range(1, 9))
        assert all(v.debit_total == v.credit_total for v in found)
        assert journal.customer_balances(session, "acme", dt.date(2026, 12, 1)) == {
            CUSTOMER: Decimal("2500.00")
        }


# --- refusals -----------------------------------------------------------------------------------------------


def _refused(engine: Engine) -> LedgerRefused:
    with pytest.raises(LedgerRefused) as refused:
        post(engine, "acme", until=NOV, actor="test")
    assert count_vouchers(engine) == 0 and sources(engine) == {}
    return refused.value


def test_no_tax_code_for_a_rate_is_refused_and_nothing_is_written(engine: Engine) -> None:
    f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 1))  # postable, but the run writes nothing
    f.invoice(engine, lines=[("S", "12", "100.00")], org=ORG, issue_date=dt.date(2026, 11, 5))
    with session_scope(engine) as session:
        settings = tenant_settings(session, "acme")
        settings.ledger.vat_codes = [c for c in settings.ledger.vat_codes if c.tax_code != "33"]
        put_tenant_settings(session, "acme", settings, actor="test")
    error = _refused(engine)
    assert error.field == "ledger.vat_codes" and "S at 12" in error.reason


def test_no_exchange_rate_is_refused(engine: Engine) -> None:
    invoice = _eur_invoice(engine)
    error = _refused(engine)
    assert error.field == "ledger.exchange_rates"
    assert "EUR" in error.reason and invoice.number in error.reason


def test_a_foreign_payment_without_a_rate_is_refused(engine: Engine) -> None:
    f.payment(engine, "10.00", currency="SEK")
    assert _refused(engine).field == "ledger.exchange_rates"


def test_an_invoice_without_a_customer_is_refused(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    with session_scope(engine) as session:
        session.execute(
            update(InvoiceRecord).where(col(InvoiceRecord.id) == invoice.id).values(customer_key=None)
        )
    error = _refused(engine)
    assert error.field == "customer_key" and invoice.number in error.reason


def test_a_document_whose_totals_do_not_add_up_is_refused(engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, invoice.id)
        assert record is not None
        record.payload = record.payload.replace('"payable":"1250.00"', '"payable":"1250.01"').replace(
            '"payable": "1250.00"', '"payable": "1250.01"'
        )
        assert "1250.01" in record.payload
        session.add(record)
    error = _refused(engine)
    assert error.field == "totals" and "0.01" in error.reason


def test_money_that_never_came_in_is_not_posted(engine: Engine) -> None:
    f.payment(engine, "100.00", status="duplicate")
    f.payment(engine, "100.00", status="hint")
    f.payment(engine, "100.00", direction="debit")
    assert post(engine, "acme", until=NOV, actor="test").vouchers == 0


def test_other_tenants_are_not_posted(engine: Engine) -> None:
    f.invoice(engine, tenant_id="other", org=ORG)
    assert post(engine, "acme", until=NOV, actor="test").vouchers == 0
    assert post(engine, "other", until=NOV, actor="test").vouchers == 1


def test_two_runs_at_once_post_each_event_once(engine: Engine) -> None:
    """The second run waits for the first's lock, then finds everything posted: no number twice."""
    import threading

    for n in range(6):
        f.invoice(engine, org=ORG, issue_date=dt.date(2026, 11, 1 + n))
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(post(engine, "acme", until=NOV, actor="test").vouchers)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [0, 6]
    with session_scope(engine) as session:
        numbers = sorted(session.execute(select(col(LedgerVoucher.number))).scalars())
    assert numbers == [1, 2, 3, 4, 5, 6]
