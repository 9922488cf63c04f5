"""AvtaleGiro end to end on a real outbox (SQLite and PostgreSQL): mandates from Nets' agreements file (CLI,
remittance drop), claims staged and handed over in one claim file at the cut-off, a claim withdrawn with
`gateway avtalegiro cancel` going as a cancellation record in the next file, and a settled claim coming
back in an OCR giro file (transaction type 15) that marks the invoice paid.

Nets is a drop folder the test reads as Nets would (with netsgiro); the worker, the CLI (typer's runner)
and the API (TestClient) are the real ones.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import netsgiro
import pytest
from fastapi.testclient import TestClient
from netsgiro import AssignmentType, ServiceCode, TransactionType
from netsgiro.objects import Agreement, Transaction
from sqlalchemy import Engine, select, update
from sqlmodel import col
from typer.testing import CliRunner, Result

from channels import create_channel
from channels.avtalegiro import AvtaleGiroChannel
from db.engine import session_scope
from db.models import AvtaleGiroCancellation, AvtaleGiroMandate, Batch, BatchItem, utcnow
from gateway.cli import app
from gateway.samples import kid_for, sample_invoice_json
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from tests.conftest import SHARED

AGREEMENTS = SHARED / "samples" / "ocr" / "netsgiro_avtalegiro_agreements.txt"
#: Two payers of the shared agreements file: the first asks the bank to notify (J), the second not (N).
NOTIFIED_KID, SILENT_KID = "000112000507155", "001006300507304"
ACCOUNT = "86011117947"
OSLO = ZoneInfo("Europe/Oslo")
runner = CliRunner()


@pytest.fixture
def nets(settings: Settings, tmp_path: Path) -> Path:
    """Nets' drop folder, and the AvtaleGiro channel configured to write into it."""
    root = tmp_path / "nets"
    settings.channels = {
        "avtalegiro": {
            "directory": str(root),
            "data_transmitter": "12345678",
            "agreements": {"default": {"assignment_account": ACCOUNT, "agreement_id": "123456789"}},
            "retry": {"base_seconds": 1, "jitter": False, "max_tries": 2},
        }
    }
    return root / "avtalegiro" / "out"


def cli(settings: Settings, *args: str) -> Result:
    return runner.invoke(app, list(args), obj=settings)


def handover_day(settings: Settings) -> dt.date:
    channel = create_channel("avtalegiro", settings.channel_settings("avtalegiro"))
    assert isinstance(channel, AvtaleGiroChannel)
    return channel.next_cutoff("acme").astimezone(OSLO).date()


def accept(
    engine: Engine, settings: Settings, claims: list[tuple[int, str]], due_in_days: int = 30
) -> list[str]:
    """Invoices (sample number, KID) routed to AvtaleGiro, due `due_in_days` after the next hand-over."""
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    due = handover_day(settings) + dt.timedelta(days=due_in_days)
    items = []
    for n, kid in claims:
        payload = sample_invoice_json(n)
        payload["routing"] = {"channel": "avtalegiro"}
        payload["due_date"] = due.isoformat()
        payload["payment_means"][0]["payment_id"] = kid
        items.append(IntakeItem(payload))
    results = accept_invoices(engine, "acme", items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * len(claims), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def invoice_view(engine: Engine, invoice_id: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        view: dict[str, Any] = delivery_service.invoice_view(session, "acme", invoice_id)
    return view


def delivery_of(engine: Engine, invoice_id: str) -> dict[str, Any]:
    delivery: dict[str, Any] = invoice_view(engine, invoice_id)["deliveries"][0]
    return delivery


def pass_cutoffs(engine: Engine) -> None:
    """The clock reaches the cut-off: every staged claim and every waiting cancellation is due."""
    past = utcnow() - dt.timedelta(seconds=1)
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=past))
        session.execute(update(AvtaleGiroCancellation).values(due_at=past))


def read_file(path: Path) -> netsgiro.Transmission:
    return netsgiro.parse(path.read_bytes().decode("iso-8859-1"))


def claims_sent(engine: Engine, settings: Settings, nets: Path) -> tuple[list[str], Path]:
    """Mandates from the shared agreements file, two claims staged and handed over: the invoices and file."""
    imported = cli(settings, "avtalegiro", "mandates", str(AGREEMENTS), "--tenant", "acme")
    assert imported.exit_code == 0, imported.output
    invoice_ids = accept(engine, settings, [(1, NOTIFIED_KID), (2, SILENT_KID)])
    Worker(engine, settings, worker_id="w1").run(once=True)
    assert [delivery_of(engine, i)["status"] for i in invoice_ids] == ["batched", "batched"]
    assert not nets.exists()  # nothing leaves before the cut-off
    pass_cutoffs(engine)
    assert Worker(engine, settings, worker_id="w2").run(once=True).outcomes == {"batch sent": 1}
    (path,) = sorted(nets.iterdir())
    return invoice_ids, path


