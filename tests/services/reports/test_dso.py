"""Count-back DSO, best-possible DSO, CEI and average days late against hand-worked figures
(`scenarios.dso_history`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.reports.dso import count_back, dso_report
from gateway.services.reports.periods import Month, ReportRefused
from tests.services.reports.scenarios import dso_history

TODAY = dt.date(2026, 12, 15)


def test_count_back_by_hand() -> None:
    # 7 100 against Oct 3 100 (31 d) then Sep 6 000 (30 d): 31 + 4 000 / 6 000 × 30 = 51
    assert count_back(Decimal(7100), [(Decimal(3100), 31), (Decimal(6000), 30)]) == (Decimal(51), True)
    # a month without sales adds its days and takes nothing: 30 + 28 + 500 / 1 000 × 31
    days, complete = count_back(Decimal(500), [(Decimal(0), 30), (Decimal(-200), 28), (Decimal(1000), 31)])
    assert (days, complete) == (Decimal("73.5"), True)
    # more receivables than all the sales counted back: a lower bound
    assert count_back(Decimal(5000), [(Decimal(1000), 30), (Decimal(1000), 31)]) == (Decimal(61), False)
    assert count_back(Decimal(0), [(Decimal(1000), 30)]) == (Decimal(0), True)
    assert count_back(Decimal(-10), [(Decimal(1000), 30)]) == (Decimal(0), True)


def test_dso_best_possible_dso_and_cei_per_month(engine: Engine) -> None:
    dso_history(engine)
    with session_scope(engine) as session:
        report = dso_report(session, "acme", Month(2026, 11), 3, TODAY).as_dict()
    [nok] = report["currencies"]
    assert nok["currency"] == "NOK"
    months = {row["month"]: row for row in nok["months"]}
    assert list(months) == ["2026-09", "2026-10", "2026-11"]
    sep, oct_, nov = months["2026-09"], months["2026-10"], months["2026-11"]
    assert [(m["sales"], m["receivables"], m["current_receivables"]) for m in (sep, oct_, nov)] == [
        ("6000.00", "6000.00", "6000.00"),
        ("3100.00", "7100.00", "3100.00"),
        ("2700.00", "4800.00", "3000.00"),
    ]
    assert sep["opening_receivables"] == "3000.00" and nov["opening_receivables"] == "7100.00"
    assert [m["count_back_dso"] for m in (sep, oct_, nov)] == ["30.0", "51.0", "51.0"]
    assert all(m["count_back_complete"] for m in (sep, oct_, nov))
    assert [m["best_possible_dso"] for m in (sep, oct_, nov)] == ["30.0", "31.0", "33.3"]
    assert [m["cei_pct"] for m in (sep, oct_, nov)] == ["100.0", "33.3", "73.5"]
    assert [m["days"] for m in (sep, oct_, nov)] == [30, 31, 30]
    late = [(row["customer_key"], row["average_days_late"], row["payments"]) for row in report["days_late"]]
    assert late == [("C-1", "21.9", 3), ("C-2", "21.0", 1)]
    assert report["days_late"][0]["amount"] == "9000.00"


def test_the_current_month_ends_today(engine: Engine) -> None:
    dso_history(engine)
    with session_scope(engine) as session:
        report = dso_report(session, "acme", Month(2026, 11), 1, dt.date(2026, 11, 20)).as_dict()
    [row] = report["currencies"][0]["months"]
    # on 11-20: B 0 (paid 11-10), C 3 100 (due 11-09), D 3 000 issued that day; CN not yet issued
    assert (row["end"], row["days"], row["sales"], row["receivables"]) == (
        "2026-11-20",
        20,
        "3000.00",
        "6100.00",
    )
    # 6 100 − 3 000 (20 d) → 20 + 3 100 / 3 100 × 31 = 51.0; best: 3 000 × 20 / 3 000 = 20.0
    assert (row["count_back_dso"], row["best_possible_dso"]) == ("51.0", "20.0")
    # C paid on 11-30: after the day, not counted
    assert [r["customer_key"] for r in report["days_late"]] == ["C-1"]


def test_refusals_name_the_parameter(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(ReportRefused) as refused:
            dso_report(session, "acme", Month(2027, 1), 3, TODAY)
        assert refused.value.field == "period"
        with pytest.raises(ReportRefused) as refused:
            dso_report(session, "acme", Month(2026, 11), 0, TODAY)
        assert refused.value.field == "months"


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-11", "", "1999-12", "2026-11-01"])
def test_a_month_is_written_yyyy_mm(text: str) -> None:
    with pytest.raises(ReportRefused) as refused:
        Month.parse(text)
    assert refused.value.field == "period"
    assert str(Month.parse("2026-11")) == "2026-11" and Month(2026, 1).shifted(-1) == Month(2025, 12)
