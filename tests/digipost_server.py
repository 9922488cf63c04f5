"""A stand-in Digipost API v8 (FastAPI under uvicorn on a free 127.0.0.1 port) that speaks the real protocol.

It checks what Digipost checks, with the real artefacts: every request's `X-Digipost-Signature` against the
broker's certificate and its `X-Content-SHA256` against the body (a request that fails either is answered
403 with an `<error>`), and every XML it is sent — the `<identification>`, each message's `message` part —
against `validation/digipost-v8/api_v8.xsd` + `datatypes.xsd` (an invalid one is answered 400 and stays on
record, so a test can assert that every request was valid). It signs its own answers with its own key and
publishes that certificate at the entry point, as Digipost does.

Per recipient (national identity number, organisation number or full name) it can be told to answer
`digipost` (a mailbox: the message goes DIGIPOST), `identified` / `unidentified` (no mailbox: a message with
print details goes PRINT, one without is refused), `invalid`, `error` (400 with an error code) or `5xx`. It
keeps every message once by message id (a second one is 409) and the document events a test adds
(`add_event`), served by the events link in the time window asked for.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid as uuid_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi import FastAPI, Request, Response
from lxml import etree

from tests.certificates import make_certificate
from tests.conftest import SHARED
from transports.digipost import (
    DIGIPOST_NAMESPACE,
    MEDIA_TYPE,
    canonical_request,
    canonical_response,
    content_sha256,
    http_date,
    sign,
    verify,
)

XSD_DIR = SHARED / "validation" / "digipost-v8"
DATATYPES_NAMESPACE = "http://api.digipost.no/schema/datatypes"
NS = {"d": DIGIPOST_NAMESPACE}


# -- keys ---------------------------------------------------------------------------------------------------


def write_pkcs12(path: Path, key: rsa.RSAPrivateKey, certificate: x509.Certificate, password: str) -> Path:
    """The key and certificate as an enterprise certificate file (PKCS#12, password-protected)."""
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"enterprise",
            key,
            certificate,
            None,
            serialization.BestAvailableEncryption(password.encode()),
        )
    )
    return path


# -- the schema ---------------------------------------------------------------------------------------------


def digipost_schema() -> etree.XMLSchema:
    """api_v8.xsd with datatypes.xsd (the `Invoice` data type sits in a message's `xsd:any`)."""
    wrapper = f"""<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <xsd:import namespace="{DIGIPOST_NAMESPACE}" schemaLocation="{(XSD_DIR / "api_v8.xsd").as_uri()}"/>
  <xsd:import namespace="{DATATYPES_NAMESPACE}" schemaLocation="{(XSD_DIR / "datatypes.xsd").as_uri()}"/>
</xsd:schema>"""
    return etree.XMLSchema(etree.fromstring(wrapper.encode(), base_url=XSD_DIR.as_uri() + "/"))


SCHEMA = digipost_schema()


def schema_errors(xml: bytes) -> list[str]:
    """Why `xml` is not valid against the Digipost schemas; [] when it is."""
    try:
        document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        return [f"not XML: {error}"]
    if SCHEMA.validate(document):
        return []
    return [f"line {entry.line}: {entry.message}" for entry in SCHEMA.error_log]  # type: ignore[attr-defined]


def split_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart body: (headers by lower-cased name, content)."""
    boundary = ""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("no boundary")
    marker = b"--" + boundary.encode()
    chunks = body.split(marker)
    if not chunks[-1].startswith(b"--"):
        raise ValueError("no closing boundary")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ValueError("a part is not framed by CRLF")
        head, separator, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("a part has no header block")
        headers = {}
        for line in head.decode("ascii").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, content))
    return parts


def filename_of(disposition: str) -> str | None:
    for parameter in disposition.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "filename":
            return value.strip('"')
    return None


# -- what it keeps ------------------------------------------------------------------------------------------


@dataclass
class ReceivedRequest:
    """One request as it came in, and what the stand-in found about it."""

    method: str
    path: str
    query: str
    body: bytes
    signature_ok: bool
    content_hash_ok: bool
    #: each XML document the request carried, with its schema errors ([] = valid)
    xml: list[tuple[bytes, list[str]]] = field(default_factory=list)
    status: int = 0
    content_type: str = ""


@dataclass
class StoredMessage:
    message_id: str
    xml: bytes
    recipient: str
    delivery_method: str
    documents: dict[str, bytes]
    uuids: list[str]


@dataclass
class StoredEvent:
    document_uuid: str
    type: str
    created: dt.datetime
    document_created: dt.datetime
    error_code: str | None = None
    postmarked: dt.datetime | None = None


def _root(name: str) -> etree._Element:
    """A root element in Digipost's namespace, as the default namespace."""
    return etree.Element(f"{{{DIGIPOST_NAMESPACE}}}{name}", nsmap={None: DIGIPOST_NAMESPACE})  # type: ignore[dict-item]


