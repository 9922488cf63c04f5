"""SAF-T Financial 1.30 (Skatteetaten's Norwegian Standard Audit File): the receivables journal of a date
range as the ledger and the tax authority read it.

Written, never received: `write` streams the file with lxml's `etree.xmlfile` — the header and master files
are small trees, each voucher is one `Transaction` written and dropped — so a month of 100,000 invoices
keeps memory flat. `GeneralLedgerEntries` opens with `NumberOfEntries`, `TotalDebit` and `TotalCredit`,
before any transaction: the caller hands them in (`SaftTotals`, a SQL aggregate over the same vouchers), and
`write` returns what it actually wrote so the caller can compare.

What goes where (1.30): every account carries `GroupingCategory` / `GroupingCode` (næringsspesifikasjon);
a customer's balance sits in `BalanceAccount` (the receivables account, opening and closing, debit or
credit); the tax table lists the tenant's VAT codes with their standard tax code; a transaction is one
voucher (`TransactionID` = voucher number, `Period` / `PeriodYear` = the period it was posted into,
`TransactionDate` = the source event's date, `GLPostingDate` = `SystemEntryDate` = the voucher date); a
line is debit or credit (`DebitAmount` / `CreditAmount`, with `CurrencyCode` / `CurrencyAmount` /
`ExchangeRate` for a foreign-currency line), receivables lines carry `CustomerID` and `SourceDocumentID`
(the invoice number), revenue lines `TaxInformation` with the tax split into `DebitTaxAmount` /
`CreditTaxAmount` on the line's side.

The schema's key/keyref rules never fire (unprefixed XPaths), so `summarise` reads a file back (iterparse,
memory flat) and reports what the schema cannot: a line naming an account, customer or tax code missing
from `MasterFiles`, a transaction whose debits and credits differ, declared totals that do not match the
lines, a customer or account whose opening balance plus movements is not its closing balance. `inspect`
(`gateway inspect FILE`) shows that summary.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from lxml import etree

from mappings.base import FormatError
from schemas.ledger import VatCode, Voucher, VoucherLine

NAMESPACE = "urn:StandardAuditFile-Taxation-Financial:NO"
AUDIT_FILE_VERSION = "1.30"
MEDIA_TYPE = "application/xml"
#: SAF-T's CustomerID is at most 35 characters (SAFmiddle1textType)
CUSTOMER_ID_LENGTH = 35
JOURNAL_ID = "AR"
JOURNAL_DESCRIPTION = "Kundereskontro (receivables journal)"
#: how many problems `summarise` keeps word for word (all are counted)
PROBLEMS_KEPT = 100
CENT = Decimal("0.01")
SNIFF_BYTES = 4096
_NSMAP: Any = {None: NAMESPACE}  # lxml-stubs want str keys; None is lxml's default namespace

#: The output-VAT standard tax codes' descriptions (Standard_Tax_Codes.csv, DescriptionNOB), for a tenant's
#: VAT code that carries no description of its own.
STANDARD_TAX_CODE_DESCRIPTIONS: dict[str, str] = {
    "3": "Utgående merverdiavgift, alminnelig sats",
    "31": "Utgående merverdiavgift, middels sats",
    "32": "Utgående merverdiavgift, råfisk",
    "33": "Utgående merverdiavgift, lav sats",
    "5": "Innenlands omsetning og uttak fritatt for merverdiavgift",
    "51": "Innenlandsk omsetning med omvendt avgiftplikt",
    "52": "Utførsel av varer og tjenester",
    "6": "Omsetning og uttak utenfor merverdiavgiftsloven",
    "7": "Ingen merverdiavgiftsbehandling (inntekter)",
}

#: `VoucherDescription` per voucher type (and a transaction's `Description` when the voucher has none).
VOUCHER_DESCRIPTIONS: dict[str, str] = {
    "invoice": "Utgående faktura",
    "credit_note": "Kreditnota",
    "payment": "Innbetaling",
    "allocation": "Avregning av innbetaling",
    "allocation_reversal": "Tilbakeført avregning",
    "notice": "Purregebyr, renter og kompensasjon",
    "notice_reversal": "Tilbakeført purring",
}


@dataclass(frozen=True)
class SaftHeader:
    """The file's `Header`: who the company is, the selection, the software and the day it was made."""

    registration_number: str
    company_name: str
    telephone: str
    currency: str
    selection_start: Any  # dt.date
    selection_end: Any  # dt.date
    created_on: Any  # dt.date
    software_company: str
    software_id: str
    software_version: str
    contact_first_name: str = "Receivables"
    contact_last_name: str = "Gateway"
    contact_email: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str = "NO"
    vat_registered: bool = True


