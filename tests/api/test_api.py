"""The HTTP API on real SQLite and PostgreSQL: intake, idempotency, isolation, clear 4xx answers."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from gateway.worker import Worker


def _post(client: TestClient, auth: dict[str, Any], body: Any, **headers: str) -> Any:
    return client.post("/invoices", json=body, headers={**auth, **headers})


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_post_invoice_then_read_it_with_deliveries(client: TestClient, auth: dict[str, Any]) -> None:
    response = _post(client, auth, sample_invoice_json(1))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "created"
    assert response.headers["location"] == f"/invoices/{body['invoice_id']}"
    view = client.get(f"/invoices/{body['invoice_id']}", headers=auth).json()
    assert view["number"] == "INV-000001"
    assert Decimal(view["payable_amount"]) > 0
    [delivery] = view["deliveries"]
    assert delivery["status"] == "queued"
    assert delivery["events"][0]["actor"] == "api:erp"


def test_repeat_with_idempotency_key_returns_first_result(client: TestClient, auth: dict[str, Any]) -> None:
    first = _post(client, auth, sample_invoice_json(1), **{"Idempotency-Key": "k-1"})
    again = _post(client, auth, sample_invoice_json(1), **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["invoice_id"] == first.json()["invoice_id"]
    assert again.json()["outcome"] == "duplicate"
    other = sample_invoice_json(2)
    clash = _post(client, auth, other, **{"Idempotency-Key": "k-1"})
    assert clash.status_code == 409
    assert "Idempotency-Key" in clash.json()["errors"][0]["reason"]
    assert len(client.get("/deliveries", headers=auth).json()["items"]) == 1


def test_repeat_without_key_is_recognised_by_document_number(
    client: TestClient, auth: dict[str, Any]
) -> None:
    first = _post(client, auth, sample_invoice_json(1))
    again = _post(client, auth, sample_invoice_json(1))
    assert again.status_code == 200
    assert again.json()["invoice_id"] == first.json()["invoice_id"]
    changed = sample_invoice_json(1)
    changed["notes"] = ["a different invoice reusing the number"]
    conflict = _post(client, auth, changed)
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["field"] == "number"


def test_wrong_total_is_422_naming_rule_and_field(client: TestClient, auth: dict[str, Any]) -> None:
    data = sample_invoice_json(1)
    data["totals"]["tax_amount"] = "1.00"
    response = _post(client, auth, data)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {"BR-CO-14", "BR-CO-15"} <= {e.get("rule") for e in errors}
    assert "totals.tax_amount" in {e["field"] for e in errors}


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"[]", 422, "body"),
        (b'"just a string"', 422, "body"),
        (b'{"number": 1}', 422, "number"),
        (b"NaN", 400, "body"),
        (b"\xff\xfe", 400, "body"),
    ],
)
def test_malformed_bodies_get_clear_4xx(
    client: TestClient, auth: dict[str, Any], raw: bytes, status: int, field: str
) -> None:
    response = client.post("/invoices", content=raw, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("currency",), "ABC", "currency"),
        (("issue_date",), "2026-13-01", "issue_date"),
        (("lines", 0, "quantity"), {"nested": True}, "lines.0.quantity"),
        (("lines",), [], "lines"),
        (("buyer", "name"), None, "buyer.name"),
    ],
)
def test_wrong_types_and_values_name_the_field(
    client: TestClient, auth: dict[str, Any], path: tuple[Any, ...], value: Any, field: str
) -> None:
    data = copy.deepcopy(sample_invoice_json(1))
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    response = _post(client, auth, data)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}


def test_auth_is_required_and_checked(client: TestClient) -> None:
    assert client.post("/invoices", json=sample_invoice_json(1)).status_code == 401
    bad = {"Authorization": "Bearer gw_0000_nope"}
    assert client.post("/invoices", json=sample_invoice_json(1), headers=bad).status_code == 401
    assert client.get("/deliveries", headers={"Authorization": "Bearer garbage"}).status_code == 401


def test_tenant_isolation(client: TestClient, token_for: Any, auth: dict[str, Any]) -> None:
    other = token_for("globex", "globex-erp")
    created = _post(client, auth, sample_invoice_json(1)).json()
    assert client.get(f"/invoices/{created['invoice_id']}", headers=other).status_code == 404
    assert client.get("/deliveries", headers=other).json()["items"] == []
    delivery_id = created["delivery_ids"][0]
    assert client.post(f"/deliveries/{delivery_id}/resend", headers=other).status_code == 404
    # The same document number is independent per tenant.
    assert _post(client, other, sample_invoice_json(1)).status_code == 201


def test_bulk_gives_per_item_results(client: TestClient, auth: dict[str, Any]) -> None:
    bad = sample_invoice_json(3)
    bad["totals"]["payable"] = "0.00"
    items = [sample_invoice_json(1), sample_invoice_json(2), bad, sample_invoice_json(1), "junk"]
    response = client.post("/invoices:bulk", json=items, headers=auth)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "created", "rejected", "duplicate", "rejected"]
    assert results[3]["invoice_id"] == results[0]["invoice_id"]
    assert results[2]["errors"][0]["rule"] == "BR-CO-16"
    assert response.json()["summary"] == {"created": 2, "rejected": 2, "duplicate": 1}


def test_bulk_limits(client: TestClient, auth: dict[str, Any], settings: Settings) -> None:
    settings.max_bulk_items = 2
    response = client.post("/invoices:bulk", json=[sample_invoice_json(n) for n in range(3)], headers=auth)
    assert response.status_code == 413
    assert client.post("/invoices:bulk", json={"x": 1}, headers=auth).status_code == 422


def test_oversize_body_is_413(client: TestClient, auth: dict[str, Any], settings: Settings) -> None:
    settings.max_body_bytes = 1000
    response = client.post(
        "/invoices",
        content=json.dumps(sample_invoice_json(1)),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_wrong_content_type_is_415(client: TestClient, auth: dict[str, Any]) -> None:
    response = client.post("/invoices", content=b"<Invoice/>", headers={**auth, "Content-Type": "text/plain"})
    assert response.status_code == 415


def test_unknown_receiver_or_channel_is_rejected(client: TestClient, auth: dict[str, Any]) -> None:
    data = sample_invoice_json(1, receiver_id="nobody")
    response = _post(client, auth, data)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "routing.receiver_id"
    data = sample_invoice_json(2)
    data["routing"] = {"channel": "foldr"}
    response = _post(client, auth, data)
    assert response.status_code == 422
    assert "Did you mean 'folder'" in response.json()["errors"][0]["reason"]


def test_receiver_profile_routes_the_invoice(client: TestClient, auth: dict[str, Any]) -> None:
    profile = {"receiver_id": "C-9", "preferred_channel": "folder", "addresses": {"folder": "fjordbyen"}}
    assert client.put("/receivers/C-9", json=profile, headers=auth).status_code == 200
    bad = {**profile, "preferred_channel": "telex"}
    assert client.put("/receivers/C-9", json=bad, headers=auth).status_code == 422
    created = _post(client, auth, sample_invoice_json(1, receiver_id="C-9")).json()
    view = client.get(f"/invoices/{created['invoice_id']}", headers=auth).json()
    assert view["deliveries"][0]["address"] == "fjordbyen"
    assert view["receiver_id"] == "C-9"


def test_deliveries_filter_resend_and_cancel(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    first = _post(client, auth, sample_invoice_json(1)).json()
    second = _post(client, auth, sample_invoice_json(2)).json()
    cancelled = client.post(
        f"/deliveries/{second['delivery_ids'][0]}/cancel", json={"reason": "sent by post"}, headers=auth
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    Worker(engine, settings).run(once=True)
    delivered = client.get("/deliveries", params={"status": "delivered"}, headers=auth).json()["items"]
    assert [d["id"] for d in delivered] == first["delivery_ids"]
    assert client.get("/deliveries", params={"status": "bogus"}, headers=auth).status_code == 422
    resent = client.post(
        f"/deliveries/{first['delivery_ids'][0]}/resend", json={"reason": "buyer lost it"}, headers=auth
    )
    assert resent.status_code == 202
    assert resent.json()["attempt"] == 2
    again = client.post(f"/deliveries/{second['delivery_ids'][0]}/resend", headers=auth)
    assert again.status_code == 409  # a cancelled delivery stays cancelled
    Worker(engine, settings).run(once=True)
    view = client.get(f"/invoices/{first['invoice_id']}", headers=auth).json()
    events = view["deliveries"][0]["events"]
    assert [(e["attempt"], e["to"]) for e in events][-4:] == [
        (2, "queued"),
        (2, "rendering"),
        (2, "sending"),
        (2, "delivered"),
    ]
    assert events[4]["reason"] == "buyer lost it"
    assert events[4]["actor"] == "api:erp"


def test_openapi_documents_the_canonical_invoice(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "Invoice" in spec["components"]["schemas"]
    body = spec["paths"]["/invoices"]["post"]["requestBody"]["content"]["application/json"]
    assert body["example"]["number"] == "INV-000001"
