"""Document stores for tests: a real S3-protocol server on loopback (moto's server mode) and ways to reach
past a store's interface into its backend, to damage what it keeps the way a disk, a DBA or another bucket
user could.
"""

from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, func, select, update

from db.models import DocumentChunk
from gateway.services.outbound.document_postgres import PostgresDocumentStore
from gateway.services.outbound.document_s3 import S3DocumentStore
from gateway.services.outbound.documents import DocumentStore, LocalDocumentStore

#: moto accepts any credentials; these are the ones every test hands over (and must never see printed).
ACCESS_KEY = "AKIATESTDOCUMENTS01"
SECRET_KEY = "s3cr3t-d0cument-st0re-key-never-logged"
REGION = "eu-north-1"
_CHUNKS = DocumentChunk.__table__  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Server:
    """moto's S3 server in a thread on a free loopback port; each test takes a bucket of its own."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer  # imported here: most test modules need no S3

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"docs-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def url(self, bucket: str, prefix: str = "gateway/documents") -> str:
        """The `GATEWAY_DOCUMENTS_URL` of `bucket`, credentials as URL parameters."""
        return (
            f"s3://{bucket}/{prefix}?endpoint_url={quote(self.endpoint, safe='')}&region={REGION}"
            f"&access_key_id={ACCESS_KEY}&secret_access_key={quote(SECRET_KEY, safe='')}"
        )


def running_s3_server() -> Iterator[S3Server]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = S3Server()
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop()


def corrupt(store: DocumentStore, key: str, data: bytes = b"scribbled over") -> None:
    """Replace what the backend holds under `key` with `data`, behind the store's back."""
    if isinstance(store, LocalDocumentStore):
        (store.root / key).write_bytes(data)
    elif isinstance(store, PostgresDocumentStore):
        with store.engine.begin() as connection:
            connection.execute(delete(_CHUNKS).where(_CHUNKS.c.key == key, _CHUNKS.c.seq > 0))
            connection.execute(update(_CHUNKS).where(_CHUNKS.c.key == key).values(data=data))
    elif isinstance(store, S3DocumentStore):
        name = store.location.prefix + key
        store.client.put_object(Bucket=store.location.bucket, Key=name, Body=data)
    else:  # pragma: no cover
        raise TypeError(f"no backend access to {store!r}")


def chunk_count(store: PostgresDocumentStore, key: str) -> int:
    with store.engine.connect() as connection:
        count = connection.execute(select(func.count()).where(_CHUNKS.c.key == key)).scalar_one()
    return int(count)
