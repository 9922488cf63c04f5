"""`POST /inbound`, the one door, through the real API on SQLite and PostgreSQL: one real file of every kind
reaches its service and changes what that service's own door would change; a repeat is stored once; an
unknown file is a 415 naming it; tenants stay apart. Every 2xx answer is checked against the documented
schema."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Batch, EdiInterchange, InboundDocument, PaymentRecord, ProofOfDelivery, RemittanceFile
from gateway.settings import Settings
from tests.api.test_views import _undeclared
from tests.channels.print.test_worker_batches import _print_settings, _sent_batch
from tests.conftest import SHARED
from tests.mappings.test_base import undecodable_invoic
from tests.outbox_helpers import delivery_row
from tests.remittance_files import Tx, camt054
from tests.services.test_bounces import _email_delivery
from tests.services.test_bounces import _sample as dsn_sample
from tests.services.test_invoice_responses import _sent_invoice, _uc
from tests.services.test_pods import _accept, make_jpeg, make_pdf

SAMPLES = SHARED / "samples"


class Door:
    """Posts files to /inbound for one tenant and checks every 2xx answer against its OpenAPI schema."""

    def __init__(self, client: TestClient, auth: dict[str, Any]) -> None:
        self.client = client
        self.auth = auth
        self.spec = client.app.openapi()  # type: ignore[attr-defined]

    def post(self, data: bytes, filename: str | None = None, *, status: int = 201, **headers: str) -> Any:
        params = {"filename": filename} if filename else {}
        response = self.client.post("/inbound", params=params, content=data, headers={**self.auth, **headers})
        assert response.status_code == status, response.text
        body = response.json()
        if status < 300:
            schema = self.spec["paths"]["/inbound"]["post"]["responses"][str(status)]["content"]
            assert _undeclared(self.spec, schema["application/json"]["schema"], body, "answer") == []
        return body


@pytest.fixture
def door(client: TestClient, auth: dict[str, Any]) -> Door:
    return Door(client, auth)


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_status_documents_bounces_and_edi_files_reach_their_services(
    door: Door, token_for: Any, engine: Engine
) -> None:
    response_delivery = _sent_invoice(engine)  # inv021, which the official use cases answer
    accepted = door.post(_uc("uc003"), "uc003.xml", **{"Content-Type": "application/xml"})
    assert (accepted["format"], accepted["kind"], accepted["service"]) == (
        "invoice-response", "status-document", "responses",
    )  # fmt: skip
    assert accepted["filename"] == "uc003.xml" and accepted["duplicate"] is False
    assert accepted["result"]["applied"] is True and accepted["result"]["delivery_id"] == response_delivery
    assert delivery_row(engine, response_delivery).status == "delivered"
    # another tenant sending the same document is told so, and shown nothing of acme's
    foreign = Door(door.client, token_for("globex")).post(_uc("uc003"), status=200)
    assert foreign["duplicate"] is True and foreign["result"]["delivery_id"] is None
    assert "another tenant" in foreign["result"]["note"]
    # the same file again: the first receipt, stored once (whatever it was declared as)
    stored = _count(engine, InboundDocument)
    again = door.post(_uc("uc003"), "again.xml", status=200, **{"Content-Type": "application/octet-stream"})
    assert again["duplicate"] is True and again["result"]["id"] == accepted["result"]["id"]
    assert _count(engine, InboundDocument) == stored

    bounced = _email_delivery(engine, "INV-1002", n=2, address="full@ok.test")  # the DSN reports on it
    dsn = door.post(dsn_sample("INV-1002", "failed"))
    assert (dsn["format"], dsn["service"]) == ("dsn", "bounces") and dsn["filename"] is None
    assert dsn["result"]["classification"] == "failed" and dsn["result"]["delivery_id"] == bounced
    assert delivery_row(engine, bounced).status == "deviation"

    ack = door.post((SAMPLES / "edi/x12/997/bots_inbound_997_1.x12").read_bytes(), "997.x12")
    assert (ack["format"], ack["service"], ack["result"]["kind"]) == ("x12-ack", "edi", "edi-ack")
    invoic = (SAMPLES / "edi/edifact/INVOIC/bots_invoic1_D96A_EAN008_generated.edi").read_bytes()
    message = door.post(invoic, "invoic.edi")
    assert (message["format"], message["service"]) == ("invoic", "edi")
    assert message["result"]["kind"] == "edi-message" and message["result"]["message_type"] == "INVOIC"
    assert "no trading partner" in message["result"]["note"]  # stored, not answered: no partner set up
    assert door.post(invoic, "invoic.edi", status=200)["result"]["duplicate"] is True
    assert _count(engine, InboundDocument, col(InboundDocument.kind) == "edi-message") == 1


def test_remittances_and_pods_are_booked_for_the_tokens_tenant(
    door: Door, client: TestClient, token_for: Any, engine: Engine
) -> None:
    answer = client.post("/invoices", json=_invoice_json(), headers=door.auth)
    assert answer.status_code == 201, answer.text
    invoice = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=door.auth).json()
    bank_file = camt054([Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"])])
    # another tenant's file with this tenant's KID is booked for that tenant and pays nothing here
    globex = Door(client, token_for("globex"))
    foreign = globex.post(bank_file, "camt054.xml")
    assert foreign["service"] == "remittances" and foreign["result"]["payments"][0]["status"] != "applied"
    assert _paid(client, door.auth, invoice["id"]) == "unpaid"

    paid = door.post(bank_file, "camt054.xml")
    assert (paid["format"], paid["kind"], paid["service"]) == ("camt", "remittance", "remittances")
    assert paid["result"]["outcome"] == "accepted" and paid["result"]["matching"]["payments"] == 1
    assert paid["result"]["payments"][0]["status"] == "applied"
    assert _paid(client, door.auth, invoice["id"]) == "paid"
    repeat = door.post(bank_file, "camt054-copy.xml", status=200)
    assert repeat["duplicate"] is True and repeat["result"]["outcome"] == "duplicate"
    assert _count(engine, RemittanceFile, col(RemittanceFile.tenant_id) == "acme") == 1
    assert _count(engine, PaymentRecord, col(PaymentRecord.tenant_id) == "acme") == 1
    ocr = door.post((SAMPLES / "ocr/netsgiro_ocr_giro_transactions.txt").read_bytes(), "ocr.txt")
    assert ocr["format"] == "ocr-giro" and len(ocr["result"]["payments"]) == 20

    [by_order] = _accept(engine, {"order_reference": "PO-9"})
    # the file-name convention of the drop folders names the order; the PDF is a POD
    pod = door.post(make_pdf("signed"), "POD_order_PO-9.pdf")
    assert (pod["format"], pod["service"]) == ("pdf", "pods")
    assert [link["invoice_id"] for link in pod["result"]["pods"][0]["links"]] == [by_order]
    photo = door.post(make_jpeg(), "POD_order_PO-9.jpg")
    assert (photo["format"], photo["kind"]) == ("pod", "pod-file") and photo["result"]["pods"][0]["linked"]
    assert (
        door.post(make_jpeg(), "copy.jpg", status=200)["result"]["pods"][0]["id"]
        == (photo["result"]["pods"][0]["id"])
    )
    # another tenant's photo naming this tenant's order links nothing of this tenant's
    elsewhere = globex.post(make_pdf("globex"), "POD_order_PO-9.pdf")
    assert elsewhere["result"]["pods"][0]["linked"] is False
    assert _count(engine, ProofOfDelivery, col(ProofOfDelivery.tenant_id) == "acme") == 2
    transport = door.post((SAMPLES / "edi/x12/214/edinet_214-MGCTLYST-SAMPLE.EDI").read_bytes())
    assert (transport["format"], transport["kind"], transport["service"]) == (
        "x12-214", "transport-status", "pods",
    )  # fmt: skip
    assert transport["result"]["pods"][0]["status"] == "delivered"


def _invoice_json() -> dict[str, Any]:
    from gateway.samples import sample_invoice_json

    return sample_invoice_json(3)  # _accept below makes sample 1


def _paid(client: TestClient, auth: dict[str, Any], invoice_id: str) -> str:
    return str(client.get(f"/invoices/{invoice_id}", headers=auth).json()["payment"]["payment_status"])


def test_print_returns_apply_only_to_the_tokens_tenants_batches(
    door: Door, client: TestClient, token_for: Any, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    batch, deliveries = _sent_batch(engine, settings, root, 2)
    receipt = (
        f'<PrintReceipt xmlns="urn:invoice-gateway:print-return:1" batchId="{batch.id}" status="rejected"'
        ' documents="2" receivedAt="2026-11-24T15:03:00Z"><Reason code="INDEX">bad index</Reason>'
        "</PrintReceipt>"
    ).encode()
    foreign = Door(client, token_for("globex")).post(receipt, "receipt.xml")
    assert (foreign["format"], foreign["service"]) == ("print-return", "print-returns")
    assert foreign["result"]["unlinked"] == [batch.id] and foreign["result"]["applied"] == 0
    with session_scope(engine) as session:
        found = session.get(Batch, batch.id)
        assert found is not None and found.status == "sent"
    assert {delivery_row(engine, d["id"]).status for d in deliveries} == {"sent"}
    # the first receipt of these bytes was globex's: acme sees a repeat that shows nothing of theirs
    repeat = door.post(receipt, "receipt.xml", status=200)
    assert repeat["result"]["note"] and "another tenant" in repeat["result"]["note"]

    own = door.post(receipt.replace(b"bad index", b"the index is wrong"), "receipt-2.xml")
    assert own["result"]["applied"] == 2 and own["result"]["kind"] == "receipt"
    assert {delivery_row(engine, d["id"]).status for d in deliveries} == {"deviation"}


def test_unknown_or_refused_files_are_answered_clearly(
    door: Door, engine: Engine, settings: Settings
) -> None:
    unknown = door.post(b"just some text", "notes.txt", status=415)
    [error] = unknown["errors"]
    assert error["field"] == "file" and "'notes.txt'" in error["reason"]
    assert "not a file the gateway understands" in error["reason"] and "camt" in error["reason"]
    assert {entry["format"] for entry in unknown["understood"]} >= {"invoice-response", "dsn", "camt", "pod"}
    ehf = (SAMPLES / "ehf/dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml").read_bytes()
    assert "post it to /invoices" in door.post(ehf, status=415)["errors"][0]["reason"]
    assert door.post(b"", status=415)["errors"][0]["reason"].startswith("the file:")

    # a bank file that does not add up: refused whole by remittance intake, kept for inspection
    two = camt054([Tx(Decimal("10.00")), Tx(Decimal("20.00"))])
    broken = two.replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>")
    assert broken != two
    refused = door.post(broken, "broken.xml", status=422)
    assert refused["service"] == "remittances" and refused["errors"][0]["reason"]
    assert refused["receipt"]["result"]["status"] == "rejected"
    assert _count(engine, RemittanceFile, col(RemittanceFile.status) == "rejected") == 1
    # a POD type with a broken body, a file too large for its service
    assert door.post(b"%PDF-1.7\nnot really", "scan.pdf", status=422)["service"] == "pods"
    settings.max_pod_bytes = 1000
    too_large = door.post(make_pdf("x" * 10) + b"%" * 2000, "big.pdf", status=413)
    assert "for pods" in too_large["errors"][0]["reason"]
    assert _count(engine, ProofOfDelivery) == 0
    assert _count(engine, EdiInterchange) == 0


def test_an_edi_file_with_an_undecodable_byte_is_refused_not_a_500(
    client: TestClient, auth: dict[str, str]
) -> None:
    """Found by tests/fuzz: a UNOA INVOIC with a 0x80 byte. The syntax error quoted it as a lone surrogate,
    storing the rejected interchange raised UnicodeEncodeError, and `POST /inbound` answered 500."""
    refused = client.post("/inbound", content=undecodable_invoic(b"\x80"), headers=auth)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert "\\x80" in error["field"], error
    kept = client.post("/edi", content=undecodable_invoic(b"\x9f"), headers=auth)  # its own door
    assert kept.status_code < 500 and kept.json()["kind"] == "edi-rejected", kept.text
    assert "\\x9f" in kept.json()["errors"][0]["field"]
