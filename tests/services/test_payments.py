"""Remittance intake and matching end to end: files in over the API, folders and SFTP; invoices paid.

Real parts: the outbox on SQLite and PostgreSQL, the camt reader, the matching engine, the document
store, a real OpenSSH sshd for the bank's SFTP folder. Bank files are built in the shape Norwegian banks
send (`tests/remittance_files.py`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import PaymentAllocation, WebhookEvent
from gateway.samples import sample_invoice_json
from gateway.services.outbound.documents import document_store
from gateway.services.payments import matching_runs as payment_service
from gateway.services.payments import remittances as remittance_service
from gateway.settings import Settings
from gateway.worker import Worker
from tests.conftest import SHARED
from tests.payment_scenarios import payment_status as _payment_status
from tests.payment_scenarios import receive as _post
from tests.remittance_files import Tx, camt054
from tests.sftp_server import OpenSshSftpServer
from transports.drop_folder import open_drop_folder


def _invoice(client: TestClient, auth: dict[str, Any], n: int, **changes: Any) -> dict[str, Any]:
    data = sample_invoice_json(n)
    data.update(changes)
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    view: dict[str, Any] = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth).json()
    return view


def test_kid_payment_pays_the_invoice_once_and_tells_the_erp(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    settings.webhook_allow_private = True  # the ERP's endpoint is on loopback
    assert client.put("/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth).status_code == 201
    invoice = _invoice(client, auth, 1)
    _invoice(client, auth, 2)
    amount = Decimal(invoice["payable_amount"])
    file = camt054([Tx(amount, kid=invoice["payment_reference"], payer="Fjordbyen Bygg AS")])
    answer = _post(client, auth, file)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["format"] == "camt" and body["payments"][0]["status"] == "applied"
    assert body["payments"][0]["invoices"] == [invoice["number"]]
    paid = _payment_status(client, auth, invoice["id"])
    assert paid["payment_status"] == "paid" and Decimal(paid["open_amount"]) == 0
    assert [Decimal(a["amount"]) for a in paid["allocations"]] == [amount]
    # the same file again: the first receipt, nothing booked twice
    again = _post(client, auth, file)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert len(_payment_status(client, auth, invoice["id"])["allocations"]) == 1
    with session_scope(engine) as session:
        types = session.execute(select(WebhookEvent.event_type)).scalars().all()
    assert "invoice.paid" in types
    # the full payment view explains the decision
    payment_id = body["payments"][0]["id"]
    view = client.get(f"/payments/{payment_id}", headers=auth).json()
    kinds = {e["kind"] for e in view["decision"]["proposal"]["evidence"]} | {
        e["kind"] for e in view["decision"]["evidence"]
    }
    assert "kid" in kinds and view["decision"]["outcome"] == "applied"


def test_a_malformed_file_is_refused_whole_and_kept(client: TestClient, auth: dict[str, Any]) -> None:
    invoice = _invoice(client, auth, 1)
    good = Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"])
    broken = camt054([good, Tx(Decimal("10.00"))]).replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>")
    answer = _post(client, auth, broken, "broken.xml")
    assert answer.status_code == 422
    error = answer.json()["errors"][0]
    assert "Ntry" in error["field"] and error["reason"]
    file_id = answer.json()["file_id"]
    listed = client.get("/remittances", params={"status": "rejected"}, headers=auth).json()["items"]
    assert [f["id"] for f in listed] == [file_id] and listed[0]["filename"] == "broken.xml"
    assert client.get(f"/remittances/{file_id}/content", headers=auth).content == broken
    # nothing was booked: the invoice is still unpaid
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "unpaid"
    assert client.get("/payments", headers=auth).json()["items"] == []
    # not a remittance at all
    junk = _post(client, auth, b"hello")
    assert junk.status_code == 422 and junk.json()["errors"][0]["field"] == "file"


def test_the_same_payment_in_another_file_is_a_duplicate(client: TestClient, auth: dict[str, Any]) -> None:
    invoice = _invoice(client, auth, 1)
    tx = Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"], reference="BANK-77")
    first = _post(client, auth, camt054([tx], message_id="A"))
    second = _post(client, auth, camt054([tx], message_id="B"))  # an intraday file repeated in the day's
    assert first.status_code == 201 and second.status_code == 201
    [payment] = second.json()["payments"]
    assert payment["status"] == "duplicate" and payment["duplicate_of"] == first.json()["payments"][0]["id"]
    assert len(_payment_status(client, auth, invoice["id"])["allocations"]) == 1


def test_partial_then_rest_and_a_second_payment_is_not_silently_applied(
    client: TestClient, auth: dict[str, Any]
) -> None:
    invoice = _invoice(client, auth, 1)
    total = Decimal(invoice["payable_amount"])
    kid = invoice["payment_reference"]
    # a KID with a part of the amount: applied as a partial payment when the payer's name agrees (or
    # there is none: tests/api/test_payment_rules.py); a name like no customer's goes to a person
    payer = "MIDNATTSOL DRIFT AS"
    stranger = Tx(Decimal("500.00"), kid=kid, payer="OLA NORDMANN")
    alone = _post(client, auth, camt054([stranger], message_id="P0")).json()
    assert alone["payments"][0]["status"] == "exception"
    client.post(f"/payments/{alone['payments'][0]['id']}/ignore", json={"reason": "test"}, headers=auth)
    part = _post(
        client, auth, camt054([Tx(Decimal("500.00"), kid=kid, payer=payer, reference="B1")], message_id="P1")
    )
    assert part.json()["payments"][0]["status"] == "applied"
    status = _payment_status(client, auth, invoice["id"])
    assert status["payment_status"] == "partially_paid" and Decimal(status["open_amount"]) == total - 500
    _post(client, auth, camt054([Tx(total - 500, kid=kid, payer=payer, reference="B2")], message_id="P2"))
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "paid"
    late = _post(
        client, auth, camt054([Tx(total, kid=kid, payer=payer, reference="B3")], message_id="P3")
    ).json()["payments"][0]
    assert late["status"] in ("exception", "needs_approval")
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "paid"


def test_a_person_resolves_an_exception_and_the_gateway_learns_the_payer(
    client: TestClient, auth: dict[str, Any]
) -> None:
    first = _invoice(client, auth, 1)  # Midnattsol Drift AS
    _invoice(client, auth, 2)  # another customer
    second = _invoice(client, auth, 4)  # Midnattsol Drift AS again
    assert first["payable_amount"] != second["payable_amount"]
    # no reference, an unknown account, a name the bank cut short: never applied by itself
    tx = Tx(Decimal(first["payable_amount"]), payer="MIDNATTSOL DRIFT", account="12345678903", reference="R1")
    payment = _post(client, auth, camt054([tx], message_id="X1")).json()["payments"][0]
    assert payment["status"] == "exception"
    view = client.get(f"/payments/{payment['id']}", headers=auth).json()
    assert view["decision"]["suggestions"], "an exception comes with suggestions"
    answer = client.post(
        f"/payments/{payment['id']}/resolve",
        json={"allocations": [{"invoice_id": first["id"], "amount": first["payable_amount"]}],
              "reason": "customer confirmed by phone"},
        headers=auth,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert "12345678903" in answer.json()["learned"]["accounts"]
    assert _payment_status(client, auth, first["id"])["payment_status"] == "paid"
    # next time the same account pays the customer's other invoice's exact amount: applied by itself
    tx2 = Tx(
        Decimal(second["payable_amount"]), payer="MIDNATTSOL DRIFT", account="12345678903", reference="R2"
    )
    next_payment = _post(client, auth, camt054([tx2], message_id="X2")).json()["payments"][0]
    assert next_payment["status"] == "applied", next_payment
    assert next_payment["invoices"] == [second["number"]]


def test_bad_resolutions_are_refused_naming_the_field(client: TestClient, auth: dict[str, Any]) -> None:
    invoice = _invoice(client, auth, 1)
    tx = Tx(Decimal("77.00"), payer="Somebody", reference="R9")
    payment = _post(client, auth, camt054([tx], message_id="Z")).json()["payments"][0]
    too_much = client.post(
        f"/payments/{payment['id']}/resolve",
        json={"allocations": [{"invoice_id": invoice["id"], "amount": "78.00"}]}, headers=auth,
    )  # fmt: skip
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "allocations"
    unknown = client.post(
        f"/payments/{payment['id']}/resolve",
        json={"allocations": [{"invoice_id": "nope", "amount": "1.00"}]}, headers=auth,
    )  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "allocations[0].invoice_id"
    negative = client.post(
        f"/payments/{payment['id']}/resolve",
        json={"allocations": [{"invoice_id": invoice["id"], "amount": "-1"}]}, headers=auth,
    )  # fmt: skip
    assert negative.status_code == 422
    assert client.post("/payments/nope/ignore", json={"reason": "x"}, headers=auth).status_code == 404
    ignored = client.post(f"/payments/{payment['id']}/ignore", json={"reason": "a refund"}, headers=auth)
    assert ignored.status_code == 200 and ignored.json()["payment"]["status"] == "ignored"


def test_reversing_an_automatic_application_counts_as_false_auto(
    client: TestClient, auth: dict[str, Any]
) -> None:
    invoice = _invoice(client, auth, 1)
    tx = Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"])
    payment = _post(client, auth, camt054([tx])).json()["payments"][0]
    assert payment["status"] == "applied"
    report = client.get("/matching/report", headers=auth).json()
    assert report["per_payment"]["auto_applied"] == 1 and report["per_payment"]["false_auto_applied"] == 0
    reversed_ = client.post(
        f"/payments/{payment['id']}/reverse", json={"reason": "wrong customer"}, headers=auth
    )
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "exception"
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "unpaid"
    report = client.get("/matching/report", headers=auth).json()
    assert report["per_payment"]["false_auto_applied"] == 1
    assert report["per_payment"]["false_auto_rate_pct"] == 100.0


def test_paid_invoices_never_get_a_reminder(client: TestClient, auth: dict[str, Any]) -> None:
    paid = _invoice(client, auth, 1)
    unpaid = _invoice(client, auth, 2)
    _post(client, auth, camt054([Tx(Decimal(paid["payable_amount"]), kid=paid["payment_reference"])]))
    due = dt.date.fromisoformat(unpaid["due_date"])
    later = (due + dt.timedelta(days=20)).isoformat()
    items = client.get("/receivables/overdue", params={"today": later}, headers=auth).json()["items"]
    assert [i["number"] for i in items] == [unpaid["number"]]
    early = (due + dt.timedelta(days=5)).isoformat()
    assert client.get("/receivables/overdue", params={"today": early}, headers=auth).json()["items"] == []


def test_kid_agreement_generates_and_checks_kids_at_intake(client: TestClient, auth: dict[str, Any]) -> None:
    settings = {"kid": {"algorithm": "mod11", "length": 9, "generate": True, "mod11_dash": False}}
    assert client.put("/settings", json=settings, headers=auth).status_code == 200
    data = sample_invoice_json(7)
    for means in data.get("payment_means", []):
        means.pop("payment_id", None)
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    kid = answer.json()["payment_reference"]
    from schemas.kid import is_valid_kid

    assert len(kid) == 9 and is_valid_kid(kid, "mod11")
    view = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth).json()
    assert view["payment_reference"] == kid
    # a KID that the agreement does not accept (the sample's MOD10 KID of length 10) is refused
    wrong = client.post("/invoices", json=sample_invoice_json(8), headers=auth)
    assert wrong.status_code == 422
    assert "BT-83" in wrong.json()["errors"][0]["field"]


def test_invoice_response_paid_is_kept_as_a_hint(client: TestClient, auth: dict[str, Any]) -> None:
    candidates = sorted((SHARED / "validation" / "examples" / "invoice-response").rglob("*uc007*.xml"))
    assert candidates and b">PD<" in candidates[0].read_bytes(), "the official 'payment initiated' example"
    invoice = _invoice(client, auth, 21, number="inv021")  # the invoice the official example answers
    answer = _post(client, auth, candidates[0].read_bytes(), candidates[0].name)
    assert answer.status_code == 201, answer.text
    [payment] = answer.json()["payments"]
    assert payment["status"] == "hint" and payment["kind"] == "invoice-response"
    status = _payment_status(client, auth, invoice["id"])
    assert status["payment_status"] == "unpaid"
    assert [h["payment_id"] for h in status["hints"]] == [payment["id"]]


def test_worker_reads_each_tenants_drop_folder(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    invoice = _invoice(client, auth, 1)
    drop = settings.remittance_dir / "acme"
    drop.mkdir(parents=True)
    (drop / "good.xml").write_bytes(
        camt054([Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"])])
    )
    (drop / "bad.xml").write_bytes(b"<Document/>")
    (drop / "still-writing.xml.part").write_bytes(b"<")
    Worker(engine, settings).run(once=True)
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["good.xml"]
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == ["bad.xml", "bad.xml.reason.txt"]
    assert (drop / "still-writing.xml.part").exists()
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "paid"


def test_one_matching_run_per_tenant(engine: Engine) -> None:
    assert payment_service.acquire_lease(engine, "acme", "one")
    assert not payment_service.acquire_lease(engine, "acme", "two")
    with pytest.raises(payment_service.MatchingBusy):
        payment_service.run_matching(engine, "acme", holder="two")
    payment_service.release_lease(engine, "acme", "one")
    assert payment_service.acquire_lease(engine, "acme", "two")


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


def test_sftp_pull_from_the_banks_folder(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings,
    sftp_server: OpenSshSftpServer, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    invoice = _invoice(client, auth, 1)
    drop = f"in/bank-{request.node.callspec.id}"
    directory = sftp_server.local(drop)
    directory.mkdir(mode=0o755)
    os.chown(directory, sftp_server.uid, sftp_server.gid)
    good = camt054([Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"])])
    sftp_server.put_file(f"{drop}/camt054_1.xml", good)
    sftp_server.put_file(f"{drop}/broken.xml", good.replace(b"</Document>", b""))
    store = document_store(settings)
    with open_drop_folder(drop, sftp_server.settings()) as folder:
        items = remittance_service.receive_remittance_drop(engine, store, folder, "acme", "sftp")
    assert {i.name: i.outcome for i in items} == {"camt054_1.xml": "accepted", "broken.xml": "rejected"}
    assert sorted(p.name for p in sftp_server.local(f"{drop}/done").iterdir()) == ["camt054_1.xml"]
    assert sorted(p.name for p in sftp_server.local(f"{drop}/rejected").iterdir()) == [
        "broken.xml", "broken.xml.reason.txt",
    ]  # fmt: skip
    # the same file dropped again later is recognised and not booked twice
    sftp_server.put_file(f"{drop}/camt054_1_again.xml", good)
    with open_drop_folder(drop, sftp_server.settings()) as folder:
        again = remittance_service.receive_remittance_drop(engine, store, folder, "acme", "sftp")
    assert [i.outcome for i in again] == ["duplicate"]
    payment_service.run_matching(engine, "acme")
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "paid"
    with session_scope(engine) as session:
        assert len(session.execute(select(PaymentAllocation)).scalars().all()) == 1


def test_cli_receive_match_report_and_export(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from gateway.cli import app

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    invoice = _invoice(client, auth, 1)
    path = tmp_path / "camt.xml"
    path.write_bytes(camt054([Tx(Decimal(invoice["payable_amount"]), kid=invoice["payment_reference"],
                                 payer="=HYPERLINK(evil)")]))  # fmt: skip
    runner = CliRunner()
    received = runner.invoke(app, ["remittance", "receive", str(path), "--tenant", "acme", "--json"])
    assert received.exit_code == 0, received.output
    assert json.loads(received.output)["files"][0]["status"] == "accepted"
    report = runner.invoke(app, ["match", "--tenant", "acme", "--report", "--json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.output)["report"]["per_payment"]["auto_applied"] == 1
    exported = runner.invoke(app, ["payments", "export", "--tenant", "acme"])
    assert exported.exit_code == 0, exported.output
    lines = exported.output.strip().splitlines()
    assert lines[0].startswith("payment_id,") and invoice["number"] in lines[1]
    assert "'=HYPERLINK(evil)" in lines[1]
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<x/>")
    refused = runner.invoke(app, ["remittance", "receive", str(bad), "--tenant", "acme"])
    assert refused.exit_code == 2
    with session_scope(engine) as session:
        allocations = (
            session.execute(
                select(PaymentAllocation).where(col(PaymentAllocation.invoice_id) == invoice["id"])
            )
            .scalars()
            .all()
        )
    assert len(allocations) == 1


@pytest.mark.parametrize(
    ("path", "count", "total"),
    [
        ("ocr/netsgiro_ocr_giro_transactions.txt", 20, Decimal("51449.00")),
        ("ocr/SYNTHETIC_ocr_giro_netsgiro_generated.txt", 1, Decimal("1250.00")),
        ("camt/SYNTHETIC_no_camt054_v08_kid_batch.xml", 3, Decimal("2625.00")),
        ("edi/x12/820/stupidedi_X218_RA820_summary-bill-payment.edi", 1, Decimal("19000")),
    ],
)
def test_shared_samples_are_booked_through_the_api(
    client: TestClient, auth: dict[str, Any], path: str, count: int, total: Decimal
) -> None:
    data = (SHARED / "samples" / path).read_bytes()
    answer = _post(client, auth, data, Path(path).name)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "accepted" and len(body["payments"]) == count
    assert sum(Decimal(p["amount"]) for p in body["payments"]) == total
    # no open invoice of this tenant fits any of them: nothing is applied by guesswork
    assert {p["status"] for p in body["payments"]} <= {"exception", "ignored"}


@pytest.mark.parametrize(
    "path",
    [
        "edi/x12/820/oopf_Example3_HomeDepot_template.txt",  # a template with prose placeholders
        "edi/x12/820/oopf_Example2_ScanaEnergy.txt",  # blank ISA06
        "ocr/netsgiro_avtalegiro_payment_request.txt",  # claims we send, not payments
    ],
)
def test_malformed_or_non_payment_samples_are_refused_and_kept(
    client: TestClient, auth: dict[str, Any], path: str
) -> None:
    data = (SHARED / "samples" / path).read_bytes()
    answer = _post(client, auth, data, Path(path).name)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["reason"]
    kept = client.get(f"/remittances/{answer.json()['file_id']}/content", headers=auth)
    assert kept.content == data


def test_advices_are_hints_when_the_bank_file_books_the_money(
    client: TestClient, auth: dict[str, Any]
) -> None:
    settings = {"matching": {"book_advices": False}}
    assert client.put("/settings", json=settings, headers=auth).status_code == 200
    data = (SHARED / "samples/edi/x12/820/stupidedi_X218_RA820_summary-bill-payment.edi").read_bytes()
    [payment] = _post(client, auth, data, "x218.edi").json()["payments"]
    assert payment["status"] == "hint" and "book_advices" in payment["note"]


def test_worker_pulls_the_banks_sftp_folder_it_is_configured_with(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings, tmp_path: Path,
    sftp_server: OpenSshSftpServer, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    invoice = _invoice(client, auth, 1)
    drop = f"in/worker-{request.node.callspec.id}"
    sftp_server.local(drop).mkdir(mode=0o755)
    os.chown(sftp_server.local(drop), sftp_server.uid, sftp_server.gid)
    sftp_server.put_file(f"{drop}/camt054.xml", camt054([Tx(Decimal(invoice["payable_amount"]),
                                                            kid=invoice["payment_reference"])]))  # fmt: skip
    remote = sftp_server.settings(auth="password")
    assert remote.password is not None
    sources = tmp_path / "sources.json"
    unreachable = {"host": "127.0.0.1", "port": 9, "username": "x", "host_key": remote.host_key,
                   "password": "x", "connect_timeout_seconds": 2}  # fmt: skip
    sources.write_text(json.dumps([
        {"tenant": "acme", "directory": drop, "sftp": unreachable},  # a bank that is down: logged, skipped
        {"tenant": "acme", "directory": drop, "sftp": {
            "host": remote.host, "port": remote.port, "username": remote.username,
            "host_key": remote.host_key, "password": remote.password.get_secret_value()}},
    ]))  # fmt: skip
    configured = settings.model_copy(update={"remittance_sftp_sources": sources})
    Worker(engine, configured).run(once=True)
    assert [p.name for p in sftp_server.local(f"{drop}/done").iterdir()] == ["camt054.xml"]
    assert _payment_status(client, auth, invoice["id"])["payment_status"] == "paid"


def test_a_crash_in_the_middle_of_a_run_leaves_every_payment_decided_once_or_waiting(
    client: TestClient, auth: dict[str, Any], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoices = [_invoice(client, auth, n) for n in range(1, 7)]
    file = camt054([Tx(Decimal(i["payable_amount"]), kid=i["payment_reference"], reference=f"C{n}")
                    for n, i in enumerate(invoices)])  # fmt: skip
    answer = client.post("/remittances", params={"match": "false"}, content=file, headers=auth)
    assert answer.status_code == 201
    real = payment_service.match_payment
    calls = {"n": 0}

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("the worker died here")
        return real(*args, **kwargs)

    monkeypatch.setattr(payment_service, "match_payment", crashing)
    with pytest.raises(RuntimeError):
        payment_service.run_matching(engine, "acme", batch_size=2)
    statuses = [p["status"] for p in client.get("/payments", headers=auth).json()["items"]]
    assert statuses == ["applied", "applied", "new", "new", "new", "new"]  # the failed batch rolled back
    assert payment_service.acquire_lease(engine, "acme", "next")  # the lease was given back
    payment_service.release_lease(engine, "acme", "next")
    monkeypatch.setattr(payment_service, "match_payment", real)
    payment_service.run_matching(engine, "acme")
    for invoice in invoices:
        status = _payment_status(client, auth, invoice["id"])
        assert status["payment_status"] == "paid" and len(status["allocations"]) == 1
