"""The print channel end to end on the folder transport: stage, cut-off, one batch, return files.

The worker and the outbox are real (SQLite and PostgreSQL); the print house is a directory the test reads
and writes as the print house would. The SFTP transport's own cases are in test_sftp_end_to_end.py.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from channels import create_channel
from channels.base import Failed, OutboundDelivery, Staged
from channels.print_sftp import PrintChannel
from db.engine import session_scope
from db.models import Batch, BatchItem, InboundDocument, utcnow
from gateway.samples import sample_invoice, sample_invoice_json
from gateway.services.inbound.print_returns import poll_print_returns
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.batches import close_due_batches
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from mappings import render
from mappings.base import RenderedDocument
from mappings.print import batch as print_batch
from outbox.states import IllegalTransition
from schemas.tenant import TenantSettings
from tests.conftest import SHARED

PRINT_SAMPLES = SHARED / "samples" / "print"


def _print_settings(settings: Settings, root: Path, **profile: Any) -> Path:
    settings.channels = {
        "print": {
            "directory": str(root),
            "profiles": {"default": {"cutoffs": ["15:00"], **profile}},
            "retry": {"base_seconds": 1, "jitter": False, "max_tries": 2},
        }
    }
    return root


def _accept(engine: Engine, count: int, tenant: str = "acme", **changes: Any) -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    items = []
    for n in range(1, count + 1):
        payload = sample_invoice_json(n)
        payload["routing"] = {"channel": "print"}
        payload.update(changes)
        items.append(IntakeItem(payload))
    results = accept_invoices(engine, tenant, items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * count, [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def _deliveries(engine: Engine, invoice_ids: list[str], tenant: str = "acme") -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [service.invoice_view(session, tenant, i)["deliveries"][0] for i in invoice_ids]


def _pass_cutoff(engine: Engine) -> None:
    """The clock reaches the cut-off: every staged item is due."""
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))


def _batches(engine: Engine) -> list[Batch]:
    with session_scope(engine) as session:
        return list(session.execute(select(Batch).order_by(col(Batch.id))).scalars())


def test_paper_invoices_wait_for_the_cutoff_then_leave_as_one_batch(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    invoice_ids = _accept(engine, 3)
    worker = Worker(engine, settings, worker_id="w")
    assert worker.run(once=True).outcomes == {"batched": 3}
    deliveries = _deliveries(engine, invoice_ids)
    assert {d["status"] for d in deliveries} == {"batched"}
    assert "waiting for the default print batch" in deliveries[0]["events"][-1]["reason"]
    assert not (root / "in").exists()  # nothing leaves before the cut-off

    _pass_cutoff(engine)
    stats = Worker(engine, settings, worker_id="w2").run(once=True)
    assert stats.outcomes == {"batch sent": 1}
    [batch] = _batches(engine)
    assert batch.status == "sent"
    assert batch.item_count == 3
    assert batch.id.startswith("acme-default-")
    uploaded = root / "in" / batch.id
    names = sorted(p.name for p in uploaded.iterdir())
    assert names == sorted([f"{batch.id}-{n:05d}.pdf" for n in (1, 2, 3)] + [f"{batch.id}.csv"])
    assert not list((root / "in").glob("*.part"))
    index = print_batch.parse((uploaded / f"{batch.id}.csv").read_bytes())
    deliveries = _deliveries(engine, invoice_ids)
    assert {e.delivery_id for e in index.entries} == {d["id"] for d in deliveries}
    assert all(e.recipient.name for e in index.entries)
    for delivery in deliveries:
        assert delivery["status"] == "sent"
        assert delivery["channel_message_id"] == batch.id
        assert [e["to"] for e in delivery["events"]] == [
            "queued", "rendering", "sending", "batched", "sent",
        ]  # fmt: skip
    # every PDF in the batch is the document that was checked when it was staged
    with session_scope(engine) as session:
        items = {i.sequence: i.content for i in session.execute(select(BatchItem)).scalars()}
    for entry in index.entries:
        assert (uploaded / entry.file).read_bytes() == items[entry.sequence]


def test_a_second_hand_over_of_the_same_batch_is_a_no_op(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    _accept(engine, 2)
    Worker(engine, settings, worker_id="w").run(once=True)
    _pass_cutoff(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    channel = create_channel("print", settings.channel_settings("print"))
    assert isinstance(channel, PrintChannel)
    from gateway.services.outbound.batches import BatchClaim, load_batch

    claim = BatchClaim(batch.id, batch.tenant_id, "print", batch.batch_key, batch.cutoff_at, 1, "t", False)
    with session_scope(engine) as session:
        outbound = load_batch(session, claim)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (root / "in" / batch.id).iterdir())
    result = channel.send_batch(outbound)
    assert result.detail is not None and "already" in result.detail
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (root / "in" / batch.id).iterdir()) == before
    assert [p.name for p in (root / "in").iterdir()] == [batch.id]


def test_an_address_that_cannot_be_posted_goes_to_deviation_and_the_rest_goes_on(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _print_settings(settings, tmp_path / "print-house")
    good = _accept(engine, 2)
    payload = sample_invoice_json(9)
    payload["routing"] = {"channel": "print"}
    payload["buyer"]["address"] = {"country": "NO", "lines": ["Storgata 1"], "city": "Oslo"}
    [bad] = accept_invoices(engine, "acme", [IntakeItem(payload)], actor="test", default_channel="folder")
    assert bad.invoice_id is not None
    Worker(engine, settings, worker_id="w").run(once=True)
    [bad_delivery] = _deliveries(engine, [bad.invoice_id])
    assert bad_delivery["status"] == "deviation"
    assert "postal" in bad_delivery["last_error"] and "not a postable address" in bad_delivery["last_error"]
    _pass_cutoff(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    assert batch.item_count == 2
    assert {d["status"] for d in _deliveries(engine, good)} == {"sent"}


def _outbound(pdf: bytes, tenant: TenantSettings | None = None) -> OutboundDelivery:
    invoice = sample_invoice(1)
    return OutboundDelivery(
        delivery_id="d1",
        invoice_id="i1",
        tenant_id="acme",
        attempt=1,
        address=None,
        document=RenderedDocument("pdf", pdf, "application/pdf", "pdf"),
        invoice=invoice,
        tenant_settings=tenant,
    )


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        ("digipost_a4-21pages.pdf", "too-many-pages"),
        ("digipost_a4-full-page.pdf", "left-margin"),
        ("digipost_a4-left-margin-14_5mm.pdf", "left-margin"),
        ("digipost_a5-left-margin-15mm.pdf", "not-a4"),
        ("digipost_corrupt.pdf", "unreadable"),
        ("digipost_encrypted-with-password.pdf", "encrypted"),
        ("digipost_uten-embeddede-fonter.pdf", "font-not-embedded"),
    ],
)
def test_unprintable_pdfs_are_refused_with_the_reason(sample: str, reason: str, tmp_path: Path) -> None:
    channel = create_channel("print", {"directory": str(tmp_path)})
    assert isinstance(channel, PrintChannel)
    result = channel.stage(_outbound((PRINT_SAMPLES / sample).read_bytes()))
    assert isinstance(result, Failed)
    assert result.deviation
    assert "not printable" in result.reason
    assert reason in result.reason


def test_the_good_print_sample_and_our_own_pdf_are_staged(tmp_path: Path) -> None:
    channel = create_channel("print", {"directory": str(tmp_path)})
    assert isinstance(channel, PrintChannel)
    ours = render("pdf", sample_invoice(1)).content
    for pdf in (ours, (PRINT_SAMPLES / "digipost_a4-free-barcode-area.pdf").read_bytes()):
        # the shared sample has its own content in the left strip outside Digipost's barcode band; our
        # stage check uses the whole height for our own PDFs, so only ours is checked that strictly
        result = channel.stage(_outbound(pdf))
        if pdf is ours:
            assert isinstance(result, Staged), result
            assert result.batch_key == "default"
            assert result.meta["pages"] == 1
            assert result.due_at > utcnow()


def test_tenant_chooses_the_print_profile_and_an_unknown_one_is_a_deviation(tmp_path: Path) -> None:
    channel = create_channel(
        "print",
        {
            "directory": str(tmp_path),
            "profiles": {"default": {}, "express": {"cutoffs": ["09:00", "13:00"], "post_class": "A"}},
        },
    )
    assert isinstance(channel, PrintChannel)
    pdf = render("pdf", sample_invoice(1)).content
    staged = channel.stage(_outbound(pdf, TenantSettings(print_profile="express")))
    assert isinstance(staged, Staged) and staged.batch_key == "express"
    failed = channel.stage(_outbound(pdf, TenantSettings(print_profile="nightly")))
    assert isinstance(failed, Failed) and failed.deviation and "nightly" in failed.reason


def test_cancel_takes_a_waiting_document_out_but_not_from_a_closed_batch(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _print_settings(settings, tmp_path / "print-house")
    first, second, third = _accept(engine, 3)
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        delivery = service.resolve_delivery(session, "acme", first)
        service.cancel(session, delivery, actor="test", reason="customer paid at the counter")
    _pass_cutoff(engine)
    with session_scope(engine) as session:
        [batch_id] = close_due_batches(session)
    with session_scope(engine) as session:
        delivery = service.resolve_delivery(session, "acme", second)
        with pytest.raises(IllegalTransition, match="closed"):
            service.cancel(session, delivery, actor="test", reason="too late")
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    assert batch.id == batch_id and batch.item_count == 2 and batch.status == "sent"
    statuses = [d["status"] for d in _deliveries(engine, [first, second, third])]
    assert statuses == ["cancelled", "sent", "sent"]


def test_a_print_house_that_stays_unreachable_ends_in_deviation_for_the_whole_batch(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    root.mkdir(parents=True)
    (root / "in").write_text("a file where the incoming folder should be")  # every upload fails
    invoice_ids = _accept(engine, 2)
    Worker(engine, settings, worker_id="w").run(once=True)
    _pass_cutoff(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    assert batch.status == "ready" and batch.tries == 1 and batch.last_error
    deliveries = _deliveries(engine, invoice_ids)
    assert {d["status"] for d in deliveries} == {"batched"}
    assert "not handed over (try 1)" in deliveries[0]["events"][-1]["reason"]
    with session_scope(engine) as session:
        session.execute(update(Batch).values(next_attempt_at=utcnow()))
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    assert batch.status == "failed"
    for delivery in _deliveries(engine, invoice_ids):
        assert delivery["status"] == "deviation"
        assert "gave up after 2 tries" in delivery["last_error"]


def test_merged_zip_with_xml_index(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    root = _print_settings(
        settings, tmp_path / "print-house", layout="merged", packaging="zip", index_format="xml"
    )
    invoice_ids = _accept(engine, 3)
    Worker(engine, settings, worker_id="w").run(once=True)
    _pass_cutoff(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    archive = root / "in" / f"{batch.id}.zip"
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as packed:
        assert sorted(packed.namelist()) == sorted([f"{batch.id}.pdf", f"{batch.id}.xml"])
        index = print_batch.parse(packed.read(f"{batch.id}.xml"))
    first_pages = [e.first_page for e in sorted(index.entries, key=lambda e: e.sequence)]
    assert first_pages[0] == 1
    assert first_pages == sorted(set(first_pages))  # each document starts after the one before
    assert {e.delivery_id for e in index.entries} == {d["id"] for d in _deliveries(engine, invoice_ids)}


# -- return files ---------------------------------------------------------------------------------------


def _sent_batch(
    engine: Engine, settings: Settings, root: Path, count: int
) -> tuple[Batch, list[dict[str, Any]]]:
    invoice_ids = _accept(engine, count)
    Worker(engine, settings, worker_id="w").run(once=True)
    _pass_cutoff(engine)
    Worker(engine, settings, worker_id="w").run(once=True)
    [batch] = _batches(engine)
    return batch, _deliveries(engine, invoice_ids)


def _print_channel(settings: Settings) -> PrintChannel:
    channel = create_channel("print", settings.channel_settings("print"))
    assert isinstance(channel, PrintChannel)
    return channel


def test_receipts_production_and_returned_mail_move_the_deliveries(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    batch, deliveries = _sent_batch(engine, settings, root, 3)
    outgoing = root / "out"
    outgoing.mkdir(parents=True)
    # the print house plays its part: a receipt, a production report, and later a returned letter
    (outgoing / "receipt.xml").write_text(
        f'<PrintReceipt xmlns="urn:invoice-gateway:print-return:1" batchId="{batch.id}" status="accepted"'
        f' documents="3" receivedAt="2026-11-24T15:03:00Z"/>'
    )
    sequence = _sequences(engine)
    rows = "".join(
        f"production;{batch.id};{sequence[d['id']]};{d['id']};;posted;2026-11-25;;\n" for d in deliveries[:2]
    )
    (outgoing / "production.csv").write_text(
        "record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason\n" + rows
    )
    report = poll_print_returns(engine, _print_channel(settings))
    assert not report.errors
    assert sorted(f["file"] for f in report.files) == ["production.csv", "receipt.xml"]
    assert not [p for p in outgoing.iterdir() if p.is_file()]
    assert sorted(p.name for p in (outgoing / "archive").iterdir()) == ["production.csv", "receipt.xml"]
    [batch] = _batches(engine)
    assert batch.status == "accepted"
    statuses = {d["id"]: d["status"] for d in _deliveries_by_id(engine, deliveries)}
    assert [statuses[d["id"]] for d in deliveries] == ["delivered", "delivered", "sent"]

    (outgoing / "returned.xml").write_text(
        '<ReturnedMail xmlns="urn:invoice-gateway:print-return:1" reportedAt="2026-12-02T08:00:00Z">'
        f'<Item deliveryId="{deliveries[0]["id"]}" batchId="{batch.id}" returnedOn="2026-12-01"'
        ' reasonCode="MOVED">Flyttet, ukjent adresse</Item></ReturnedMail>'
    )
    poll_print_returns(engine, _print_channel(settings))
    [first] = _deliveries_by_id(engine, deliveries[:1])
    assert first["status"] == "deviation"
    assert "returned mail (MOVED" in first["last_error"]
    reasons = [e["reason"] or "" for e in first["events"]]
    assert any("accepted batch" in r for r in reasons)
    assert any("posted by the print house on 2026-11-25" in r for r in reasons)
    with session_scope(engine) as session:
        outcomes = {i.delivery_id: i.outcome for i in session.execute(select(BatchItem)).scalars()}
    assert [outcomes[d["id"]] for d in deliveries] == ["returned", "posted", None]


def _sequences(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {i.delivery_id: i.sequence or 0 for i in session.execute(select(BatchItem)).scalars()}


def _deliveries_by_id(engine: Engine, deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same deliveries read again (each invoice here has one delivery)."""
    return _deliveries(engine, [d["invoice_id"] for d in deliveries])


