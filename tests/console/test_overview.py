"""The overview: exact figures from the services on both databases, tenant isolation, and the page."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import utcnow
from gateway.services.outbound.overview import delivery_overview
from gateway.services.payments.matching_runs import match_report
from gateway.services.payments.overview import payment_overview
from gateway.settings import Settings
from tests.console import overview_data
from tests.console.helpers import ConsoleClient, make_user


def test_figures_are_exact_and_only_the_tenants_own(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    now = utcnow()
    overview_data.build(client, engine, settings, now)
    with session_scope(engine) as session:
        figures = delivery_overview(session, "acme", now=now)
        payments = payment_overview(session, "acme", now=now)

    assert figures.by_status_channel == {
        ("held", "peppol"): 1,  # 20 days old, still counted: not finished
        ("queued", "email"): 1,
        ("batched", "print"): 1,
        ("sent", "print"): 2,
        ("deviation", "peppol"): 2,
        ("deviation", "email"): 2,
        ("failed", "print"): 1,
        ("delivered", "peppol"): 10,  # the two delivered 20 and 30 days ago are outside the window
        ("delivered", "email"): 5,
        ("delivered", "print"): 2,
        ("cancelled", "peppol"): 1,
    }
    assert figures.statuses == [
        "held", "queued", "batched", "sent", "delivered", "deviation", "failed", "cancelled",
    ]  # fmt: skip
    assert figures.channels == ["email", "peppol", "print"]
    per_day = {14 - 1 - index: day.by_channel for index, day in enumerate(figures.per_day)}
    assert per_day == {
        0: {"peppol": 3, "email": 3, "print": 1},
        1: {"peppol": 2, "email": 1},
        2: {"peppol": 1, "print": 2},
        3: {"peppol": 1, "print": 1, "email": 1},
        4: {"email": 1, "peppol": 1},
        5: {"peppol": 1, "email": 1, "print": 1},
        6: {},
        7: {"peppol": 1},
        8: {"peppol": 2},
        9: {},
        10: {"email": 1},
        11: {},
        12: {"print": 1},
        13: {"peppol": 1},
    }
    assert figures.days[-1] == now.date() and figures.days[0] == now.date() - dt.timedelta(days=13)
    assert figures.today.total == 7 and figures.invoices_today == 7

    oldest = figures.oldest_waiting
    assert oldest is not None
    assert (oldest.status, oldest.channel, oldest.invoice_number) == ("held", "peppol", "INV-000030")
    assert oldest.created_at == overview_data.moment(now, 20)

    assert [(row.cause, row.by_age, row.total) for row in figures.deviations] == [
        ("rejected", {"under 1 day": 1, "1–3 days": 1}, 2),
        ("validation-failed", {"over 7 days": 1}, 1),
        ("bounced", {"3–7 days": 1}, 1),
    ]
    assert figures.open_deviations == 4
    assert figures.oldest_deviation == now - dt.timedelta(days=10)

    assert (payments.exceptions, payments.awaiting_approval, payments.waiting) == (2, 0, 2)
    assert payments.oldest_waiting is not None and now - payments.oldest_waiting < dt.timedelta(minutes=5)
    month = payments.month
    assert (month.matchable, month.automatic, month.false_automatic) == (4, 3, 1)
    assert (month.auto_rate_pct, month.false_auto_rate_pct) == (75.0, 33.33)
    this_week = payments.weeks[-1]
    assert this_week.since.date() == now.date() - dt.timedelta(days=now.date().weekday())
    assert (this_week.matchable, this_week.automatic, this_week.false_automatic) == (4, 3, 1)
    assert len(payments.weeks) == 8
    # the same figures as the matching report of the API, counted in the database
    with session_scope(engine) as session:
        report = match_report(session, "acme", since=month.since)["per_payment"]
    assert (report["matchable"], report["auto_applied"], report["false_auto_applied"]) == (4, 3, 1)
    assert (report["auto_rate_pct"], report["false_auto_rate_pct"]) == (75.0, 33.33)
    assert all(week.matchable == 0 for week in payments.weeks[:-1])
    assert [w.since for w in payments.weeks] == sorted(w.since for w in payments.weeks)

    # the other tenant sees only its own
    with session_scope(engine) as session:
        other = delivery_overview(session, "globex", now=now)
        other_payments = payment_overview(session, "globex", now=now)
    assert other.by_status_channel == {
        ("queued", "email"): 1,
        ("deviation", "peppol"): 1,
        ("failed", "print"): 1,
        ("delivered", "peppol"): 1,
    }
    assert other.oldest_waiting is not None and other.oldest_waiting.invoice_number == "INV-000100"
    assert [(row.cause, row.total) for row in other.deviations] == [("bounced", 1)]
    assert other_payments.waiting == 0 and other_payments.month.matchable == 0


def test_a_new_tenant_has_an_empty_overview(engine: Engine) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        figures = delivery_overview(session, "nobody", now=now)
        payments = payment_overview(session, "nobody", now=now)
    assert figures.by_status_channel == {} and figures.statuses == [] and figures.channels == []
    assert [day.total for day in figures.per_day] == [0] * 14
    assert figures.oldest_waiting is None and figures.deviations == [] and figures.oldest_deviation is None
    assert payments.waiting == 0 and payments.oldest_waiting is None
    assert payments.month.matchable == 0 and payments.month.auto_rate_pct == 0.0


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_shows_cards_tables_and_charts(
    client: TestClient, web: TestClient, engine: Engine, settings: Settings
) -> None:
    now = utcnow()
    overview_data.build(client, engine, settings, now)
    viewer = ConsoleClient(web, make_user(engine, "look@acme.example", "viewer"))
    answer = viewer.get("/console/")
    assert answer.status_code == 200
    html = answer.text
    text = _text(html)
    assert "Deliveries today 7 7 invoices received today" in text
    assert "Waiting to go out 3 oldest waits 20 d" in text  # held, queued, batched
    assert "Open deviations 4 oldest open 10 d" in text
    assert "Payment exceptions waiting 2 0 to approve" in text
    assert "75.0 % of 4 payments; 1 of 3 false (33.3 %)" in text
    assert "Oldest waiting delivery: invoice INV-000030 on peppol, held" in text
    # links into the other pages, with their filters
    assert 'href="/console/deviations?cause=validation-failed"' in html
    assert 'href="/console/invoices?status=delivered&amp;channel=peppol">10</a>' in html
    assert 'href="/console/payments?status=exception"' in html
    # three charts, each an image with a name, every bar with its figure as a tooltip
    assert html.count('role="img"') == 3
    assert 'aria-label="Deliveries created per day and channel, last 14 days"' in html
    assert f"<title>{now:%a %Y-%m-%d} · peppol: 3</title>" in html
    assert "<title>rejected · under 1 day: 1</title>" in html
    assert "· automatic: 75 %</title>" in html and "· false automatic: 33.33 %</title>" in html
    # nothing of the other tenant
    assert "INV-000100" not in html and "globex" not in text


def test_an_empty_tenant_reads_well(web: TestClient, engine: Engine) -> None:
    user = ConsoleClient(web, make_user(engine, "new@fresh.example", "operator", tenants=("fresh",)))
    answer = user.get("/console/")
    assert answer.status_code == 200
    text = _text(answer.text)
    assert "nothing waiting" in text and "none open" in text and "none waiting" in text
    assert "No deliveries in the last 14 days." in text
    assert "No deliveries yet: they appear here once invoices come in." in text
    assert "No open deviations: nothing needs a person." in text
    assert "No payments received in the last 8 weeks." in text
    assert 'role="img"' not in answer.text


def test_the_overview_needs_a_session(web: TestClient) -> None:
    answer = web.get("/console/", follow_redirects=False)
    assert answer.status_code in (303, 307) and "/console/login" in answer.headers["location"]
