"""The routes that build their own JSON answer (intake, files, webhooks, health) answer as documented, and the
example requests in the document work: each is sent as it stands and must be accepted.

`gateway.api.docs.ANSWERS` names the model of each such answer; here real answers are walked against the
documented schema (every key declared, every type right), like tests/api/test_views.py does for the views.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api.docs import ANSWERS, RAW_EXAMPLES
from gateway.samples import sample_invoice_json
from gateway.services import net_policy
from gateway.settings import Settings
from tests.api.test_views import _undeclared
from tests.payment_providers import providers_file, stripe_signature, vipps_headers
from tests.portal.providers_config import STRIPE, VIPPS


class Documented:
    """Sends a request and checks its JSON answer against the operation's documented schema."""

    def __init__(self, client: TestClient, auth: dict[str, Any]) -> None:
        self.client = client
        self.auth = auth
        self.spec = client.app.openapi()  # type: ignore[attr-defined]
        self.seen: set[tuple[str, str]] = set()

    def __call__(
        self, method: str, url: str, status: int, *, template: str | None = None, **kwargs: Any
    ) -> Any:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        template = template or url.split("?")[0]
        responses = self.spec["paths"][template][method.lower()]["responses"]
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        body = response.json()
        assert _undeclared(self.spec, schema, body, "answer") == []
        self.seen.add((method.lower(), template))
        return body


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The seller takes cards: the providers' example events are signed with its secrets and answered."""
    return settings.model_copy(
        update={
            "payment_providers_file": providers_file(
                tmp_path / "providers.json", acme={"stripe": STRIPE, "vipps": VIPPS}
            )
        }
    )


@pytest.fixture
def documented(client: TestClient, auth: dict[str, Any]) -> Documented:
    return Documented(client, auth)


def _signed(path: str, body: bytes) -> dict[str, str]:
    """A provider's signature headers over the example (the webhooks refuse an unsigned event)."""
    if path.endswith("/stripe/webhook"):
        return {"Stripe-Signature": stripe_signature(STRIPE["webhook_secret"], body, int(time.time()))}
    if path.endswith("/vipps/webhook"):
        return vipps_headers(VIPPS["webhook_secret"], body, "testserver", path)
    return {}


def _example(documented: Documented, method: str, path: str) -> tuple[str, str]:
    content = documented.spec["paths"][path][method]["requestBody"]["content"]
    media_type, example = RAW_EXAMPLES[(method, path)]
    assert content[media_type]["example"] == example
    return media_type, example


def test_intake_answers(documented: Documented) -> None:
    created = documented("POST", "/invoices", 201, json=sample_invoice_json(1))
    assert created["outcome"] == "created" and created["delivery_ids"]
    again = documented("POST", "/invoices", 200, json=sample_invoice_json(1))
    assert again["invoice_id"] == created["invoice_id"]
    bad = sample_invoice_json(3)
    bad["totals"]["payable"] = "0.00"
    bulk = documented("POST", "/invoices:bulk", 200, json=[sample_invoice_json(2), bad])
    assert [r["outcome"] for r in bulk["results"]] == ["created", "rejected"]
    assert bulk["results"][1]["errors"][0]["rule"] == "BR-CO-16"


@pytest.mark.parametrize(("method", "path"), sorted(RAW_EXAMPLES))
def test_the_example_files_are_accepted_and_answered_as_documented(
    documented: Documented, method: str, path: str
) -> None:
    media_type, example = _example(documented, method, path)
    documented_codes = documented.spec["paths"][path][method]["responses"]
    status = 201 if "201" in documented_codes else 200
    headers = {"Content-Type": media_type, **_signed(path, example.encode())}
    body = documented(method.upper(), path, status, content=example.encode(), headers=headers)
    assert body


def test_the_invoice_examples_are_accepted(documented: Documented) -> None:
    for path in ("/invoices", "/invoices:bulk"):
        example = documented.spec["paths"][path]["post"]["requestBody"]["content"]["application/json"][
            "example"
        ]
        documented("POST", path, 201 if path == "/invoices" else 200, json=example)


def test_webhook_and_health_answers(documented: Documented, monkeypatch: pytest.MonkeyPatch) -> None:
    # the example's host stands for the ERP's real name: here it resolves to a public address, so the
    # example is accepted as it stands under the strict default (public addresses only)
    public = [ipaddress.ip_address("93.184.216.34")]
    monkeypatch.setattr(net_policy, "resolve", lambda host, port: public if host == "erp.example.com" else [])
    example = documented.spec["paths"]["/webhooks"]["put"]["requestBody"]["content"]["application/json"]
    created = documented("PUT", "/webhooks", 201, json=example["example"])
    assert created["secret"]  # shown this once
    changed = documented("PUT", "/webhooks", 200, json={**example["example"], "active": False})
    assert "secret" not in changed and changed["active"] is False
    assert documented("GET", "/health", 200)["status"] == "ok"


def test_the_webhook_example_says_its_host_must_resolve_and_is_refused_when_it_does_not(
    client: TestClient, auth: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PUT /webhooks` with the document's example as it stands, under the strict default: its name does
    not resolve (`erp.example.com` is a placeholder), so it is refused with that plain reason — and the
    document says beforehand that the host must resolve to a public address."""
    spec = client.app.openapi()  # type: ignore[attr-defined]
    operation = spec["paths"]["/webhooks"]["put"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    described = spec["components"]["schemas"]["WebhookRequest"]["properties"]["url"]["description"]
    assert "resolves to public addresses" in described and "does not resolve is refused" in described
    assert "does not resolve" in operation["description"]
    system = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # what a resolver answers for a name that does not exist, whatever this machine's DNS is
        if host == "erp.example.com":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return system(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answer = client.put("/webhooks", json=example, headers=auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error == {"field": "url", "reason": "erp.example.com does not resolve (Name or service not known)"}
    assert client.get("/webhooks", headers=auth).json()["items"] == []


def test_every_documented_answer_model_is_exercised() -> None:
    """A route added to `ANSWERS` gets a real answer checked in this module."""
    exercised = {
        ("post", "/invoices"), ("post", "/invoices:bulk"), ("put", "/webhooks"), ("get", "/health"),
        *RAW_EXAMPLES,
    }  # fmt: skip
    assert set(ANSWERS) <= exercised
