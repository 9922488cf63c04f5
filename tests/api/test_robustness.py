"""Junk in, clear rejection out: every parser and the intake API answer bad input without crashing.

In the manner of python-stdnum's robustness test: one table of hostile inputs, fed to every reader.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.samples import sample_invoice_json
from mappings import inspect_file
from mappings.base import FormatError
from mappings.invoice import canonical_json

JUNK: list[bytes] = [
    b"",
    b" ",
    b"\x00" * 64,
    b"{",
    b"[" * 10_000,  # deep nesting
    b'{"lines": [], "seller": 1}',
    b'{"lines": "x", "seller": {}}',
    b"1e999999",
    b'"\\ud800"',
    b"\xef\xbb\xbf{}",  # BOM
    '{"number": "\u202e"}'.encode(),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    json.dumps({"lines": [{}] * 3, "seller": None}).encode(),
]


def _random_mutations(count: int, seed: int = 20261124) -> list[bytes]:
    """Valid invoices with random bytes flipped, cut or duplicated: close to real, still wrong."""
    rng = random.Random(seed)
    base = json.dumps(sample_invoice_json(1)).encode()
    out: list[bytes] = []
    for _ in range(count):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.randrange(256)
            elif action < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = data[position : position + rng.randint(1, 20)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", JUNK + _random_mutations(150))
def test_parsers_reject_junk_clearly(data: bytes) -> None:
    for reader in (canonical_json.parse, inspect_file):
        try:
            reader(data)
        except FormatError as error:
            assert error.where
            assert error.reason
        except RecursionError:  # pragma: no cover - must not happen
            pytest.fail("deep nesting crashed the parser")


@pytest.mark.parametrize("data", JUNK + _random_mutations(40, seed=7))
def test_api_never_answers_500(client: TestClient, auth: dict[str, Any], data: bytes) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    for path in ("/invoices", "/invoices:bulk"):
        response = client.post(path, content=data, headers=headers)
        assert 200 <= response.status_code < 500, (path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert body["errors"]
            assert all("reason" in e for e in body["errors"])


# -- print-house files: batch index and return files ------------------------------------------------------


def _print_files() -> list[bytes]:
    """A valid index (CSV and XML) and a valid return file of each syntax: the bases for mutation."""
    import datetime as dt

    from mappings.print import batch
    from mappings.print.batch import PostalRecipient, PrintIndexEntry

    entries = [
        PrintIndexEntry(
            batch_id="b-1",
            sequence=n,
            delivery_id=f"dlv-{n}",
            invoice_number=f"INV-{n}",
            file=f"b-1-{n:05d}.pdf",
            first_page=1,
            pages=n,
            sheets=(n + 1) // 2,
            envelope="C5",
            post_class="B",
            colour=False,
            duplex=True,
            recipient=PostalRecipient("Ærlig Øst AS", ("Sjøgata 12", "c/o Åse"), "9008", "Tromsø", "NO"),
        )
        for n in (1, 2, 3)
    ]
    cutoff = dt.datetime(2026, 11, 24, 14, tzinfo=dt.UTC)
    return [
        batch.index_csv(entries),
        batch.index_xml("b-1", entries, "acme", cutoff),
        b"record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason\r\n"
        b"production;b-1;1;dlv-1;INV-1;posted;2026-11-25;;\r\n"
        b"production;b-1;2;dlv-2;INV-2;printed;;;\r\n",
        b'<ReturnedMail xmlns="urn:invoice-gateway:print-return:1" reportedAt="2026-12-02T09:00:00Z">'
        b'<Item deliveryId="dlv-1" batchId="b-1" sequence="1" returnedOn="2026-12-01" reasonCode="MOVED">'
        b"Flyttet</Item></ReturnedMail>",
    ]


def _print_mutations(count: int, seed: int = 20261125) -> list[bytes]:
    rng = random.Random(seed)
    bases = _print_files()
    out: list[bytes] = []
    for index in range(count):
        data = bytearray(bases[index % len(bases)])
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.choice(b';"<>/=&\n\r\x00\xff0123456789-T:Z ')
            elif action < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = data[position : position + rng.randint(1, 20)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", JUNK + _print_files() + _print_mutations(160))
def test_print_house_parsers_reject_junk_clearly(data: bytes) -> None:
    from mappings.print import batch, returns

    for reader in (batch.parse, returns.parse, inspect_file):
        try:
            reader(data)
        except FormatError as error:
            assert error.where
            assert error.reason
        except RecursionError:  # pragma: no cover - must not happen
            pytest.fail("deep nesting crashed the parser")


# -- EDI acknowledgements and partner files: CONTRL, APERAK, TA1, 997, 999, and what answers them ----------


def _edi_files() -> list[bytes]:
    """The ack samples and a few business interchanges: the bases for mutation."""
    from tests.conftest import SHARED

    root = SHARED / "samples" / "edi"
    folders = ["edifact/APERAK", "x12/997", "x12/999", "x12/TA1", "edifact/INVOIC", "x12/820"]
    return [path.read_bytes() for folder in folders for path in sorted((root / folder).iterdir())]


def _edi_mutations(count: int, seed: int = 20261126) -> list[bytes]:
    rng = random.Random(seed)
    bases = _edi_files()
    out: list[bytes] = []
    for index in range(count):
        data = bytearray(bases[index % len(bases)])
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.choice(b"'+:?*~^>\n\r\x00\xff0123456789AUNBHTZSEGIK ")
            elif action < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = data[position : position + rng.randint(1, 20)]
        out.append(bytes(data))
    return out


_ISA = (
    b"ISA*00*          *00*          *ZZ*A              *ZZ*B              "
    b"*261124*1200*U*00401*000000001*0*P*>~"
)
EDI_JUNK: list[bytes] = [
    b"UNA",
    b"UNA:+.? '",
    b"UNB+",
    b"UNB+++++4'UNZ+0+4'",
    b"UNA:+.? 'UNB+UNOC:3+A+B+261124:1200+1'UNH+1+CONTRL:D:3:UN'UCI'UNT+3+1'UNZ+1+1'",
    b"UNB+UNOC:3+A+B+261124:1200+1'UNH+1+APERAK:D:96A:UN'ERC'FTX'RFF'UNT+5+1'UNZ+1+1'",
    b"ISA*",
    b"ISA*00*" + b"*" * 20,
    _ISA + b"TA1~IEA*1*000000001~",
    _ISA + b"GS*FA*A*B*20261124*1200*1*X*004010~ST*997*0001~AK2~AK3~AK4*:::~AK5~SE*6*0001~GE*1*1~"
    b"IEA*1*000000001~",
]


@pytest.mark.parametrize("data", JUNK + EDI_JUNK + _edi_files() + _edi_mutations(300))
def test_edi_readers_reject_junk_clearly(data: bytes) -> None:
    import datetime as dt

    from mappings.acks import contrl, edifact_acks, functional_ack, x12_acks
    from mappings.acks.received import examine, read_acknowledgements
    from mappings.syntax import edifact, x12
    from mappings.syntax.edi_envelope import EdiEnvelope

    readers = (read_acknowledgements, edifact_acks.inspect, x12_acks.inspect, examine, inspect_file)
    for reader in readers:
        try:
            reader(data)
        except FormatError as error:
            assert error.where
            assert error.reason
    try:
        received = examine(data)
    except FormatError:
        return
    envelope = EdiEnvelope(
        sender_id="US", sender_qualifier="ZZ", recipient_id="THEM", recipient_qualifier="ZZ",
        interchange_ref="5", message_ref="6", group_ref="7",
        prepared=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
    )  # fmt: skip
    # each interchange of a file is answered on its own, as `receive_edi` does
    pieces = [(part.data, part.received) for part in received.parts if part.received is not None]
    for piece, read in pieces or [(data, received)]:
        error = read.error
        if read.standard == "edifact":
            errors = [error] if isinstance(error, edifact.EdiSyntaxError) else []
            answer = contrl.answer(piece, envelope=envelope, accepted=not errors, errors=errors)
            edifact.parse(answer)  # every answer we write reads back strictly
        else:
            x_errors = [error] if isinstance(error, x12.X12SyntaxError) else []
            answer = functional_ack.answer(piece, envelope=envelope, accepted=not x_errors, errors=x_errors)
            x12.parse(answer)


@pytest.mark.parametrize("data", EDI_JUNK + _edi_mutations(30, seed=11))
def test_edi_api_never_answers_500(client: TestClient, auth: dict[str, Any], data: bytes) -> None:
    response = client.post("/edi", content=data, headers={**auth, "Content-Type": "application/octet-stream"})
    assert response.status_code in (200, 201, 422), (response.status_code, response.text[:300])
    if response.status_code == 422:
        assert all("reason" in e for e in response.json()["errors"])


# -- proofs of delivery: transport statuses (IFTSTA, 214) and uploaded files -------------------------------


def _transport_files() -> list[bytes]:
    from tests.conftest import SHARED
    from tests.mappings.test_transport_status import sample_iftsta

    samples = sorted((SHARED / "samples" / "edi" / "x12" / "214").iterdir())
    return [sample_iftsta(), *[path.read_bytes() for path in samples]]


def _transport_mutations(count: int, seed: int = 20261127) -> list[bytes]:
    rng = random.Random(seed)
    bases = _transport_files()
    out: list[bytes] = []
    for index in range(count):
        data = bytearray(bases[index % len(bases)])
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.choice(b"'+:?*~>\n\r\x00\xff0123456789ABDLNSTXZ ")
            elif action < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = data[position : position + rng.randint(1, 20)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", JUNK + EDI_JUNK + _transport_files() + _transport_mutations(200))
def test_transport_status_readers_reject_junk_clearly(data: bytes) -> None:
    from gateway.services.inbound.pods import PodRefused, examine
    from mappings.status import iftsta, pod_files, x12_214

    for reader in (iftsta.parse, x12_214.parse, pod_files.inspect, inspect_file):
        try:
            reader(data)
        except FormatError as error:
            assert error.where
            assert error.reason
    try:
        examine(data)
    except PodRefused as error:
        assert error.field and error.reason and 400 <= error.status < 500


POD_JUNK: list[tuple[str, bytes]] = [
    ("application/pdf", b"%PDF-"),
    ("application/pdf",
     b"%PDF-1.7\n1 0 obj << /Type /Pages /Kids [1 0 R] /Count 99999 >> endobj\ntrailer<</Root 1 0 R>>"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\xff\xff\xff\xff\xff\xff\xff\xff"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x00"),
    ("image/jpeg", b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03"),
    ("application/EDIFACT",
     b"UNA:+.? 'UNB+UNOC:3+A+B+261124:1200+1'UNH+1+IFTSTA:D:01B:UN'CNI'UNT+3+1'UNZ+1+1'"),
    ("application/EDI-X12", _ISA + b"GS*QM*A*B*20261124*1200*1*X*004010~ST*214*0001~B10~AT7*D1*NS***2026x~"
     b"SE*4*0001~GE*1*1~IEA*1*000000001~"),
]  # fmt: skip


@pytest.mark.parametrize(("content_type", "data"), POD_JUNK + [("application/pdf", d) for d in JUNK[:6]])
def test_pod_api_never_answers_500(
    client: TestClient, auth: dict[str, Any], content_type: str, data: bytes
) -> None:
    response = client.post("/pods", content=data, headers={**auth, "Content-Type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert all("reason" in e for e in response.json()["errors"])
