"""One error envelope on every 4xx and 5xx, wherever the error comes from, and a request id on every answer.

`{"errors": [{"field", "reason", "rule"?}], "request_id"}`: FastAPI's validation, an `HTTPException`, the
services' errors, an intake result the route answers itself, the router's own 404 and 405, the body limits,
an unexpected exception. The request id is the client's `X-Request-ID` when it is a sane token, else new;
it is the same in the header and the body.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from gateway.api.app import create_app
from gateway.api.errors import ErrorEnvelope
from gateway.samples import sample_invoice_json
from gateway.settings import Settings


def envelope(response: Any, status: int) -> ErrorEnvelope:
    """The answer's envelope, checked: the status, the shape, and the id in header and body alike."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = ErrorEnvelope.model_validate(response.json())
    assert body.request_id == response.headers["x-request-id"]
    assert all(item.reason for item in body.errors)
    return body


def fields(body: ErrorEnvelope) -> set[str | None]:
    return {item.field for item in body.errors}


def test_unknown_path_and_method(client: TestClient) -> None:
    body = envelope(client.get("/no/such/thing"), 404)
    assert "/no/such/thing" in body.errors[0].reason
    response = client.delete("/health")
    body = envelope(response, 405)
    assert response.headers["allow"] == "GET"
    assert "DELETE" in body.errors[0].reason and "GET" in body.errors[0].reason


def test_missing_and_bad_tokens(client: TestClient) -> None:
    response = client.get("/deliveries")
    assert envelope(response, 401).errors[0].reason == "missing bearer token"
    assert response.headers["www-authenticate"] == "Bearer"
    envelope(client.get("/deliveries", headers={"Authorization": "Bearer gw_0000_nope"}), 401)


def test_validation_errors_name_the_parameter(client: TestClient, auth: dict[str, Any]) -> None:
    assert fields(envelope(client.get("/deliveries", params={"limit": 0}, headers=auth), 422)) == {
        "query.limit"
    }
    body = envelope(client.post("/deliveries/x/cancel", json={}, headers=auth), 422)
    assert fields(body) == {"body.reason"}


def test_unknown_query_parameters_are_refused(client: TestClient, auth: dict[str, Any]) -> None:
    """`GET /deliveries?number=X` used to answer every delivery; now it names what it does not know."""
    body = envelope(client.get("/deliveries", params={"number": "INV-1", "zz": "1"}, headers=auth), 422)
    assert fields(body) == {"query.number", "query.zz"}
    assert "channel" in body.errors[0].reason  # it lists what the operation takes
    envelope(client.get("/health", params={"verbose": "1"}), 422)
    # declared ones, also those of a dependency or under an alias, pass
    assert client.get("/deliveries", params={"status": "queued", "limit": 5}, headers=auth).status_code == 200


def test_service_errors_and_conflicts(client: TestClient, auth: dict[str, Any]) -> None:
    envelope(client.get("/invoices/nope", headers=auth), 404)
    envelope(client.get("/payments/nope", headers=auth), 404)
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
    delivery = created["delivery_ids"][0]
    assert (
        client.post(f"/deliveries/{delivery}/cancel", json={"reason": "x"}, headers=auth).status_code == 200
    )
    envelope(client.post(f"/deliveries/{delivery}/resend", headers=auth), 409)


def test_intake_results_answered_as_errors_carry_the_envelope(
    client: TestClient, auth: dict[str, Any]
) -> None:
    """The intake's 409 and 422 are results the route answers itself: they keep their keys and gain the id."""
    client.post("/invoices", json=sample_invoice_json(1), headers=auth)
    changed = sample_invoice_json(1)
    changed["notes"] = ["other content under the same number"]
    response = client.post("/invoices", json=changed, headers=auth)
    body = envelope(response, 409)
    assert response.json()["outcome"] == "conflict"
    assert fields(body) == {"number"}
    bad = sample_invoice_json(2)
    bad["totals"]["tax_amount"] = "1.00"
    response = client.post("/invoices", json=bad, headers=auth)
    body = envelope(response, 422)
    assert {"BR-CO-14", "BR-CO-15"} <= {item.rule for item in body.errors}
    assert response.json()["outcome"] == "rejected"