def test_the_shared_agreements_file_fills_the_mandates_from_the_cli(
    engine: Engine, settings: Settings, nets: Path
) -> None:
    result = cli(settings, "avtalegiro", "mandates", str(AGREEMENTS), "--tenant", "acme", "--json")
    assert result.exit_code == 0, result.output
    with session_scope(engine) as session:
        rows = {row.kid: row for row in session.execute(select(AvtaleGiroMandate)).scalars()}
    assert len(rows) == 16
    assert (rows[NOTIFIED_KID].status, rows[NOTIFIED_KID].notify) == ("active", True)
    assert (rows[SILENT_KID].status, rows[SILENT_KID].notify) == ("active", False)
    assert {row.source_file for row in rows.values()} == {AGREEMENTS.name}
    again = cli(settings, "avtalegiro", "mandates", str(AGREEMENTS), "--tenant", "acme")
    assert again.exit_code == 0 and "0 new, 0 updated, 0 deleted, 16 unchanged" in again.output
    payments = SHARED / "samples" / "ocr" / "netsgiro_ocr_giro_transactions.txt"
    refused = cli(settings, "avtalegiro", "mandates", str(payments), "--tenant", "acme")
    assert refused.exit_code == 2
    assert "not an AvtaleGiro agreements file" in refused.output


def test_claims_leave_in_one_claim_file_at_the_cutoff(engine: Engine, settings: Settings, nets: Path) -> None:
    invoice_ids, path = claims_sent(engine, settings, nets)
    [batch] = _batches(engine)
    assert batch.status == "sent" and batch.channel == "avtalegiro" and path.name == f"{batch.id}.txt"
    (assignment,) = read_file(path).assignments
    invoices = [invoice_view(engine, i) for i in invoice_ids]
    by_kid = {t.kid: t for t in assignment.transactions}  # in the order the worker staged them
    assert {kid: (t.amount, t.date) for kid, t in by_kid.items()} == {
        kid: (Decimal(view["payable_amount"]), handover_day(settings) + dt.timedelta(days=30))
        for kid, view in zip((NOTIFIED_KID, SILENT_KID), invoices, strict=True)
    }
    notified, silent = by_kid[NOTIFIED_KID], by_kid[SILENT_KID]
    assert notified.type == TransactionType.AVTALEGIRO_WITH_BANK_NOTIFICATION and notified.text
    assert silent.type == TransactionType.AVTALEGIRO_WITH_PAYEE_NOTIFICATION and not silent.text
    for invoice_id in invoice_ids:
        delivery = delivery_of(engine, invoice_id)
        assert delivery["status"] == "sent" and delivery["channel_message_id"] == batch.id
        assert [e["to"] for e in delivery["events"]] == ["queued", "rendering", "sending", "batched", "sent"]


def test_a_claim_without_a_mandate_or_due_too_soon_goes_to_deviation(
    engine: Engine, settings: Settings, nets: Path
) -> None:
    assert cli(settings, "avtalegiro", "mandates", str(AGREEMENTS), "--tenant", "acme").exit_code == 0
    [stranger] = accept(engine, settings, [(3, kid_for(3))])
    [too_soon] = accept(engine, settings, [(4, NOTIFIED_KID)], due_in_days=3)
    Worker(engine, settings, worker_id="w").run(once=True)
    for invoice_id, reason in (
        (stranger, f"mandate: no AvtaleGiro mandate for KID {kid_for(3)}"),
        (too_soon, "due date: "),
    ):
        delivery = delivery_of(engine, invoice_id)
        assert delivery["status"] == "deviation", delivery
        assert delivery["events"][-1]["reason"].startswith(reason)
    assert "AvtaleGiro needs at least 4" in delivery_of(engine, too_soon)["events"][-1]["reason"]


