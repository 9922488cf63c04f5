"""Resend with proof of delivery: the original document again plus the POD, and a history that tells it.

On real SQLite and PostgreSQL, through the API, the worker and the real folder channel; the PDF merge and
the EHF embedding are checked with the print house's printability rules and the official validation.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import BatchItem, Delivery, StoredDocument, utcnow
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound.pods import link_pod, receive_pod
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.documents import document_store, load_document
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.outbound.resend import NoProofOfDelivery, ResendRefused, resend_invoice
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.services.validation import validator_from_settings
from gateway.settings import Settings
from gateway.worker import ExtraDocument, Worker, with_pod_attachments
from mappings.base import FormatError
from mappings.invoice import canonical_json, ubl
from mappings.invoice import pdf as invoice_pdf
from mappings.invoice.pdf_merge import append_pages
from mappings.print.printability import check_printable
from tests.conftest import SHARED
from tests.document_stores import corrupt

RULES = SHARED / "validation"
NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


def pod_pdf(pages: int = 2, signer: str = "Kari Nordmann") -> bytes:
    """A signed delivery note as a POD: embedded font, drawn from the very left edge of the page."""
    pdfmetrics.registerFont(TTFont("PodVera", "Vera.ttf"))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1, initialFontName="PodVera")
    for page in range(1, pages + 1):
        canvas.setFont("PodVera", 12)
        canvas.drawString(3 * mm, 270 * mm, f"Delivery note DN-77 page {page} of {pages}")
        canvas.drawString(3 * mm, 40 * mm, f"Received in good order: {signer}")
        canvas.line(0, 35 * mm, 100 * mm, 35 * mm)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def photo(kind: str = "PNG", size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(buffer, kind)
    return buffer.getvalue()


def _accept(engine: Engine, invoice: dict[str, Any]) -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    [result] = accept_invoices(engine, "acme", [IntakeItem(invoice)], actor="test", default_channel="folder")
    assert result.outcome == "created", result.errors
    return result.invoice_id or ""


def _link_pod(engine: Engine, settings: Settings, invoice_id: str, data: bytes, filename: str) -> str:
    receipt = receive_pod(
        engine, document_store(settings), tenant_id="acme", data=data, filename=filename, actor="test"
    )
    [pod_id] = receipt.pod_ids
    with session_scope(engine) as session:
        link_pod(session, "acme", pod_id, invoice_id, "test")
    return pod_id


def _view(engine: Engine, invoice_id: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        return delivery_service.invoice_view(session, "acme", invoice_id)


# -- the acceptance case: folder channel, through the API -------------------------------------------------


def test_resend_with_pod_writes_the_original_document_and_the_pod_and_tells_the_story(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth)
    assert created.status_code == 201, created.text
    invoice_id = created.json()["invoice_id"]
    assert Worker(engine, settings, worker_id="w1").run(once=True).outcomes == {"delivered": 1}

    pod = pod_pdf()
    uploaded = client.post(
        "/pods",
        content=pod,
        params={"filename": "DN-77-signed.pdf", "signer_name": "Kari Nordmann"},
        headers={**auth, "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    pod_id = uploaded.json()["pods"][0]["id"]
    linked = client.post(f"/pods/{pod_id}/links", json={"invoice_id": invoice_id}, headers=auth)
    assert linked.status_code in (200, 201), linked.text

    why = "customer says the goods never arrived"
    resent = client.post(
        f"/invoices/{invoice_id}/resend", json={"with_pod": True, "reason": why}, headers=auth
    )
    assert resent.status_code == 202, resent.text
    view = resent.json()
    assert (view["status"], view["attempt"]) == ("queued", 2)
    assert len(view["extra_documents"]) == 1
    assert Worker(engine, settings, worker_id="w2").run(once=True).outcomes == {"delivered": 1}

    [delivery] = client.get(f"/invoices/{invoice_id}", headers=auth).json()["deliveries"]
    folder = outbound_dir / "acme"
    first = folder / f"INV-000001__{delivery['id']}-1.json"
    second = folder / f"INV-000001__{delivery['id']}-2.json"
    pod_file = folder / f"INV-000001__{delivery['id']}-2.pod.pdf"
    assert second.read_bytes() == first.read_bytes()  # the same document: nothing in it must differ
    assert pod_file.read_bytes() == pod  # byte for byte what was uploaded
    assert not list(folder.glob(f"*{delivery['id']}-1.pod*"))  # the first attempt had no POD
    sidecar = json.loads((folder / f"INV-000001__{delivery['id']}-2.sidecar.json").read_text())
    assert (sidecar["attempt"], sidecar["attachments"]) == (2, ["pod"])

    events = delivery["events"]
    story = [(e["attempt"], e["from"], e["to"]) for e in events]
    assert story == [
        (1, None, "queued"),
        (1, "queued", "rendering"),
        (1, "rendering", "sending"),
        (1, "sending", "delivered"),
        (2, "delivered", "queued"),
        (2, "queued", "rendering"),
        (2, "rendering", "sending"),
        (2, "sending", "delivered"),
    ]
    resend_event = events[4]
    assert resend_event["actor"] == "api:erp"
    assert resend_event["reason"] == why
    details = resend_event["details"]
    assert details["with_pod"] is True
    assert details["pod_ids"] == [pod_id]
    assert details["reason"] == why
    assert details["channel"] == "folder"
    assert "extra_documents" not in events[2]["details"]
    [extra] = events[6]["details"]["extra_documents"]
    assert extra["document_id"] == view["extra_documents"][0]
    assert (extra["filename"], extra["media_type"], extra["sent_as"]) == (
        "DN-77-signed.pdf",
        "application/pdf",
        "attached file",
    )
    assert events[6]["details"]["attachments"] == ["pod"]

    # what left, each time, can be fetched again from the document store
    store = document_store(settings)
    with session_scope(engine) as session:
        for delivered, written in ((events[3], first), (events[7], second)):
            stored, data = load_document(session, store, delivered["details"]["document_id"], "acme")
            assert data == written.read_bytes()
            assert stored.kind == "invoice-as-sent"


def test_resend_with_pod_without_a_linked_pod_changes_nothing(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    invoice_id = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()["invoice_id"]
    Worker(engine, settings).run(once=True)
    before = client.get(f"/invoices/{invoice_id}", headers=auth).json()
    refused = client.post(f"/invoices/{invoice_id}/resend", json={"with_pod": True}, headers=auth)
    assert refused.status_code == 409
    assert f"no proof of delivery linked to invoice {invoice_id}" in refused.json()["errors"][0]["reason"]
    assert client.get(f"/invoices/{invoice_id}", headers=auth).json() == before
    assert client.post("/invoices/nope/resend", json={}, headers=auth).status_code == 404
    unknown = client.post(f"/invoices/{invoice_id}/resend", json={"channel": "fax"}, headers=auth)
    assert unknown.status_code == 422
    assert client.get(f"/invoices/{invoice_id}", headers=auth).json() == before


def test_resend_is_refused_while_the_delivery_is_worked_on_or_batched(engine: Engine) -> None:
    invoice_id = _accept(engine, sample_invoice_json(1))
    for status in ("rendering", "batched"):
        with session_scope(engine) as session:
            session.execute(update(Delivery).values(status=status))
        with session_scope(engine) as session, pytest.raises(ResendRefused, match=status):
            resend_invoice(
                session,
                "acme",
                invoice_id,
                actor="t",
                reason=None,
                with_pod=False,
                channel=None,
                address=None,
            )


def test_plain_resend_clears_the_previous_attempts_pods(engine: Engine, settings: Settings) -> None:
    invoice_id = _accept(engine, sample_invoice_json(1))
    Worker(engine, settings).run(once=True)
    with session_scope(engine) as session, pytest.raises(NoProofOfDelivery):
        resend_invoice(
            session, "acme", invoice_id, actor="ops", reason="x", with_pod=True, channel=None, address=None
        )
    _link_pod(engine, settings, invoice_id, photo("JPEG"), "doorstep.jpg")
    with session_scope(engine) as session:
        with_pod = resend_invoice(
            session, "acme", invoice_id, actor="ops", reason="x", with_pod=True, channel=None, address=None
        )
        assert len(with_pod.extra_documents or []) == 1
    Worker(engine, settings).run(once=True)
    with session_scope(engine) as session:
        plain = resend_invoice(
            session, "acme", invoice_id, actor="ops", reason="y", with_pod=False, channel=None, address=None
        )
        assert plain.extra_documents is None
        assert plain.attempt == 3
    Worker(engine, settings).run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    sending = [e for e in delivery["events"] if e["to"] == "sending"]
    assert ["extra_documents" in e["details"] for e in sending] == [False, True, False]


def test_resend_with_pod_on_another_channel_makes_a_new_delivery(engine: Engine, settings: Settings) -> None:
    invoice_id = _accept(engine, sample_invoice_json(1))
    Worker(engine, settings).run(once=True)
    _link_pod(engine, settings, invoice_id, pod_pdf(1), "pod.pdf")
    with session_scope(engine) as session:
        new = resend_invoice(
            session, "acme", invoice_id, actor="ops", reason="by mail", with_pod=True, channel="email",
            address="buyer@example.test",
        )  # fmt: skip
        assert (new.channel, new.attempt, new.address) == ("email", 1, "buyer@example.test")
        assert len(new.extra_documents or []) == 1
    first, second = _view(engine, invoice_id)["deliveries"]
    assert first["attempt"] == 1 and first["extra_documents"] == []
    details = second["events"][0]["details"]
    assert details["resend_of"] == first["id"]
    assert details["with_pod"] is True


def test_a_missing_stored_pod_is_a_deviation_naming_it(engine: Engine, settings: Settings) -> None:
    invoice_id = _accept(engine, sample_invoice_json(1))
    Worker(engine, settings).run(once=True)
    _link_pod(engine, settings, invoice_id, pod_pdf(1), "pod.pdf")
    with session_scope(engine) as session:
        delivery = resend_invoice(
            session, "acme", invoice_id, actor="ops", reason=None, with_pod=True, channel=None, address=None
        )
        [document_id] = delivery.extra_documents or []
        stored = session.get(StoredDocument, document_id)
        assert stored is not None
        key = stored.storage_key
    corrupt(document_store(settings, engine), key, b"%PDF-1.4 scribbled over")
    Worker(engine, settings).run(once=True)
    [delivery_view] = _view(engine, invoice_id)["deliveries"]
    assert delivery_view["status"] == "deviation"
    assert document_id in delivery_view["last_error"]


def test_store_sent_documents_can_be_switched_off(engine: Engine, settings: Settings) -> None:
    settings.store_sent_documents = False
    invoice_id = _accept(engine, sample_invoice_json(1))
    Worker(engine, settings).run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["events"][-1]["details"] is None
    with session_scope(engine) as session:
        assert session.execute(select(StoredDocument)).first() is None


def test_resend_to_print_with_pod_appends_its_pages_and_the_print_house_takes_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "print-house"
    settings.channels = {"print": {"directory": str(root), "profiles": {"default": {"cutoffs": ["15:00"]}}}}
    invoice_id = _accept(engine, sample_invoice_json(1))
    Worker(engine, settings).run(once=True)
    _link_pod(engine, settings, invoice_id, pod_pdf(2), "DN-77.pdf")
    _link_pod(engine, settings, invoice_id, photo("PNG"), "doorstep.png")
    with session_scope(engine) as session:
        resend_invoice(
            session, "acme", invoice_id, actor="ops", reason="on paper", with_pod=True, channel="print",
            address=None,
        )  # fmt: skip
    assert Worker(engine, settings).run(once=True).outcomes == {"batched": 1}
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))
    assert Worker(engine, settings).run(once=True).outcomes == {"batch sent": 1}
    _, paper = _view(engine, invoice_id)["deliveries"]
    assert paper["status"] == "sent", paper["last_error"]
    [printed] = list((root / "in").rglob("*.pdf"))
    pdf = printed.read_bytes()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1 + 2 + 1
    assert check_printable(pdf, margin_band_mm=None) == []
    sending = next(e for e in paper["events"] if e["to"] == "sending")
    assert [d["sent_as"] for d in sending["details"]["extra_documents"]] == ["appended pages"] * 2
    sent = paper["events"][-1]
    with session_scope(engine) as session:
        _, kept = load_document(session, document_store(settings), sent["details"]["document_id"], "acme")
    assert kept == pdf


# -- PDF: POD pages appended, still printable ---------------------------------------------------------------


def test_append_pages_keeps_the_pdf_printable() -> None:
    invoice = canonical_json.parse(json.dumps(sample_invoice_json(1)))
    original = invoice_pdf.render(invoice).content
    assert len(PdfReader(io.BytesIO(original)).pages) == 1
    pod = pod_pdf(2)
    assert {p.code for p in check_printable(pod, margin_band_mm=None)} == {"left-margin"}  # as received
    merged = append_pages(original, [("application/pdf", pod), ("image/png", photo("PNG", (3000, 1000)))])
    reader = PdfReader(io.BytesIO(merged))
    assert len(reader.pages) == 4
    assert check_printable(merged, margin_band_mm=None) == []
    assert "Delivery note DN-77 page 2 of 2" in (reader.pages[2].extract_text() or "")
    merged_jpeg = append_pages(original, [("image/jpeg", photo("JPEG", (300, 2000)))])
    assert check_printable(merged_jpeg, margin_band_mm=None) == []


@pytest.mark.parametrize(
    ("media_type", "data", "reason"),
    [
        ("application/pdf", b"%PDF-1.4 not really", "not a readable PDF"),
        ("image/png", b"\x89PNG\r\n\x1a\n broken", "not a readable image"),
        ("text/plain", b"hello", "cannot be appended"),
    ],
)
def test_append_pages_names_the_attachment_it_cannot_use(media_type: str, data: bytes, reason: str) -> None:
    original = invoice_pdf.render(canonical_json.parse(json.dumps(sample_invoice_json(1)))).content
    with pytest.raises(FormatError, match=reason) as caught:
        append_pages(original, [("image/png", photo()), (media_type, data)])
    assert caught.value.where == "attachment 2"


# -- EHF: the POD as an embedded AdditionalDocumentReference, officially valid ------------------------------


def test_ehf_with_pod_embeds_it_and_passes_official_validation(settings: Settings) -> None:
    settings.rules_dir = RULES
    invoice = canonical_json.parse(json.dumps(sample_invoice_json(1)))
    pod = pod_pdf(1)
    documents = (
        ExtraDocument("d1", "application/pdf", "DN-77.pdf", pod),
        ExtraDocument("d2", "image/jpeg", "doorstep.jpg", photo("JPEG")),
    )
    xml = ubl.render(with_pod_attachments(invoice, documents)).content
    references = etree.fromstring(xml).findall("cac:AdditionalDocumentReference", NS)
    embedded = {
        r.findtext("cbc:ID", namespaces=NS): r.find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
        for r in references
    }
    assert set(embedded) >= {"POD-1", "POD-2"}
    first = embedded["POD-1"]
    assert first is not None
    assert (first.get("mimeCode"), first.get("filename")) == ("application/pdf", "DN-77.pdf")
    assert base64.b64decode(first.text or "") == pod
    [description] = [
        r.findtext("cbc:DocumentDescription", namespaces=NS)
        for r in references
        if r.findtext("cbc:ID", namespaces=NS) == "POD-1"
    ]
    assert description == "Proof of delivery"
    report = validator_from_settings(settings).validate(xml)
    assert report.ok, report.blocking


def test_ehf_delivery_resent_with_pod_carries_it(
    engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    settings.rules_dir = RULES
    invoice = sample_invoice_json(1)
    invoice["routing"] = {"format": "ehf"}
    invoice_id = _accept(engine, invoice)
    Worker(engine, settings).run(once=True)
    pod = pod_pdf(1)
    _link_pod(engine, settings, invoice_id, pod, "DN-77.pdf")
    with session_scope(engine) as session:
        resend_invoice(
            session, "acme", invoice_id, actor="ops", reason="POD", with_pod=True, channel=None, address=None
        )
    Worker(engine, settings).run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["status"] == "delivered", delivery["last_error"]
    sending = [e for e in delivery["events"] if e["to"] == "sending"][-1]
    assert sending["details"]["validation"]["format"] == "ehf"
    assert sending["details"]["extra_documents"][0]["sent_as"] == "embedded attachment"
    written = Path(delivery["channel_message_id"])
    assert written.name.endswith("-2.xml")
    assert base64.b64encode(pod) in written.read_bytes()
    assert not list(written.parent.glob("*.pod*"))  # carried inside the EHF, not beside it


# -- CLI -----------------------------------------------------------------------------------------------------


def test_cli_resend_with_pod(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(settings.data_dir.parent)
    invoice_id = _accept(engine, sample_invoice_json(1))
    Worker(engine, settings).run(once=True)
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["resend", invoice_id, "--with-pod"])
    assert refused.exit_code == 1
    assert "no proof of delivery linked" in refused.output
    pod = pod_pdf(1)
    _link_pod(engine, settings, invoice_id, pod, "pod.pdf")
    result = runner.invoke(cli_app, ["resend", invoice_id, "--with-pod", "--reason", "goods not received"])
    assert result.exit_code == 0, result.output
    assert re.search(r"attempt 2\).*proof", result.output.replace("\n", " "))
    Worker(engine, settings).run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    resend_event = next(e for e in delivery["events"] if e["attempt"] == 2)
    assert resend_event["actor"].startswith("cli:")
    assert resend_event["reason"] == "goods not received"
    assert resend_event["details"]["with_pod"] is True
    assert (outbound_dir / "acme" / f"INV-000001__{delivery['id']}-2.pod.pdf").read_bytes() == pod