@dataclass(frozen=True)
class SaftAccount:
    """One account of `MasterFiles/GeneralLedgerAccounts`, its balances debit − credit."""

    account_id: str
    description: str
    grouping_category: str
    grouping_code: str
    opening: Decimal
    closing: Decimal


@dataclass(frozen=True)
class SaftCustomer:
    """One customer of `MasterFiles/Customers`, its balance on `balance_account` debit − credit."""

    customer_id: str
    name: str
    balance_account: str
    opening: Decimal
    closing: Decimal
    registration_number: str | None = None


@dataclass(frozen=True)
class SaftTaxCode:
    """One `TaxCodeDetails` entry: the tenant's code, which here is the standard tax code itself."""

    code: str
    description: str
    percentage: Decimal | None
    standard_code: str


@dataclass(frozen=True)
class SaftTotals:
    """`GeneralLedgerEntries`' control figures: transactions, and the sum of the lines' debits and credits."""

    entries: int
    debit: Decimal
    credit: Decimal


def short_customer_id(number: str) -> str:
    """`number` as a `CustomerID` (35 characters at most): unchanged when it fits, else its start and a
    digest, so two long keys never meet and the same key always gives the same id."""
    if len(number) <= CUSTOMER_ID_LENGTH:
        return number
    digest = hashlib.sha256(number.encode()).hexdigest()[:8]
    return number[: CUSTOMER_ID_LENGTH - 9] + "~" + digest


def tax_codes_from(vat_codes: Iterable[VatCode]) -> list[SaftTaxCode]:
    """The tax table of a tenant's VAT codes: one entry per tax code (the first mapping that names it)."""
    found: dict[str, SaftTaxCode] = {}
    for vat in vat_codes:
        if vat.tax_code in found:
            continue
        description = vat.description or STANDARD_TAX_CODE_DESCRIPTIONS.get(vat.tax_code, "Merverdiavgift")
        found[vat.tax_code] = SaftTaxCode(
            code=vat.tax_code, description=description, percentage=vat.rate, standard_code=vat.tax_code
        )
    return list(found.values())


# --- writing ------------------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def _sub(parent: etree._Element, name: str, text: object | None = None) -> etree._Element:
    element = etree.SubElement(parent, _q(name))
    if text is not None:
        element.text = str(text)
    return element


def _balance(parent: etree._Element, when: str, amount: Decimal) -> None:
    side = "Debit" if amount >= 0 else "Credit"
    _sub(parent, f"{when}{side}Balance", _money(abs(amount)))