def test_415_names_every_accepted_type(client: TestClient, auth: dict[str, Any]) -> None:
    """`POST /invoices` reads UBL too: its 415 says so; the bulk route reads JSON only and says that."""
    headers = {**auth, "Content-Type": "text/plain"}
    single = envelope(client.post("/invoices", content=b"x", headers=headers), 415).errors[0].reason
    assert "application/json" in single and "application/xml" in single
    bulk = envelope(client.post("/invoices:bulk", content=b"x", headers=headers), 415).errors[0].reason
    assert "application/json" in bulk and "xml" not in bulk
    pod = envelope(client.post("/pods", content=b"x", headers=headers), 415).errors[0].reason
    assert "application/pdf" in pod


def test_json_model_routes_refuse_other_content_types(client: TestClient, auth: dict[str, Any]) -> None:
    """A route that reads a JSON model answers a form or text body with a 415, not a puzzling 422."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = client.put(
            "/webhooks", content=b"url=https://x", headers={**auth, "Content-Type": content_type}
        )
        assert "application/json" in envelope(response, 415).errors[0].reason
    response = client.put("/webhooks", content=b'{"url": "https://x"}', headers=auth)  # no Content-Type
    assert "Content-Type" in envelope(response, 415).errors[0].reason
    # an empty body on a route whose body is optional is no content at all, whatever the header says
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
    delivery = created["delivery_ids"][0]
    response = client.post(f"/deliveries/{delivery}/release", headers={**auth, "Content-Type": "text/plain"})
    assert response.status_code != 415


def test_json_bodies_are_bounded(client: TestClient, auth: dict[str, Any], settings: Settings) -> None:
    settings.max_body_bytes = 100  # the outer JSON bound is four times this (the bulk route's limit)
    body = json.dumps({"url": "https://erp.example.com/" + "x" * 500}).encode()
    response = client.put("/webhooks", content=body, headers={**auth, "Content-Type": "application/json"})
    assert "limit" in envelope(response, 413).errors[0].reason
    response = client.post(
        "/invoices",
        content=json.dumps(sample_invoice_json(1)),
        headers={**auth, "Content-Type": "application/json"},
    )
    envelope(response, 413)


def test_malformed_json_is_an_envelope(client: TestClient, auth: dict[str, Any]) -> None:
    response = client.put("/webhooks", content=b"{nope", headers={**auth, "Content-Type": "application/json"})
    assert envelope(response, 422).errors[0].field and response.json()["errors"][0]["field"].startswith(
        "body"
    )
    response = client.post(
        "/invoices", content=b"{nope", headers={**auth, "Content-Type": "application/json"}
    )
    assert fields(envelope(response, 400)) == {"body"}


def test_an_unexpected_error_is_a_500_without_details(settings: Settings) -> None:
    app = create_app(settings, create_engine("sqlite://"))

    def explode() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret/path")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/explode", headers={"X-Request-ID": "trace-42"})
    body = envelope(response, 500)
    assert body.request_id == "trace-42"
    assert "hunter2" not in response.text and "secret" not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text
    assert "trace-42" in body.errors[0].reason


def test_the_health_check_answers_503_in_the_envelope(settings: Settings) -> None:
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    with TestClient(create_app(settings, unreachable)) as client:
        response = client.get("/health")
    body = envelope(response, 503)
    assert response.json()["status"] == "unavailable"  # what monitors read stays
    assert fields(body) == {"database"}


@pytest.mark.parametrize(
    "offered",
    ["abc-123", "ERP.batch:7/item=3", "f" * 128, "6e8f1b3a-8d0b-4a8e-9a57-1f3f0f1c2d4e"],
)
def test_a_sane_request_id_is_kept(client: TestClient, offered: str) -> None:
    for response in (client.get("/health", headers={"X-Request-ID": offered}),
                     client.get("/nope", headers={"X-Request-ID": offered})):  # fmt: skip
        assert response.headers["x-request-id"] == offered
    assert client.get("/nope", headers={"X-Request-ID": offered}).json()["request_id"] == offered


@pytest.mark.parametrize(
    "offered", ["", "f" * 129, "two words", "-starts-with-dash", "a\tb", "é", "<script>"]
)
def test_any_other_request_id_is_replaced(client: TestClient, offered: str) -> None:
    response = client.get("/nope", headers={"X-Request-ID": offered.encode()})
    given = response.headers["x-request-id"]
    assert given != offered
    assert uuid.UUID(given).version == 4
    assert response.json()["request_id"] == given


def test_every_answer_has_its_own_request_id(client: TestClient, auth: dict[str, Any]) -> None:
    ids = {
        client.get(path, headers=auth).headers["x-request-id"] for path in ("/health", "/deliveries", "/x")
    }
    assert len(ids) == 3
    assert client.get("/openapi.json").headers["x-request-id"]
