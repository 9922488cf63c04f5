"""Digipost API v8 over HTTP: signed requests, verified answers, entry point discovery (no Python client).

Every request carries `Date` (RFC 1123), `X-Digipost-UserId` (the broker id), `X-Content-SHA256` (base64
SHA-256 of the body, when there is one) and `X-Digipost-Signature`: base64 RSA-SHA256 (PKCS#1 v1.5), with
the enterprise certificate's key, over the canonical request — the method, the lower-cased raw path, the
signed headers that are present as `name: value` lines in name order (names lower-cased), and the
lower-cased raw query, each ended by a newline. That is the string Digipost's own clients sign.

Every answer except the entry point's is verified the way Digipost's Java client verifies it: its `Date`
within five minutes, its `X-Content-SHA256` equal to the hash of the body received, and its
`X-Digipost-Signature` made over the status code, the lower-cased request path and the same signed headers,
checked with the certificate the entry point publishes. An answer that fails any of these is refused
(`UntrustedResponse`): a forged "delivered" must not pass.

Where to go comes from the entry point (`GET /`: links by relation, `create_message`, `identify_recipient`,
`document_events`, …). A link to another scheme, host or port than the configured base is refused, so a
tampered entry point cannot send our signed requests (and documents) elsewhere.

Failures: no answer, a timeout, 5xx, 408 and 429 are `DigipostError(transient=True)`; any other 4xx is
permanent and names Digipost's `error-code`; 409 to a new message is `DuplicateMessage` (the message id was
used before: an earlier try got through). This module moves bytes only: the XML of messages and answers is
`mappings.consumer.digipost`'s.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from pydantic import SecretStr

__all__ = [
    "DIGIPOST_NAMESPACE",
    "MEDIA_TYPE",
    "MULTIPART_MEDIA_TYPE",
    "SIGNED_HEADERS",
    "DigipostClient",
    "DigipostError",
    "DocumentPart",
    "DuplicateMessage",
    "EntryPoint",
    "SigningIdentity",
    "UntrustedResponse",
    "canonical_request",
    "canonical_response",
    "content_sha256",
    "http_date",
    "load_signing_identity",
    "multipart_message",
    "sign",
    "signature_headers",
    "verify",
]

DIGIPOST_NAMESPACE = "http://api.digipost.no/schema/v8"
MEDIA_TYPE = "application/vnd.digipost-v8+xml"
MULTIPART_MEDIA_TYPE = "multipart/vnd.digipost-v8+xml"
#: The headers a signature covers, when present (Content-MD5 only as older clients sent it).
SIGNED_HEADERS = ("content-md5", "date", "x-content-sha256", "x-digipost-userid")
#: How far an answer's `Date` may be from our clock (Digipost's clients allow five minutes).
CLOCK_SKEW = dt.timedelta(minutes=5)
#: How much of an error body a reason quotes.
_QUOTE = 300


class DigipostError(Exception):
    """Digipost could not be used for this request; `transient` says whether a later try may help."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool,
        status: int | None = None,
        error_code: str | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.status = status
        self.error_code = error_code
        self.body = body


class DuplicateMessage(DigipostError):
    """409 to a new message: a message with this id exists already (an earlier try got through)."""


class UntrustedResponse(DigipostError):
    """The answer's signature, content hash or date does not verify: it is not taken for Digipost's."""


# -- keys and signatures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningIdentity:
    """The enterprise certificate and its private key, as the PKCS#12 file holds them."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def load_signing_identity(path: Path, password: SecretStr | None) -> SigningIdentity:
    """The key and certificate in the PKCS#12 file at `path`; a `ValueError` naming what is wrong (never the
    password) when it cannot be read, has no RSA key or no certificate."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the PKCS#12 file {path}: {error.strerror or error}") from None
    secret = password.get_secret_value().encode() if password is not None else None
    try:
        key, certificate, _chain = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        raise ValueError(
            f"the PKCS#12 file {path} cannot be opened: not PKCS#12, or the password does not fit"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"the PKCS#12 file {path} holds no RSA private key (Digipost signs with RSA)")
    if certificate is None:
        raise ValueError(f"the PKCS#12 file {path} holds no certificate")
    return SigningIdentity(key=key, certificate=certificate)


