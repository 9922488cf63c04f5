"""Which document store `GATEWAY_DOCUMENTS_URL` gives: a folder, the outbox's PostgreSQL (the default with a
PostgreSQL outbox), another PostgreSQL, or an S3 bucket; a URL that names none is refused without being
repeated (it may hold credentials), and a store in trouble says so as a store error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, inspect

from db.engine import make_engine
from gateway.services.outbound.document_postgres import PostgresDocumentStore, create_document_tables
from gateway.services.outbound.document_s3 import S3DocumentStore, S3Location, s3_document_store
from gateway.services.outbound.documents import (
    DocumentCorrupted,
    DocumentMissing,
    DocumentStoreConfigError,
    DocumentStoreUnavailable,
    LocalDocumentStore,
    document_store,
    open_document_store,
)
from gateway.settings import Settings
from tests.conftest import PostgresSchema
from tests.document_stores import _CHUNKS, ACCESS_KEY, SECRET_KEY, free_port


def _with(settings: Settings, url: str | None) -> Settings:
    return settings.model_copy(update={"documents_url": SecretStr(url) if url else None})


@pytest.fixture
def plain_settings(tmp_path: Path) -> Settings:
    """Settings for a test whose outbox does not matter (an S3 or separate-database store): run once."""
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


def test_the_default_follows_the_outbox(settings: Settings, engine: Engine) -> None:
    store = document_store(settings, engine)
    if engine.dialect.name == "postgresql":
        assert isinstance(store, PostgresDocumentStore) and store.engine is engine  # the outbox's pool
        assert isinstance(document_store(settings), PostgresDocumentStore)  # no engine at hand: one by URL
    else:
        assert isinstance(store, LocalDocumentStore) and store.root == settings.documents_dir


def test_database_means_the_outbox_and_needs_postgresql(settings: Settings, engine: Engine) -> None:
    chosen = _with(settings, "database")
    if engine.dialect.name == "postgresql":
        store = document_store(chosen, engine)
        assert isinstance(store, PostgresDocumentStore) and store.engine is engine
    else:
        with pytest.raises(DocumentStoreConfigError, match="must be PostgreSQL"):
            document_store(chosen, engine)


def test_a_folder_by_file_url(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    store = document_store(_with(settings, f"file://{tmp_path}/shared-docs"), engine)
    assert isinstance(store, LocalDocumentStore) and store.root == tmp_path / "shared-docs"
    with pytest.raises(DocumentStoreConfigError, match="file:///absolute/path"):
        document_store(_with(settings, "file://host/docs"), engine)


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg"])
def test_a_postgresql_of_its_own_gets_its_tables(plain_settings: Settings, scheme: str) -> None:
    """A documents database that is not the outbox: the store makes its two tables (no outbox migration)."""
    schema = PostgresSchema()
    try:
        url = scheme + schema.url[len("postgresql+psycopg") :]
        store = document_store(_with(plain_settings, url))
        assert isinstance(store, PostgresDocumentStore)
        key = store.put(b"kept in another database")
        assert store.get(key) == b"kept in another database"
        check = make_engine(schema.url)
        assert {"document_blobs", "document_chunks"} == set(inspect(check).get_table_names())
        check.dispose()
    finally:
        schema.drop()


def test_an_s3_url(plain_settings: Settings, s3_server: Any) -> None:
    url = s3_server.url(s3_server.new_bucket(), prefix="tenant-docs/")
    store = document_store(_with(plain_settings, url))
    assert isinstance(store, S3DocumentStore) and store is s3_document_store(url)  # one client per URL
    assert store.location.prefix == "tenant-docs/"
    key = store.put(b"<Invoice/>")
    assert store.get(key) == b"<Invoice/>"
    assert SECRET_KEY not in repr(store) and SECRET_KEY not in repr(store.location)


def test_the_setting_is_a_secret_and_unknown_stores_are_refused_without_the_value(tmp_path: Path) -> None:
    url = f"s3://bucket/docs?secret_access_key={SECRET_KEY}"
    settings = Settings(documents_url=url, data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert SECRET_KEY not in repr(settings) and SECRET_KEY not in str(settings.model_dump())
    for bad in (f"ftp://user:{SECRET_KEY}@host/docs", f"{SECRET_KEY}", "redis://x"):
        with pytest.raises(ValidationError) as refused:
            Settings(documents_url=bad, data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
        assert "documents_url" in str(refused.value) and SECRET_KEY not in str(refused.value)
    assert Settings(documents_url=" ", data_dir=tmp_path, _env_file=None).documents_url is None  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3:///no-bucket", "s3://bucket/prefix"),
        (f"s3://key:{SECRET_KEY}@bucket/docs", "s3://bucket/prefix"),
        (f"s3://bucket/docs?password={SECRET_KEY}", "unknown S3 document store parameter 'password'"),
        ("s3://bucket/docs?max_attempts=0", "max_attempts is a whole number"),
    ],
)
def test_bad_s3_urls_name_the_problem_not_the_secret(url: str, message: str) -> None:
    with pytest.raises(DocumentStoreConfigError, match=message) as refused:
        S3Location.from_url(url)
    assert SECRET_KEY not in str(refused.value)


def test_an_s3_store_in_trouble_is_a_store_error(s3_server: Any) -> None:
    gone = S3DocumentStore(S3Location.from_url(s3_server.url("no-such-bucket")))
    with pytest.raises(DocumentStoreUnavailable, match=r"bucket no-such-bucket.*NoSuchBucket") as refused:
        gone.put(b"nowhere to go")
    assert SECRET_KEY not in str(refused.value)
    with pytest.raises(DocumentStoreUnavailable, match="NoSuchBucket"):
        gone.get("00/00/" + "0" * 64)
    with pytest.raises(DocumentStoreUnavailable, match="list the documents: NoSuchBucket"):
        list(gone.keys())
    nobody = f"s3://bucket/docs?endpoint_url=http://127.0.0.1:{free_port()}&access_key_id={ACCESS_KEY}"
    unreachable = S3DocumentStore(
        S3Location.from_url(f"{nobody}&secret_access_key={SECRET_KEY}&max_attempts=1")
    )
    with pytest.raises(DocumentStoreUnavailable, match="cannot be reached"):
        unreachable.exists("00/00/" + "0" * 64)


def test_a_missing_chunk_is_corruption_not_absence(tmp_path: Path) -> None:
    schema = PostgresSchema()
    engine = make_engine(schema.url)
    try:
        create_document_tables(engine)
        store = PostgresDocumentStore(engine, chunk_bytes=4)
        key = store.put(b"0123456789")
        with engine.begin() as connection:
            connection.execute(_CHUNKS.delete().where(_CHUNKS.c.seq == 1))
        with pytest.raises(DocumentCorrupted, match="chunk 1 is missing"):
            store.get(key)
        assert store.put(b"0123456789") == key and store.get(key) == b"0123456789"
        with pytest.raises(DocumentMissing):
            store.get("ff/ff/" + "f" * 64)
    finally:
        engine.dispose()
        schema.drop()


def test_open_document_store_takes_a_plain_folder(plain_settings: Settings, tmp_path: Path) -> None:
    store = open_document_store(str(tmp_path / "old-docs"), plain_settings)
    assert isinstance(store, LocalDocumentStore) and store.root == tmp_path / "old-docs"