def _header(header: SaftHeader) -> etree._Element:
    root = etree.Element(_q("Header"), nsmap=_NSMAP)
    _sub(root, "AuditFileVersion", AUDIT_FILE_VERSION)
    _sub(root, "AuditFileCountry", "NO")
    _sub(root, "AuditFileDateCreated", header.created_on.isoformat())
    _sub(root, "SoftwareCompanyName", header.software_company)
    _sub(root, "SoftwareID", header.software_id)
    _sub(root, "SoftwareVersion", header.software_version)
    company = _sub(root, "Company")
    _sub(company, "RegistrationNumber", header.registration_number)
    _sub(company, "Name", header.company_name)
    if header.street or header.city or header.postal_code:
        address = _sub(company, "Address")
        for name, value in (("StreetName", header.street), ("City", header.city)):
            if value:
                _sub(address, name, value)
        if header.postal_code:
            _sub(address, "PostalCode", header.postal_code)
        _sub(address, "Country", header.country)
    contact = _sub(company, "Contact")
    person = _sub(contact, "ContactPerson")
    _sub(person, "FirstName", header.contact_first_name)
    _sub(person, "LastName", header.contact_last_name)
    _sub(contact, "Telephone", header.telephone)
    if header.contact_email:
        _sub(contact, "Email", header.contact_email)
    if header.vat_registered:
        registration = _sub(company, "TaxRegistration")
        _sub(registration, "TaxRegistrationNumber", f"{header.registration_number}MVA")
        _sub(registration, "TaxAuthority", "Skatteetaten")
    _sub(root, "DefaultCurrencyCode", header.currency)
    selection = _sub(root, "SelectionCriteria")
    _sub(selection, "SelectionStartDate", header.selection_start.isoformat())
    _sub(selection, "SelectionEndDate", header.selection_end.isoformat())
    _sub(root, "TaxAccountingBasis", "A")
    return root


def _account(account: SaftAccount) -> etree._Element:
    element = etree.Element(_q("Account"), nsmap=_NSMAP)
    _sub(element, "AccountID", account.account_id)
    _sub(element, "AccountDescription", account.description)
    _sub(element, "GroupingCategory", account.grouping_category)
    _sub(element, "GroupingCode", account.grouping_code)
    _sub(element, "AccountType", "GL")
    _balance(element, "Opening", account.opening)
    _balance(element, "Closing", account.closing)
    return element


def _customer(customer: SaftCustomer) -> etree._Element:
    element = etree.Element(_q("Customer"), nsmap=_NSMAP)
    if customer.registration_number:
        _sub(element, "RegistrationNumber", customer.registration_number)
    _sub(element, "Name", customer.name)
    _sub(element, "CustomerID", customer.customer_id)
    balance = _sub(element, "BalanceAccount")
    _sub(balance, "AccountID", customer.balance_account)
    _balance(balance, "Opening", customer.opening)
    _balance(balance, "Closing", customer.closing)
    return element


def _tax_table(tax_codes: list[SaftTaxCode]) -> etree._Element:
    table = etree.Element(_q("TaxTable"), nsmap=_NSMAP)
    entry = _sub(table, "TaxTableEntry")
    _sub(entry, "TaxType", "MVA")
    _sub(entry, "Description", "Merverdiavgift")
    for code in tax_codes:
        details = _sub(entry, "TaxCodeDetails")
        _sub(details, "TaxCode", code.code)
        _sub(details, "Description", code.description)
        _sub(details, "TaxPercentage", f"{code.percentage if code.percentage is not None else Decimal(0):f}")
        _sub(details, "Country", "NO")
        _sub(details, "StandardTaxCode", code.standard_code)
        _sub(details, "BaseRate", "100")
    return table


def _amount(parent: etree._Element, name: str, amount: Decimal, line: VoucherLine | None = None) -> None:
    element = _sub(parent, name)
    _sub(element, "Amount", _money(amount))
    if line is not None and line.currency and line.currency_amount is not None:
        _sub(element, "CurrencyCode", line.currency)
        _sub(element, "CurrencyAmount", _money(abs(line.currency_amount)))
        if line.exchange_rate is not None:
            _sub(element, "ExchangeRate", f"{line.exchange_rate.quantize(Decimal('1e-8')).normalize():f}")


def _line_customer_id(line: VoucherLine) -> str | None:
    number = line.customer_number or line.customer_key
    return short_customer_id(number) if number else None


