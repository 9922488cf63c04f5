"""The SAF-T Financial 1.30 file of a date range: written, checked, and only then handed over.

Why a file is checked before anyone sees it: the tax authority's submission and the seller's ledger both
refuse a file that does not validate, and the schema alone lets through the worst faults (its key/keyref
rules never fire: a line naming a customer that is not in MasterFiles, debits that are not credits). So
the file is written to a temporary file next to its target, validated with xmlschema against the official
XSD (`<GATEWAY_RULES_DIR>/saf-t-1.30/`, read lazily so memory stays flat), read back by
`mappings.ledger.saft.summarise` (every line's AccountID / CustomerID / TaxCode in MasterFiles, debit =
credit per transaction and in total, declared totals = the lines, opening + movements = closing for every
account and customer), and each account's grouping is looked up in næringsspesifikasjon when the rules
directory has it. Anything wrong is a `LedgerRefused` naming the field and the reason, and no file is left
behind; a good file is moved into place and kept as a numbered `LedgerExport` (its bytes gzipped in the
document store: `stored_file` gives them back).

What goes in: the vouchers whose voucher date is in the range (the period a voucher was posted into decides
where it belongs, not its event date), the tenant's whole chart with opening (before the first day) and
closing balances, the customers with a receivables balance or a movement, with their balances on the
receivables account, and the tax table of the tenant's VAT codes. Nothing depends on the clock: the file's
creation date is the newest voucher's posting day (or `created_on`), so the same data gives the same bytes.

The data is read here through small queries over the ledger tables (`_vouchers`, `_account_balances`,
`_customer_balances`, `_customer_register`): the same reading `gateway.services.ledger.journal` offers, kept
private so this export stands on the tables alone. Sums are taken in SQL in whole cents (amounts are
stored as exact two-decimal text), which is exact on both databases.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import gzip
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import xmlschema
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import InvoiceRecord
from db.models.ledger import LedgerExport, LedgerLine, LedgerVoucher
from gateway.services.ledger import journal
from gateway.services.ledger.errors import LedgerRefused
from gateway.services.ledger.posting import lock_tenant_posting
from gateway.services.outbound.documents import DocumentStore, document_store, store_document
from gateway.services.tenancy.tenants import tenant_settings
from gateway.settings import Settings
from mappings.base import FormatError
from mappings.invoice import canonical_json
from mappings.ledger import saft as saft_file
from schemas.canonical import Invoice
from schemas.ledger import LedgerSettings, Voucher, VoucherLine

XSD_PATH = Path("saf-t-1.30") / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"
GROUPING_CSV_PATH = Path("saf-t-1.30") / "naeringsspesifikasjon.csv"
VOUCHERS_PER_CHUNK = 1000
CUSTOMERS_PER_QUERY = 500
SOFTWARE_COMPANY = "Invoice gateway"
SOFTWARE_ID = "invoice-gateway"
FORMAT = "saft-1.30"
MEDIA_TYPE = saft_file.MEDIA_TYPE
STORED_MEDIA_TYPE = "application/gzip"
COPY_CHUNK = 1 << 20
#: xmlschema's lazy mode holds one subtree at this depth at a time: AuditFile/GeneralLedgerEntries/Journal/
#: Transaction (and MasterFiles/Customers/Customer); at depth 1 it would hold all of GeneralLedgerEntries
LAZY_DEPTH = 3

#: What runs before an export reads the ledger (the posting run, up to the export's last day).
BeforeExport = Callable[[dt.date], object]


@dataclass(frozen=True)
class SaftExport:
    """One SAF-T file written and kept: its number, what it holds, and where its bytes are."""

    export_id: str
    number: int
    tenant_id: str
    date_from: dt.date
    date_to: dt.date
    transactions: int
    total_debit: Decimal
    total_credit: Decimal
    accounts: int
    customers: int
    sha256: str
    size: int
    document_key: str
    filename: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.export_id,
            "number": self.number,
            "tenant_id": self.tenant_id,
            "kind": "saft",
            "format": FORMAT,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "transactions": self.transactions,
            "total_debit": f"{self.total_debit:.2f}",
            "total_credit": f"{self.total_credit:.2f}",
            "accounts": self.accounts,
            "customers": self.customers,
            "sha256": self.sha256,
            "size": self.size,
            "filename": self.filename,
        }


# --- the rules directory ------------------------------------------------------------------------------------


def schema_path(settings: Settings) -> Path:
    """The SAF-T 1.30 XSD under `GATEWAY_RULES_DIR`; refused when it is unset or the file is not there."""
    if settings.rules_dir is None:
        raise LedgerRefused(
            "GATEWAY_RULES_DIR",
            "not set: a SAF-T file is validated against "
            f"<GATEWAY_RULES_DIR>/{XSD_PATH.as_posix()} before it is written",
        )
    path = Path(settings.rules_dir) / XSD_PATH
    if not path.is_file():
        raise LedgerRefused(
            "GATEWAY_RULES_DIR", f"{path} is missing: SAF-T files cannot be validated, so none is written"
        )
    return path


@functools.lru_cache(maxsize=4)
def _schema(path: str) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(path)


def _validate(xsd: Path, document: Path) -> None:
    """The first schema error of `document`, read lazily (subtree by subtree), as a refusal."""
    resource = xmlschema.XMLResource(str(document), lazy=LAZY_DEPTH)
    for error in _schema(str(xsd)).iter_errors(resource):
        where = error.path or "AuditFile"
        raise LedgerRefused(where, f"the SAF-T 1.30 schema refuses the file: {error.reason or error.message}")


@functools.lru_cache(maxsize=4)
def _grouping_codes(path: str) -> frozenset[tuple[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.DictReader(handle, delimiter=";")
        return frozenset((row["GroupingCategory"], row["GroupingCode"]) for row in rows)


def _check_grouping(settings: Settings, ledger: LedgerSettings) -> None:
    """Every account's GroupingCategory / GroupingCode pair is one næringsspesifikasjon lists (when the rules
    directory has the list)."""
    if settings.rules_dir is None:
        return
    path = Path(settings.rules_dir) / GROUPING_CSV_PATH
    if not path.is_file():
        return
    known = _grouping_codes(str(path))
    for index, account in enumerate(ledger.accounts):
        if (account.grouping_category, account.grouping_code) not in known:
            raise LedgerRefused(
                f"ledger.accounts[{index}].grouping_code",
                f"account {account.number}: {account.grouping_category} / {account.grouping_code} is not a "
                f"grouping code of {GROUPING_CSV_PATH.name}",
            )


# --- reading the ledger -------------------------------------------------------------------------------------


_cents = journal.cents
_amount = journal.amount_of_cents


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None and text != "" else None


def _in_range(date_from: dt.date, date_to: dt.date) -> Any:
    return col(LedgerLine.voucher_date).between(date_from, date_to)


def _totals(session: Session, tenant_id: str, date_from: dt.date, date_to: dt.date) -> saft_file.SaftTotals:
    entries = session.execute(
        select(func.count())
        .select_from(LedgerVoucher)
        .where(col(LedgerVoucher.tenant_id) == tenant_id)
        .where(col(LedgerVoucher.voucher_date).between(date_from, date_to))
    ).scalar_one()
    debit, credit = session.execute(
        select(func.sum(_cents(col(LedgerLine.debit))), func.sum(_cents(col(LedgerLine.credit))))
        .where(col(LedgerLine.tenant_id) == tenant_id)
        .where(_in_range(date_from, date_to))
    ).one()
    return saft_file.SaftTotals(entries=int(entries), debit=_amount(debit), credit=_amount(credit))


def _account_balances(
    session: Session, tenant_id: str, date_from: dt.date, date_to: dt.date
) -> dict[str, tuple[Decimal, Decimal]]:
    """Per account: (opening before `date_from`, closing at the end of `date_to`), debit − credit."""
    signed = _cents(col(LedgerLine.debit)) - _cents(col(LedgerLine.credit))
    rows = session.execute(
        select(
            col(LedgerLine.account),
            func.sum(case((col(LedgerLine.voucher_date) < date_from, signed), else_=0)),
            func.sum(signed),
        )
        .where(col(LedgerLine.tenant_id) == tenant_id, col(LedgerLine.voucher_date) <= date_to)
        .group_by(col(LedgerLine.account))
    )
    return {account: (_amount(opening), _amount(closing)) for account, opening, closing in rows}


def _customer_balances(
    session: Session, tenant_id: str, receivables: str, date_from: dt.date, date_to: dt.date
) -> dict[str, tuple[Decimal, Decimal, bool]]:
    """Per customer key on the receivables account: (opening, closing, moved in the range)."""
    signed = _cents(col(LedgerLine.debit)) - _cents(col(LedgerLine.credit))
    rows = session.execute(
        select(
            col(LedgerLine.customer_key),
            func.sum(case((col(LedgerLine.voucher_date) < date_from, signed), else_=0)),
            func.sum(signed),
            func.sum(case((col(LedgerLine.voucher_date) >= date_from, 1), else_=0)),
        )
        .where(col(LedgerLine.tenant_id) == tenant_id, col(LedgerLine.account) == receivables)
        .where(col(LedgerLine.customer_key).is_not(None), col(LedgerLine.voucher_date) <= date_to)
        .group_by(col(LedgerLine.customer_key))
    )
    return {key: (_amount(opening), _amount(closing), bool(moved)) for key, opening, closing, moved in rows}


def _named_customers(session: Session, tenant_id: str, date_from: dt.date, date_to: dt.date) -> set[str]:
    """Customer keys any line in the range names (on whatever account)."""
    query = (
        select(col(LedgerLine.customer_key))
        .distinct()
        .where(col(LedgerLine.tenant_id) == tenant_id, _in_range(date_from, date_to))
        .where(col(LedgerLine.customer_key).is_not(None))
    )
    return {key for key in session.execute(query).scalars() if key}


@dataclass(frozen=True)
class _Customer:
    key: str
    number: str
    name: str
    registration_number: str | None


def _customer_register(session: Session, tenant_id: str, keys: set[str]) -> dict[str, _Customer]:
    """The customers the tenant has invoiced, of `keys`: the number the ledger knows them by (the receiver
    id when there is one, else the customer key; at most 35 characters) and the name on their newest
    invoice. A key no invoice names is not in the register."""
    newest: dict[str, tuple[str | None, str, str | None]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), CUSTOMERS_PER_QUERY):
        chunk = ordered[start : start + CUSTOMERS_PER_QUERY]
        rows = session.execute(
            select(
                col(InvoiceRecord.customer_key),
                col(InvoiceRecord.receiver_id),
                col(InvoiceRecord.buyer_name),
                col(InvoiceRecord.buyer_legal_id),
            )
            .where(col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.customer_key).in_(chunk))
            .order_by(col(InvoiceRecord.created_at), col(InvoiceRecord.id))
        )
        for key, receiver_id, name, legal_id in rows:
            if key is not None:  # the query asks for keys in the chunk: never None
                newest[key] = (receiver_id, name, legal_id)
    register: dict[str, _Customer] = {}
    taken: set[str] = set()
    for key in sorted(newest):
        receiver_id, name, legal_id = newest[key]
        number = saft_file.short_customer_id(receiver_id or key)
        if number in taken:  # two customer keys under one receiver id: each keeps its own id
            number = saft_file.short_customer_id(key)
        taken.add(number)
        organisation = legal_id if legal_id and legal_id.isdigit() and len(legal_id) == 9 else None
        register[key] = _Customer(key, number, name or key, organisation)
    return register


def _vouchers(
    session: Session,
    tenant_id: str,
    date_from: dt.date,
    date_to: dt.date,
    numbers: dict[str, str],
) -> Iterator[Voucher]:
    """The vouchers dated in the range, by number, read in chunks (keyset on the number: memory flat).
    Each line's `customer_number` is the customer's id in the register (its key when it is not in it)."""
    after = 0
    while True:
        vouchers = list(
            session.execute(
                select(LedgerVoucher)
                .where(col(LedgerVoucher.tenant_id) == tenant_id, col(LedgerVoucher.number) > after)
                .where(col(LedgerVoucher.voucher_date).between(date_from, date_to))
                .order_by(col(LedgerVoucher.number))
                .limit(VOUCHERS_PER_CHUNK)
            ).scalars()
        )
        if not vouchers:
            return
        lines: dict[str, list[LedgerLine]] = {voucher.id: [] for voucher in vouchers}
        query = (
            select(LedgerLine)
            .where(col(LedgerLine.voucher_id).in_(list(lines)))
            .order_by(col(LedgerLine.voucher_id), col(LedgerLine.line_no))
        )
        for line in session.execute(query).scalars():
            lines[line.voucher_id].append(line)
        for voucher in vouchers:
            yield Voucher(
                number=voucher.number,
                period=voucher.period,
                voucher_date=voucher.voucher_date,
                event_date=voucher.event_date,
                voucher_type=voucher.voucher_type,
                source_key=voucher.source_key,
                customer_key=voucher.customer_key,
                description=voucher.description,
                lines=[_voucher_line(line, numbers) for line in lines[voucher.id]],
            )
        session.expunge_all()  # the chunk is written: nothing of it stays in the session
        after = vouchers[-1].number


def _voucher_line(line: LedgerLine, numbers: dict[str, str]) -> VoucherLine:
    customer_number = None
    if line.customer_key:
        customer_number = numbers.get(line.customer_key, saft_file.short_customer_id(line.customer_key))
    return VoucherLine(
        line_no=line.line_no,
        account=line.account,
        debit=Decimal(line.debit),
        credit=Decimal(line.credit),
        tax_code=line.tax_code,
        tax_rate=_decimal(line.tax_rate),
        tax_base=_decimal(line.tax_base),
        tax_amount=_decimal(line.tax_amount),
        customer_key=line.customer_key,
        customer_number=customer_number,
        document_number=line.document_number,
        kid=line.kid,
        due_date=line.due_date,
        text=line.text,
        currency=line.currency,
        currency_amount=_decimal(line.currency_amount),
        exchange_rate=_decimal(line.exchange_rate),
    )


# --- the header ---------------------------------------------------------------------------------------------


def _newest_seller_invoice(session: Session, tenant_id: str, date_to: dt.date) -> Invoice | None:
    payload = session.execute(
        select(col(InvoiceRecord.payload))
        .where(col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.issue_date) <= date_to)
        .order_by(col(InvoiceRecord.issue_date).desc(), col(InvoiceRecord.created_at).desc())
        .limit(1)
    ).scalar_one_or_none()
    if payload is None:
        return None
    try:
        return canonical_json.parse(payload)
    except FormatError:
        return None


def _organisation_number(invoice: Invoice | None) -> str | None:
    if invoice is None:
        return None
    seller = invoice.seller
    if seller.legal_registration is not None:
        value = "".join(seller.legal_registration.value.split())
        if value.isdigit() and len(value) == 9:
            return value
    digits = "".join(ch for ch in (seller.vat_id or "") if ch.isdigit())
    return digits if len(digits) == 9 else None


def _created_on(session: Session, tenant_id: str, date_to: dt.date) -> dt.date:
    """The newest posting day of the vouchers the file's balances rest on (`date_to` when there is none)."""
    newest = session.execute(
        select(func.max(LedgerVoucher.created_at)).where(
            col(LedgerVoucher.tenant_id) == tenant_id, col(LedgerVoucher.voucher_date) <= date_to
        )
    ).scalar_one_or_none()
    return newest.date() if isinstance(newest, dt.datetime) else date_to