def content_sha256(body: bytes) -> str:
    """`X-Content-SHA256`: the base64 SHA-256 of the body."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def http_date(moment: dt.datetime) -> str:
    """`Date` as RFC 1123 says (`Wed, 29 Jun 2016 14:58:11 GMT`)."""
    return email.utils.format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _signed_header_lines(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    items = headers.items() if isinstance(headers, Mapping) else headers
    chosen: dict[str, str] = {}
    for name, value in items:
        lowered = name.lower()
        if lowered in SIGNED_HEADERS and lowered not in chosen:  # the first value, as Digipost reads it
            chosen[lowered] = value
    return "".join(f"{name}: {chosen[name]}\n" for name in sorted(chosen))


def canonical_request(
    method: str, path: str, headers: Mapping[str, str] | Iterable[tuple[str, str]], query: str
) -> str:
    """What a request's signature is made over (path and query raw, as they go on the wire)."""
    return f"{method.upper()}\n{path.lower()}\n{_signed_header_lines(headers)}{query.lower()}\n"


def canonical_response(status: int, path: str, headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """What an answer's signature is made over: status, the request's path (no query), signed headers."""
    return f"{status}\n{path.lower()}\n{_signed_header_lines(headers)}"


def sign(key: rsa.RSAPrivateKey, text: str) -> str:
    """Base64 RSA-SHA256 (PKCS#1 v1.5) signature of `text` (UTF-8)."""
    return base64.b64encode(key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode(
        "ascii"
    )


def verify(certificate: x509.Certificate, text: str, signature: str) -> bool:
    """Whether `signature` (base64) is the certificate's key's RSA-SHA256 signature of `text`."""
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def split_raw_path(url: httpx.URL) -> tuple[str, str]:
    """The raw (still percent-encoded) path and query of `url`, as they go on the wire."""
    path, _, query = url.raw_path.decode("ascii").partition("?")
    return path or "/", query


def signature_headers(
    method: str, url: httpx.URL, body: bytes, *, user_id: str, identity: SigningIdentity, now: dt.datetime
) -> dict[str, str]:
    """The headers that authenticate one request: Date, X-Digipost-UserId, X-Content-SHA256 (with a body)
    and X-Digipost-Signature over all of them."""
    headers = {"Date": http_date(now), "X-Digipost-UserId": user_id}
    if body:
        headers["X-Content-SHA256"] = content_sha256(body)
    path, query = split_raw_path(url)
    headers["X-Digipost-Signature"] = sign(identity.key, canonical_request(method, path, headers, query))
    return headers


# -- multipart ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentPart:
    """One document's content in a message: `uuid` as the message XML names it."""

    uuid: str
    media_type: str
    content: bytes


def multipart_message(message_xml: bytes, documents: Sequence[DocumentPart]) -> tuple[str, bytes]:
    """The `multipart/vnd.digipost-v8+xml` body (the `message` part first, then one part per document,
    named by its uuid as Digipost expects) and its Content-Type with the boundary."""
    parts = [(f"{MEDIA_TYPE}; charset=UTF-8", "message", message_xml)]
    parts += [(document.media_type, document.uuid, document.content) for document in documents]
    while True:
        boundary = "digipost-" + secrets.token_hex(16)
        marker = b"--" + boundary.encode("ascii")
        if not any(marker in content for _type, _name, content in parts):
            break
    chunks: list[bytes] = []
    for media_type, filename, content in parts:
        chunks.append(
            marker
            + b"\r\n"
            + f"Content-Type: {media_type}\r\n".encode("ascii")
            + f'Content-Disposition: attachment; filename="{filename}"\r\n'.encode("ascii")
            + b"\r\n"
            + content
            + b"\r\n"
        )
    chunks.append(marker + b"--\r\n")
    return f"{MULTIPART_MEDIA_TYPE}; boundary={boundary}", b"".join(chunks)


# -- the entry point ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPoint:
    """Digipost's certificate (which signs its answers) and its links, by relation name."""

    certificate: x509.Certificate | None
    links: dict[str, str]


def _local(tag: object) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def read_entry_point(body: bytes, base_url: str) -> EntryPoint:
    """The entry point document: relations by name (the last segment of `rel`), each uri made absolute."""
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise DigipostError(f"the entry point is not XML: {error}", transient=True) from None
    if _local(root.tag) != "entrypoint":
        raise DigipostError(
            f"the entry point answered <{_local(root.tag)}>, not <entrypoint>", transient=True
        )
    certificate: x509.Certificate | None = None
    links: dict[str, str] = {}
    for child in root:
        name = _local(child.tag)
        if name == "certificate" and (child.text or "").strip():
            text = child.text.strip()  # type: ignore[union-attr]
            try:
                if "BEGIN CERTIFICATE" in text:
                    certificate = x509.load_pem_x509_certificate(text.encode("ascii"))
                else:
                    certificate = x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
            except ValueError as error:
                raise DigipostError(
                    f"the entry point's certificate cannot be read: {error}", transient=False
                ) from None
        elif name == "link":
            rel, uri = child.get("rel"), child.get("uri")
            if rel and uri:
                links[rel.rstrip("/").rsplit("/", 1)[-1]] = urljoin(base_url, uri)
    return EntryPoint(certificate=certificate, links=links)


def error_details(body: bytes) -> tuple[str | None, str | None]:
    """`error-code` and `error-message` of a Digipost `<error>` answer; (None, None) for anything else."""
    try:
        root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None, None
    if _local(root.tag) != "error":
        return None, None
    found = {_local(child.tag): (child.text or "").strip() for child in root}
    return found.get("error-code") or None, found.get("error-message") or None


# -- the client ---------------------------------------------------------------------------------------------


def _same_origin(url: str, base: str) -> bool:
    one, other = urlsplit(url), urlsplit(base)
    return (one.scheme, one.hostname, one.port) == (other.scheme, other.hostname, other.port)


class DigipostClient:
    """A signed, verifying HTTP client for one broker at one Digipost API base URL."""

    def __init__(
        self,
        base_url: str,
        broker_id: str,
        identity: SigningIdentity,
        *,
        timeout_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/") + "/"
        self.broker_id = broker_id
        self.identity = identity
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._http = httpx.Client(timeout=timeout_seconds, follow_redirects=False, transport=transport)
        self._entry: EntryPoint | None = None

    def close(self) -> None:
        self._http.close()

    # -- discovery --

    def entry_point(self, *, refresh: bool = False) -> EntryPoint:
        """The entry point (read once, then kept; `refresh` reads it again, e.g. after a key rollover)."""
        if self._entry is None or refresh:
            response = self._exchange("GET", self.base_url, b"", accept=MEDIA_TYPE)
            if response.status_code != 200:
                raise self._failure(response, "the entry point")
            self._entry = read_entry_point(response.content, self.base_url)
        return self._entry

    def link(self, relation: str) -> str:
        """The absolute URL of `relation`; refused unless it is on the configured base's origin."""
        url = self.entry_point().links.get(relation)
        if url is None:
            raise DigipostError(f"the entry point has no {relation!r} link", transient=False)
        if not _same_origin(url, self.base_url):
            raise DigipostError(
                f"the entry point's {relation!r} link leads off {urlsplit(self.base_url).netloc}: refused",
                transient=False,
            )
        return url

    # -- operations --

    def identify_recipient(self, identification_xml: bytes) -> bytes:
        """POST an `<identification>`; the `<identification-result>` answer."""
        return self.call("POST", self.link("identify_recipient"), identification_xml, what="identify")

    def send_message(self, message_xml: bytes, documents: Sequence[DocumentPart]) -> bytes:
        """POST the multipart message; the `<message-delivery>` answer. 409 raises `DuplicateMessage`."""
        content_type, body = multipart_message(message_xml, documents)
        return self.call(
            "POST", self.link("create_message"), body, content_type=content_type, what="create message"
        )

    def document_events(
        self,
        start: dt.datetime,
        end: dt.datetime,
        *,
        offset: int = 0,
        max_results: int = 100,
        sender_id: str | None = None,
    ) -> bytes:
        """GET the document events created in [start, end); the `<document-events>` answer."""
        params = {
            "from": _event_time(start),
            "to": _event_time(end),
            "offset": str(offset),
            "maxResults": str(max_results),
        }
        if sender_id is not None:
            params["sender"] = sender_id
        url = httpx.URL(self.link("document_events"), params=params)
        return self.call("GET", str(url), b"", what="document events")

    def document_status(self, sender_id: str, document_uuid: str) -> bytes:
        """GET one document's `<document-status>` (where it went: DIGIPOST, PRINT, …)."""
        url = urljoin(self.base_url, f"documents/{sender_id}/{document_uuid}/status")
        return self.call("GET", url, b"", what="document status")

    # -- the exchange --

    def call(self, method: str, url: str, body: bytes, *, content_type: str = MEDIA_TYPE, what: str) -> bytes:
        """One signed request whose answer must verify; the answer's body when it is 2xx."""
        if not _same_origin(url, self.base_url):
            raise DigipostError(f"{url} is not on the configured Digipost base: refused", transient=False)
        certificate = self.entry_point().certificate
        if certificate is None:
            raise DigipostError(
                "the entry point publishes no certificate: Digipost's answers cannot be verified",
                transient=False,
            )
        response = self._exchange(method, url, body, accept=MEDIA_TYPE, content_type=content_type)
        self._verify(response, certificate)
        if 200 <= response.status_code < 300:
            return response.content
        raise self._failure(response, what)

    def _exchange(
        self, method: str, url: str, body: bytes, *, accept: str, content_type: str | None = None
    ) -> httpx.Response:
        request = self._http.build_request(method, url, content=body or None)
        request.headers["Accept"] = accept
        if body and content_type:
            request.headers["Content-Type"] = content_type
        request.headers.update(
            signature_headers(
                method, request.url, body, user_id=self.broker_id, identity=self.identity, now=self.clock()
            )
        )
        try:
            return self._http.send(request)
        except httpx.TimeoutException as error:
            raise DigipostError(
                f"Digipost did not answer in time ({type(error).__name__})", transient=True
            ) from None
        except httpx.TransportError as error:
            raise DigipostError(
                f"Digipost unreachable: {str(error) or type(error).__name__}", transient=True
            ) from None

    def _verify(self, response: httpx.Response, certificate: x509.Certificate) -> None:
        status = response.status_code
        signature = response.headers.get("X-Digipost-Signature")
        if not signature:
            raise UntrustedResponse(
                f"Digipost's answer ({status}) is not signed", transient=True, status=status
            )
        date = response.headers.get("Date")
        try:
            sent_at = email.utils.parsedate_to_datetime(date) if date else None
        except (TypeError, ValueError):
            sent_at = None
        if sent_at is None or sent_at.tzinfo is None:
            raise UntrustedResponse(
                f"Digipost's answer ({status}) has no valid Date", transient=True, status=status
            )
        if abs(self.clock() - sent_at) > CLOCK_SKEW:
            raise UntrustedResponse(
                f"Digipost's answer ({status}) is dated {date}, more than five minutes off our clock",
                transient=True,
                status=status,
            )
        claimed = response.headers.get("X-Content-SHA256")
        if response.content and claimed is None:
            raise UntrustedResponse(
                f"Digipost's answer ({status}) has a body but no X-Content-SHA256",
                transient=True,
                status=status,
            )
        if claimed is not None and claimed != content_sha256(response.content):
            raise UntrustedResponse(
                f"Digipost's answer ({status}) does not match its X-Content-SHA256",
                transient=True,
                status=status,
            )
        path, _query = split_raw_path(response.request.url)
        if not verify(
            certificate, canonical_response(status, path, response.headers.multi_items()), signature
        ):
            raise UntrustedResponse(
                f"Digipost's answer ({status}) does not carry Digipost's signature",
                transient=True,
                status=status,
            )

    @staticmethod
    def _failure(response: httpx.Response, what: str) -> DigipostError:
        status = response.status_code
        code, message = error_details(response.content)
        said = f"{code}: {message}" if code else (response.text.strip()[:_QUOTE] or response.reason_phrase)
        reason = f"Digipost answered {status} to {what} ({said})"
        if status == 409:
            return DuplicateMessage(
                reason, transient=False, status=status, error_code=code, body=response.content
            )
        transient = status >= 500 or status in (408, 425, 429)
        return DigipostError(
            reason, transient=transient, status=status, error_code=code, body=response.content
        )


def _event_time(moment: dt.datetime) -> str:
    """A moment as Digipost's clients write it in the events query (`2026-01-02T10:00:00.000+00:00`)."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"
