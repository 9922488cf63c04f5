"""Proofs of delivery on a real outbox (SQLite and PostgreSQL): upload, link by every reference kind,
suggestions and manual links, photos, PDFs, transport statuses, bad uploads, folder drops and the CLI."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import PodLink, ProofOfDelivery, StoredDocument
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound import pods as service
from gateway.services.outbound.documents import ListableDocumentStore, document_store
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from mappings.syntax import x12
from tests.conftest import SHARED
from tests.document_stores import corrupt
from tests.mappings.test_transport_status import build_214, sample_iftsta
from transports.drop_folder import LocalDropFolder

SAMPLE_214 = SHARED / "samples" / "edi" / "x12" / "214" / "edinet_214-MGCTLYST-SAMPLE.EDI"
BROKEN_214 = SHARED / "samples" / "edi" / "x12" / "214" / "edinet_x12.214_broken_isa.edi"


# -- test files, made for real -----------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(width: int = 2, height: int = 2, *, rows: bytes | None = None) -> bytes:
    """A PNG by hand: signature, IHDR (8-bit RGB), one IDAT, IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = rows if rows is not None else b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(pixels))
            + _chunk(b"IEND", b""))  # fmt: skip


def make_jpeg(width: int = 3, height: int = 2) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, format="JPEG")
    return out.getvalue()


