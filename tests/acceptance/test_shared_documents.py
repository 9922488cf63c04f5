"""Two hosts, one document store: what the API on one host keeps, a worker on another reads, and what the
worker keeps, the API on the first host serves back. Each "host" has its own data folder and its own engine,
so nothing can pass through a shared local `documents_dir` (that is what issue 18 found broken).

The store is the database (the default with a PostgreSQL outbox; with SQLite, a PostgreSQL of its own by
URL) or an S3 bucket on a real S3-protocol server on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from db.engine import make_engine, session_scope
from db.models import ProofOfDelivery
from gateway.api.app import create_app
from gateway.samples import sample_invoice_json
from gateway.services.outbound.document_postgres import PostgresDocumentStore
from gateway.services.outbound.document_s3 import S3DocumentStore
from gateway.services.outbound.documents import document_store, load_document
from gateway.settings import Settings
from gateway.worker import Worker
from tests.api.test_documents import sent_document_id
from tests.conftest import PostgresSchema
from tests.services.test_pods import make_pdf


@pytest.fixture(params=["database", "s3"])
def documents_url(request: pytest.FixtureRequest, database_url: str) -> Iterator[str | None]:
    """None: the outbox's PostgreSQL (the default); with SQLite, a PostgreSQL for documents by URL."""
    if request.param == "s3":
        server: Any = request.getfixturevalue("s3_server")
        yield server.url(server.new_bucket())
    elif database_url.startswith("postgresql"):
        yield None
    else:
        schema = PostgresSchema()
        try:
            yield schema.url
        finally:
            schema.drop()


def _host(database_url: str, documents_url: str | None, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        documents_url=SecretStr(documents_url) if documents_url else None,
        data_dir=data_dir,
        poll_seconds=0.05,
        _env_file=None,  # type: ignore[call-arg]
    )


def test_a_document_kept_on_one_host_is_read_on_another(
    engine: Engine, database_url: str, documents_url: str | None, tmp_path: Path, token: str
) -> None:
    api_host = _host(database_url, documents_url, tmp_path / "api-host")
    worker_host = _host(database_url, documents_url, tmp_path / "worker-host")
    worker_engine = make_engine(database_url)  # the other host's own connections
    auth = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(create_app(api_host, engine)) as client:
            created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
            Worker(worker_engine, worker_host).run(once=True)  # delivers, and keeps the invoice as sent
            view = client.get(f"/invoices/{created['invoice_id']}", headers=auth).json()
            assert view["deliveries"][0]["status"] == "delivered"
            [sent_file] = (worker_host.data_dir / "outbound").rglob("INV-000001__*-1.json")
            answer = client.get(f"/documents/{sent_document_id(view)}", headers=auth)
            assert answer.status_code == 200 and answer.content == sent_file.read_bytes()

            proof = make_pdf("Received in good order")  # and the other way: the API keeps, the worker reads
            pod = client.post(
                "/pods",
                content=proof,
                params={"invoice_number": "INV-000001"},
                headers={**auth, "Content-Type": "application/pdf"},
            )
            assert pod.status_code == 201, pod.text
            pod_id = pod.json()["pods"][0]["id"]
            assert client.get(f"/pods/{pod_id}/content", headers=auth).content == proof
        worker_store = document_store(worker_host, worker_engine)
        expected = (
            S3DocumentStore if documents_url and documents_url.startswith("s3") else PostgresDocumentStore
        )
        assert isinstance(worker_store, expected)
        with session_scope(worker_engine) as session:
            stored_pod = session.get(ProofOfDelivery, pod_id)
            assert stored_pod is not None and stored_pod.document_id is not None
            _, kept = load_document(session, worker_store, stored_pod.document_id, "acme")
        assert kept == proof
        assert not api_host.documents_dir.exists() and not worker_host.documents_dir.exists()
    finally:
        worker_engine.dispose()