def _header(
    session: Session,
    tenant_id: str,
    ledger: LedgerSettings,
    date_from: dt.date,
    date_to: dt.date,
    created_on: dt.date | None,
) -> saft_file.SaftHeader:
    company = ledger.company
    invoice = _newest_seller_invoice(session, tenant_id, date_to)
    seller = invoice.seller if invoice is not None else None
    registration = company.registration_number or _organisation_number(invoice)
    if registration is None:
        raise LedgerRefused(
            "ledger.company.registration_number",
            "no organisation number for the SAF-T header: set it in the tenant's ledger settings (PUT "
            "/settings), or it is taken from the seller of the tenant's invoices",
        )
    name = company.name or (seller.name if seller is not None else None)
    if not name:
        raise LedgerRefused("ledger.company.name", "no company name for the SAF-T header")
    contact = seller.contact if seller is not None else None
    telephone = company.contact_telephone or (contact.phone if contact is not None else None)
    if not telephone:
        raise LedgerRefused(
            "ledger.company.contact_telephone",
            "SAF-T's header needs a contact telephone: set it in the tenant's ledger settings, or send "
            "invoices whose seller contact has one",
        )
    telephone = " ".join(telephone.split())
    if len(telephone) > 18:
        telephone = "".join(telephone.split())
    if len(telephone) > 18:
        raise LedgerRefused("ledger.company.contact_telephone", "longer than SAF-T's 18 characters")
    address = seller.address if seller is not None else None
    email = company.contact_email or (str(contact.email) if contact is not None and contact.email else None)
    try:
        version = metadata.version(SOFTWARE_ID)
    except metadata.PackageNotFoundError:  # pragma: no cover - the gateway runs installed
        version = "0"
    return saft_file.SaftHeader(
        registration_number=registration,
        company_name=name,
        telephone=telephone,
        currency=ledger.accounting_currency,
        selection_start=date_from,
        selection_end=date_to,
        created_on=created_on or _created_on(session, tenant_id, date_to),
        software_company=SOFTWARE_COMPANY,
        software_id=SOFTWARE_ID,
        software_version=version[:18],
        contact_first_name=company.contact_first_name,
        contact_last_name=company.contact_last_name,
        contact_email=email if email and len(email) <= 70 else None,
        street=company.street or (address.lines[0] if address is not None and address.lines else None),
        city=company.city or (address.city if address is not None else None),
        postal_code=company.postal_code or (address.postal_code if address is not None else None),
        country=company.country,
        # registered for VAT: the seller's invoices carry a VAT id, or the tenant posts output VAT at all
        vat_registered=bool(seller is not None and seller.vat_id)
        or any(c.vat_account for c in ledger.vat_codes),
    )


