"""`receive_and_match`: the one receive-then-match use case (API today; CLI and drop folders can share it)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from db.engine import session_scope
from db.models import InvoiceRecord
from gateway.samples import sample_invoice_json
from gateway.services.outbound.documents import LocalDocumentStore
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.payments.intake import MATCHING_DEFERRED, RemittanceUpload, receive_and_match
from gateway.services.payments.matching_runs import acquire_lease, release_lease, run_matching
from gateway.services.tenancy.tenants import ensure_tenant
from tests.remittance_files import Tx, camt054


def _invoice(engine: Engine, n: int) -> InvoiceRecord:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    [result] = accept_invoices(
        engine, "acme", [IntakeItem(sample_invoice_json(n))], actor="test", default_channel="folder"
    )
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, result.invoice_id)
        assert record is not None
        return record


def test_files_are_booked_then_matched_once_and_listed(engine: Engine, tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path / "documents")
    first, second = _invoice(engine, 1), _invoice(engine, 2)
    pays_first = Tx(Decimal(first.payable_amount), kid=first.payment_reference)
    pays_second = Tx(Decimal(second.payable_amount), kid=second.payment_reference)
    uploads = [
        RemittanceUpload(camt054([pays_first], message_id="A"), "a.xml"),
        RemittanceUpload(b"not a remittance", "junk.txt"),
        RemittanceUpload(camt054([pays_second], message_id="B")),
    ]
    intake = receive_and_match(engine, store, uploads, tenant_id="acme", source="cli", actor="cli:test")
    assert [f.receipt.outcome for f in intake.files] == ["accepted", "rejected", "accepted"]
    assert intake.matching is not None and intake.matching.payments == 2
    assert intake.matching_answer() == intake.matching.as_dict()
    assert [[p["status"] for p in f.payments] for f in intake.files] == [["applied"], [], ["applied"]]
    again = receive_and_match(engine, store, uploads[:1], tenant_id="acme", source="cli", actor="cli:test")
    assert again.files[0].receipt.outcome == "duplicate" and again.matching is None
    assert again.files[0].payments == intake.files[0].payments  # the payments booked the first time


def test_matching_is_left_to_the_worker_when_not_asked_or_busy(engine: Engine, tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path / "documents")
    invoice = _invoice(engine, 1)
    tx = Tx(Decimal(invoice.payable_amount), kid=invoice.payment_reference)
    unmatched = receive_and_match(
        engine, store, [RemittanceUpload(camt054([tx], message_id="A"))], tenant_id="acme", source="api",
        actor="api:erp", match=False,
    )  # fmt: skip
    assert unmatched.matching_answer() is None
    assert [p["status"] for p in unmatched.files[0].payments] == ["new"]
    receive_and_match(
        engine, store, [], tenant_id="acme", source="api", actor="api:erp"
    )  # makes the lease row

    run_matching(engine, "acme")  # decides the first file's payment
    assert acquire_lease(engine, "acme", "another-run")
    try:
        tx2 = Tx(Decimal("10.00"), payer="Somebody", reference="R2")
        busy = receive_and_match(
            engine, store, [RemittanceUpload(camt054([tx2], message_id="B"))], tenant_id="acme", source="api",
            actor="api:erp",
        )  # fmt: skip
    finally:
        release_lease(engine, "acme", "another-run")
    assert busy.matching is None and busy.matching_answer() == {"deferred": MATCHING_DEFERRED}
    assert [p["status"] for p in busy.files[0].payments] == ["new"]
