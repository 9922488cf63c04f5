"""`GET /metrics`: Prometheus' text format behind the metrics token, figures that follow what happened.

Invoices are pushed through the API and delivered by a real worker on each database; the scrape is parsed
with prometheus_client's own parser. The process's counters are shared by every app in the test process,
so the counters are compared before and after; the outbox gauges are this test's database alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, utcnow
from gateway.api.app import create_app
from gateway.samples import sample_invoice_json
from gateway.services.metrics import DatabaseCollector, MetricsServer, registry
from gateway.services.payments.matching_runs import run_matching
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.queue import claim_deliveries

METRICS_TOKEN = "scrape-8f3a1c"
SCRAPE = {"Authorization": f"Bearer {METRICS_TOKEN}"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape by name and sorted labels (parsed by prometheus_client, so it is valid)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metered(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The API with a metrics token and no gauge cache (each scrape counts the outbox afresh)."""
    with_token = settings.model_copy(
        update={"metrics_token": SecretStr(METRICS_TOKEN), "metrics_cache_seconds": 0}
    )
    with TestClient(create_app(with_token, engine)) as client:
        yield client


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return parse(answer.text)


def test_metrics_follow_intake_and_delivery(
    metered: TestClient, engine: Engine, settings: Settings, auth: dict[str, str]
) -> None:
    before = scrape(metered)
    numbers = [f"MX-{n}" for n in range(1, 4)]
    ids = []
    for n, number in enumerate(numbers, start=1):
        answer = metered.post("/invoices", json={**sample_invoice_json(n), "number": number}, headers=auth)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["invoice_id"])
    bad_format = {**sample_invoice_json(9), "number": "MX-9"}
    bad_format["routing"] = {"format": "canonical-jsn"}  # rendering refuses it: a deviation
    assert metered.post("/invoices", json=bad_format, headers=auth).status_code == 201
    assert metered.post("/invoices", json={"number": "MX-10"}, headers=auth).status_code == 422
    assert metered.get(f"/invoices/{ids[0]}", headers=auth).status_code == 200
    stats = Worker(engine, settings, worker_id="metrics-test").run(once=True)
    assert stats.outcomes == {"delivered": 3, "deviation": 1}

    after = scrape(metered)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gateway_invoices_accepted_total") == 4
    assert grew("gateway_invoices_refused_total", outcome="rejected") == 1
    assert value(after, "gateway_deliveries", status="delivered", channel="folder") == 3
    assert value(after, "gateway_deliveries", status="deviation", channel="folder") == 1
    assert value(after, "gateway_deviations_open", cause="render-failed") == 1
    assert value(after, "gateway_database_up") == 1
    assert value(after, "gateway_oldest_queued_delivery_age_seconds") == 0  # nothing queued
    assert grew("gateway_delivery_attempts_total", channel="folder") == 3  # the deviation was never sent
    assert grew("gateway_delivery_outcomes_total", channel="folder", outcome="delivered") == 3
    assert grew("gateway_delivery_outcomes_total", channel="folder", outcome="deviation") == 1
    assert grew("gateway_delivery_intake_to_sent_seconds_count", channel="folder") == 3
    handed_over = grew("gateway_delivery_intake_to_sent_seconds_sum", channel="folder")
    assert 0 < handed_over < 3 * 600
    # HTTP requests by route template, never the raw path
    assert grew("gateway_http_requests_total", method="POST", route="/invoices", status="201") == 4
    assert grew("gateway_http_requests_total", method="POST", route="/invoices", status="422") == 1
    assert (
        grew("gateway_http_requests_total", method="GET", route="/invoices/{invoice_id}", status="200") == 1
    )
    assert grew("gateway_http_request_duration_seconds_count", method="POST", route="/invoices") == 5
    assert grew("gateway_http_requests_total", method="GET", route="/metrics", status="200") == 1
    # no label value names a tenant, an invoice or a delivery
    with session_scope(engine) as session:
        delivery_ids = set(session.execute(select(col(Delivery.id))).scalars())
    forbidden = {"acme", *numbers, *ids, *delivery_ids}
    for (_name, labels), _value in after.items():
        for _label, label_value in labels:
            assert label_value not in forbidden
            assert not any(item in label_value for item in forbidden if len(item) > 4), label_value
            assert not re.fullmatch(r"[0-9a-f]{32}", label_value), label_value


def test_the_oldest_queued_delivery_and_a_waiting_webhook_backlog(
    metered: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    assert metered.post("/invoices", json=sample_invoice_json(1), headers=auth).status_code == 201
    with session_scope(engine) as session:
        session.execute(update(Delivery).values(created_at=utcnow().replace(year=2020)))
    samples = scrape(metered)
    assert value(samples, "gateway_deliveries", status="queued", channel="folder") == 1
    assert value(samples, "gateway_oldest_queued_delivery_age_seconds") > 86400 * 365
    assert value(samples, "gateway_queue_lag_seconds") >= 0


def test_lease_takeovers_and_matching_runs_are_counted(
    metered: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    before = scrape(metered)
    assert metered.post("/invoices", json=sample_invoice_json(1), headers=auth).status_code == 201
    with session_scope(engine) as session:  # a worker claims it and dies; its lease runs out
        [claim] = claim_deliveries(session, worker_id="dead", limit=1, lease_seconds=5)
        session.execute(
            update(Delivery).where(col(Delivery.id) == claim.delivery_id).values(lease_expires_at=utcnow())
        )
    assert Worker(engine, settings, worker_id="heir").run(once=True).outcomes == {"delivered": 1}
    run_matching(engine, "acme")  # no payments: still a run
    after = scrape(metered)
    assert value(after, "gateway_lease_takeovers_total") - value(before, "gateway_lease_takeovers_total") == 1
    assert value(after, "gateway_matching_runs_total") - value(before, "gateway_matching_runs_total") == 1


def test_metrics_need_the_token(metered: TestClient, auth: dict[str, str]) -> None:
    assert metered.get("/metrics").status_code == 401
    wrong = metered.get("/metrics", headers={"Authorization": "Bearer not-it"})
    assert wrong.status_code == 401
    assert wrong.json()["request_id"] == wrong.headers["x-request-id"]
    assert metered.get("/metrics", headers=auth).status_code == 401  # an API token is not the metrics token
    assert METRICS_TOKEN not in wrong.text


def test_metrics_are_not_served_without_a_token(client: TestClient) -> None:
    """No `GATEWAY_METRICS_TOKEN`: the API port does not serve them at all (a private port may)."""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=SCRAPE).status_code == 404
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_a_worker_serves_its_own_counters_on_its_port() -> None:
    server = MetricsServer(0, "127.0.0.1", registry())
    try:
        answer = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
    finally:
        server.close()
    samples = parse(answer.text)
    assert ("gateway_invoices_accepted_total", ()) in samples
    assert not any(name == "gateway_deliveries" for name, _labels in samples)  # the gauges are the API's


def test_a_database_that_does_not_answer_is_a_gauge_not_an_error() -> None:
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    families = {family.name: family for family in DatabaseCollector(unreachable, cache_seconds=0).collect()}
    assert [sample.value for sample in families["gateway_database_up"].samples] == [0]
    assert "gateway_deliveries" not in families