def _xml_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _parse_query_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace(" ", "+"))


class DigipostStandIn:
    """The stand-in's state; the app built by `app()` reads and writes it."""

    def __init__(self, sender_certificate: x509.Certificate, broker_id: str) -> None:
        self.server_key, self.server_certificate = make_certificate("stand-in Digipost")
        self.sender_certificate = sender_certificate
        self.broker_id = broker_id
        self.url = ""
        self.reset()

    def reset(self) -> None:
        self.behaviour: dict[str, str] = {}
        self.error_code = "INVALID_RECIPIENT"
        self.default = "digipost"
        self.requests: list[ReceivedRequest] = []
        self.messages: dict[str, StoredMessage] = {}
        self.events: list[StoredEvent] = []
        self.link_overrides: dict[str, str] = {}
        #: sign answers with another key than the published certificate's (a forged answer)
        self.forge_signatures = False
        #: change the body after signing it (a tampered answer)
        self.tamper_bodies = False
        self.down = False

    # -- for tests --

    def answer(self, recipient: str, how: str) -> None:
        """How to answer for `recipient`: digipost, identified, unidentified, invalid, error, 5xx."""
        assert how in {"digipost", "identified", "unidentified", "invalid", "error", "5xx"}, how
        self.behaviour[recipient] = how

    def add_event(
        self,
        document_uuid: str,
        event_type: str,
        *,
        created: dt.datetime | None = None,
        error_code: str | None = None,
    ) -> StoredEvent:
        created = created or dt.datetime.now(dt.UTC)
        event = StoredEvent(
            document_uuid,
            event_type,
            created,
            created - dt.timedelta(minutes=1),
            error_code=error_code,
            postmarked=created if event_type == "POSTMARKED" else None,
        )
        self.events.append(event)
        return event

    def message_for_document(self, document_uuid: str) -> StoredMessage | None:
        return next((m for m in self.messages.values() if document_uuid in m.uuids), None)

    def invalid_requests(self) -> list[tuple[str, list[str]]]:
        """Every XML any request carried that the schemas refused, with why."""
        return [
            (f"{request.method} {request.path}", errors)
            for request in self.requests
            for _xml, errors in request.xml
            if errors
        ]

    # -- the protocol --

    def error(
        self, status: int, code: str, message: str, error_type: str = "CLIENT_DATA"
    ) -> tuple[int, bytes]:
        root = _root("error")
        for name, value in (("error-code", code), ("error-message", message), ("error-type", error_type)):
            etree.SubElement(root, f"{{{DIGIPOST_NAMESPACE}}}{name}").text = value
        return status, etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def signed(self, request: Request, status: int, body: bytes) -> Response:
        headers = {
            "Date": http_date(dt.datetime.now(dt.UTC)),
            "X-Content-SHA256": content_sha256(body),
            "Content-Type": MEDIA_TYPE,
        }
        path = request.scope.get("raw_path", request.url.path.encode()).decode("ascii").partition("?")[0]
        key = make_certificate("forger")[0] if self.forge_signatures else self.server_key
        headers["X-Digipost-Signature"] = sign(key, canonical_response(status, path, headers))
        if self.tamper_bodies and body:
            body = body.replace(b"DIGIPOST", b"PRINT") if b"DIGIPOST" in body else body + b" "
        return Response(content=body, status_code=status, headers=headers)

    def check(self, request: Request, body: bytes) -> ReceivedRequest:
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("ascii")
        path = raw.partition("?")[0]
        query = request.scope.get("query_string", b"").decode("ascii")
        signature = request.headers.get("x-digipost-signature", "")
        signature_ok = (
            bool(signature)
            and verify(
                self.sender_certificate,
                canonical_request(request.method, path, request.headers.items(), query),
                signature,
            )
            and request.headers.get("x-digipost-userid") == self.broker_id
        )
        claimed = request.headers.get("x-content-sha256")
        hash_ok = (claimed == content_sha256(body)) if body else claimed in (None, content_sha256(b""))
        received = ReceivedRequest(
            request.method,
            path,
            query,
            body,
            signature_ok,
            hash_ok,
            content_type=request.headers.get("content-type", ""),
        )
        self.requests.append(received)
        return received

    def refused(self, received: ReceivedRequest) -> tuple[int, bytes] | None:
        if not received.content_hash_ok:
            return self.error(
                403, "INVALID_CONTENT_HASH", "X-Content-SHA256 does not match the body", "SECURITY"
            )
        if not received.signature_ok:
            return self.error(403, "INVALID_SIGNATURE", "the request signature does not verify", "SECURITY")
        if self.down:
            return self.error(503, "SERVICE_UNAVAILABLE", "try again later", "SERVER")
        return None

    def entry_point(self) -> bytes:
        root = _root("entrypoint")
        pem = self.server_certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        etree.SubElement(root, f"{{{DIGIPOST_NAMESPACE}}}certificate").text = pem
        links = {
            "create_message": f"{self.url}/messages",
            "identify_recipient": f"{self.url}/identification",
            "document_events": f"{self.url}/documentevents",
            "search": f"{self.url}/recipients/search",
        }
        links.update(self.link_overrides)
        for relation, uri in links.items():
            etree.SubElement(
                root, f"{{{DIGIPOST_NAMESPACE}}}link", rel=f"{self.url}/relations/{relation}", uri=uri
            )
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def behaviour_of(self, recipient_element: etree._Element | None) -> tuple[str, str]:
        """The recipient's key (as tests name it) and how to answer for it."""
        key = ""
        if recipient_element is not None:
            for child in recipient_element:
                local = etree.QName(child).localname
                if local in ("personal-identification-number", "organisation-number", "digipost-address"):
                    key = (child.text or "").strip()
                    break
                if local == "name-and-address":
                    key = (child.findtext("d:fullname", namespaces=NS) or "").strip()
                    break
        return key, self.behaviour.get(key, self.default)

    def identify(self, xml: bytes) -> tuple[int, bytes]:
        root = etree.fromstring(xml)
        key, how = self.behaviour_of(root)
        if how == "5xx":
            return self.error(503, "SERVICE_UNAVAILABLE", "try again later", "SERVER")
        if how == "error":
            return self.error(400, self.error_code, "refused by the stand-in")
        result = _root("identification-result")

        def add(name: str, text: str) -> None:
            etree.SubElement(result, f"{{{DIGIPOST_NAMESPACE}}}{name}").text = text

        if how == "digipost":
            add("result", "DIGIPOST")
            add("digipost-address", "ola.nordmann#1234")
        elif how == "identified":
            add("result", "IDENTIFIED")
            add("person-alias", "alias-" + uuid_module.uuid5(uuid_module.NAMESPACE_OID, key).hex[:12])
        elif how == "invalid":
            add("result", "INVALID")
            add("invalid-reason", "INVALID_PERSONAL_IDENTIFICATION_NUMBER")
        else:
            add("result", "UNIDENTIFIED")
            add("unidentified-reason", "NOT_FOUND")
        return 200, etree.tostring(result, xml_declaration=True, encoding="UTF-8")

    def create_message(self, xml: bytes, documents: dict[str, bytes]) -> tuple[int, bytes]:
        root = etree.fromstring(xml)
        message_id = (root.findtext("d:message-id", namespaces=NS) or "").strip()
        recipient = root.find("d:recipient", NS)
        key, how = self.behaviour_of(recipient)
        if how == "5xx":
            return self.error(503, "SERVICE_UNAVAILABLE", "try again later", "SERVER")
        if how == "error":
            return self.error(400, self.error_code, "refused by the stand-in")
        if message_id and message_id in self.messages:
            return self.error(409, "DUPLICATE_MESSAGE_ID", f"a message with id {message_id} exists")
        document_elements = root.findall("d:primary-document", NS) + root.findall("d:attachment", NS)
        uuids = [(element.findtext("d:uuid", namespaces=NS) or "").strip() for element in document_elements]
        missing = [uuid for uuid in uuids if uuid not in documents]
        if missing or len(documents) != len(uuids):
            return self.error(400, "MISSING_DOCUMENT_CONTENT", f"no content for {missing or 'extra parts'}")
        has_print = recipient is not None and recipient.find("d:print-details", NS) is not None
        if how == "digipost":
            method = "DIGIPOST"
        elif how == "invalid":
            return self.error(400, "INVALID_PERSONAL_IDENTIFICATION_NUMBER", "not a valid number")
        elif has_print:
            method = "PRINT"
        else:
            return self.error(404, "UNKNOWN_RECIPIENT", "the recipient has no Digipost mailbox")
        stored = StoredMessage(message_id, xml, key, method, documents, uuids)
        self.messages[message_id] = stored
        delivery = _root("message-delivery")

        def add(parent: etree._Element, name: str, text: str) -> etree._Element:
            element = etree.SubElement(parent, f"{{{DIGIPOST_NAMESPACE}}}{name}")
            element.text = text
            return element

        add(delivery, "message-id", message_id)
        add(delivery, "delivery-method", method)
        add(delivery, "sender-id", self.broker_id)
        add(delivery, "status", "DELIVERED_TO_PRINT" if method == "PRINT" else "DELIVERED")
        add(delivery, "delivery-time", _xml_time(dt.datetime.now(dt.UTC)))
        for element, uuid in zip(document_elements, uuids, strict=True):
            name = (
                "primary-document" if etree.QName(element).localname == "primary-document" else "attachment"
            )
            document = etree.SubElement(delivery, f"{{{DIGIPOST_NAMESPACE}}}{name}")
            add(document, "uuid", uuid)
            subject = element.findtext("d:subject", namespaces=NS)
            if subject:
                add(document, "subject", subject)
            add(document, "file-type", element.findtext("d:file-type", namespaces=NS) or "pdf")
        return 200, etree.tostring(delivery, xml_declaration=True, encoding="UTF-8")

    def document_events(self, query: dict[str, str]) -> tuple[int, bytes]:
        try:
            start, end = _parse_query_time(query["from"]), _parse_query_time(query["to"])
            offset, limit = int(query.get("offset", "0")), int(query.get("maxResults", "100"))
        except (KeyError, ValueError) as error:
            return self.error(400, "INVALID_QUERY", f"from/to/offset/maxResults: {error}")
        chosen = sorted((e for e in self.events if start <= e.created < end), key=lambda e: e.created)
        root = _root("document-events")
        xsi = "http://www.w3.org/2001/XMLSchema-instance"
        for event in chosen[offset : offset + limit]:
            element = etree.SubElement(
                root,
                f"{{{DIGIPOST_NAMESPACE}}}event",
                uuid=event.document_uuid,
                type=event.type,
                created=_xml_time(event.created),
            )
            element.set("document-created", _xml_time(event.document_created))
            metadata_type = {
                "PRINT_FAILED": "failed-print-metadata",
                "PEPPOL_FAILED": "failed-peppol-metadata",
                "POSTMARKED": "postmarked-metadata",
            }.get(event.type)
            if metadata_type is not None:
                metadata = etree.SubElement(element, f"{{{DIGIPOST_NAMESPACE}}}metadata", nsmap={"xsi": xsi})
                metadata.set(f"{{{xsi}}}type", metadata_type)
                if event.type == "POSTMARKED":
                    metadata.set("postmarked-date", _xml_time(event.postmarked or event.created))
                else:
                    metadata.set("error-code", event.error_code or "UNKNOWN")
        return 200, etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def document_status(self, document_uuid: str) -> tuple[int, bytes]:
        message = self.message_for_document(document_uuid)
        if message is None:
            return self.error(404, "DOCUMENT_NOT_FOUND", f"no document {document_uuid}")
        root = _root("document-status")
        root.set("uuid", document_uuid)
        root.set("status", "DELIVERED")
        root.set("channel", message.delivery_method)
        root.set("is-primary-document", "true" if message.uuids[0] == document_uuid else "false")
        return 200, etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/")
        async def entry(request: Request) -> Response:
            received = self.check(request, b"")
            refused = self.refused(received)
            status, body = refused or (200, self.entry_point())
            received.status = status
            return self.signed(request, status, body)

        @app.post("/identification")
        async def identification(request: Request) -> Response:
            body = await request.body()
            received = self.check(request, body)
            received.xml.append((body, schema_errors(body)))
            refused = self.refused(received)
            if refused is None and received.xml[0][1]:
                refused = self.error(400, "INVALID_XML", "; ".join(received.xml[0][1])[:500])
            status, answer = refused or self.identify(body)
            received.status = status
            return self.signed(request, status, answer)

        @app.post("/messages")
        async def messages(request: Request) -> Response:
            body = await request.body()
            received = self.check(request, body)
            refused = self.refused(received)
            content_type = request.headers.get("content-type", "")
            if refused is None and not content_type.startswith("multipart/vnd.digipost-v8+xml"):
                refused = self.error(415, "UNSUPPORTED_MEDIA_TYPE", content_type)
            parts: list[tuple[dict[str, str], bytes]] = []
            if refused is None:
                try:
                    parts = split_multipart(content_type, body)
                except ValueError as error:
                    refused = self.error(400, "INVALID_MULTIPART", str(error))
            message_xml = b""
            documents: dict[str, bytes] = {}
            if refused is None:
                first = parts[0] if parts else ({}, b"")
                if filename_of(first[0].get("content-disposition", "")) != "message" or not first[0].get(
                    "content-type", ""
                ).startswith(MEDIA_TYPE):
                    refused = self.error(400, "INVALID_MULTIPART", "the first part must be the message")
                else:
                    message_xml = first[1]
                    received.xml.append((message_xml, schema_errors(message_xml)))
                    if received.xml[0][1]:
                        refused = self.error(400, "INVALID_XML", "; ".join(received.xml[0][1])[:500])
                    for headers, content in parts[1:]:
                        name = filename_of(headers.get("content-disposition", ""))
                        if name:
                            documents[name] = content
            status, answer = refused or self.create_message(message_xml, documents)
            received.status = status
            return self.signed(request, status, answer)

        @app.get("/documentevents")
        async def events(request: Request) -> Response:
            received = self.check(request, b"")
            status, answer = self.refused(received) or self.document_events(dict(request.query_params))
            received.status = status
            return self.signed(request, status, answer)

        @app.get("/documents/{sender}/{document_uuid}/status")
        async def status(request: Request, sender: str, document_uuid: str) -> Response:
            received = self.check(request, b"")
            code, answer = self.refused(received) or self.document_status(document_uuid)
            received.status = code
            return self.signed(request, code, answer)

        return app


@dataclass
class BrokerKeys:
    """The broker's enterprise certificate as the channel configuration names it."""

    pkcs12: Path
    password: str
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


def broker_keys(directory: Path, password: str = "enterprise-cert-pw-93c1") -> BrokerKeys:
    key, certificate = make_certificate("invoice gateway broker")
    path = write_pkcs12(directory / "broker.p12", key, certificate, password)
    return BrokerKeys(path, password, certificate, key)


def run_stand_in(stand_in: DigipostStandIn) -> Iterator[DigipostStandIn]:
    """Serve `stand_in` on a free loopback port for as long as the generator is held."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            stand_in.app(),
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            date_header=False,
            server_header=False,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in Digipost did not start"
        time.sleep(0.01)
    stand_in.url = f"http://127.0.0.1:{port}"
    try:
        yield stand_in
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive()


__all__ = [
    "BrokerKeys",
    "DigipostStandIn",
    "ReceivedRequest",
    "StoredEvent",
    "StoredMessage",
    "broker_keys",
    "make_certificate",
    "run_stand_in",
    "schema_errors",
    "split_multipart",
    "write_pkcs12",
]
