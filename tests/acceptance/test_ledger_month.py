"""Issue 20 acceptance: a month of receivables handed to the ledger, end to end.

1. A November with invoices at three VAT rates, a credit note, a partial payment, an EUR invoice paid in NOK
   (currency gain), a short payment written off, an overpayment, a reminder fee with interest and a reversed
   allocation: the journal exported through the API balances voucher by voucher, its GBAT10 file reads back
   balanced, the SAF-T file of the month validates with xmlschema and lxml against the official XSD, the
   receivables account equals the open items, re-exporting the closed month gives the same bytes, and an
   event of November that arrives after the close (a late bank file) lands in December.
2. On a fresh data directory after `gateway demo`: `gateway ledger saft` exports the demo's invoices (valid,
   balanced), `gateway ledger journal` closes November, and `gateway report aging --png` draws their aging.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import InvoiceRecord
from gateway.cli import app
from gateway.settings import Settings
from mappings.ledger import gbat10
from mappings.ledger import saft as saft_file
from tests.conftest import shared_dir
from tests.services.ledger import factories as f

XSD = shared_dir() / "validation" / "saf-t-1.30" / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"
RULES_DIR = shared_dir() / "validation"
NOV = dt.date(2026, 11, 1)
CUSTOMER_A, CUSTOMER_B, CUSTOMER_C = "910667831", "974760673", "923609016"


@pytest.fixture(scope="module")
def schemas() -> tuple[xmlschema.XMLSchema, etree.XMLSchema]:
    return xmlschema.XMLSchema(str(XSD)), etree.XMLSchema(etree.parse(str(XSD)))


def _november(engine: Engine, post_until: Callable[[str], None]) -> None:
    """The month's history, through the real intake and payment services, each step dated its day, with a
    posting run on the 20th (as the worker posts daily)."""
    f.rates(engine, ("EUR", dt.date(2026, 10, 1), "11.50"))
    mixed = f.invoice(
        engine, org=CUSTOMER_A, lines=(("S", "25", "1000.00"), ("S", "15", "400.00"), ("S", "12", "200.00"))
    )
    plain = f.invoice(engine, org=CUSTOMER_A, lines=(("S", "25", "800.00"),), issue_date=dt.date(2026, 11, 5))
    credit = f.invoice(
        engine,
        org=CUSTOMER_A,
        lines=(("S", "25", "100.00"),),
        credit_note=True,
        issue_date=NOV.replace(day=6),
    )
    zero = f.invoice(engine, org=CUSTOMER_B, lines=(("Z", "0", "2000.00"),), issue_date=NOV.replace(day=3))
    euro = f.invoice(
        engine, org=CUSTOMER_C, lines=(("G", "0", "1000.00"),), currency="EUR", issue_date=NOV.replace(day=4)
    )
    short = f.invoice(engine, org=CUSTOMER_B, lines=(("S", "25", "400.00"),), issue_date=NOV.replace(day=7))
    # a partial payment of the mixed invoice (2,000 + 348 VAT = 2,198 owed), netting the credit note
    partial = f.payment(engine, "1000.00", booking_date=NOV.replace(day=12), payer="Kunde A AS")
    f.apply(engine, partial.id, [(mixed.id, "1125.00"), (credit.id, "125.00")], at=NOV.replace(day=12))
    # the EUR invoice paid in NOK at the bank's rate 11.80 (booked at 11.50): a currency gain of 300
    fx = f.payment(engine, "11800.00", booking_date=NOV.replace(day=14), instructed=("1000.00", "EUR"))
    f.apply(engine, fx.id, [(euro.id, "1000.00")], at=NOV.replace(day=14))
    # 500 owed, 495 paid: 5 written off; the zero-rated invoice overpaid by 50 (stays on prepayments)
    off = f.payment(engine, "495.00", booking_date=NOV.replace(day=16), payer="Kunde B AS")
    f.apply(engine, off.id, [(short.id, "495.00")], at=NOV.replace(day=16), write_off="5.00")
    over = f.payment(engine, "2050.00", booking_date=NOV.replace(day=17), payer="Kunde B AS")
    f.apply(engine, over.id, [(zero.id, "2000.00")], at=NOV.replace(day=17))
    # a payment applied to the wrong invoice and reversed the same month
    wrong = f.payment(engine, "1000.00", booking_date=NOV.replace(day=18), payer="Kunde A AS")
    f.apply(engine, wrong.id, [(plain.id, "1000.00")], at=NOV.replace(day=18))
    post_until("2026-11-20")  # the application is in the books: its reversal is a voucher of its own
    f.reverse(engine, wrong.id, at=NOV.replace(day=25))
    # a reminder with its fee and late-payment interest, sent
    f.notice(engine, org=CUSTOMER_A, fee="35.00", interest="12.40", on=NOV.replace(day=28))


def _open_items(engine: Engine) -> dict[str, Decimal]:
    """Σ open invoices − Σ open credit notes per customer, in NOK (the EUR invoice is settled)."""
    found: dict[str, Decimal] = defaultdict(Decimal)
    with session_scope(engine) as session:
        for row in session.execute(select(InvoiceRecord)).scalars():
            open_amount = Decimal(row.open_amount if row.open_amount is not None else row.payable_amount)
            sign = -1 if row.document_type == "credit_note" else 1
            found[str(row.customer_key)] += sign * open_amount
    return dict(found)


def test_a_november_goes_to_the_ledger_balanced_and_stays_as_it_was_sent(
    client: TestClient,
    auth: dict[str, str],
    engine: Engine,
    settings: Settings,
    schemas: tuple[xmlschema.XMLSchema, etree.XMLSchema],
) -> None:
    settings.rules_dir = RULES_DIR

    def post_until(day: str) -> None:
        answer = client.post("/ledger/post", json={"until": day}, headers=auth)
        assert answer.status_code == 200, answer.text

    _november(engine, post_until)
    # SAF-T's header names the company and a contact telephone: the seller's ledger settings say them
    tenant = client.get("/settings", headers=auth).json()
    tenant["ledger"]["company"].update(
        {"registration_number": "987654325", "name": "Acme AS", "contact_telephone": "+47 22 00 00 00"}
    )
    assert client.put("/settings", json=tenant, headers=auth).status_code == 200

    answer = client.post("/ledger/journal", json={"period": "2026-11", "format": "gbat10"}, headers=auth)
    assert answer.status_code == 201, answer.text
    export = answer.json()
    journal_file = client.get(export["download"], headers=auth)
    assert journal_file.status_code == 200
    summary = gbat10.inspect(journal_file.content)
    assert summary["balanced"] is True, summary

    vouchers: list[dict[str, Any]] = []
    params: dict[str, str] = {"period": "2026-11"}
    while True:
        page = client.get("/ledger/vouchers", params=params, headers=auth)
        assert page.status_code == 200, page.text
        vouchers += page.json()["items"]
        if not page.json()["next"]:
            break
        params["cursor"] = str(page.json()["next"])
    kinds = {voucher["voucher_type"] for voucher in vouchers}
    assert {"invoice", "credit_note", "payment", "allocation_reversal", "notice"} <= kinds, kinds
    for voucher in vouchers:
        debit = sum(Decimal(line["debit"]) for line in voucher["lines"])
        credit = sum(Decimal(line["credit"]) for line in voucher["lines"])
        assert debit == credit, voucher
    lines = [line for voucher in vouchers for line in voucher["lines"]]
    accounts = {line["account"] for line in lines}
    # revenue per rate, output VAT per rate, the currency gain, the write-off, fee and interest income
    assert {"3000", "3100", "2700", "2701", "2702", "8060", "7830", "3900", "8050", "2900"} <= accounts
    gain = sum(
        Decimal(line["credit"]) - Decimal(line["debit"]) for line in lines if line["account"] == "8060"
    )
    assert gain == Decimal("300.00")
    balances = client.get("/ledger/balances", params={"date": "2026-11-30"}, headers=auth).json()
    receivables = {
        entry["customer_key"]: Decimal(entry["balance"]) for entry in balances["customers"]
    }  # the receivables account per customer
    expected = _open_items(engine)
    expected[f.customer_key(CUSTOMER_A)] += Decimal("47.40")  # the notice's fee and interest
    assert {k: v for k, v in receivables.items() if v} == {k: v for k, v in expected.items() if v}

    # the SAF-T file of the month: valid against the official XSD (two validators) and balanced
    saft = client.get(
        "/ledger/saft", params={"date_from": "2026-11-01", "date_to": "2026-11-30"}, headers=auth
    )
    assert saft.status_code == 200, saft.text
    by_xmlschema, by_lxml = schemas
    by_xmlschema.validate(io.BytesIO(saft.content))
    by_lxml.assertValid(etree.parse(io.BytesIO(saft.content)))
    read_back = saft_file.inspect(saft.content)
    assert read_back["balanced"] is True and read_back["transactions"] == len(vouchers), read_back

    # the closed month again: the same bytes; a late reversal of a November payment lands in December
    again = client.post("/ledger/journal", json={"period": "2026-11", "format": "gbat10"}, headers=auth)
    assert again.status_code == 201
    assert client.get(again.json()["download"], headers=auth).content == journal_file.content
    # a bank file that arrives in December with a payment booked on 20 November
    f.payment(engine, "300.00", booking_date=NOV.replace(day=20), payer="Kunde A AS")
    posted = client.post("/ledger/post", json={"until": "2026-12-03"}, headers=auth)
    assert posted.status_code == 200, posted.text
    december = client.get("/ledger/vouchers", params={"period": "2026-12"}, headers=auth).json()["items"]
    assert [v["event_date"] for v in december] == ["2026-11-20"]  # dated November, posted into December
    assert client.get(again.json()["download"], headers=auth).content == journal_file.content


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_after_the_demo_the_ledger_and_the_aging_are_one_command_each(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_RULES_DIR", str(RULES_DIR))
    for name in ("GATEWAY_TENANT", "GATEWAY_CHANNELS", "GATEWAY_CHANNELS_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    demo = runner.invoke(app, ["demo"])
    assert demo.exit_code == 0, demo.output
    target = tmp_path / "demo-saft.xml"
    exported = runner.invoke(
        app,
        [
            "ledger",
            "saft",
            "--tenant",
            "demo",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "-o",
            str(target),
        ],
    )
    assert exported.exit_code == 0, exported.output
    summary = saft_file.inspect(target.read_bytes())
    # five invoices and a credit note were accepted (the wrong total and the repeat were not)
    assert summary["transactions"] == 6 and summary["balanced"] is True, summary
    xmlschema.XMLSchema(str(XSD)).validate(str(target))

    journal = runner.invoke(
        app, ["ledger", "journal", "--tenant", "demo", "--period", "2026-11", "--format", "csv", "--json"]
    )
    assert journal.exit_code == 0, journal.output
    periods = runner.invoke(app, ["ledger", "periods", "--tenant", "demo", "--json"])
    assert '"closed"' in periods.output

    chart = tmp_path / "aging.png"
    aging = runner.invoke(app, ["report", "aging", "--tenant", "demo", "--png", str(chart), "--json"])
    assert aging.exit_code == 0, aging.output
    width, height = _png_size(chart.read_bytes())
    assert width >= 800 and height >= 400
    assert "not_due" in aging.output or "buckets" in aging.output
