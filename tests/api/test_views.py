"""The response models tell the truth: every key an answer carries is declared in its OpenAPI schema.

The views are built by the services as dicts and typed in `gateway.api.views` with `extra="allow"`, so a
key a service adds still reaches clients; this test notices when such a key is not typed yet (and when a
declared key goes missing), by walking real answers against the documented schemas.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.samples import sample_invoice_json
from gateway.services.payments.intake import MATCHING_DEFERRED
from gateway.services.payments.matching_runs import acquire_lease, release_lease
from tests.remittance_files import Tx, camt054
from tests.services.test_pods import make_png

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undeclared(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Where `value` leaves `schema`: an undeclared or missing key, or a value of another JSON type."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        if value is None and {"type": "null"} in schema["anyOf"]:
            return []
        options = [option for option in schema["anyOf"] if option != {"type": "null"}]
        attempts = [_undeclared(spec, option, value, where) for option in options]
        return min(attempts, key=len)
    kind = schema.get("type")
    if kind is None:  # Any
        return []
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{where}: {value!r} is not a boolean"]
    if not isinstance(value, JSON_TYPES[kind]) or (kind in ("integer", "number") and isinstance(value, bool)):
        return [f"{where}: {value!r} is not of type {kind}"]
    if kind == "array":
        return [
            problem
            for n, item in enumerate(value)
            for problem in _undeclared(spec, schema.get("items", {}), item, f"{where}[{n}]")
        ]
    if kind != "object":
        return []
    problems: list[str] = []
    properties = schema.get("properties")
    if properties is not None:
        problems += [f"{where}.{key}: not declared" for key in value if key not in properties]
        problems += [f"{where}.{key}: missing" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            if key in properties:
                problems += _undeclared(spec, properties[key], item, f"{where}.{key}")
    elif isinstance(schema.get("additionalProperties"), dict):
        for key, item in value.items():
            problems += _undeclared(spec, schema["additionalProperties"], item, f"{where}.{key}")
    return problems


class Checked:
    """A client whose JSON answers are checked against the route's documented 2xx schema."""

    def __init__(self, client: TestClient, auth: dict[str, Any]) -> None:
        self.client = client
        self.auth = auth
        self.spec = client.app.openapi()  # type: ignore[attr-defined]
        self.checked: set[str] = set()

    def __call__(self, method: str, url: str, template: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(method, url, headers=self.auth, **kwargs)
        assert response.status_code == status, response.text
        operation = self.spec["paths"][template][method.lower()]
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        assert schema, f"{method} {template} documents no answer"
        body = response.json()
        assert _undeclared(self.spec, schema, body, "answer") == []
        self.checked.add(f"{method} {template}")
        return body


@pytest.fixture
def checked(client: TestClient, auth: dict[str, Any]) -> Checked:
    return Checked(client, auth)


def _invoice(client: TestClient, auth: dict[str, Any], n: int) -> dict[str, Any]:
    answer = client.post("/invoices", json=sample_invoice_json(n), headers=auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_invoice_delivery_pod_and_webhook_views_are_declared(
    client: TestClient, auth: dict[str, Any], checked: Checked
) -> None:
    created = _invoice(client, auth, 1)
    invoice_id = created["invoice_id"]
    view = checked("GET", f"/invoices/{invoice_id}", "/invoices/{invoice_id}")
    assert view["deliveries"][0]["events"][0]["from"] is None  # the alias, not the Python name
    page = checked("GET", "/deliveries", "/deliveries")
    assert page["items"][0]["id"] == view["deliveries"][0]["id"]
    delivery_id = page["items"][0]["id"]
    cancelled = checked(
        "POST", f"/deliveries/{delivery_id}/cancel", "/deliveries/{delivery_id}/cancel", json={"reason": "x"}
    )
    assert cancelled["status"] == "cancelled"
    checked("GET", "/batches", "/batches")
    pod = client.post(
        "/pods",
        params={"invoice_number": view["number"], "signer_name": "Kari"},
        content=make_png(),
        headers={**auth, "Content-Type": "image/png"},
    )
    assert pod.status_code == 201, pod.text
    pod_id = pod.json()["pods"][0]["id"]
    listed = checked("GET", "/pods", "/pods")
    assert listed["items"][0]["links"][0]["invoice_id"] == invoice_id
    checked("GET", f"/pods/{pod_id}", "/pods/{pod_id}")
    unlinked = checked("DELETE", f"/pods/{pod_id}/links/{invoice_id}", "/pods/{pod_id}/links/{invoice_id}")
    assert unlinked["links"] == [] and unlinked["linked"] is False
    checked("POST", f"/pods/{pod_id}/links", "/pods/{pod_id}/links", 201, json={"invoice_id": invoice_id})
    with_pod = checked("GET", f"/invoices/{invoice_id}", "/invoices/{invoice_id}")
    assert [p["id"] for p in with_pod["proofs_of_delivery"]] == [pod_id]
    client.app.state.settings.webhook_allow_private = True  # type: ignore[attr-defined]  # a loopback ERP
    assert client.put("/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=auth).status_code == 201
    hooks = checked("GET", "/webhooks", "/webhooks")
    assert "secret" not in hooks["items"][0]


def test_payment_views_are_declared(
    client: TestClient, auth: dict[str, Any], checked: Checked, engine: Engine
) -> None:
    kid_paid = client.get(f"/invoices/{_invoice(client, auth, 2)['invoice_id']}", headers=auth).json()
    by_hand = client.get(f"/invoices/{_invoice(client, auth, 1)['invoice_id']}", headers=auth).json()
    kid_tx = Tx(Decimal(kid_paid["payable_amount"]), kid=kid_paid["payment_reference"])
    # no reference, an unknown account, a name the bank cut short: an exception with suggestions
    loose_tx = Tx(
        Decimal(by_hand["payable_amount"]), payer="MIDNATTSOL DRIFT", account="12345678903", reference="R1"
    )
    answer = client.post(
        "/remittances",
        params={"filename": "bank.xml", "wait": "true"},  # the run's report in the answer
        content=camt054([kid_tx, loose_tx]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text
    received = answer.json()
    assert received["matching"]["payments"] == 2
    file_id = received["file_id"]
    checked("GET", "/remittances", "/remittances")
    detail = checked("GET", f"/remittances/{file_id}", "/remittances/{file_id}")
    assert len(detail["payment_items"]) == 2
    payments = checked("GET", "/payments", "/payments")["items"]
    applied = next(p for p in payments if p["status"] == "applied")
    exception = next(p for p in payments if p["status"] != "applied")
    checked("GET", f"/payments/{applied['id']}", "/payments/{payment_id}")
    approved = checked(
        "POST", f"/payments/{exception['id']}/approve", "/payments/{payment_id}/approve", json={}
    )
    assert approved["payment"]["status"] == "resolved"
    checked(
        "POST", f"/payments/{applied['id']}/reverse", "/payments/{payment_id}/reverse", json={"reason": "x"}
    )
    checked("GET", "/matching/report", "/matching/report")
    run = checked("POST", "/matching/run", "/matching/run")
    assert run["payments"] == 0 and run["invoices"] == {"paid": 0, "partially_paid": 0, "overpaid": 0}
    due = max(dt.date.fromisoformat(kid_paid["due_date"]), dt.date.fromisoformat(by_hand["due_date"]))
    later = (due + dt.timedelta(days=30)).isoformat()
    overdue = checked("GET", "/receivables/overdue", "/receivables/overdue", params={"today": later})
    assert [item["number"] for item in overdue["items"]] == [kid_paid["number"]]  # reversed: unpaid again


def test_a_busy_matching_run_is_deferred_or_refused(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    view = client.get(f"/invoices/{_invoice(client, auth, 1)['invoice_id']}", headers=auth).json()
    assert client.post("/matching/run", headers=auth).status_code == 200  # makes the tenant's lease row
    assert acquire_lease(engine, "acme", "someone-else")
    try:
        busy = client.post("/matching/run", headers=auth)
        assert busy.status_code == 409
        assert busy.json()["errors"][0]["field"] == "tenant"
        tx = Tx(Decimal(view["payable_amount"]), kid=view["payment_reference"])
        answer = client.post(
            "/remittances", params={"wait": "true"}, content=camt054([tx]),
            headers={**auth, "Content-Type": "application/xml"},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        assert answer.json()["matching"] == {"deferred": MATCHING_DEFERRED}
        [payment] = answer.json()["payments"]
        assert payment["status"] == "new"
    finally:
        release_lease(engine, "acme", "someone-else")
    run = client.post("/matching/run", headers=auth).json()
    assert run["outcomes"] == {"applied": 1}