def make_pdf(text: str = "Received in good order", pages: int = 1) -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, invariant=1)
    for page in range(pages):
        pdf.drawString(72, 720, f"{text} — page {page + 1}")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def make_zip_bomb() -> bytes:
    """64 MB of zeros in a ZIP of some 64 kB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pod.pdf", b"\x00" * 64_000_000)
    return out.getvalue()


def test_made_images_are_real() -> None:
    from PIL import Image

    for data, size in ((make_png(2, 2), (2, 2)), (make_jpeg(3, 2), (3, 2))):
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.size == size
    assert service.examine(make_jpeg(3, 2)).details == {"width": 3, "height": 2}
    assert service.examine(make_png(2, 2)).details == {"width": 2, "height": 2}


# -- helpers -----------------------------------------------------------------------------------------------


def _accept(engine: Engine, *refs: dict[str, str], tenant: str = "acme") -> list[str]:
    """One invoice per dict of extra canonical fields (order_reference, despatch_advice_reference)."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    items = [IntakeItem({**sample_invoice_json(n + 1), **extra}) for n, extra in enumerate(refs)]
    results = accept_invoices(engine, tenant, items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * len(refs), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def _post(
    client: TestClient,
    auth: dict[str, Any],
    data: bytes,
    content_type: str = "application/pdf",
    **params: Any,
) -> Any:
    return client.post("/pods", content=data, params=params, headers={**auth, "Content-Type": content_type})


def _stored(engine: Engine, settings: Settings) -> tuple[int, int, int, list[str]]:
    """The rows, and the keys the configured document store holds (a folder on SQLite, the database on
    PostgreSQL)."""
    with session_scope(engine) as session:
        counts = [session.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (ProofOfDelivery, PodLink, StoredDocument)]  # fmt: skip
    store = document_store(settings, engine)
    assert isinstance(store, ListableDocumentStore)
    return counts[0], counts[1], counts[2], list(store.keys())


def _linked(body: dict[str, Any]) -> dict[str, str]:
    return {link["invoice_id"]: link["linked_by"] for link in body["links"]}


# -- linking -----------------------------------------------------------------------------------------------


def test_upload_links_by_each_reference_kind(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    by_order, by_note, by_shipment, by_number = _accept(
        engine, {"order_reference": "PO-1001"}, {"despatch_advice_reference": "DN-2002"},
        {"despatch_advice_reference": "SHP-3003"}, {},
    )  # fmt: skip
    cases = [
        ({"order_number": "PO-1001"}, by_order, "order_number"),
        ({"delivery_note": "dn-2002"}, by_note, "delivery_note"),  # case does not matter
        ({"shipment_id": "SHP-3003"}, by_shipment, "shipment_id"),
        ({"invoice_number": "INV-000004"}, by_number, "invoice_number"),
    ]
    for params, invoice_id, linked_by in cases:
        response = _post(client, auth, make_pdf(str(params)), filename="pod.pdf", signer_name="Kari Nordmann",
                         signed_at="2026-11-24T10:35:00+01:00", place="Oslo", **params)  # fmt: skip
        assert response.status_code == 201, response.text
        [pod] = response.json()["pods"]
        assert _linked(pod) == {invoice_id: linked_by}, params
        assert pod["linked"] and pod["kind"] == "pdf" and pod["signer_name"] == "Kari Nordmann"
        assert pod["signed_at"] == "2026-11-24T09:35:00+00:00" and pod["place"] == "Oslo"
        assert response.headers["Location"] == f"/pods/{pod['id']}"
        with session_scope(engine) as session:
            assert [p.id for p in service.pods_for_invoice(session, "acme", invoice_id)] == [pod["id"]]
    shown = client.get(f"/pods/{pod['id']}", headers=auth).json()
    assert shown["links"][0]["actor"].startswith("token:") or shown["links"][0]["actor"]
    assert shown["document"]["media_type"] == "application/pdf"


def test_a_reference_matching_two_invoices_links_both(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    first, second, third = _accept(engine, {"order_reference": "PO-77"}, {"order_reference": "PO-77"},
                               {"order_reference": "PO-78"})  # fmt: skip
    response = _post(client, auth, make_pdf(), order_number="PO-77")
    assert response.status_code == 201
    assert _linked(response.json()["pods"][0]) == {first: "order_number", second: "order_number"}
    # the invoice view shows its proofs of delivery; the third invoice has none
    pod_id = response.json()["pods"][0]["id"]
    for invoice_id in (first, second):
        shown = client.get(f"/invoices/{invoice_id}", headers=auth).json()
        assert [p["id"] for p in shown["proofs_of_delivery"]] == [pod_id]
    assert client.get(f"/invoices/{third}", headers=auth).json()["proofs_of_delivery"] == []


def test_unlinked_pod_waits_with_suggestions_then_is_linked_by_hand(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    close, _far = _accept(engine, {"order_reference": "PO-12345"}, {"order_reference": "XYZ"})
    response = _post(client, auth, make_jpeg(), "image/jpeg", order_number="PO-12354",
                     signed_at="2026-11-02")  # fmt: skip
    assert response.status_code == 201
    [pod] = response.json()["pods"]
    assert not pod["linked"] and pod["links"] == []
    best = pod["suggestions"][0]
    assert best["invoice_id"] == close and best["number"] == "INV-000001"
    assert "order number 'PO-12354'" in best["why"][0] and "order reference 'PO-12345'" in best["why"][0]
    assert "issued on the day of delivery (2026-11-02)" in best["why"]
    assert len(pod["suggestions"]) <= 3
    queue = client.get("/pods", params={"linked": "false"}, headers=auth).json()["items"]
    assert [p["id"] for p in queue] == [pod["id"]]

    linked = client.post(f"/pods/{pod['id']}/links", json={"invoice_id": close}, headers=auth)
    assert linked.status_code == 201
    assert _linked(linked.json()) == {close: "operator"} and linked.json()["suggestions"] == []
    assert client.get("/pods", params={"linked": "false"}, headers=auth).json()["items"] == []
    unknown = client.post(f"/pods/{pod['id']}/links", json={"invoice_id": "nope"}, headers=auth)
    assert unknown.status_code == 404

    unlinked = client.delete(f"/pods/{pod['id']}/links/{close}", headers=auth)
    assert unlinked.status_code == 200 and not unlinked.json()["linked"]
    assert unlinked.json()["suggestions"][0]["invoice_id"] == close
    assert client.delete(f"/pods/{pod['id']}/links/{close}", headers=auth).status_code == 404


def test_photos_and_pdf_are_kept_as_sent(client: TestClient, auth: dict[str, Any], engine: Engine) -> None:
    [invoice_id] = _accept(engine, {"despatch_advice_reference": "DN-5"})
    for data, media, kind in ((make_jpeg(), "image/jpeg", "jpeg"), (make_png(), "image/png", "png"),
                              (make_pdf(), "application/pdf", "pdf")):  # fmt: skip
        response = _post(client, auth, data, media, delivery_note="DN-5")
        assert response.status_code == 201, response.text
        [pod] = response.json()["pods"]
        assert pod["kind"] == kind and pod["filename"].startswith("pod-")
        content = client.get(f"/pods/{pod['id']}/content", headers=auth)
        assert content.status_code == 200
        assert content.content == data and content.headers["content-type"].startswith(media)
    with session_scope(engine) as session:
        kinds = [p.kind for p in service.pods_for_invoice(session, "acme", invoice_id)]
    assert sorted(kinds) == ["jpeg", "pdf", "png"]


def test_transport_statuses_become_linked_pods(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    by_order, by_shipment, by_invoice = _accept(
        engine, {"order_reference": "PO-4711"}, {"despatch_advice_reference": "75027674"}, {}
    )  # fmt: skip
    # IFTSTA built with our syntax layer: consignments 1 and 3 delivered, 2 in transit
    data = sample_iftsta(order="PO-4711", note="DN-1001", invoice="INV-000003")
    response = _post(client, auth, data, "application/EDIFACT")
    assert response.status_code == 201, response.text
    first, third = response.json()["pods"]
    assert (first["source"], first["kind"], first["status"]) == ("iftsta", "transport-status", "delivered")
    assert first["signer_name"] == "Kari Nordmann" and first["place"] == "Oslo"
    assert _linked(first) == {by_order: "order_number"}
    assert third["signer_name"] == "Ola Hansen"
    assert _linked(third) == {by_order: "order_number", by_invoice: "invoice_number"}  # INV-000003
    again = _post(client, auth, data, "application/EDIFACT")
    assert again.status_code == 200 and [p["id"] for p in again.json()["pods"]] == [first["id"], third["id"]]

    # the real 214 sample: B10 shipment id 75027674, AT7 D1 on 2016-07-26 12:30, MS1 BRATTLEBORO VT
    response = _post(client, auth, SAMPLE_214.read_bytes(), "application/EDI-X12")
    assert response.status_code == 201, response.text
    [pod] = response.json()["pods"]
    assert pod["source"] == "x12-214" and pod["status"] == "delivered"
    assert pod["signed_at"] == "2016-07-26T12:30:00+00:00" and pod["place"] == "BRATTLEBORO, VT"
    assert _linked(pod) == {by_shipment: "shipment_id"}
    content = client.get(f"/pods/{pod['id']}/content", headers=auth)
    assert content.content == SAMPLE_214.read_bytes()

    before = _stored(engine, settings)
    in_transit = build_214([x12.Segment.of("LX", "1"), x12.Segment.of("AT7", "X6", "NS", "", "", "20261123")])
    refused = _post(client, auth, in_transit, "application/EDI-X12")
    assert refused.status_code == 422 and "no delivered shipment" in refused.json()["errors"][0]["reason"]
    broken = _post(client, auth, BROKEN_214.read_bytes(), "application/EDI-X12")
    assert broken.status_code == 422  # the ISA is split by a line break
    reason = broken.json()["errors"][0]["reason"]
    assert "ISA" in reason and "line break" in reason
    assert _stored(engine, settings) == before


def test_bad_uploads_are_refused_and_nothing_is_stored(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    _accept(engine, {"order_reference": "PO-1"})
    pdf = make_pdf()
    settings.max_pod_bytes = 200_000
    cases: list[tuple[str, bytes, str, dict[str, Any], int, str, str]] = [
        ("zip", make_zip_bomb(), "application/pdf", {}, 415, "content", "ZIP archive"),
        ("html", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "application/pdf", {}, 415,
         "content", "HTML"),
        ("html type", b"<html></html>", "text/html", {}, 415, "content_type", "not accepted"),
        ("exe", b"MZ\x90\x00" + b"\x00" * 200, "image/png", {}, 415, "content", "Windows executable"),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/png", {}, 415, "content",
         "SVG"),
        ("type mismatch", make_png(), "application/pdf", {}, 415, "content_type", "PNG"),
        ("png bomb", make_png(100_000, 100_000, rows=b""), "image/png", {}, 422, "content",
         "decompression bomb"),
        ("too large", b"%PDF-1.7\n" + b"0" * 300_000, "application/pdf", {}, 413, "content", "limit"),
        ("broken pdf", b"%PDF-1.7\nnot really", "application/pdf", {}, 422, "content", "not a readable PDF"),
        ("traversal", pdf, "application/pdf", {"filename": "../../etc/passwd.pdf"}, 422, "filename",
         "path separator"),
        ("subfolder", pdf, "application/pdf", {"filename": "a/b.pdf"}, 422, "filename", "path separator"),
        ("windows", pdf, "application/pdf", {"filename": "C:\\x.pdf"}, 422, "filename", "path separator"),
        ("dots", pdf, "application/pdf", {"filename": "..pdf"}, 422, "filename", "'..'"),
        ("control", pdf, "application/pdf", {"filename": "a\x07.pdf"}, 422, "filename", "control"),
        ("long", pdf, "application/pdf", {"filename": "a" * 201 + ".pdf"}, 422, "filename", "at most 200"),
        ("date", pdf, "application/pdf", {"signed_at": "2026-13-45"}, 422, "signed_at", "ISO 8601"),
        ("signer", pdf, "application/pdf", {"signer_name": "x" * 300}, 422, "signer_name", "at most 200"),
    ]  # fmt: skip
    for name, data, media, params, status, field, reason in cases:
        response = _post(client, auth, data, media, order_number="PO-1", **params)
        assert response.status_code == status, (name, response.status_code, response.text)
        [error] = response.json()["errors"]
        assert error["field"] == field and reason in error["reason"], (name, error)
        assert _stored(engine, settings) == (0, 0, 0, []), name
    settings.max_pod_bytes = 20_000_000
    many_pages = make_pdf(pages=51)
    response = _post(client, auth, many_pages)
    assert response.status_code == 422 and "51 pages" in response.json()["errors"][0]["reason"]
    assert _stored(engine, settings) == (0, 0, 0, [])


def test_same_file_twice_answers_the_first_pod(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, token_for: Any
) -> None:
    data = make_png()
    first = _post(client, auth, data, "image/png", filename="photo.png")
    second = _post(client, auth, data, "image/png", filename="other-name.png", signer_name="Someone Else")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] and second.json()["pods"] == first.json()["pods"]
    assert _stored(engine, settings)[::2] == (1, 1)
    pod_id = first.json()["pods"][0]["id"]
    other = token_for("globex")
    assert client.get(f"/pods/{pod_id}", headers=other).status_code == 404
    assert client.get(f"/pods/{pod_id}/content", headers=other).status_code == 404
    assert client.get("/pods", headers=other).json()["items"] == []
    again_for_globex = _post(client, other, data, "image/png")
    assert again_for_globex.status_code == 201  # another tenant's receipt is its own


def test_corrupted_stored_file_is_not_served(
    client: TestClient, auth: dict[str, Any], settings: Settings, engine: Engine
) -> None:
    pod = _post(client, auth, make_pdf()).json()["pods"][0]
    store = document_store(settings, engine)
    [key] = _stored(engine, settings)[3]
    corrupt(store, key, b"%PDF-1.7 tampered")
    response = client.get(f"/pods/{pod['id']}/content", headers=auth)
    assert response.status_code == 500 and "corrupted" in response.json()["errors"][0]["reason"]


# -- folder drop and CLI -----------------------------------------------------------------------------------


def test_folder_drop_with_sidecars_and_the_file_name_convention(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    by_order, by_note = _accept(engine, {"order_reference": "PO-9"}, {"despatch_advice_reference": "DN-9"})
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "POD_order_PO-9_scan.pdf").write_bytes(make_pdf("order"))
    (drop / "photo.jpg").write_bytes(make_jpeg())
    (drop / "photo.jpg.json").write_text(json.dumps({
        "signer_name": "Kari", "signed_at": "2026-11-24T08:00:00Z", "place": "Bergen",
        "references": {"delivery_notes": ["DN-9"]},
    }))  # fmt: skip
    (drop / "bomb.zip").write_bytes(make_zip_bomb())
    (drop / "bad.png").write_bytes(make_png())
    (drop / "bad.png.json").write_text('{"signer_name": 5}')
    (drop / "notes.txt").write_text("hello")

    received = service.receive_pod_drop(engine, document_store(settings), LocalDropFolder(drop), "acme", "op")
    items = {i.file: i for i in received}
    assert {name: i.outcome for name, i in items.items()} == {
        "POD_order_PO-9_scan.pdf": "created", "photo.jpg": "created", "bomb.zip": "rejected",
        "bad.png": "rejected", "notes.txt": "rejected",
    }  # fmt: skip
    assert "ZIP archive" in (items["bomb.zip"].reason or "")
    assert "signer_name" in (items["bad.png"].reason or "")
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "POD_order_PO-9_scan.pdf", "photo.jpg", "photo.jpg.json"]  # fmt: skip
    rejected = sorted(p.name for p in (drop / "rejected").iterdir())
    assert rejected == ["bad.png", "bad.png.json", "bad.png.reason.txt", "bomb.zip", "bomb.zip.reason.txt",
                        "notes.txt", "notes.txt.reason.txt"]  # fmt: skip
    assert "ZIP" in (drop / "rejected" / "bomb.zip.reason.txt").read_text()
    assert [p.name for p in drop.iterdir() if p.is_file()] == []
    with session_scope(engine) as session:
        [order_pod] = service.pods_for_invoice(session, "acme", by_order)
        [note_pod] = service.pods_for_invoice(session, "acme", by_note)
        assert order_pod.source == "folder" and order_pod.references == {"order_numbers": ["PO-9"]}
        assert (note_pod.signer_name, note_pod.place) == ("Kari", "Bergen")
    # the same file dropped again is a repeat, not a second POD
    (drop / "again.pdf").write_bytes(make_pdf("order"))
    [again] = service.receive_pod_drop(engine, document_store(settings), LocalDropFolder(drop), "acme", "op")
    assert again.outcome == "duplicate" and again.pod_ids == [order_pod.id]
    assert (drop / "done" / "again.pdf").exists()


def test_cli_pod_add_list_link_and_drop(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(tmp_path)
    [invoice_id] = _accept(engine, {"order_reference": "PO-CLI"})
    runner = CliRunner()
    photo = tmp_path / "photo.png"
    photo.write_bytes(make_png())
    added = runner.invoke(cli_app, ["pod", "add", str(photo), "--tenant", "acme", "--order", "PO-CLX",
                                    "--signer", "Kari", "--signed-at", "2026-11-24T10:00"])  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli_app, ["pod", "list", "--unlinked", "--tenant", "acme", "--json"])
    [pod] = json.loads(listed.output)["items"]
    assert pod["suggestions"][0]["invoice_id"] == invoice_id
    linked = runner.invoke(cli_app, ["pod", "link", pod["id"], invoice_id, "--tenant", "acme"])
    assert linked.exit_code == 0, linked.output
    queue = runner.invoke(cli_app, ["pod", "list", "--unlinked", "--tenant", "acme", "--json"])
    assert json.loads(queue.output)["items"] == []
    bad = tmp_path / "x.zip"
    bad.write_bytes(make_zip_bomb()[:1000])
    refused = runner.invoke(cli_app, ["pod", "add", str(bad), "--tenant", "acme"])
    assert refused.exit_code == 1 and "ZIP" in refused.output
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "POD_invoice_INV-000001.pdf").write_bytes(make_pdf("cli drop"))
    dropped = runner.invoke(cli_app, ["pod", "drop", str(drop), "--tenant", "acme"])
    assert dropped.exit_code == 0, dropped.output
    with session_scope(engine) as session:
        assert len(service.pods_for_invoice(session, "acme", invoice_id)) == 2
