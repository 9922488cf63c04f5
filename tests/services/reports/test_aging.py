"""Aging as of a day against hand-worked figures (`scenarios.aging_history`): a later payment not yet
counted, a reversed allocation, a credit note, a dispute's credit without an allocation, two currencies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.reports.aging import BUCKET_KEYS, aging_report, bucket_of
from gateway.services.reports.periods import ReportRefused
from tests.services.reports.scenarios import aging_history


def _amounts(buckets: dict[str, str]) -> list[Decimal]:
    return [Decimal(buckets[key]) for key in BUCKET_KEYS]


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-5, "not_due"), (0, "not_due"), (1, "days_1_30"), (30, "days_1_30"), (31, "days_31_60"),
     (60, "days_31_60"), (61, "days_61_90"), (90, "days_61_90"), (91, "over_90"), (4000, "over_90")],
)  # fmt: skip
def test_the_buckets_edges(days: int, bucket: str) -> None:
    assert bucket_of(days) == bucket


def test_aging_on_a_past_day(engine: Engine) -> None:
    aging_history(engine)
    with session_scope(engine) as session:
        report = aging_report(session, "acme", dt.date(2026, 11, 30)).as_dict()
    nok, eur = report["currencies"]
    assert nok["currency"] == "NOK" and eur["currency"] == "EUR"
    assert _amounts(nok["buckets"]) == [Decimal(v) for v in ("2000", "-150", "600", "500", "380")]
    assert nok["total"] == "3330.00"
    rows = {row["customer_key"]: row for row in nok["customers"]}
    assert [row["customer_key"] for row in nok["customers"]] == ["C-1", "C-3", "C-2"]
    assert _amounts(rows["C-1"]["buckets"]) == [Decimal(v) for v in ("2000", "0", "600", "0", "0")]
    assert rows["C-1"]["total"] == "2600.00" and rows["C-1"]["overdue"] == "600.00"
    assert rows["C-1"]["name"] == "Alfa AS" and rows["C-1"]["items"] == 2
    assert _amounts(rows["C-2"]["buckets"]) == [Decimal(v) for v in ("0", "-150", "0", "0", "380")]
    assert _amounts(rows["C-3"]["buckets"]) == [Decimal(v) for v in ("0", "0", "0", "500", "0")]
    assert rows["C-3"]["items"] == 1  # CN-2 used up by the dispute's credit, I-5 paid
    assert _amounts(eur["buckets"]) == [Decimal(v) for v in ("100", "0", "0", "0", "300")]
    assert [(row["customer_key"], row["total"]) for row in eur["customers"]] == [
        ("C-4", "300.00"),
        ("C-1", "100.00"),
    ]


def test_aging_a_month_later_counts_the_later_payment_and_the_later_reversal(engine: Engine) -> None:
    aging_history(engine)
    with session_scope(engine) as session:
        report = aging_report(session, "acme", dt.date(2026, 12, 31)).as_dict()
    nok = report["currencies"][0]
    rows = {row["customer_key"]: row for row in nok["customers"]}
    # I-2 paid on 12-05; I-1 600 now 77 days late; I-6 999 due 12-15 (16 days)
    assert _amounts(rows["C-1"]["buckets"]) == [Decimal(v) for v in ("0", "999", "0", "600", "0")]
    # the 100 + 20 reversed on 12-10: I-3 back to 500; CN-1 56 days
    assert _amounts(rows["C-2"]["buckets"]) == [Decimal(v) for v in ("0", "0", "-150", "0", "500")]
    # I-4 102 days; CN-2 still used up
    assert _amounts(rows["C-3"]["buckets"]) == [Decimal(v) for v in ("0", "0", "0", "0", "500")]


def test_before_the_dispute_credit_both_documents_are_open(engine: Engine) -> None:
    aging_history(engine)
    with session_scope(engine) as session:
        report = aging_report(session, "acme", dt.date(2026, 11, 25)).as_dict()
    rows = {row["customer_key"]: row for row in report["currencies"][0]["customers"]}
    # I-4 800 (66 days: 61–90), CN-2 −300 due that day (not due), I-5 paid on 11-16
    assert _amounts(rows["C-3"]["buckets"]) == [Decimal(v) for v in ("-300", "0", "0", "800", "0")]
    assert rows["C-3"]["total"] == "500.00" and rows["C-3"]["items"] == 2


def test_another_tenant_sees_only_its_own(engine: Engine) -> None:
    aging_history(engine)
    with session_scope(engine) as session:
        report = aging_report(session, "globex", dt.date(2026, 11, 30)).as_dict()
        empty = aging_report(session, "nobody", dt.date(2026, 11, 30)).as_dict()
    [nok] = report["currencies"]
    assert nok["total"] == "7777.00" and nok["buckets"]["over_90"] == "0.00"
    assert empty["currencies"] == []


def test_a_day_outside_the_years_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(ReportRefused) as refused:
        aging_report(session, "acme", dt.date(1999, 12, 31))
    assert refused.value.field == "date"