def _transaction(voucher: Voucher) -> etree._Element:
    year, month = voucher.period.split("-")
    kind = VOUCHER_DESCRIPTIONS.get(voucher.voucher_type, voucher.voucher_type)
    element = etree.Element(_q("Transaction"), nsmap=_NSMAP)
    _sub(element, "TransactionID", voucher.number)
    _sub(element, "Period", int(month))
    _sub(element, "PeriodYear", year)
    _sub(element, "TransactionDate", voucher.event_date.isoformat())
    _sub(element, "VoucherType", voucher.voucher_type)
    _sub(element, "VoucherDescription", kind)
    _sub(element, "Description", (voucher.description or kind)[:256])
    _sub(element, "SystemEntryDate", voucher.voucher_date.isoformat())
    _sub(element, "GLPostingDate", voucher.voucher_date.isoformat())
    for line in voucher.lines:
        row = _sub(element, "Line")
        _sub(row, "RecordID", line.line_no)
        _sub(row, "AccountID", line.account)
        if line.document_number:
            _sub(row, "SourceDocumentID", line.document_number)
        customer_id = _line_customer_id(line)
        if customer_id:
            _sub(row, "CustomerID", customer_id)
        _sub(row, "Description", (line.text or voucher.description or kind)[:256])
        debit = line.debit != 0 or line.credit == 0
        _amount(row, "DebitAmount" if debit else "CreditAmount", line.debit if debit else line.credit, line)
        if line.tax_code is not None:
            tax = _sub(row, "TaxInformation")
            _sub(tax, "TaxType", "MVA")
            _sub(tax, "TaxCode", line.tax_code)
            if line.tax_rate is not None:
                _sub(tax, "TaxPercentage", f"{line.tax_rate:f}")
            if line.tax_base is not None:
                _sub(tax, "TaxBase", _money(line.tax_base))
            _amount(tax, "DebitTaxAmount" if debit else "CreditTaxAmount", line.tax_amount or Decimal(0))
        if line.kid:
            _sub(row, "ReferenceNumber", line.kid[:35])
        if line.due_date is not None:
            _sub(row, "DueDate", line.due_date.isoformat())
    return element


def _emit(xml: Any, element: etree._Element, depth: int) -> None:
    """Write `element` inside the open `xml` writer, indented: through the writer's own element contexts,
    so the namespace declared once on AuditFile is never declared again on every transaction (which also
    keeps xmlschema's lazy validation flat: it remembers every element that declares a namespace)."""
    xml.write("\n" + "  " * depth)
    with xml.element(element.tag):
        if element.text:
            xml.write(element.text)
        children = len(element)
        for child in element:
            _emit(xml, child, depth + 1)
        if children:
            xml.write("\n" + "  " * depth)


def _leaf(name: str, text: str) -> etree._Element:
    element = etree.Element(_q(name), nsmap=_NSMAP)
    element.text = text
    return element


def write(
    out: IO[bytes],
    header: SaftHeader,
    *,
    accounts: Iterable[SaftAccount],
    customers: Iterable[SaftCustomer],
    tax_codes: list[SaftTaxCode],
    totals: SaftTotals,
    vouchers: Iterable[Voucher],
) -> SaftTotals:
    """Stream the audit file to `out`; return the totals of what was written (compare with `totals`).

    A line with both a debit and a credit cannot be written (a SAF-T line is one or the other): a
    `FormatError` naming the voucher and line.
    """
    written_debit = written_credit = Decimal(0)
    entries = 0
    with etree.xmlfile(out, encoding="UTF-8") as xml:
        xml.write_declaration()
        with xml.element(_q("AuditFile"), nsmap=_NSMAP):
            _emit(xml, _header(header), 1)
            xml.write("\n  ")
            with xml.element(_q("MasterFiles")):
                xml.write("\n    ")
                with xml.element(_q("GeneralLedgerAccounts")):
                    for account in accounts:
                        _emit(xml, _account(account), 3)
                    xml.write("\n    ")
                remaining = iter(customers)
                first = next(remaining, None)
                if first is not None:  # Customers, when present, holds at least one Customer
                    xml.write("\n    ")
                    with xml.element(_q("Customers")):
                        for customer in itertools.chain([first], remaining):
                            _emit(xml, _customer(customer), 3)
                        xml.write("\n    ")
                if tax_codes:
                    _emit(xml, _tax_table(tax_codes), 2)
                xml.write("\n  ")
            xml.write("\n  ")
            with xml.element(_q("GeneralLedgerEntries")):
                _emit(xml, _leaf("NumberOfEntries", str(totals.entries)), 2)
                _emit(xml, _leaf("TotalDebit", _money(totals.debit)), 2)
                _emit(xml, _leaf("TotalCredit", _money(totals.credit)), 2)
                xml.write("\n    ")
                with xml.element(_q("Journal")):
                    _emit(xml, _leaf("JournalID", JOURNAL_ID), 3)
                    _emit(xml, _leaf("Description", JOURNAL_DESCRIPTION), 3)
                    _emit(xml, _leaf("Type", JOURNAL_ID), 3)
                    for voucher in vouchers:
                        for line in voucher.lines:
                            if line.debit != 0 and line.credit != 0:
                                raise FormatError(
                                    f"voucher {voucher.number} line {line.line_no}",
                                    "a line with both a debit and a credit cannot be written to SAF-T",
                                )
                            written_debit += line.debit
                            written_credit += line.credit
                        entries += 1
                        _emit(xml, _transaction(voucher), 3)
                    xml.write("\n    ")
                xml.write("\n  ")
            xml.write("\n")
    return SaftTotals(entries=entries, debit=written_debit, credit=written_credit)


