"""Consumer routing through the API: the tenant's waterfall set by `PUT /settings`, a consumer's invoice
walking it step by step (each step in the history), and the national identity number masked in answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import channels
from channels.base import (
    Channel,
    ChannelCapabilities,
    ChannelConfig,
    DeliveryResult,
    Failed,
    OutboundDelivery,
)
from channels.context import DocumentKind
from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from gateway.worker import Worker

FNR = "15038541800"  # valid check digits and date, made for these tests
MASKED = "*******1800"


class RefusingChannel(Channel[ChannelConfig]):
    """A consumer channel that cannot reach this consumer (no consent, unidentified): it fails without a
    deviation, so the waterfall goes on. Its reason names the recipient, as a careless channel might."""

    name: ClassVar[str] = "refusing"
    config_model: ClassVar[type[ChannelConfig]] = ChannelConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("canonical-json",), default_format="canonical-json", documents=(DocumentKind.INVOICE,)
    )

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        routing = delivery.the_invoice().routing
        return Failed(f"no consent from recipient {(routing and routing.national_id) or FNR}: no e-invoice")


class BrokenChannel(RefusingChannel):
    """The last step, which fails in a way a person must look at (a deviation)."""

    name: ClassVar[str] = "broken"

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        return Failed(f"print house refused the letter for {FNR}", deviation=True)


@pytest.fixture
def consumer_channels() -> Iterator[None]:
    channels.register("refusing", f"{__name__}:RefusingChannel")
    channels.register("broken", f"{__name__}:BrokenChannel")
    yield
    channels.REGISTRY.pop("refusing", None)
    channels.REGISTRY.pop("broken", None)


def _run_worker(engine: Engine, settings: Settings, passes: int = 3) -> None:
    worker = Worker(engine, settings)
    for _ in range(passes):
        worker.run(once=True)


def _deliveries(client: TestClient, auth: dict[str, str], invoice_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/invoices/{invoice_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["deliveries"], key=lambda d: d["chain_position"])


def test_settings_refuse_an_unknown_or_repeated_channel(client: TestClient, auth: dict[str, str]) -> None:
    unknown = client.put("/settings", json={"consumer_waterfall": ["email", "efaktur"]}, headers=auth)
    assert unknown.status_code == 422
    [error] = unknown.json()["errors"]
    assert error["field"] == "consumer_waterfall.1" and "unknown channel 'efaktur'" in error["reason"]
    repeated = client.put("/settings", json={"consumer_waterfall": ["email", "email"]}, headers=auth)
    assert repeated.status_code == 422
    assert repeated.json()["errors"][0]["field"].startswith("body.consumer_waterfall")
    assert "more than once: email" in repeated.json()["errors"][0]["reason"]
    good = client.put("/settings", json={"consumer_waterfall": ["email", "folder"]}, headers=auth)
    assert good.status_code == 200 and good.json()["consumer_waterfall"] == ["email", "folder"]
    assert client.get("/settings", headers=auth).json()["consumer_waterfall"] == ["email", "folder"]


def test_a_consumer_invoice_walks_the_tenant_waterfall(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings, consumer_channels: None
) -> None:
    assert client.put(
        "/settings", json={"consumer_waterfall": ["refusing", "folder"]}, headers=auth
    ).is_success
    profile = {"receiver_id": "K-1", "name": "Kari Nordmann", "national_id": FNR}
    put = client.put("/receivers/K-1", json=profile, headers=auth)
    assert put.status_code == 200, put.text
    assert put.json()["national_id"] == MASKED and put.json()["preferred_channel"] is None
    created = client.post("/invoices", json=sample_invoice_json(1, receiver_id="K-1"), headers=auth)
    assert created.status_code == 201, created.text
    _run_worker(engine, settings)
    first, second = _deliveries(client, auth, created.json()["invoice_id"])
    assert (first["channel"], first["status"]) == ("refusing", "failed")
    assert (second["channel"], second["status"], second["chain_position"]) == ("folder", "delivered", 1)
    assert "step 1 of 2 of the tenant's consumer waterfall" in first["events"][0]["reason"]
    fallback = second["events"][0]
    assert fallback["details"]["fallback_of"] == first["id"]
    assert fallback["reason"] == (
        f"fallback: refusing ended failed (no consent from recipient {MASKED}: no e-invoice); "
        "next folder, step 2 of 2 of the tenant's consumer waterfall"
    )
    assert (
        FNR not in created.text + client.get(f"/invoices/{created.json()['invoice_id']}", headers=auth).text
    )


def test_an_invoice_naming_a_consumer_without_a_profile_takes_the_waterfall(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings, consumer_channels: None
) -> None:
    assert client.put(
        "/settings", json={"consumer_waterfall": ["refusing", "folder"]}, headers=auth
    ).is_success
    invoice = sample_invoice_json(2)
    invoice["routing"] = {"national_id": FNR}
    business = sample_invoice_json(3)
    created = client.post("/invoices", json=invoice, headers=auth)
    plain = client.post("/invoices", json=business, headers=auth)
    assert created.status_code == plain.status_code == 201
    _run_worker(engine, settings)
    assert [(d["channel"], d["status"]) for d in _deliveries(client, auth, created.json()["invoice_id"])] == [
        ("refusing", "failed"),
        ("folder", "delivered"),
    ]
    assert [(d["channel"], d["status"]) for d in _deliveries(client, auth, plain.json()["invoice_id"])] == [
        ("folder", "delivered")
    ]


def test_no_waterfall_sends_a_consumer_through_the_default_channel(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    assert client.put(
        "/receivers/K-2", json={"receiver_id": "K-2", "segment": "private"}, headers=auth
    ).is_success
    created = client.post("/invoices", json=sample_invoice_json(4, receiver_id="K-2"), headers=auth)
    assert created.status_code == 201
    _run_worker(engine, settings, passes=1)
    [only] = _deliveries(client, auth, created.json()["invoice_id"])
    assert (only["channel"], only["status"]) == ("folder", "delivered")
    assert "the default channel (the tenant has no consumer waterfall)" in only["events"][0]["reason"]


def test_receiver_answers_mask_the_national_id(client: TestClient, auth: dict[str, str]) -> None:
    profile = {"receiver_id": "K-3", "national_id": FNR, "preferred_channel": "email",
               "addresses": {"email": "kari@example.com"}}  # fmt: skip
    assert client.put("/receivers/K-3", json=profile, headers=auth).json()["national_id"] == MASKED
    one = client.get("/receivers/K-3", headers=auth)
    listed = client.get("/receivers", headers=auth)
    assert one.status_code == listed.status_code == 200
    assert one.json()["national_id"] == MASKED and one.json()["updated_at"]
    assert [p["national_id"] for p in listed.json()] == [MASKED]
    assert FNR not in one.text + listed.text
    missing = client.get("/receivers/K-404", headers=auth)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "path.receiver_id"


def test_a_bad_national_id_is_refused_without_echoing_it(client: TestClient, auth: dict[str, str]) -> None:
    bad = "15038541801"  # one check digit off
    answer = client.put("/receivers/K-4", json={"receiver_id": "K-4", "national_id": bad}, headers=auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "body.national_id"
    assert "not a valid Norwegian national identity number" in error["reason"]
    assert bad not in answer.text and "input" not in error
    invoice = sample_invoice_json(5)
    invoice["routing"] = {"national_id": bad}
    refused = client.post("/invoices", json=invoice, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "routing.national_id"
    assert bad not in refused.text
