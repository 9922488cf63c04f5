"""`gateway documents migrate`: a folder store copied into PostgreSQL or S3, resumable, each copy read back;
a document damaged in the source is reported and left out, never copied on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.services.outbound.document_postgres import PostgresDocumentStore
from gateway.services.outbound.documents import (
    ListableDocumentStore,
    LocalDocumentStore,
    open_document_store,
)
from gateway.settings import Settings
from tests.cli.conftest import invoke
from tests.conftest import PostgresSchema
from tests.document_stores import SECRET_KEY, corrupt

DOCUMENTS = [b"<Invoice>1</Invoice>", b"%PDF-1.7 proof of delivery", b"camt.054 remittance " * 5000]


@pytest.fixture
def postgres_target(cli_env: Settings) -> Iterator[str]:
    """`database` when the outbox is PostgreSQL, else a PostgreSQL database of the documents' own."""
    if cli_env.database.startswith("postgresql"):
        yield "database"
        return
    schema = PostgresSchema()
    try:
        yield schema.url
    finally:
        schema.drop()


def _source(settings: Settings) -> tuple[LocalDocumentStore, list[str], str]:
    """The folder store with three good documents and one damaged one (the last key)."""
    source = LocalDocumentStore(settings.documents_dir)
    keys = [source.put(data) for data in DOCUMENTS]
    damaged = source.put(b"will be damaged")
    corrupt(source, damaged, b"was damaged")
    return source, keys, damaged


def _migrate_twice(
    settings: Settings, outbox: Engine, target_url: str
) -> tuple[ListableDocumentStore, dict[str, Any]]:
    source, keys, damaged = _source(settings)
    first = invoke("documents", "migrate", "--to", target_url)
    assert first.exit_code == 1, first.output
    assert "copied 3 (" in first.stdout and "already there 0, failed 1" in first.stdout
    assert f"failed {damaged}: document {damaged} is corrupted" in first.stdout
    target = open_document_store(target_url, settings, outbox)
    assert isinstance(target, ListableDocumentStore)
    assert sorted(target.keys()) == sorted(keys)
    assert [target.get(key) for key in keys] == DOCUMENTS
    source.put(b"will be damaged")  # mended in the source: the next run copies only that one
    again = invoke("documents", "migrate", "--to", target_url, "--from", f"file://{source.root}", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["copied"], report["already_there"], report["failed"]) == (1, 3, 0)
    assert target.get(damaged) == b"will be damaged"
    return target, report


def test_a_folder_into_postgresql(cli_env: Settings, engine: Engine, postgres_target: str) -> None:
    target, report = _migrate_twice(cli_env, engine, postgres_target)
    assert isinstance(target, PostgresDocumentStore)
    assert report["to"].startswith("PostgresDocumentStore(")


def test_a_folder_into_s3(cli_env: Settings, engine: Engine, s3_server: Any) -> None:
    url = s3_server.url(s3_server.new_bucket())
    _, report = _migrate_twice(cli_env, engine, url)
    assert report["to"].startswith("S3DocumentStore(s3://docs-")
    assert SECRET_KEY not in json.dumps(report)


def test_a_url_that_names_no_store_is_a_usage_error(cli_env: Settings, engine: Engine) -> None:
    refused = invoke("documents", "migrate", "--to", f"s3://bucket/x?password={SECRET_KEY}")
    assert refused.exit_code == 2 and "unknown S3 document store parameter 'password'" in refused.output
    assert SECRET_KEY not in refused.output
