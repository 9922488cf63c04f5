"""Console pages given moments no UTC column holds: a 4xx page, never a 500 (issue 18, defect 5)."""

from __future__ import annotations

from tests.console.helpers import ConsoleClient


def test_a_deviation_cursor_outside_the_years_in_utc_is_not_a_page(operator: ConsoleClient) -> None:
    """Reproducer: `/console/deviations?after=0001-01-01T00:00:00+14:00_<id>` overflowed turning to UTC."""
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"):
        answer = operator.get("/console/deviations", params={"after": f"{moment}_{'a' * 32}"})
        assert answer.status_code == 422, answer.text
        assert "not a page of this list" in answer.text


def test_an_invoice_search_since_outside_the_years_in_utc_is_said_on_the_page(
    operator: ConsoleClient,
) -> None:
    for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"):
        answer = operator.get("/console/invoices", params={"since": moment})
        assert answer.status_code < 500, answer.text
        assert "Changed since" in answer.text
    assert operator.get("/console/invoices", params={"since": "2026-01-01"}).status_code == 200