# --- the export ---------------------------------------------------------------------------------------------


def next_export_number(session: Session, tenant_id: str) -> int:
    """The next number of the tenant's ledger exports (journal files and SAF-T files share one series);
    call it under the tenant's ledger lock (`posting.lock_tenant_posting`)."""
    found = session.execute(
        select(func.max(LedgerExport.number)).where(col(LedgerExport.tenant_id) == tenant_id)
    ).scalar_one_or_none()
    return int(found or 0) + 1


def _write(
    session: Session,
    settings: Settings,
    tenant_id: str,
    date_from: dt.date,
    date_to: dt.date,
    work_file: Path,
    created_on: dt.date | None,
) -> tuple[saft_file.SaftTotals, int, int]:
    """Write the file to `work_file`; (totals, accounts, customers)."""
    ledger = tenant_settings(session, tenant_id).ledger
    _check_grouping(settings, ledger)
    header = _header(session, tenant_id, ledger, date_from, date_to, created_on)
    balances = _account_balances(session, tenant_id, date_from, date_to)
    accounts = [
        saft_file.SaftAccount(
            account_id=account.number,
            description=account.name,
            grouping_category=account.grouping_category,
            grouping_code=account.grouping_code,
            opening=balances.get(account.number, (Decimal(0), Decimal(0)))[0],
            closing=balances.get(account.number, (Decimal(0), Decimal(0)))[1],
        )
        for account in ledger.accounts
    ]
    receivables = ledger.roles.receivables
    customer_balances = _customer_balances(session, tenant_id, receivables, date_from, date_to)
    shown = {
        key for key, (opening, closing, moved) in customer_balances.items() if opening or closing or moved
    }
    register = _customer_register(
        session, tenant_id, shown | _named_customers(session, tenant_id, date_from, date_to)
    )
    zero = (Decimal(0), Decimal(0), False)
    customers = [
        saft_file.SaftCustomer(
            customer_id=customer.number,
            name=customer.name,
            balance_account=receivables,
            opening=customer_balances.get(customer.key, zero)[0],
            closing=customer_balances.get(customer.key, zero)[1],
            registration_number=customer.registration_number,
        )
        for customer in sorted(register.values(), key=lambda found: found.number)
    ]
    totals = _totals(session, tenant_id, date_from, date_to)
    numbers = {key: customer.number for key, customer in register.items()}
    with open(work_file, "wb") as out:
        try:
            saft_file.write(
                out,
                header,
                accounts=accounts,
                customers=customers,
                tax_codes=saft_file.tax_codes_from(ledger.vat_codes),
                totals=totals,
                vouchers=_vouchers(session, tenant_id, date_from, date_to, numbers),
            )
        except FormatError as error:
            raise LedgerRefused(error.where, error.reason) from None
    return totals, len(accounts), len(customers)


