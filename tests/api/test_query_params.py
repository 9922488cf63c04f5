"""Unknown query parameters are a 422 naming them, on every route (once, for the whole app)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from gateway.samples import sample_invoice_json

Auth = dict[str, str]


def test_get_deliveries_with_a_filter_it_does_not_have_is_422(client: TestClient, auth: Auth) -> None:
    assert client.post("/invoices", json=sample_invoice_json(1), headers=auth).status_code == 201
    answer = client.get("/deliveries", params={"number": "INV-000001"}, headers=auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "query.number"
    assert "channel" in error["reason"] and "status" in error["reason"]  # says what the route takes
    assert client.get("/deliveries", params={"status": "queued", "limit": 5}, headers=auth).status_code == 200
    two = client.get("/invoices", params={"numbr": "x", "buyer": "a", "sortt": "amount"}, headers=auth)
    assert [error["field"] for error in two.json()["errors"]] == ["query.numbr", "query.sortt"]


def test_every_route_refuses_an_unknown_query_parameter(client: TestClient, auth: Auth) -> None:
    operations = [
        (method.upper(), path)
        for path, item in client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in item
    ]
    assert len(operations) > 30
    for method, template in operations:
        path = re.sub(r"\{[^}]+\}", "x", template)
        answer = client.request(method, path, params={"no_such_parameter": "1"}, headers=auth)
        assert answer.status_code == 422, (method, template, answer.text)
        assert answer.json()["errors"][0]["field"] == "query.no_such_parameter", (method, template)


def test_declared_parameters_of_query_models_and_lists_still_pass(client: TestClient, auth: Auth) -> None:
    params: Any = [("status", "queued"), ("status", "held"), ("q", "INV"), ("limit", "2"), ("cursor", None)]
    answer = client.get("/invoices", params=[(k, v) for k, v in params if v is not None], headers=auth)
    assert answer.status_code == 200, answer.text
    assert client.get("/pods", params={"linked": "false", "offset": 0}, headers=auth).status_code == 200
    assert client.get("/health").status_code == 200
