"""GET /reports/aging|dso|deliveries|matching: the hand-worked figures through the API, the charts as PNG and
SVG, the caller's tenant only, and a 422 naming a parameter the report cannot use."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from tests.services.reports.factories import payment
from tests.services.reports.scenarios import aging_history, delivery_history, dso_history
from tests.services.reports.test_plots import png_size


def test_aging_as_json_png_and_svg(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    aging_history(engine)
    answer = client.get("/reports/aging", params={"date": "2026-11-30"}, headers=auth)
    assert answer.status_code == 200, answer.text
    nok, eur = answer.json()["currencies"]
    assert (nok["currency"], nok["total"], eur["total"]) == ("NOK", "3330.00", "400.00")
    assert [c["customer_key"] for c in nok["customers"]] == ["C-1", "C-3", "C-2"]
    png = client.get("/reports/aging", params={"date": "2026-11-30", "format": "png"}, headers=auth)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png_size(png.content) == (1280, 640)
    svg = client.get("/reports/aging", params={"date": "2026-11-30", "format": "svg"}, headers=auth)
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"Alfa AS" in svg.content


def test_the_caller_sees_only_its_tenant(
    client: TestClient, auth: dict[str, str], engine: Engine, token_for: Any
) -> None:
    aging_history(engine)
    delivery_history(engine)
    globex = token_for("globex")
    [nok] = client.get("/reports/aging", params={"date": "2026-11-30"}, headers=globex).json()["currencies"]
    assert nok["total"] == "7777.00"
    deliveries = client.get("/reports/deliveries", params={"period": "2026-11"}, headers=globex).json()
    assert [(c["channel"], c["deliveries"], c["failed"]) for c in deliveries["channels"]] == [("email", 1, 1)]
    assert client.get("/reports/aging").status_code == 401


def test_dso_as_json_and_png(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    dso_history(engine)
    params = {"period": "2026-11", "months": "3"}
    answer = client.get("/reports/dso", params=params, headers=auth)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    [nok] = view["currencies"]
    assert [m["count_back_dso"] for m in nok["months"]] == ["30.0", "51.0", "51.0"]
    assert [m["best_possible_dso"] for m in nok["months"]] == ["30.0", "31.0", "33.3"]
    assert [m["cei_pct"] for m in nok["months"]] == ["100.0", "33.3", "73.5"]
    assert [(d["customer_key"], d["average_days_late"]) for d in view["days_late"]] == [
        ("C-1", "21.9"),
        ("C-2", "21.0"),
    ]
    png = client.get("/reports/dso", params={**params, "format": "png"}, headers=auth)
    assert png_size(png.content) == (1280, 640)


def test_deliveries_and_matching(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    delivery_history(engine)
    with session_scope(engine) as session:
        payment(session, "100.00", "2026-11-02")
        payment(session, "300.00", "2026-10-30")
    view = client.get("/reports/deliveries", params={"period": "2026-11"}, headers=auth).json()
    email = view["channels"][0]
    assert (email["channel"], email["deviation_rate_pct"], email["median_seconds_to_delivered"]) == (
        "email",
        75.0,
        120.0,
    )
    png = client.get("/reports/deliveries", params={"period": "2026-11", "format": "png"}, headers=auth)
    assert png_size(png.content) == (1280, 640)
    matching = client.get("/reports/matching", params={"period": "2026-11"}, headers=auth)
    assert matching.status_code == 200, matching.text
    assert matching.json()["period"] == "2026-11" and matching.json()["per_payment"]["matchable"] == 1


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/reports/dso", {"period": "2026-13"}, "query.period"),
        ("/reports/dso", {"period": "2999-12"}, "query.period"),
        ("/reports/dso", {"months": "0"}, "query.months"),
        ("/reports/deliveries", {"period": "nov"}, "query.period"),
        ("/reports/matching", {"period": "1999-01"}, "query.period"),
        ("/reports/aging", {"date": "1999-12-31"}, "query.date"),
        ("/reports/aging", {"date": "yesterday"}, "query.date"),
        ("/reports/aging", {"format": "gif"}, "query.format"),
    ],
)
def test_a_bad_parameter_is_a_422_naming_it(
    client: TestClient, auth: dict[str, str], path: str, params: dict[str, str], field: str
) -> None:
    answer = client.get(path, params=params, headers=auth)
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == [field]