def _check(xsd: Path, work_file: Path) -> None:
    _validate(xsd, work_file)
    summary = saft_file.summarise(work_file)
    if summary.problems:
        where, reason = summary.problems[0]
        more = f" ({summary.problem_count} problems in all)" if summary.problem_count > 1 else ""
        raise LedgerRefused(where, reason + more)


def _packed(path: Path) -> tuple[str, int, bytes]:
    """The file's SHA-256 and size, and the file gzipped (deterministically: no name, no time) for the
    document store, which takes bytes: a month's SAF-T file is hundreds of MB of XML and about a
    twentieth of that gzipped, so keeping it does not undo the streaming."""
    digest = hashlib.sha256()
    size = 0
    buffer = io.BytesIO()
    with open(path, "rb") as source, gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as packed:
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            packed.write(chunk)
    return digest.hexdigest(), size, buffer.getvalue()


def saft_filename(tenant_id: str, date_from: str, date_to: str) -> str:
    """saft-acme-2026-11-01-2026-11-30.xml: the tenant and the dates the file covers."""
    return f"saft-{tenant_id}-{date_from}-{date_to}.xml"


def export_filename(record: LedgerExport) -> str:
    """The file name a kept SAF-T export is downloaded as."""
    return saft_filename(record.tenant_id, record.period_from, record.period_to)