def test_a_withdrawn_claim_goes_as_a_cancellation_record_in_the_next_file(
    engine: Engine, settings: Settings, nets: Path
) -> None:
    (first, second), claim_file = claims_sent(engine, settings, nets)
    waiting = accept(engine, settings, [(5, SILENT_KID)])
    Worker(engine, settings, worker_id="w3").run(once=True)  # staged for the next file
    refused = cli(settings, "avtalegiro", "cancel", waiting[0], "--tenant", "acme")
    assert refused.exit_code == 1 and "`gateway cancel`" in refused.output  # not handed over yet

    result = cli(settings, "avtalegiro", "cancel", first, "--tenant", "acme")
    assert result.exit_code == 0, result.output
    assert f"KID {NOTIFIED_KID}" in result.output
    assert "AvtaleGiro claim withdrawn" in delivery_of(engine, first)["events"][-1]["reason"]
    twice = cli(settings, "avtalegiro", "cancel", first)
    assert twice.exit_code == 1 and "withdrawn already" in twice.output
    other_tenant = cli(settings, "avtalegiro", "cancel", second, "--tenant", "globex")
    assert other_tenant.exit_code == 1

    pass_cutoffs(engine)
    assert Worker(engine, settings, worker_id="w4").run(once=True).outcomes == {"batch sent": 1}
    next_file = next(path for path in sorted(nets.iterdir()) if path != claim_file)
    claims, cancellations = read_file(next_file).assignments
    assert [t.kid for t in claims.transactions] == [SILENT_KID]  # the claim staged meanwhile
    assert cancellations.type == AssignmentType.AVTALEGIRO_CANCELLATIONS
    (record,) = cancellations.transactions
    (original,) = [t for t in read_file(claim_file).assignments[0].transactions if t.kid == NOTIFIED_KID]
    assert (record.type, record.kid, record.amount, record.date) == (
        TransactionType.AVTALEGIRO_CANCELLATION, original.kid, original.amount, original.date,
    )  # fmt: skip
    history = [e["reason"] or "" for e in delivery_of(engine, first)["events"]]
    assert any(f"cancellation record handed over in claim file {next_file.stem}" in r for r in history)
    with session_scope(engine) as session:
        (row,) = session.execute(select(AvtaleGiroCancellation)).scalars()
        assert (row.status, row.batch_id) == ("sent", next_file.stem)


def test_a_cancellation_alone_makes_a_file_of_its_own(engine: Engine, settings: Settings, nets: Path) -> None:
    (first, _second), claim_file = claims_sent(engine, settings, nets)
    assert cli(settings, "avtalegiro", "cancel", first).exit_code == 0
    Worker(engine, settings, worker_id="w3").run(once=True)
    assert sorted(nets.iterdir()) == [claim_file]  # it waits for the tenant's cut-off
    pass_cutoffs(engine)
    Worker(engine, settings, worker_id="w4").run(once=True)
    (alone,) = [path for path in sorted(nets.iterdir()) if path != claim_file]
    (assignment,) = read_file(alone).assignments
    assert assignment.type == AssignmentType.AVTALEGIRO_CANCELLATIONS
    assert [t.kid for t in assignment.transactions] == [NOTIFIED_KID]


def agreements_file(*changes: tuple[str, int, bool]) -> bytes:
    """Nets' agreements file (written by netsgiro): (KID, registration type, notify) per mandate."""
    transmission = netsgiro.Transmission(
        number="1091950", data_transmitter="00008080", data_recipient="00010200", date=dt.date(2026, 12, 1)
    )
    assignment = transmission.add_assignment(
        service_code=ServiceCode.AVTALEGIRO, assignment_type=AssignmentType.AVTALEGIRO_AGREEMENTS,
        number="0000003", account="99991042764",
    )  # fmt: skip
    for number, (kid, registration, notify) in enumerate(changes, start=1):
        assignment.transactions.append(
            Agreement(service_code=ServiceCode.AVTALEGIRO, number=number, registration_type=registration,
                      kid=kid, notify=notify)
        )  # fmt: skip
    return (transmission.to_ocr() + "\n").encode()


