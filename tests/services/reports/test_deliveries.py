"""Deliveries per channel in a period against hand-worked figures (`scenarios.delivery_history`)."""

from __future__ import annotations

from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.reports.deliveries import delivery_report, nearest_rank
from gateway.services.reports.periods import Month
from tests.services.reports.scenarios import delivery_history


def test_nearest_rank() -> None:
    assert nearest_rank([600.0, 60.0, 120.0], 0.9) == 600.0
    assert nearest_rank([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert nearest_rank([5.0], 0.9) == 5.0


def test_deliveries_per_channel(engine: Engine) -> None:
    delivery_history(engine)
    with session_scope(engine) as session:
        report = delivery_report(session, "acme", Month(2026, 11)).as_dict()
    assert (report["deliveries"], report["deviations"], report["failed"]) == (6, 3, 1)
    assert report["deviation_rate_pct"] == 50.0
    email, peppol = report["channels"]
    assert email["channel"] == "email" and email["deliveries"] == 4
    assert email["by_status"] == {"delivered": 3, "failed": 1}
    assert (email["deviations"], email["with_deviation"], email["deviation_rate_pct"]) == (3, 2, 75.0)
    assert (email["delivered"], email["failed"], email["failure_rate_pct"]) == (3, 1, 25.0)
    assert (email["median_seconds_to_delivered"], email["p90_seconds_to_delivered"]) == (120.0, 600.0)
    assert peppol["deliveries"] == 2 and peppol["by_status"] == {"delivered": 1, "queued": 1}
    assert (peppol["median_seconds_to_delivered"], peppol["p90_seconds_to_delivered"]) == (30.0, 30.0)
    assert peppol["deviation_rate_pct"] == 0.0


def test_an_empty_period(engine: Engine) -> None:
    delivery_history(engine)
    with session_scope(engine) as session:
        report = delivery_report(session, "acme", Month(2026, 9)).as_dict()
    assert report["channels"] == [] and report["deviation_rate_pct"] == 0.0