def stored_file(store: DocumentStore, record: LedgerExport) -> bytes:
    """A kept SAF-T export's file, as it was written (the store holds it gzipped)."""
    return gzip.decompress(store.get(record.document_key))


def export_to_path(
    engine: Engine,
    settings: Settings,
    tenant_id: str,
    date_from: dt.date,
    date_to: dt.date,
    target: Path,
    *,
    actor: str,
    created_on: dt.date | None = None,
    before_export: BeforeExport | None = None,
    store: DocumentStore | None = None,
) -> SaftExport:
    """Write the tenant's SAF-T file of `date_from`..`date_to` to `target`, checked first (see the module);
    `LedgerRefused` and no file otherwise. `before_export(date_to)` runs first (the posting run)."""
    if date_from > date_to:
        raise LedgerRefused("date_from", f"{date_from} is after date_to {date_to}")
    xsd = schema_path(settings)
    if before_export is not None:
        before_export(date_to)
    target = Path(target)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    work_file = Path(name)
    try:
        with session_scope(engine) as session:
            lock_tenant_posting(session, tenant_id)  # one numbering of the exports at a time
            totals, accounts, customers = _write(
                session, settings, tenant_id, date_from, date_to, work_file, created_on
            )
            _check(xsd, work_file)
            digest, size, packed = _packed(work_file)
            filename = saft_filename(tenant_id, date_from.isoformat(), date_to.isoformat())
            kept = store_document(
                session,
                store or document_store(settings, engine),
                tenant_id=tenant_id,
                data=packed,
                media_type=STORED_MEDIA_TYPE,
                filename=filename + ".gz",
                kind="ledger-saft",
            )
            record = LedgerExport(
                tenant_id=tenant_id,
                number=next_export_number(session, tenant_id),
                kind="saft",
                format=FORMAT,
                period_from=date_from.isoformat(),
                period_to=date_to.isoformat(),
                voucher_count=totals.entries,
                sha256=digest,
                size=size,
                document_key=kept.storage_key,
                created_by=actor,
            )
            session.add(record)
            session.flush()
        os.replace(work_file, target)  # committed: only now is there a file
    finally:
        with contextlib.suppress(FileNotFoundError):
            work_file.unlink()
    return SaftExport(
        export_id=record.id,
        number=record.number,
        tenant_id=tenant_id,
        date_from=date_from,
        date_to=date_to,
        transactions=totals.entries,
        total_debit=totals.debit,
        total_credit=totals.credit,
        accounts=accounts,
        customers=customers,
        sha256=record.sha256,
        size=record.size,
        document_key=record.document_key,
        filename=filename,
    )


def export(
    engine: Engine,
    settings: Settings,
    tenant_id: str,
    date_from: dt.date,
    date_to: dt.date,
    out: IO[bytes],
    *,
    actor: str,
    created_on: dt.date | None = None,
    before_export: BeforeExport | None = None,
) -> SaftExport:
    """`export_to_path` into a temporary folder, then the checked file copied to `out`."""
    with tempfile.TemporaryDirectory(prefix="saft-") as folder:
        target = Path(folder) / "saft.xml"
        result = export_to_path(
            engine,
            settings,
            tenant_id,
            date_from,
            date_to,
            target,
            actor=actor,
            created_on=created_on,
            before_export=before_export,
        )
        with open(target, "rb") as written:
            shutil.copyfileobj(written, out)
    return result
