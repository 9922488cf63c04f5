"""The first notice for one invoice: the statutory fee from 14 days after due, interest over dated rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.samples import sample_invoice
from mappings.reminder.notice import first_notice_for, late_interest, notice_total
from schemas.followup import FollowUpSettings, InterestRate


def test_no_fee_before_fourteen_days_after_due_then_nok_35() -> None:
    invoice = sample_invoice(3)
    due = invoice.due_date
    assert due is not None
    early = first_notice_for(invoice, due + dt.timedelta(days=13))
    assert early.fee == 0 and early.kind == "reminder" and early.level == 1
    late = first_notice_for(invoice, due + dt.timedelta(days=14))
    assert late.fee == Decimal("35.00")
    assert late.deadline == due + dt.timedelta(days=28)
    assert late.kid == invoice.kid and late.invoices[0].days_late == 14
    assert notice_total(late) == invoice.totals.payable + late.fee + late.interest


def test_interest_is_open_times_rate_times_days_over_the_dated_rates() -> None:
    rates = [
        InterestRate(effective_from=dt.date(2025, 1, 1), rate_percent=Decimal("12.50")),
        InterestRate(effective_from=dt.date(2025, 7, 1), rate_percent=Decimal("12.25")),
    ]
    # 10 000 due 2025-06-20: 10 days at 12.50 % (21–30 June), 10 days at 12.25 % (1–10 July)
    expected = Decimal(10000) * (Decimal("12.50") * 10 + Decimal("12.25") * 10) / 100 / 365
    interest = late_interest(Decimal(10000), dt.date(2025, 6, 20), dt.date(2025, 7, 10), rates)
    assert interest == expected.quantize(Decimal("0.01")) == Decimal("67.81")
    assert late_interest(Decimal(10000), dt.date(2025, 6, 20), dt.date(2025, 6, 20), rates) == 0


def test_a_foreign_currency_invoice_gets_no_nok_fee_and_a_credit_note_no_notice() -> None:
    invoice = sample_invoice(5).model_copy(update={"currency": "EUR"})
    due = invoice.due_date
    assert due is not None
    assert first_notice_for(invoice, due + dt.timedelta(days=30), FollowUpSettings()).fee == 0
    with pytest.raises(ValueError, match="credit note"):
        first_notice_for(sample_invoice(5, credit_note=True), dt.date(2027, 1, 1))