# --- reading back -------------------------------------------------------------------------------------------


@dataclass
class SaftSummary:
    """What a SAF-T file says, and what does not add up in it (the checks the schema cannot make)."""

    version: str | None = None
    company: str | None = None
    registration_number: str | None = None
    currency: str | None = None
    selection_start: str | None = None
    selection_end: str | None = None
    created: str | None = None
    software: str | None = None
    accounts: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    customers: dict[str, tuple[str, Decimal, Decimal]] = field(default_factory=dict)
    tax_codes: set[str] = field(default_factory=set)
    declared_entries: int | None = None
    declared_debit: Decimal | None = None
    declared_credit: Decimal | None = None
    transactions: int = 0
    lines: int = 0
    total_debit: Decimal = Decimal(0)
    total_credit: Decimal = Decimal(0)
    account_movements: dict[str, Decimal] = field(default_factory=dict)
    customer_movements: dict[str, Decimal] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, where: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append((where, reason))

    @property
    def balanced(self) -> bool:
        return self.problem_count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": "saft-financial",
            "version": self.version,
            "company": self.company,
            "registration_number": self.registration_number,
            "currency": self.currency,
            "selection_start": self.selection_start,
            "selection_end": self.selection_end,
            "created": self.created,
            "software": self.software,
            "accounts": len(self.accounts),
            "customers": len(self.customers),
            "tax_codes": len(self.tax_codes),
            "transactions": self.transactions,
            "lines": self.lines,
            "total_debit": _money(self.total_debit),
            "total_credit": _money(self.total_credit),
            "declared_entries": self.declared_entries,
            "declared_total_debit": _money(self.declared_debit) if self.declared_debit is not None else None,
            "declared_total_credit": _money(self.declared_credit)
            if self.declared_credit is not None
            else None,
            "balanced": self.balanced,
            "problem_count": self.problem_count,
            "problems": [{"field": where, "reason": reason} for where, reason in self.problems],
        }


_SAFE_PARSING: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}


def _text(element: etree._Element, name: str) -> str | None:
    found = element.find(_q(name))
    return found.text.strip() if found is not None and found.text else None


def _decimal(element: etree._Element, name: str, where: str) -> Decimal:
    text = _text(element, name)
    if text is None:
        return Decimal(0)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise FormatError(f"{where}/{name}", f"not a decimal amount: {text[:40]!r}") from None


def _balances(element: etree._Element, where: str) -> tuple[Decimal, Decimal]:
    opening = _decimal(element, "OpeningDebitBalance", where) - _decimal(
        element, "OpeningCreditBalance", where
    )
    closing = _decimal(element, "ClosingDebitBalance", where) - _decimal(
        element, "ClosingCreditBalance", where
    )
    return opening, closing