def test_the_same_return_file_twice_is_applied_once_and_a_bad_one_is_kept(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    batch, deliveries = _sent_batch(engine, settings, root, 2)
    outgoing = root / "out"
    outgoing.mkdir(parents=True)
    receipt = (
        f'<PrintReceipt xmlns="urn:invoice-gateway:print-return:1" batchId="{batch.id}" status="rejected"'
        ' documents="2" receivedAt="2026-11-24T15:03:00Z"><Reason code="INDEX">index does not match</Reason>'
        "</PrintReceipt>"
    )
    (outgoing / "receipt-1.xml").write_text(receipt)
    (outgoing / "broken.csv").write_text("record;batch_id\nproduction;x;y;z\n")
    first = poll_print_returns(engine, _print_channel(settings))
    by_file = {f["file"]: f for f in first.files}
    assert by_file["broken.csv"]["rejected"]
    assert by_file["receipt-1.xml"]["applied"] == 2
    for delivery in _deliveries_by_id(engine, deliveries):
        assert delivery["status"] == "deviation"
        assert "rejected batch" in delivery["last_error"] and "index does not match" in delivery["last_error"]
    # the print house drops the same receipt again under another name: stored once, applied once
    (outgoing / "receipt-2.xml").write_text(receipt)
    second = poll_print_returns(engine, _print_channel(settings))
    assert [f["repeated"] for f in second.files] == [True]
    with session_scope(engine) as session:
        kinds = sorted(d.kind for d in session.execute(select(InboundDocument)).scalars())
    assert kinds == ["print-return", "print-return:receipt"]
    assert sorted(p.name for p in (outgoing / "archive").iterdir()) == [
        "broken.csv", "receipt-1.xml", "receipt-2.xml",
    ]  # fmt: skip


def test_the_worker_reads_return_files_on_its_own_schedule(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = _print_settings(settings, tmp_path / "print-house")
    batch, deliveries = _sent_batch(engine, settings, root, 1)
    (root / "out").mkdir(parents=True)
    (root / "out" / "production.xml").write_text(
        f'<ProductionReport xmlns="urn:invoice-gateway:print-return:1" batchId="{batch.id}"'
        ' producedAt="2026-11-25T06:10:00Z">'
        f'<Document deliveryId="{deliveries[0]["id"]}" sequence="1" status="posted" postedOn="2026-11-25"'
        ' postClass="B"/></ProductionReport>'
    )
    worker = Worker(engine, settings, worker_id="w")
    worker.run(once=True)  # the first read waits one interval
    assert _deliveries_by_id(engine, deliveries)[0]["status"] == "sent"
    worker.periodic.make_due("print-returns")  # the interval has passed
    worker.run(once=True)
    [delivery] = _deliveries_by_id(engine, deliveries)
    assert delivery["status"] == "delivered"
    assert "post class B" in delivery["events"][-1]["reason"]
    assert (root / "out" / "archive" / "production.xml").is_file()


def test_render_print_index_shows_what_paper_delivery_reads_and_refuses_a_bad_address() -> None:
    from mappings.base import FormatError

    index = print_batch.parse(render("print-index", sample_invoice(1)).content)
    [entry] = index.entries
    invoice = sample_invoice(1)
    assert invoice.buyer.address is not None
    assert entry.recipient.name == invoice.buyer.name
    assert entry.recipient.postcode == invoice.buyer.address.postal_code
    assert (entry.pages, entry.sheets, entry.post_class) == (1, 1, "B")
    broken = invoice.model_copy(
        update={"buyer": invoice.buyer.model_copy(update={"address": invoice.buyer.address.model_copy(
            update={"postal_code": None}
        )})}
    )  # fmt: skip
    with pytest.raises(FormatError, match="postal_code"):
        render("print-index", broken)


def test_batches_api_shows_waiting_documents_then_the_batch_with_its_documents(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from gateway.api.app import create_app
    from tests.conftest import make_token

    _print_settings(settings, tmp_path / "print-house")
    invoice_ids = _accept(engine, 2)
    other_token = make_token(engine, "other")
    token = make_token(engine, "acme")
    Worker(engine, settings, worker_id="w").run(once=True)
    with TestClient(create_app(settings, engine)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        waiting = client.get("/batches", headers=auth).json()
        assert waiting["items"] == []
        assert [(w["batch_key"], w["items"]) for w in waiting["waiting"]] == [("default", 2)]
        _pass_cutoff(engine)
        Worker(engine, settings, worker_id="w").run(once=True)
        listed = client.get("/batches", headers=auth).json()
        [batch] = listed["items"]
        assert batch["status"] == "sent" and batch["documents"] == 2 and listed["waiting"] == []
        detail = client.get(f"/batches/{batch['id']}", headers=auth).json()
        expected = {d["id"] for d in _deliveries(engine, invoice_ids)}
        assert {i["delivery_id"] for i in detail["items"]} == expected
        assert [i["sequence"] for i in detail["items"]] == [1, 2]
        assert all(i["delivery_status"] == "sent" and i["pages"] == 1 for i in detail["items"])
        other = {"Authorization": f"Bearer {other_token}"}
        assert client.get(f"/batches/{batch['id']}", headers=other).status_code == 404
        assert client.get("/batches", headers=other).json() == {"items": [], "waiting": []}


def test_a_worker_that_dies_after_the_upload_is_taken_over_without_a_second_print_job(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from gateway.services.outbound.batches import claim_batches, load_batch

    root = _print_settings(settings, tmp_path / "print-house")
    invoice_ids = _accept(engine, 2)
    Worker(engine, settings, worker_id="w").run(once=True)
    _pass_cutoff(engine)
    with session_scope(engine) as session:
        [batch_id] = close_due_batches(session)
    # worker A claims the batch, uploads it (the commit point) and dies before it can record that
    with session_scope(engine) as session:
        [claim] = claim_batches(session, worker_id="A", lease_seconds=60)
    with session_scope(engine) as session:
        outbound = load_batch(session, claim)
    assert _print_channel(settings).send_batch(outbound).detail.startswith("uploaded")  # type: ignore[union-attr]
    with session_scope(engine) as session:  # A's lease runs out
        session.execute(update(Batch).values(lease_expires_at=utcnow() - dt.timedelta(seconds=1)))
    # worker B takes the batch over, finds it committed, and records it as sent
    assert Worker(engine, settings, worker_id="B").run(once=True).outcomes == {"batch sent": 1}
    [batch] = _batches(engine)
    assert batch.id == batch_id and batch.status == "sent" and batch.tries == 1
    assert [p.name for p in (root / "in").iterdir()] == [batch_id]
    for delivery in _deliveries(engine, invoice_ids):
        assert delivery["status"] == "sent"
        assert "committed by an earlier try" in delivery["events"][-1]["reason"]
    # A wakes up and tries to write its outcome: refused, nothing changes
    from gateway.services.outbound.batches import BatchLeaseLost, BatchStatus, finish_batch

    with pytest.raises(BatchLeaseLost), session_scope(engine) as session:
        finish_batch(session, claim, status=BatchStatus.FAILED, last_error="late")
    assert _batches(engine)[0].status == "sent"


def test_two_workers_closing_at_the_same_time_put_each_document_in_one_batch(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import threading

    _print_settings(settings, tmp_path / "print-house")
    _accept(engine, 30)
    Worker(engine, settings, worker_id="w").run(once=True)
    _pass_cutoff(engine)
    start = threading.Barrier(2)
    closed: list[list[str]] = []

    def close() -> None:
        start.wait()
        with session_scope(engine) as session:
            closed.append(close_due_batches(session))

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_scope(engine) as session:
        items = list(session.execute(select(BatchItem)).scalars())
        batches = list(session.execute(select(Batch)).scalars())
    assert all(item.batch_id for item in items)
    assert sum(batch.item_count for batch in batches) == 30
    per_batch = {b.id: sorted(i.sequence or 0 for i in items if i.batch_id == b.id) for b in batches}
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in per_batch.values())
    assert sorted(batch_id for ids in closed for batch_id in ids) == sorted(per_batch)