def test_agreements_files_in_the_remittance_drop_update_the_mandates(
    engine: Engine, settings: Settings, nets: Path, client: TestClient, auth: dict[str, str], token_for: Any
) -> None:
    drop = settings.remittance_dir / "acme"
    drop.mkdir(parents=True)
    (drop / "agreements-1.txt").write_bytes(AGREEMENTS.read_bytes())
    Worker(engine, settings, worker_id="w").run(once=True)
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["agreements-1.txt"]
    listed = client.get("/avtalegiro/mandates", headers=auth)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 16
    assert client.get("/avtalegiro/mandates", headers=token_for("globex")).json()["items"] == []

    # Nets: the first payer ended the mandate, the second now wants the bank's notice
    (drop / "agreements-2.txt").write_bytes(agreements_file((NOTIFIED_KID, 2, False), (SILENT_KID, 1, True)))
    Worker(engine, settings, worker_id="w").run(once=True)
    deleted = client.get("/avtalegiro/mandates", params={"kid": NOTIFIED_KID}, headers=auth).json()["items"]
    assert [(m["status"], m["source_file"]) for m in deleted] == [("deleted", "agreements-2.txt")]
    changed = client.get("/avtalegiro/mandates", params={"kid": SILENT_KID}, headers=auth).json()["items"]
    assert [(m["status"], m["notify"]) for m in changed] == [("active", True)]
    assert client.get("/avtalegiro/mandates", params={"status": "gone"}, headers=auth).status_code == 422

    [refused] = accept(engine, settings, [(6, NOTIFIED_KID)])
    Worker(engine, settings, worker_id="w").run(once=True)
    delivery = delivery_of(engine, refused)
    assert delivery["status"] == "deviation"
    assert f"the AvtaleGiro mandate for KID {NOTIFIED_KID} was deleted" in delivery["events"][-1]["reason"]
    assert "agreements-2.txt" in delivery["events"][-1]["reason"]


def test_a_settled_claim_comes_back_as_ocr_type_15_and_the_invoice_is_paid(
    engine: Engine, settings: Settings, nets: Path, client: TestClient, auth: dict[str, str]
) -> None:
    (first, _second), claim_file = claims_sent(engine, settings, nets)
    (claim,) = [t for t in read_file(claim_file).assignments[0].transactions if t.kid == NOTIFIED_KID]
    # Nets' OCR giro file of the due date: the payer's bank debited the claim (AvtaleGiro, type 15)
    transmission = netsgiro.Transmission(
        number="0000777", data_transmitter="00008080", data_recipient="12345678", date=claim.date
    )
    assignment = transmission.add_assignment(
        service_code=ServiceCode.OCR_GIRO, assignment_type=AssignmentType.TRANSACTIONS, number="0000001",
        account=ACCOUNT, agreement_id="123456789", date=claim.date,
    )  # fmt: skip
    assignment.transactions.append(
        Transaction(
            service_code=ServiceCode.OCR_GIRO, type=TransactionType.FROM_AVTALEGIRO, number=1,
            date=claim.date, amount=claim.amount, kid=claim.kid, reference="700000001", text=None,
            centre_id="13", day_code=15,
            partial_settlement_number=1, partial_settlement_serial_number="00001", sign="0",
            form_number="0000000000", bank_date=claim.date, debit_account="12345678903", filler=None,
        )
    )  # fmt: skip
    answer = client.post(
        "/remittances", params={"filename": "ocr.txt"}, content=(transmission.to_ocr() + "\n").encode(),
        headers={**auth, "Content-Type": "text/plain"},
    )  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    assert body["format"] == "ocr-giro"
    assert [p["kind"] for p in body["payments"]] == ["avtalegiro"]
    view = client.get(f"/invoices/{first}", headers=auth).json()
    assert view["payment"]["payment_status"] == "paid", view["payment"]


def _batches(engine: Engine) -> list[Batch]:
    with session_scope(engine) as session:
        return list(session.execute(select(Batch).order_by(col(Batch.id))).scalars())


def test_an_agreements_file_at_the_inbound_door_updates_the_mandates(
    engine: Engine, client: TestClient, auth: dict[str, str]
) -> None:
    """The one inbound door takes Nets' agreements file too (as the drop does): mandates applied for the
    token's tenant, the same file again changes nothing and says so, a claim file is refused saying why."""
    answer = client.post("/inbound?filename=agreements.txt", content=AGREEMENTS.read_bytes(), headers=auth)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["format"], body["service"], body["duplicate"]) == (
        "avtalegiro-agreements", "avtalegiro-mandates", False
    )  # fmt: skip
    assert body["result"]["new"] == 16 and body["result"]["account"]
    assert len(client.get("/avtalegiro/mandates", headers=auth).json()["items"]) == 16

    again = client.post("/inbound", content=AGREEMENTS.read_bytes(), headers=auth)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True and again.json()["result"]["unchanged"] == 16

    ended = agreements_file((NOTIFIED_KID, 2, False))
    changed = client.post("/inbound", content=ended, headers=auth)
    assert changed.status_code == 201 and changed.json()["result"]["deleted"] == 1
    claims = SHARED / "samples" / "ocr" / "netsgiro_avtalegiro_payment_request.txt"
    refused = client.post("/inbound", content=claims.read_bytes(), headers=auth)
    assert refused.status_code == 415
    assert "AvtaleGiro claim file" in refused.json()["errors"][0]["reason"]
