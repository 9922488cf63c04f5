"""The Digipost HTTP client against the stand-in: signatures both ways, content hashes, discovery, failures.

Nothing here is mocked: the stand-in (tests/digipost_server.py) verifies our signatures with the broker's
certificate and signs its answers with its own key, both made here with `cryptography`.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.digipost_fixtures import BROKER_ID, NATIONAL_ID
from tests.digipost_server import (
    BrokerKeys,
    DigipostStandIn,
    make_certificate,
    split_multipart,
    write_pkcs12,
)
from transports.digipost import (
    MEDIA_TYPE,
    DigipostClient,
    DigipostError,
    DocumentPart,
    DuplicateMessage,
    UntrustedResponse,
    canonical_request,
    content_sha256,
    load_signing_identity,
    multipart_message,
    signature_headers,
    verify,
)

NS = "http://api.digipost.no/schema/v8"


def identification(number: str = NATIONAL_ID) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><identification xmlns="{NS}">'
        f"<personal-identification-number>{number}</personal-identification-number></identification>"
    ).encode()


@pytest.fixture
def client(stand_in: DigipostStandIn, keys: BrokerKeys) -> Iterator[DigipostClient]:
    identity = load_signing_identity(keys.pkcs12, SecretStr(keys.password))
    client = DigipostClient(stand_in.url, BROKER_ID, identity, timeout_seconds=5)
    yield client
    client.close()


# -- the signature ------------------------------------------------------------------------------------------


def test_the_canonical_request_is_digiposts() -> None:
    """The documented example: method, lower-cased path, signed headers in name order, lower-cased query."""
    headers = {
        "X-Digipost-UserId": "9999",
        "Date": "Wed, 29 Jun 2016 14:58:11 GMT",
        "Accept": MEDIA_TYPE,
        "X-Content-SHA256": "q1MKE+RZFJgrefm34/uplM/R8/si9xzqGvvwK0YMbR0=",
    }
    assert canonical_request("post", "/Messages", headers, "Parameter1=58&parameter2=Test") == (
        "POST\n/messages\n"
        "date: Wed, 29 Jun 2016 14:58:11 GMT\n"
        "x-content-sha256: q1MKE+RZFJgrefm34/uplM/R8/si9xzqGvvwK0YMbR0=\n"
        "x-digipost-userid: 9999\n"
        "parameter1=58&parameter2=test\n"
    )


def test_a_signature_made_by_our_client_verifies_with_the_certificate(keys: BrokerKeys) -> None:
    identity = load_signing_identity(keys.pkcs12, SecretStr(keys.password))
    body = identification()
    url = httpx.URL("https://api.digipost.no/identification?x=Y")
    now = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    headers = signature_headers("POST", url, body, user_id=BROKER_ID, identity=identity, now=now)
    assert headers["Date"] == "Mon, 02 Mar 2026 09:30:00 GMT"
    assert headers["X-Content-SHA256"] == content_sha256(body)
    text = canonical_request("POST", "/identification", headers, "x=Y")
    assert verify(keys.certificate, text, headers["X-Digipost-Signature"])
    # another body, path, or key does not verify
    assert not verify(
        keys.certificate, text.replace("/identification", "/messages"), headers["X-Digipost-Signature"]
    )
    other = make_certificate("someone else")[1]
    assert not verify(other, text, headers["X-Digipost-Signature"])
    # a bodiless request signs no content hash
    get = signature_headers("GET", url, b"", user_id=BROKER_ID, identity=identity, now=now)
    assert "X-Content-SHA256" not in get


def test_the_stand_in_accepts_our_requests(client: DigipostClient, stand_in: DigipostStandIn) -> None:
    answer = client.identify_recipient(identification())
    assert b"<result>DIGIPOST</result>" in answer
    assert [(r.method, r.path, r.signature_ok, r.content_hash_ok) for r in stand_in.requests] == [
        ("GET", "/", True, True),
        ("POST", "/identification", True, True),
    ]


def _signed_request(keys: BrokerKeys, url: str, body: bytes) -> tuple[dict[str, str], bytes]:
    identity = load_signing_identity(keys.pkcs12, SecretStr(keys.password))
    headers = signature_headers(
        "POST", httpx.URL(url), body, user_id=BROKER_ID, identity=identity, now=dt.datetime.now(dt.UTC)
    )
    headers["Content-Type"] = MEDIA_TYPE
    return headers, body


def test_a_tampered_body_is_refused(keys: BrokerKeys, stand_in: DigipostStandIn) -> None:
    url = f"{stand_in.url}/identification"
    headers, body = _signed_request(keys, url, identification())
    tampered = body.replace(NATIONAL_ID.encode(), b"01019000164")
    response = httpx.post(url, content=tampered, headers=headers)
    assert response.status_code == 403
    assert b"<error-code>INVALID_CONTENT_HASH</error-code>" in response.content
    # the hash made to fit the tampered body: the signature no longer does
    headers["X-Content-SHA256"] = content_sha256(tampered)
    response = httpx.post(url, content=tampered, headers=headers)
    assert response.status_code == 403
    assert b"<error-code>INVALID_SIGNATURE</error-code>" in response.content
    # the untouched request passes
    headers, body = _signed_request(keys, url, identification())
    assert httpx.post(url, content=body, headers=headers).status_code == 200


def test_a_request_signed_with_another_key_is_refused(stand_in: DigipostStandIn, tmp_path: Path) -> None:
    key, certificate = make_certificate("not the broker")
    path = write_pkcs12(tmp_path / "other.p12", key, certificate, "pw-other")
    client = DigipostClient(stand_in.url, BROKER_ID, load_signing_identity(path, SecretStr("pw-other")))
    try:
        with pytest.raises(DigipostError) as caught:
            client.identify_recipient(identification())
    finally:
        client.close()
    assert caught.value.status == 403 and caught.value.error_code == "INVALID_SIGNATURE"
    assert not caught.value.transient


# -- answers ------------------------------------------------------------------------------------------------


def test_an_answer_signed_with_another_key_is_refused(
    client: DigipostClient, stand_in: DigipostStandIn
) -> None:
    client.entry_point()
    stand_in.forge_signatures = True
    with pytest.raises(UntrustedResponse, match="does not carry Digipost's signature"):
        client.identify_recipient(identification())


def test_a_tampered_answer_is_refused(client: DigipostClient, stand_in: DigipostStandIn) -> None:
    client.entry_point()
    stand_in.tamper_bodies = True
    with pytest.raises(UntrustedResponse, match="X-Content-SHA256"):
        client.identify_recipient(identification())


def test_an_answer_from_another_clock_is_refused(client: DigipostClient, stand_in: DigipostStandIn) -> None:
    client.entry_point()
    client.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=7)
    with pytest.raises(UntrustedResponse, match="five minutes"):
        client.identify_recipient(identification())


# -- discovery ----------------------------------------------------------------------------------------------


def test_links_come_from_the_entry_point_by_relation(
    client: DigipostClient, stand_in: DigipostStandIn
) -> None:
    entry = client.entry_point()
    assert entry.certificate is not None
    assert entry.certificate == stand_in.server_certificate
    assert client.link("create_message") == f"{stand_in.url}/messages"
    assert client.link("document_events") == f"{stand_in.url}/documentevents"
    with pytest.raises(DigipostError, match="no 'archive_documents' link"):
        client.link("archive_documents")


def test_a_link_off_the_configured_host_is_refused(client: DigipostClient, stand_in: DigipostStandIn) -> None:
    port = int(stand_in.url.rsplit(":", 1)[1])
    stand_in.link_overrides = {
        "identify_recipient": "http://169.254.169.254/latest/meta-data",
        "create_message": f"http://127.0.0.1:{port + 1}/messages",
    }
    for relation in ("identify_recipient", "create_message"):
        with pytest.raises(DigipostError, match=r"leads off 127\.0\.0\.1") as caught:
            client.link(relation)
        assert not caught.value.transient
    with pytest.raises(DigipostError, match="leads off"):
        client.identify_recipient(identification())
    assert [r.path for r in stand_in.requests] == ["/"]  # nothing else was asked


# -- operations and failures --------------------------------------------------------------------------------


def test_the_multipart_message_puts_the_message_first_and_names_documents_by_uuid() -> None:
    documents = [
        DocumentPart("7d0c5f0e-4b7a-4a51-9b1b-0f7f1f3b9a01", "application/pdf", b"%PDF-1.7 one\r\n--x"),
        DocumentPart("7d0c5f0e-4b7a-4a51-9b1b-0f7f1f3b9a02", "application/pdf", b"%PDF-1.7 two"),
    ]
    content_type, body = multipart_message(b"<message/>", documents)
    assert content_type.startswith("multipart/vnd.digipost-v8+xml; boundary=")
    parts = split_multipart(content_type, body)
    assert [(h["content-disposition"], h["content-type"], c) for h, c in parts] == [
        ('attachment; filename="message"', f"{MEDIA_TYPE}; charset=UTF-8", b"<message/>"),
        (f'attachment; filename="{documents[0].uuid}"', "application/pdf", documents[0].content),
        (f'attachment; filename="{documents[1].uuid}"', "application/pdf", documents[1].content),
    ]


def test_a_5xx_is_transient_and_a_4xx_names_the_error_code(
    client: DigipostClient, stand_in: DigipostStandIn
) -> None:
    stand_in.answer(NATIONAL_ID, "5xx")
    with pytest.raises(DigipostError) as caught:
        client.identify_recipient(identification())
    assert caught.value.transient and caught.value.status == 503
    stand_in.answer(NATIONAL_ID, "error")
    stand_in.error_code = "SENDER_DOES_NOT_EXIST"
    with pytest.raises(DigipostError) as caught:
        client.identify_recipient(identification())
    assert not caught.value.transient
    assert (caught.value.status, caught.value.error_code) == (400, "SENDER_DOES_NOT_EXIST")
    assert "SENDER_DOES_NOT_EXIST" in str(caught.value)


def test_a_duplicate_message_is_its_own_error(client: DigipostClient, stand_in: DigipostStandIn) -> None:
    message = (
        f'<?xml version="1.0" encoding="UTF-8"?><message xmlns="{NS}"><message-id>m-1</message-id>'
        f"<recipient><personal-identification-number>{NATIONAL_ID}</personal-identification-number>"
        "</recipient><primary-document><uuid>7d0c5f0e-4b7a-4a51-9b1b-0f7f1f3b9a01</uuid>"
        "<subject>Faktura 1</subject><file-type>pdf</file-type></primary-document></message>"
    ).encode()
    document = DocumentPart("7d0c5f0e-4b7a-4a51-9b1b-0f7f1f3b9a01", "application/pdf", b"%PDF-1.7")
    answer = client.send_message(message, [document])
    assert b"<delivery-method>DIGIPOST</delivery-method>" in answer
    with pytest.raises(DuplicateMessage) as caught:
        client.send_message(message, [document])
    assert caught.value.status == 409 and caught.value.error_code == "DUPLICATE_MESSAGE_ID"
    assert list(stand_in.messages) == ["m-1"]


def test_document_events_are_asked_for_a_time_window(
    client: DigipostClient, stand_in: DigipostStandIn
) -> None:
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    stand_in.add_event("7d0c5f0e-4b7a-4a51-9b1b-0f7f1f3b9a01", "OPENED", created=at)
    stand_in.add_event(
        "7d0c5f0e-4b7a-4a51-9b1b-0f7f1f3b9a02", "PRINT_FAILED", created=at + dt.timedelta(hours=2)
    )
    answer = client.document_events(at - dt.timedelta(minutes=1), at + dt.timedelta(hours=1))
    assert b'type="OPENED"' in answer and b"PRINT_FAILED" not in answer
    query = stand_in.requests[-1].query
    assert "from=2026-03-02T08%3A59%3A00.000%2B00%3A00" in query and "maxResults=100" in query


def test_an_unanswering_server_is_a_transient_failure(keys: BrokerKeys) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    identity = load_signing_identity(keys.pkcs12, SecretStr(keys.password))
    client = DigipostClient(url, BROKER_ID, identity, timeout_seconds=0.3)
    try:
        with pytest.raises(DigipostError, match="did not answer in time") as caught:
            client.entry_point()
        assert caught.value.transient
    finally:
        client.close()
        listener.close()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    client = DigipostClient(f"http://127.0.0.1:{port}", BROKER_ID, identity, timeout_seconds=2)
    try:
        with pytest.raises(DigipostError, match="unreachable") as caught:
            client.entry_point()
        assert caught.value.transient
    finally:
        client.close()


def test_a_wrong_pkcs12_password_is_said_without_the_password(keys: BrokerKeys) -> None:
    with pytest.raises(ValueError, match="password does not fit") as caught:
        load_signing_identity(keys.pkcs12, SecretStr("not-the-password-77"))
    assert "not-the-password-77" not in str(caught.value)
