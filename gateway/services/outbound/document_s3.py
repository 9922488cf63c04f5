"""Documents kept in an S3-compatible object store (AWS S3, MinIO, Ceph, …): `s3://bucket/prefix?…`.

boto3 is an optional extra (`pip install 'invoice-gateway[s3]'`) imported only here and only when such a
store is opened: most installations keep documents in PostgreSQL or a folder and need none of its ~15 MB.
Credentials come from the standard AWS sources (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, profiles,
instance roles) or from the URL's `access_key_id`/`secret_access_key`/`session_token` parameters; they are
held as `SecretStr` and appear in no message, log line or repr.

Object names are `<prefix>/<ab/cd/sha256>`: the content keys of every other store, so moving documents
changes no `stored_documents` row. Each upload carries the SHA-256 twice: as S3's own `ChecksumSHA256`
(the server refuses bytes damaged in transit) and as `x-amz-meta-sha256`; each read hashes the bytes again
and compares them with the key (`DocumentCorrupted`), as the local store does.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import SecretStr

from gateway.services.outbound.documents import (
    DocumentCorrupted,
    DocumentMissing,
    DocumentStoreConfigError,
    DocumentStoreUnavailable,
    content_key,
    is_document_key,
)

#: Read in slices of this size while hashing; larger uploads than `MULTIPART_BYTES` go in parts.
READ_BYTES = 1024 * 1024
MULTIPART_BYTES = 64 * 1024 * 1024
_PARAMETERS = frozenset(
    {
        "endpoint_url",
        "region",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "addressing_style",
        "max_attempts",
    }
)
_NOT_THERE = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True)
class S3Location:
    """Where the documents go, read from an `s3://` URL; the secrets print as `**********`."""

    bucket: str
    prefix: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    addressing_style: str | None = None
    max_attempts: int = 5  # tries per request (boto3's standard retry mode: backoff with jitter)

    @classmethod
    def from_url(cls, url: str) -> S3Location:
        """`s3://bucket/prefix?endpoint_url=…&region=…`; errors name the part, never its value."""
        parts = urlsplit(url)
        if parts.scheme.lower() != "s3" or not parts.netloc or "@" in parts.netloc:
            raise DocumentStoreConfigError(
                "an S3 document store is s3://bucket/prefix?endpoint_url=…&region=…"
            )
        query = dict(parse_qsl(parts.query, keep_blank_values=False))
        unknown = sorted(set(query) - _PARAMETERS)
        if unknown:
            raise DocumentStoreConfigError(
                f"unknown S3 document store parameter {unknown[0]!r}; known: {', '.join(sorted(_PARAMETERS))}"
            )
        secret, token = query.get("secret_access_key"), query.get("session_token")
        prefix = unquote(parts.path).strip("/")
        attempts = query.get("max_attempts", "5")
        if not attempts.isdigit() or not 1 <= int(attempts) <= 20:
            raise DocumentStoreConfigError("the S3 document store's max_attempts is a whole number, 1 to 20")
        return cls(
            bucket=parts.netloc,
            prefix=f"{prefix}/" if prefix else "",
            endpoint_url=query.get("endpoint_url"),
            region=query.get("region"),
            access_key_id=query.get("access_key_id"),
            secret_access_key=SecretStr(secret) if secret else None,
            session_token=SecretStr(token) if token else None,
            addressing_style=query.get("addressing_style"),
            max_attempts=int(attempts),
        )


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:  # pragma: no cover - the test extra installs it
        raise DocumentStoreConfigError(
            "an s3:// document store needs boto3: pip install 'invoice-gateway[s3]'"
        ) from None
    return boto3


class S3DocumentStore:
    """Documents as objects in one bucket under one prefix, checked against their SHA-256 on every read."""

    def __init__(self, location: S3Location, *, timeout_seconds: float | None = None) -> None:
        """`timeout_seconds`: a bound on connecting and on each read, and at most two tries per request (a
        check that must answer soon: `gateway check`); None: boto3's own (60 s) and `max_attempts`."""
        boto3 = _boto3()
        from botocore.config import Config

        self.location = location
        session = boto3.session.Session(
            aws_access_key_id=location.access_key_id,
            aws_secret_access_key=(
                location.secret_access_key.get_secret_value() if location.secret_access_key else None
            ),
            aws_session_token=location.session_token.get_secret_value() if location.session_token else None,
            region_name=location.region,
        )
        style = location.addressing_style or ("path" if location.endpoint_url else "auto")
        attempts = location.max_attempts if timeout_seconds is None else min(location.max_attempts, 2)
        timeouts: dict[str, float] = (
            {}
            if timeout_seconds is None
            else {"connect_timeout": timeout_seconds, "read_timeout": timeout_seconds}
        )
        config = Config(
            retries={"max_attempts": attempts, "mode": "standard"}, s3={"addressing_style": style}, **timeouts
        )
        self.client = session.client("s3", endpoint_url=location.endpoint_url, config=config)

    def __repr__(self) -> str:
        where = f" at {self.location.endpoint_url}" if self.location.endpoint_url else ""
        return f"S3DocumentStore(s3://{self.location.bucket}/{self.location.prefix}{where})"

    def _name(self, key: str) -> str:
        return self.location.prefix + key

    def _refused(self, doing: str, error: Exception) -> DocumentStoreUnavailable:
        """What went wrong, by S3's error code or the error's kind: never the URL or a credential."""
        response = getattr(error, "response", None)
        code = str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
        reason = code or type(error).__name__
        return DocumentStoreUnavailable(
            f"the S3 document store (bucket {self.location.bucket}) failed to {doing}: {reason}"
        )

    def _call(self, operation: str, **arguments: Any) -> Any:
        """One S3 request; a missing object is `DocumentMissing`, anything else that fails is
        `DocumentStoreUnavailable` with the error code (no URL, no credentials)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.location.bucket, **arguments)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _NOT_THERE:
                raise DocumentMissing(f"document {arguments.get('Key')} is not in the store") from None
            raise self._refused(operation, error) from None
        except BotoCoreError as error:  # cannot connect, timed out, …
            raise self._refused(f"{operation} (cannot be reached)", error) from None

    def put(self, data: bytes) -> str:
        key = content_key(data)
        digest = key[-64:]
        try:
            head = self._call("head_object", Key=self._name(key))
        except DocumentMissing:
            head = None
        if (
            head is not None
            and head.get("Metadata", {}).get("sha256") == digest
            and head.get("ContentLength") == len(data)
        ):
            return key  # there and intact: the same bytes are one object
        from boto3.exceptions import Boto3Error
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES // 4
        )
        try:
            self.client.upload_fileobj(
                io.BytesIO(data),
                self.location.bucket,
                self._name(key),
                ExtraArgs={"Metadata": {"sha256": digest}, "ChecksumAlgorithm": "SHA256"},
                Config=transfer,
            )
        except (BotoCoreError, ClientError, Boto3Error) as error:
            raise self._refused(f"take {key}", error) from None
        return key

    def get(self, key: str) -> bytes:
        if not is_document_key(key):
            raise DocumentMissing(f"not a document key: {key!r}")
        from botocore.exceptions import BotoCoreError

        answer = self._call("get_object", Key=self._name(key))
        digest = hashlib.sha256()
        parts: list[bytes] = []
        try:
            for chunk in answer["Body"].iter_chunks(READ_BYTES):
                digest.update(chunk)
                parts.append(chunk)
        except BotoCoreError as error:  # a checksum the server sent that the bytes do not match, a cut
            raise DocumentCorrupted(
                f"document {key} could not be read whole ({type(error).__name__})"
            ) from None
        finally:
            answer["Body"].close()
        if digest.hexdigest() != key[-64:]:
            raise DocumentCorrupted(f"document {key} is corrupted: its bytes no longer match their SHA-256")
        return b"".join(parts)

    def exists(self, key: str) -> bool:
        if not is_document_key(key):
            return False
        try:
            self._call("head_object", Key=self._name(key))
        except DocumentMissing:
            return False
        return True

    def keys(self) -> Iterator[str]:
        """Every document under the prefix (other objects in the bucket are not documents)."""
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=self.location.prefix
        )
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    key = str(item["Key"])[len(self.location.prefix) :]
                    if is_document_key(key):
                        yield key
        except (BotoCoreError, ClientError) as error:
            raise self._refused("list the documents", error) from None


#: One store (one boto3 client: making one costs tens of milliseconds) per URL, shared by every request and
#: thread (boto3 clients are thread-safe); a few URLs at most.
_STORES: OrderedDict[str, S3DocumentStore] = OrderedDict()
_STORES_LOCK = threading.Lock()


def s3_document_store(url: str) -> S3DocumentStore:
    """The store for `url`, made once."""
    with _STORES_LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _STORES[url] = S3DocumentStore(S3Location.from_url(url))
            while len(_STORES) > 8:
                _STORES.popitem(last=False)
        return store
