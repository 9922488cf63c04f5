"""The Reports page: aging, DSO, deliveries and matching of the signed-in person's tenant with the
hand-worked figures, the charts it shows as images, and a bad choice as a 422 page naming it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.helpers import ConsoleClient
from tests.services.reports.scenarios import aging_history, delivery_history, dso_history
from tests.services.reports.test_plots import png_size


def test_the_page_shows_each_report_with_its_chart(viewer: ConsoleClient, engine: Engine) -> None:
    aging_history(engine)
    delivery_history(engine)
    answer = viewer.get("/console/reports", params={"date": "2026-11-30", "period": "2026-11", "months": "3"})
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert '<a href="/console/reports" aria-current="page">Reports</a>' in html
    assert "Aging as of 2026-11-30" in html and "Alfa AS" in html and "Delta GmbH" in html
    assert "Total NOK" in html and "3\u202f330.00" in html and 'negative">-150.00<' in html  # CN-1
    assert "75.0 %" in html and "2 min" in html and "10 min" in html  # email: median 120 s, p90 600 s
    for name in ("aging", "dso", "deliveries"):
        src = f"/console/reports/chart/{name}?date=2026-11-30&amp;period=2026-11&amp;months=3&amp;format=svg"
        assert f'<img src="{src}"' in html
    svg = viewer.get(
        "/console/reports/chart/aging", params={"date": "2026-11-30", "period": "2026-11", "format": "svg"}
    )
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"Alfa AS" in svg.content
    png = viewer.get("/console/reports/chart/deliveries", params={"period": "2026-11", "format": "png"})
    assert png.headers["content-type"] == "image/png" and png_size(png.content) == (1280, 640)


def test_the_dso_figures(viewer: ConsoleClient, engine: Engine) -> None:
    dso_history(engine)
    html = viewer.get("/console/reports", params={"period": "2026-11", "months": "3"}).text
    assert "51.0 d" in html and "33.3 d" in html and "73.5 %" in html and "21.9" in html


def test_bad_choices_are_a_422_page_naming_them(viewer: ConsoleClient) -> None:
    for params, named in (
        ({"date": "30.11.2026"}, "date"),
        ({"date": "2026-02-30"}, "date"),
        ({"period": "2026-13"}, "period"),
        ({"months": "7"}, "months"),
    ):
        answer = viewer.get("/console/reports", params=params)
        assert answer.status_code == 422, (params, answer.status_code)
        assert f"{named}:" in answer.text
    assert viewer.get("/console/reports/chart/ledger").status_code == 422


def test_a_month_not_yet_begun_says_so(viewer: ConsoleClient) -> None:
    answer = viewer.get("/console/reports", params={"period": "2999-12"})
    assert answer.status_code == 200 and "No DSO for 2999-12: 2999-12 has not begun" in answer.text


def test_a_stranger_is_sent_to_sign_in(web: TestClient) -> None:
    for path in ("/console/reports", "/console/reports/chart/aging"):
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
