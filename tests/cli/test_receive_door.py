"""`gateway receive FILE…`, the one door on the command line, on SQLite and PostgreSQL: one real file of every
kind reaches its service (status documents keep their row as before), a repeat is stored once, what the
gateway does not receive is rejected (exit 2) when named and skipped in a folder, and the tenant named is
the one booked."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col
from typer.testing import CliRunner, Result

from db.engine import session_scope
from db.models import InboundDocument, PaymentRecord, ProofOfDelivery, RemittanceFile
from gateway.cli import app as cli_app
from gateway.services.inbound import pods as pod_service
from gateway.settings import Settings
from tests.conftest import SHARED
from tests.mappings.test_print_returns_format import RETURNED_XML
from tests.outbox_helpers import delivery_row
from tests.remittance_files import Tx, camt054
from tests.services.test_bounces import _email_delivery
from tests.services.test_bounces import _sample as dsn_sample
from tests.services.test_invoice_responses import _sent_invoice, _uc
from tests.services.test_pods import _accept, make_pdf, make_png

SAMPLES = SHARED / "samples"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: Engine) -> CliRunner:
    import gateway.cli

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("GATEWAY_RULES_DIR", raising=False)
    monkeypatch.setattr(gateway.cli.console, "width", 300)
    return CliRunner()


def _receive(runner: CliRunner, *args: str | Path) -> Result:
    return runner.invoke(cli_app, ["receive", *map(str, args)])


def _row(result: Result, name: str) -> str:
    return next(line for line in result.output.splitlines() if name in line)


def _count(engine: Engine, model: type, *where: object) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def test_one_file_of_every_kind_through_gateway_receive(
    run: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    response_delivery = _sent_invoice(engine)
    bounced = _email_delivery(engine, "INV-1002", n=2, address="full@ok.test")  # the DSN reports on it
    [by_order] = _accept(engine, {"order_reference": "PO-7"})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-accepted.xml").write_bytes(_uc("uc003"))
    (inbox / "b-bounce.eml").write_bytes(dsn_sample("INV-1002", "failed"))
    (inbox / "c-997.x12").write_bytes((SAMPLES / "edi/x12/997/bots_inbound_997_1.x12").read_bytes())
    (inbox / "d-camt.xml").write_bytes(camt054([Tx(Decimal("123.00"), kid="000000012344")]))
    (inbox / "e-ocr.txt").write_bytes((SAMPLES / "ocr/netsgiro_ocr_giro_transactions.txt").read_bytes())
    (inbox / "POD_order_PO-7.png").write_bytes(make_png())
    (inbox / "f-returned.xml").write_bytes(RETURNED_XML)
    (inbox / "g-readme.txt").write_text("not picked from a folder")
    (inbox / ".hidden.xml").write_bytes(_uc("uc001"))

    result = _receive(run, inbox, "--tenant", "acme")
    assert result.exit_code == 0, result.output
    # the status document's row as `gateway receive` always printed it
    accepted = _row(result, "a-accepted.xml")
    assert "invoice-response" in accepted and "AP" in accepted and response_delivery in accepted
    assert "delivered" in accepted and "yes" in accepted
    assert delivery_row(engine, response_delivery).status == "delivered"
    assert "dsn" in _row(result, "b-bounce.eml") and "failed" in _row(result, "b-bounce.eml")
    assert delivery_row(engine, bounced).status == "deviation"
    assert "edi-ack" in _row(result, "c-997.x12")
    assert "remittance:camt" in _row(result, "d-camt.xml") and "1 payment(s)" in _row(result, "d-camt.xml")
    assert "remittance:ocr-giro" in _row(result, "e-ocr.txt") and "20 payment(s)" in _row(result, "e-ocr.txt")
    assert "pod:png" in _row(result, "POD_order_PO-7.png") and "linked" in _row(result, "POD_order_PO-7.png")
    assert "print-return:returned" in _row(result, "f-returned.xml")
    assert "skipped" in _row(result, "g-readme.txt")
    assert ".hidden.xml" not in result.output
    with session_scope(engine) as session:
        [pod] = pod_service.pods_for_invoice(session, "acme", by_order)
        assert pod.source == "cli" and pod.filename == "POD_order_PO-7.png"
    assert _count(engine, RemittanceFile, col(RemittanceFile.tenant_id) == "acme") == 2
    assert (inbox / "g-readme.txt").exists()  # a folder is read, not emptied

    # the same files again: every one a repeat, nothing stored twice
    stored = (_count(engine, InboundDocument), _count(engine, PaymentRecord), _count(engine, ProofOfDelivery))
    again = _receive(run, inbox / "a-accepted.xml", inbox / "d-camt.xml", inbox / "POD_order_PO-7.png",
                     "--tenant", "acme")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert all("repeat" in _row(again, name) for name in ("a-accepted", "d-camt", "POD_order"))
    after = (_count(engine, InboundDocument), _count(engine, PaymentRecord), _count(engine, ProofOfDelivery))
    assert after == stored


def test_what_is_not_received_is_rejected_when_named(run: CliRunner, engine: Engine, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 no format at all")
    ehf = SAMPLES / "ehf/dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml"
    pod = tmp_path / "scan.pdf"
    pod.write_bytes(make_pdf("signed"))
    result = _receive(run, junk, ehf, pod)  # no tenant: a POD is booked for one
    assert result.exit_code == 2, result.output
    assert "rejected" in _row(result, "junk.bin") and "not a file the gateway" in result.output
    assert "rejected" in _row(result, "dfo_Invoice") and "/invoices" in result.output
    assert "rejected" in _row(result, "scan.pdf") and "name the tenant" in result.output
    assert _count(engine, ProofOfDelivery) == 0
    missing = _receive(run, tmp_path / "nope.xml")
    assert missing.exit_code == 2  # a path that is not there is a usage error


def test_the_tenant_named_is_the_one_booked(run: CliRunner, engine: Engine, tmp_path: Path) -> None:
    [invoice_id] = _accept(engine, {"order_reference": "PO-1"})
    photo = tmp_path / "POD_order_PO-1.png"
    photo.write_bytes(make_png())
    result = _receive(run, photo, "--tenant", "globex")
    assert result.exit_code == 0, result.output
    assert "unlinked" in _row(result, "POD_order_PO-1.png")
    with session_scope(engine) as session:
        assert pod_service.pods_for_invoice(session, "acme", invoice_id) == []
    assert _count(engine, ProofOfDelivery, col(ProofOfDelivery.tenant_id) == "globex") == 1
    # the same bytes for acme are acme's own POD (each tenant keeps its own), linked to its invoice
    mine = _receive(run, photo, "--tenant", "acme")
    assert mine.exit_code == 0 and "linked" in _row(mine, "POD_order_PO-1.png")
    with session_scope(engine) as session:
        assert len(pod_service.pods_for_invoice(session, "acme", invoice_id)) == 1