def _read_transaction(summary: SaftSummary, transaction: etree._Element) -> None:
    transaction_id = _text(transaction, "TransactionID") or "?"
    where = f"Transaction {transaction_id}"
    debit = credit = Decimal(0)
    for line in transaction.iterfind(_q("Line")):
        summary.lines += 1
        at = f"{where} line {_text(line, 'RecordID') or '?'}"
        account = _text(line, "AccountID") or ""
        if account not in summary.accounts:
            summary.problem(f"{at} AccountID", f"account {account!r} is not in MasterFiles")
        amount = Decimal(0)
        side = line.find(_q("DebitAmount"))
        if side is not None:
            amount = _decimal(side, "Amount", f"{at}/DebitAmount")
            debit += amount
        side = line.find(_q("CreditAmount"))
        if side is not None:
            credit_amount = _decimal(side, "Amount", f"{at}/CreditAmount")
            credit += credit_amount
            amount -= credit_amount
        summary.account_movements[account] = summary.account_movements.get(account, Decimal(0)) + amount
        customer = _text(line, "CustomerID")
        if customer is not None:
            known = summary.customers.get(customer)
            if known is None:
                summary.problem(f"{at} CustomerID", f"customer {customer!r} is not in MasterFiles")
            elif known[0] == account:
                summary.customer_movements[customer] = (
                    summary.customer_movements.get(customer, Decimal(0)) + amount
                )
        for tax in line.iterfind(_q("TaxInformation")):
            code = _text(tax, "TaxCode")
            if code is not None and code not in summary.tax_codes:
                summary.problem(f"{at} TaxCode", f"tax code {code!r} is not in MasterFiles/TaxTable")
    if debit != credit:
        summary.problem(
            where, f"debit {_money(debit)} and credit {_money(credit)} differ by {_money(debit - credit)}"
        )
    summary.transactions += 1
    summary.total_debit += debit
    summary.total_credit += credit


def _finish(summary: SaftSummary) -> None:
    if summary.declared_entries is None:
        return  # no GeneralLedgerEntries: nothing declared, nothing to add up
    if summary.declared_entries != summary.transactions:
        summary.problem(
            "GeneralLedgerEntries/NumberOfEntries",
            f"declares {summary.declared_entries} transactions, the file has {summary.transactions}",
        )
    for name, declared, found in (
        ("TotalDebit", summary.declared_debit, summary.total_debit),
        ("TotalCredit", summary.declared_credit, summary.total_credit),
    ):
        if declared is not None and declared != found:
            summary.problem(
                f"GeneralLedgerEntries/{name}",
                f"declares {_money(declared)}, the lines add up to {_money(found)}",
            )
    if summary.total_debit != summary.total_credit:
        summary.problem(
            "GeneralLedgerEntries",
            f"total debit {_money(summary.total_debit)} and credit {_money(summary.total_credit)} differ",
        )
    for account, (opening, closing) in summary.accounts.items():
        moved = summary.account_movements.get(account, Decimal(0))
        if opening + moved != closing:
            summary.problem(
                f"Account {account}",
                f"opening {_money(opening)} + movements {_money(moved)} is not the closing {_money(closing)}",
            )
    for customer, (_account_id, opening, closing) in summary.customers.items():
        moved = summary.customer_movements.get(customer, Decimal(0))
        if opening + moved != closing:
            summary.problem(
                f"Customer {customer}",
                f"opening {_money(opening)} + movements {_money(moved)} is not the closing {_money(closing)}",
            )


