"""The pure SAF-T writer and reader: a small file written from vouchers validates against the official XSD,
`summarise` finds what the schema cannot (and `inspect` shows it), sniffing, long customer ids, the tax
table's descriptions."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from lxml import etree

import mappings
from mappings.base import FormatError
from mappings.ledger import saft
from schemas.ledger import Voucher, VoucherLine, default_chart, default_vat_codes
from tests.conftest import SHARED

XSD = SHARED / "validation" / "saf-t-1.30" / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"
HEADER = saft.SaftHeader(
    registration_number="987654325", company_name="Nordlys Verktøy AS", telephone="+47 22 00 00 00",
    currency="NOK", selection_start=dt.date(2026, 11, 1), selection_end=dt.date(2026, 11, 30),
    created_on=dt.date(2026, 12, 1), software_company="Invoice gateway", software_id="invoice-gateway",
    software_version="0.1.0",
)  # fmt: skip
D = Decimal


def _voucher(number: int, *lines: tuple[str, str, str, str | None]) -> Voucher:
    return Voucher(
        number=number, period="2026-11", voucher_date=dt.date(2026, 11, 2), event_date=dt.date(2026, 11, 2),
        voucher_type="invoice", source_key=f"invoice:{number}",
        lines=[
            VoucherLine(line_no=n, account=account, debit=D(debit), credit=D(credit),
                        customer_number=customer)
            for n, (account, debit, credit, customer) in enumerate(lines, 1)
        ],
    )  # fmt: skip


def _file(
    vouchers: list[Voucher], *, declared: saft.SaftTotals | None = None, closing: str = "100.00"
) -> bytes:
    accounts = [
        saft.SaftAccount(a.number, a.name, a.grouping_category, a.grouping_code, D(0), D(0))
        for a in default_chart()
    ]
    accounts = [
        account if account.account_id not in ("1500", "3000") else
        saft.SaftAccount(account.account_id, account.description, account.grouping_category,
                         account.grouping_code, D(0), D(100) if account.account_id == "1500" else D(-100))
        for account in accounts
    ]  # fmt: skip
    customers = [saft.SaftCustomer("C-1", "Fjordbyen Bygg AS", "1500", D(0), D(closing))]
    out = io.BytesIO()
    written = saft.write(
        out, HEADER, accounts=accounts, customers=customers,
        tax_codes=saft.tax_codes_from(default_vat_codes()),
        totals=declared or saft.SaftTotals(1, D(100), D(100)), vouchers=vouchers,
    )  # fmt: skip
    assert written.entries == len(vouchers)
    return out.getvalue()


def test_a_written_file_validates_and_adds_up() -> None:
    data = _file([_voucher(1, ("1500", "100.00", "0", "C-1"), ("3000", "0", "100.00", None))])
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(etree.fromstring(data)), schema.error_log
    assert mappings.detect_format(data) == "saft-financial"
    summary = mappings.inspect_file(data)
    assert summary["balanced"] and summary["problems"] == []
    assert (summary["transactions"], summary["lines"], summary["total_debit"]) == (1, 2, "100.00")
    assert (summary["selection_start"], summary["company"]) == ("2026-11-01", "Nordlys Verktøy AS")


def test_what_the_schema_lets_through_is_found() -> None:
    data = _file(
        [
            _voucher(
                1, ("1500", "100.00", "0", "C-9"), ("3000", "0", "90.00", None), ("1234", "0", "5.00", None)
            )
        ],
        closing="0.00",
    )
    found = saft.inspect(data)
    assert not found["balanced"]
    assert [problem["field"] for problem in found["problems"]] == [
        "Transaction 1 line 1 CustomerID", "Transaction 1 line 3 AccountID", "Transaction 1",
        "GeneralLedgerEntries/TotalCredit", "GeneralLedgerEntries", "Account 3000",
    ]  # fmt: skip


def test_a_line_with_both_sides_cannot_be_written() -> None:
    with pytest.raises(FormatError, match="voucher 4 line 1: a line with both a debit and a credit"):
        _file([_voucher(4, ("1500", "1.00", "1.00", None))])


def test_long_customer_numbers_are_shortened_apart() -> None:
    long_a, long_b = "name:" + "a" * 60, "name:" + "a" * 59 + "b"
    assert saft.short_customer_id("C-1") == "C-1"
    assert len(saft.short_customer_id(long_a)) == 35
    assert saft.short_customer_id(long_a) != saft.short_customer_id(long_b)


def test_the_tax_table_has_one_entry_per_code_with_a_description() -> None:
    codes = saft.tax_codes_from(default_vat_codes())
    assert [code.code for code in codes] == ["3", "31", "33", "32", "5", "51", "52", "6"]
    blank = default_vat_codes()[0].model_copy(update={"description": ""})
    assert saft.tax_codes_from([blank])[0].description == "Utgående merverdiavgift, alminnelig sats"


def test_other_xml_is_not_saft() -> None:
    assert not saft.sniff(b"<AuditFile/>")
    with pytest.raises(FormatError, match="not a SAF-T Financial file"):
        saft.inspect(b"<AuditFile/>")
    with pytest.raises(FormatError, match="not well-formed"):
        saft.inspect(b"<AuditFile xmlns='" + saft.NAMESPACE.encode() + b"'>")
