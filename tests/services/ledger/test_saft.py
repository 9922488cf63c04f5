"""The SAF-T Financial export of a posted month: valid against the official XSD (xmlschema and lxml), its
references and balances checked, refused whole (no file) when anything does not add up, the same bytes
twice, and kept as a numbered export."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models.ledger import LedgerExport
from gateway.services.ledger import saft
from gateway.services.ledger.errors import LedgerRefused
from gateway.services.outbound.documents import document_store
from gateway.settings import Settings
from mappings.ledger.saft import NAMESPACE, summarise
from tests.conftest import SHARED
from tests.services.ledger.saft_seed import (
    NOVEMBER,
    NOVEMBER_DEBIT,
    Line,
    add_voucher,
    invoice_customers,
    seed_month,
)

RULES = SHARED / "validation"
XSD = RULES / saft.XSD_PATH
NS = {"s": NAMESPACE}


@pytest.fixture
def rules_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rules_dir": RULES})


@pytest.fixture
def month(client: TestClient, auth: dict[str, str], engine: Engine) -> tuple[str, str]:
    a, b = invoice_customers(client, auth)
    seed_month(engine, a, b)
    return a, b


def _export(engine: Engine, settings: Settings, target: Path, **kwargs: Any) -> saft.SaftExport:
    return saft.export_to_path(engine, settings, "acme", *NOVEMBER, target, actor="test", **kwargs)


def test_a_month_exports_a_file_both_validators_accept(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "saft.xml"
    result = _export(engine, rules_settings, target)
    assert xmlschema.XMLSchema(str(XSD)).is_valid(str(target))
    lxml_schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.parse(str(target))
    assert lxml_schema.validate(document), lxml_schema.error_log
    assert (result.transactions, result.total_debit, result.total_credit) == (
        9,
        NOVEMBER_DEBIT,
        NOVEMBER_DEBIT,
    )
    ids = document.xpath("//s:Transaction/s:TransactionID/text()", namespaces=NS)
    assert ids == [str(n) for n in range(2, 11)]  # October's voucher only in the opening balances
    types = document.xpath("//s:Transaction/s:VoucherType/text()", namespaces=NS)
    assert set(types) == {"invoice", "credit_note", "payment", "allocation", "allocation_reversal", "notice",
                          "notice_reversal"}  # fmt: skip
    header = document.find("s:Header", NS)
    assert header.findtext("s:Company/s:RegistrationNumber", namespaces=NS) == "987654325"
    assert header.findtext("s:Company/s:Contact/s:Telephone", namespaces=NS) == "+47 22 00 00 00"
    assert header.findtext("s:SelectionCriteria/s:SelectionStartDate", namespaces=NS) == "2026-11-01"
    assert header.findtext("s:AuditFileDateCreated", namespaces=NS) == "2026-12-01"  # the newest posting's
    summary = summarise(target)
    assert summary.problems == [] and summary.lines == 22


def test_lines_carry_customer_document_tax_and_currency(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "saft.xml"
    _export(engine, rules_settings, target)
    document = etree.parse(str(target))
    invoice = document.xpath("//s:Transaction[s:TransactionID='2']", namespaces=NS)[0]
    assert invoice.findtext("s:Period", namespaces=NS) == "11"
    assert invoice.findtext("s:PeriodYear", namespaces=NS) == "2026"
    assert invoice.findtext("s:Description", namespaces=NS) == "Faktura INV-1"
    receivable, revenue, vat = invoice.findall("s:Line", NS)
    assert receivable.findtext("s:CustomerID", namespaces=NS) == "org:0192:923609016"
    assert receivable.findtext("s:SourceDocumentID", namespaces=NS) == "INV-1"
    assert receivable.findtext("s:DebitAmount/s:Amount", namespaces=NS) == "1250.00"
    assert revenue.findtext("s:CreditAmount/s:Amount", namespaces=NS) == "1000.00"
    assert revenue.findtext("s:TaxInformation/s:TaxCode", namespaces=NS) == "3"
    assert revenue.findtext("s:TaxInformation/s:TaxBase", namespaces=NS) == "1000.00"
    assert revenue.findtext("s:TaxInformation/s:CreditTaxAmount/s:Amount", namespaces=NS) == "250.00"
    assert vat.find("s:TaxInformation", NS) is None and vat.find("s:CustomerID", NS) is None
    foreign = document.xpath("//s:Transaction[s:TransactionID='3']/s:Line[1]/s:DebitAmount", namespaces=NS)[0]
    assert [child.text for child in foreign] == ["1150.00", "EUR", "100.00", "11.5"]
    second = document.xpath("//s:Transaction[s:TransactionID='3']/s:Line[1]/s:CustomerID", namespaces=NS)
    assert second[0].text == "C-2"  # the receiver id when the customer has one


def test_customers_balances_open_plus_movements_close(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "saft.xml"
    result = _export(engine, rules_settings, target)
    document = etree.parse(str(target))
    balances = {
        customer.findtext("s:CustomerID", namespaces=NS): [
            (element.tag.rpartition("}")[2], element.text)
            for element in customer.find("s:BalanceAccount", NS)
        ]
        for customer in document.iterfind(".//s:Customer", NS)
    }
    assert balances == {
        "org:0192:923609016": [("AccountID", "1500"), ("OpeningDebitBalance", "0.00"),
                               ("ClosingDebitBalance", "200.00")],
        "C-2": [("AccountID", "1500"), ("OpeningDebitBalance", "625.00"), ("ClosingDebitBalance", "625.00")],
    }  # fmt: skip
    names = document.xpath("//s:Customer/s:Name/text()", namespaces=NS)
    assert sorted(names) == ["Midnattsol Drift AS", "Vestkyst Handel AS"]
    assert result.customers == 2
    prepayments = document.xpath("//s:Account[s:AccountID='2900']", namespaces=NS)[0]
    assert prepayments.findtext("s:ClosingCreditBalance", namespaces=NS) == "200.00"
    receivables = document.xpath("//s:Account[s:AccountID='1500']", namespaces=NS)[0]
    assert receivables.findtext("s:OpeningDebitBalance", namespaces=NS) == "625.00"
    assert receivables.findtext("s:ClosingDebitBalance", namespaces=NS) == "825.00"


def test_the_same_export_twice_is_the_same_bytes_and_two_numbered_exports(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    first = _export(engine, rules_settings, tmp_path / "one.xml")
    second = _export(engine, rules_settings, tmp_path / "two.xml")
    assert (tmp_path / "one.xml").read_bytes() == (tmp_path / "two.xml").read_bytes()
    assert first.sha256 == second.sha256 and (first.number, second.number) == (1, 2)
    with session_scope(engine) as session:
        kept = session.execute(select(LedgerExport).order_by(LedgerExport.number)).scalars().all()
    assert [(row.kind, row.format, row.period_from, row.voucher_count) for row in kept] == [
        ("saft", "saft-1.30", "2026-11-01", 9)
    ] * 2
    stored = saft.stored_file(document_store(rules_settings, engine), kept[0])
    assert stored == (tmp_path / "one.xml").read_bytes()
    assert kept[0].size == len(stored) and kept[0].sha256 == hashlib.sha256(stored).hexdigest()


def _refused(engine: Engine, settings: Settings, tmp_path: Path) -> LedgerRefused:
    tmp_path.mkdir(exist_ok=True)
    target = tmp_path / "saft.xml"
    with pytest.raises(LedgerRefused) as refused:
        _export(engine, settings, target)
    assert list(tmp_path.iterdir()) == []  # no file, not even a part
    with session_scope(engine) as session:
        assert session.execute(select(LedgerExport)).first() is None
    return refused.value


def test_a_line_naming_a_customer_missing_from_master_files_is_refused(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    add_voucher(engine, 11, dt.date(2026, 11, 28), "notice", [
        Line("1500", debit="70.00", customer="org:0192:999999999"), Line("3900", credit="70.00"),
    ])  # fmt: skip
    refused = _refused(engine, rules_settings, tmp_path / "out")
    assert refused.field == "Transaction 11 line 1 CustomerID"
    assert "'org:0192:999999999' is not in MasterFiles" in refused.reason


def test_a_line_naming_an_account_outside_the_chart_is_refused(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    add_voucher(engine, 11, dt.date(2026, 11, 28), "payment", [
        Line("1920", debit="5.00"), Line("9999", credit="5.00"),
    ])  # fmt: skip
    refused = _refused(engine, rules_settings, tmp_path / "out")
    assert (refused.field, refused.reason) == ("Transaction 11 line 2 AccountID", "account '9999' is not in "
                                               "MasterFiles")  # fmt: skip


def test_an_unbalanced_voucher_is_refused(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    add_voucher(engine, 11, dt.date(2026, 11, 28), "payment", [
        Line("1920", debit="100.00"), Line("2900", credit="99.99"),
    ])  # fmt: skip
    refused = _refused(engine, rules_settings, tmp_path / "out")
    assert refused.field == "Transaction 11"
    assert refused.reason.startswith("debit 100.00 and credit 99.99 differ by 0.01")


def test_a_tax_code_outside_the_tax_table_is_refused(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    add_voucher(engine, 11, dt.date(2026, 11, 28), "invoice", [
        Line("1500", debit="10.00", customer=month[0]),
        Line("3000", credit="10.00", extra={"tax_code": "99", "tax_rate": "0", "tax_base": "10.00",
                                            "tax_amount": "0.00"}),
    ])  # fmt: skip
    refused = _refused(engine, rules_settings, tmp_path / "out")
    assert refused.field == "Transaction 11 line 2 TaxCode"


def test_a_grouping_code_missing_from_the_list_is_refused(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path, client: TestClient,
    auth: dict[str, str],
) -> None:  # fmt: skip
    settings = client.get("/settings", headers=auth).json()
    settings.setdefault("ledger", {})
    chart = [
        {"number": n, "name": f"Account {n}", "grouping_category": "salgsinntekt", "grouping_code": "3000"}
        for n in ("1500", "1920", "2700", "2701", "2702", "2703", "2900", "3000", "3100", "3200", "3900",
                  "7830", "8050", "8060", "8160")
    ]  # fmt: skip
    chart[0] = {**chart[0], "grouping_category": "balanseverdiForOmloepsmiddel", "grouping_code": "1599"}
    settings["ledger"]["accounts"] = chart
    answer = client.put("/settings", json=settings, headers=auth)
    assert answer.status_code == 200, answer.text
    refused = _refused(engine, rules_settings, tmp_path / "out")
    assert refused.field == "ledger.accounts[0].grouping_code"
    assert "1599 is not a grouping code" in refused.reason


def test_no_rules_directory_is_refused_naming_the_setting(
    engine: Engine, settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    refused = _refused(engine, settings, tmp_path / "out")
    assert refused.field == "GATEWAY_RULES_DIR" and "not set" in refused.reason
    elsewhere = settings.model_copy(update={"rules_dir": tmp_path / "rules"})
    refused = _refused(engine, elsewhere, tmp_path / "out")
    assert "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd is missing" in refused.reason


def test_before_export_runs_first_with_the_last_day(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    """The posting run's call site: what it posts up to the last day is in the file."""

    def post_until(day: dt.date) -> None:
        add_voucher(engine, 11, day, "payment", [Line("1920", debit="1.00"), Line("2900", credit="1.00")])

    result = _export(engine, rules_settings, tmp_path / "saft.xml", before_export=post_until)
    assert result.transactions == 10 and result.total_debit == NOVEMBER_DEBIT + Decimal("1.00")


def test_an_empty_range_is_a_valid_file_with_balances_only(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "saft.xml"
    result = saft.export_to_path(
        engine, rules_settings, "acme", dt.date(2026, 12, 1), dt.date(2026, 12, 31), target, actor="test",
        created_on=dt.date(2027, 1, 2),
    )  # fmt: skip
    assert result.transactions == 0 and result.customers == 2  # balances without movements
    assert xmlschema.XMLSchema(str(XSD)).is_valid(str(target))
    assert summarise(target).as_dict()["created"] == "2027-01-02"


def test_export_to_a_binary_file_gives_the_same_bytes(
    engine: Engine, rules_settings: Settings, month: tuple[str, str], tmp_path: Path
) -> None:
    _export(engine, rules_settings, tmp_path / "saft.xml")
    out = io.BytesIO()
    result = saft.export(engine, rules_settings, "acme", *NOVEMBER, out, actor="test")
    assert out.getvalue() == (tmp_path / "saft.xml").read_bytes() and result.number == 2