def summarise(source: IO[bytes] | Path | str) -> SaftSummary:
    """Read a SAF-T Financial file back (streamed) and check what the schema cannot; `FormatError` for a
    file that is no SAF-T Financial XML at all."""
    summary = SaftSummary()
    tags = [_q(name) for name in ("Header", "Account", "Customer", "TaxCodeDetails", "Transaction")]
    tags += [_q(name) for name in ("NumberOfEntries", "TotalDebit", "TotalCredit", "AuditFile")]
    opened = open(source, "rb") if isinstance(source, (str, Path)) else None  # noqa: SIM115
    stream = opened or source
    assert not isinstance(stream, (str, Path))
    seen_root = False
    try:
        for event, element in etree.iterparse(stream, events=("start", "end"), tag=tags, **_SAFE_PARSING):
            name = etree.QName(element).localname
            if event == "start":
                if name == "AuditFile":
                    seen_root = True
                continue
            _read_element(summary, name, element)
            if name in ("Account", "Customer", "TaxCodeDetails", "Transaction", "Header"):
                element.clear()
                while element.getprevious() is not None:  # what was read before it, too
                    del element.getparent()[0]
    except etree.XMLSyntaxError as error:
        raise FormatError(f"line {error.lineno}", f"not well-formed XML ({error.msg})") from None
    finally:
        if opened is not None:
            opened.close()
    if not seen_root:
        raise FormatError("AuditFile", f"not a SAF-T Financial file (no AuditFile in {NAMESPACE})")
    _finish(summary)
    return summary


def _read_element(summary: SaftSummary, name: str, element: etree._Element) -> None:
    parent = element.getparent()
    in_ledger = parent is not None and etree.QName(parent).localname == "GeneralLedgerEntries"
    if name == "Header":
        summary.version = _text(element, "AuditFileVersion")
        summary.currency = _text(element, "DefaultCurrencyCode")
        summary.created = _text(element, "AuditFileDateCreated")
        software = [_text(element, part) for part in ("SoftwareCompanyName", "SoftwareID", "SoftwareVersion")]
        summary.software = " ".join(part for part in software if part) or None
        company = element.find(_q("Company"))
        if company is not None:
            summary.company = _text(company, "Name")
            summary.registration_number = _text(company, "RegistrationNumber")
        selection = element.find(_q("SelectionCriteria"))
        if selection is not None:
            summary.selection_start = _text(selection, "SelectionStartDate")
            summary.selection_end = _text(selection, "SelectionEndDate")
    elif (
        name == "Account" and parent is not None and etree.QName(parent).localname == "GeneralLedgerAccounts"
    ):
        account = _text(element, "AccountID") or ""
        summary.accounts[account] = _balances(element, f"Account {account}")
    elif name == "Customer":
        customer = _text(element, "CustomerID") or ""
        balance = element.find(_q("BalanceAccount"))
        if balance is not None:
            opening, closing = _balances(balance, f"Customer {customer}")
            summary.customers[customer] = (_text(balance, "AccountID") or "", opening, closing)
        else:
            summary.customers[customer] = ("", Decimal(0), Decimal(0))
    elif name == "TaxCodeDetails":
        code = _text(element, "TaxCode")
        if code:
            summary.tax_codes.add(code)
    elif name == "Transaction":
        _read_transaction(summary, element)
    elif in_ledger and name == "NumberOfEntries":
        try:
            summary.declared_entries = int((element.text or "").strip())
        except ValueError:
            raise FormatError("GeneralLedgerEntries/NumberOfEntries", "not a number") from None
    elif in_ledger and name in ("TotalDebit", "TotalCredit"):
        try:
            value = Decimal((element.text or "").strip())
        except InvalidOperation:
            raise FormatError(f"GeneralLedgerEntries/{name}", "not a decimal amount") from None
        if name == "TotalDebit":
            summary.declared_debit = value
        else:
            summary.declared_credit = value


# --- registry verbs -----------------------------------------------------------------------------------------


def sniff(data: bytes) -> bool:
    """True when the first few KB declare SAF-T Financial's namespace on an AuditFile."""
    head = data[:SNIFF_BYTES]
    return NAMESPACE.encode() in head and b"AuditFile" in head


def inspect(data: bytes) -> dict[str, Any]:
    """Header, selection, counts and totals of a SAF-T Financial file, and whether it adds up (`balanced`,
    with the problems found: references missing from MasterFiles, unbalanced transactions, totals and
    balances that differ)."""
    if not data.strip():
        raise FormatError("document", "empty XML document")
    if data.find(b"<!DOCTYPE") != -1 or data.find(b"<!ENTITY") != -1:
        raise FormatError("document", "XML with a DOCTYPE or entity declarations is refused")
    return summarise(io.BytesIO(data)).as_dict()
