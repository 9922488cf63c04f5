"""ISO 20022 bank-to-customer cash management messages read into the remittance model.

camt.054 (BkToCstmrDbtCdtNtfctn / Ntfctn: debit and credit notifications), camt.053 (BkToCstmrStmt / Stmt:
statements) and camt.052 (BkToCstmrAcctRpt / Rpt: intraday account reports) all carry the same entries
(`Ntry`) with the same transaction details (`TxDtls`), so one reader serves the three. The namespace
(`urn:iso:std:iso:20022:tech:xsd:camt.05[234].001.NN`) names the message and its version, and the version
decides the element paths:

* `.02`: `TxDtls` has no `Amt` / `CdtDbtInd` (the amount is in `AmtDtls/TxAmt/Amt`, else the entry's);
  `Sts` is text; parties are flat (`RltdPties/Dbtr/Nm`); `DscntApldAmt` is an amount; `TtlNetNtryAmt`.
* `.03`–`.06`: `TxDtls/Amt` and `TxDtls/CdtDbtInd` are mandatory; `DscntApldAmt/Amt` (typed, repeatable);
  `.04` on: `TtlNetNtry/Amt`.
* `.07`–`.13`: `Sts/Cd` (or `Sts/Prtry`); parties wrapped in `Pty` (`RltdPties/Dbtr/Pty/Nm`); `TxDtls/Amt`
  optional again.
* `.12`–`.13`: `RfrdDocAmt` is `RmtAmtAndTp` (typed amounts, `ExternalDocumentAmountType1Code`) plus
  `AdjstmntAmtAndRsn`: the typed amounts are noted, not read into a line's amounts; the adjustments are.
  `RfrdDocInf/RltdDt` is `DateAndType1` (`RltdDt/Dt`) from `.12` (read in either shape).

These paths were checked against the official XSDs of camt.053 .02, .03, .04, .08, .11, camt.052 .06 and
camt.054 .02, .04, .08, .11, against a published bank sample of .07, generated models of .09 and .10, and
models generated from the official `.12` and `.13` XSDs (ReportEntry14/15, EntryTransaction14/15,
StructuredRemittanceInformation18, RemittanceAmount4). Everything else the reader uses (`GrpHdr`, `Acct`,
`TxsSummry/TtlNtries/TtlNetNtry`, `Ntry`, `NtryDtls/Btch`, `TxDtls/Refs`, `RltdPties/*/Pty`, `RmtInf`,
`CdtrRefInf`, `RfrdDocInf/Tp/CdOrPrtry`) is unchanged from `.08` to `.13`. `.01` (other message element
names) and `.14` on (not checked) are refused as unsupported rather than read half right.

Statuses are read tolerantly (`_status`): real files do not always follow their declared version (a
camt.053.001.08 with the `.02` text `<Sts>BOOK</Sts>`). A status given unambiguously in either shape
(text, `Sts/Cd`, `Sts/Prtry`) and naming a known code is read, and the file gets a warning saying so; an
entry whose status cannot be told (none, empty, two that disagree, an unknown code) is kept as `-pending`,
named in a warning, and never booked — the rest of the file is read.

What becomes what: one `Payment` per `TxDtls`; an entry without `TxDtls` is one payment of the entry
amount. KID = `Strd/CdtrRefInf/Ref` typed `SCOR`; invoice and credit note numbers = `Strd/RfrdDocInf/Nb`
typed `CINV` / `CREN` (`DEBN` debit note); `RfrdDocAmt` gives the line's `amount` (`RmtdAmt`),
`document_amount` (`DuePyblAmt`) and `adjustment` (`DscntApldAmt`, `AdjstmntAmtAndRsn`, and `CdtNoteAmt`
on an invoice line: positive = paid less); `Ustrd` → `free_text`. `bank_reference` is the transaction's
`Refs/AcctSvcrRef`, else the entry's `AcctSvcrRef` (suffixed `/n` for the n-th transaction of a batch
entry, so the transactions of one entry never share a reference and a re-delivered file is still
recognised). `EndToEndId` `NOTPROVIDED` is no reference.

Control totals: a batch (`NtryDtls/Btch`) must have as many `TxDtls` as `NbOfTxs`, and they must add up to
`TtlAmt`; the transactions of an entry with several must add up to the entry amount (when all are in the
entry's currency and the entry carries no charges); `TxsSummry` counts and sums must match the entries.
`declared_count` / `declared_total` are `TxsSummry/TtlNtries/NbOfNtries` / `Sum` over all reports: they
count entries, and a batch entry is one entry but many payments.
A mismatch, a missing mandatory element (other than `Sts`), a malformed amount or date, or an unknown
currency rejects the whole file with a `FormatError` naming the element (`Ntfctn[1]/Ntry[2]/TxDtls[3]/Amt`):
a bank file is read completely or not at all, so nothing is booked from half a file.

Entries that are not booked (`Sts` PDNG, INFO, FUTR, or a status that cannot be told) are kept, shown, and
marked: their `kind` ends in `-pending` (`camt054-pending`). They must not be matched or booked: the money
has not (yet) moved, and the same payment arrives again as BOOK. A reversal (`RvslInd` true) undoes an
earlier entry of the opposite direction: it is kept with the direction the money actually moved
(`CdtDbtInd`: ISO 20022 says a CRDT reversal reverses a debit, and the other way round), marked `-reversal`
in `kind`, and noted; it is not a new payment to apply.

Safety and size: the bytes are parsed with `lxml.etree.iterparse` under the same settings as
`mappings.xml.parse_xml` (no DTD, no entities resolved, no network, `huge_tree` off), a DOCTYPE or entity
declaration is refused, and the input is bounded by `MAX_CAMT_BYTES`. Each `TxDtls` is taken out of the tree
as soon as it has been read (with everything before it in its `NtryDtls`), and each `Ntry` when it closes,
so memory follows the payments read (plus the 32 KB lxml parses ahead), not the file, and the time is linear
in the file (`_release`; `tests/mappings/test_linear_time.py` holds every reader to it): a 100 MB
statement, or a KID batch entry of 100,000 transactions,
never becomes one tree. `benchmarks/camt_parse.py` measures it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final

from lxml import etree

from mappings.base import FormatError
from mappings.xml import MAX_XML_BYTES
from schemas.canonical import currency_minor_units
from schemas.remittance import Direction, DocumentKind, Payment, RemittanceDocument, RemittanceLine

__all__ = [
    "MAX_CAMT_BYTES",
    "SUPPORTED_VERSIONS",
    "CamtStatement",
    "StatementBalance",
    "StatementEntry",
    "inspect",
    "parse",
    "read_statement",
    "sniff",
]

FORMAT_NAME = "camt"

#: Larger than `parse_xml`'s bound: the reader streams, so memory does not grow with the file.
MAX_CAMT_BYTES: Final = 4 * MAX_XML_BYTES
SUPPORTED_VERSIONS: Final = range(2, 14)
SNIFF_BYTES: Final = 4096

#: The same protections as `mappings.xml._parser`, as `iterparse` keywords.
_SAFE_PARSING: Final[dict[str, Any]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_blank_text": False,
}

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.(05[234])\.001\.(\d{2})")
_SNIFF = re.compile(
    rb"xmlns(?::[A-Za-z_][\w.-]*)?\s*=\s*[\"']urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.001\.\d{2}[\"']"
)
_AMOUNT_TEXT = re.compile(r"\+?(?:\d+(?:\.\d*)?|\.\d+)")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?")
_DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
_CURRENCY_TEXT = re.compile(r"[A-Z]{3}")
_MAX_AMOUNT_DIGITS: Final = 18  # ISO 20022 ActiveOrHistoricCurrencyAndAmount: totalDigits 18

_DOCUMENT_KINDS: Final[dict[str, DocumentKind]] = {
    "CINV": "invoice",
    "MSIN": "invoice",  # metered service invoice
    "HIRI": "invoice",  # hire invoice
    "SBIN": "invoice",  # self-billed invoice
    "CREN": "credit_note",
    "CNFA": "credit_note",  # credit note related to financial adjustment
    "DEBN": "debit_note",
    "DNFA": "debit_note",
}
_OPPOSITE: Final[dict[Direction, Direction]] = {"credit": "debit", "debit": "credit"}
#: Entry statuses (ExternalEntryStatus1Code) whose meaning is known: BOOK is booked, the others are not (yet).
READABLE_STATUSES: Final = frozenset({"BOOK", "PDNG", "INFO", "FUTR"})
#: How many entries whose status cannot be told are named one by one on the receipt; the rest are counted.
_LISTED_UNKNOWN_STATUSES: Final = 20

#: The entry's own structured elements; its NtryDtls are read as they stream, never through this index.
_ENTRY_DESCEND: Final = frozenset({"Sts", "BookgDt", "ValDt", "AmtDtls", "AmtDtls/InstdAmt", "AmtDtls/TxAmt"})
#: Everything `_read_transaction` looks up in a TxDtls (any version); `Strd` blocks get their own scope.
_TRANSACTION_PATHS: Final = (
    "Amt",
    "CdtDbtInd",
    "AmtDtls/InstdAmt/Amt",
    "AmtDtls/TxAmt/Amt",
    "Refs/AcctSvcrRef",
    "Refs/EndToEndId",
    "RltdPties/Dbtr/Nm",
    "RltdPties/Dbtr/Id/OrgId/Othr/Id",
    "RltdPties/Dbtr/Pty/Nm",
    "RltdPties/Dbtr/Pty/Id/OrgId/Othr/Id",
    "RltdPties/DbtrAcct/Id/IBAN",
    "RltdPties/DbtrAcct/Id/Othr/Id",
    "RltdPties/CdtrAcct/Id/IBAN",
    "RltdPties/CdtrAcct/Id/Othr/Id",
    "RmtInf/Ustrd",
    "RmtInf/Strd",
)
_TRANSACTION_DESCEND: Final = frozenset(
    "/".join(steps[:length])
    for steps in (path.split("/") for path in _TRANSACTION_PATHS)
    for length in range(1, len(steps))
)


@dataclass(frozen=True)
class CamtMessage:
    """One of the three messages: its number, its element names and the `kind` its payments get."""

    number: str
    root: str
    report: str
    title: str

    @property
    def kind(self) -> str:
        return f"camt{self.number}"


MESSAGES: Final[dict[str, CamtMessage]] = {
    "052": CamtMessage("052", "BkToCstmrAcctRpt", "Rpt", "bank-to-customer account report"),
    "053": CamtMessage("053", "BkToCstmrStmt", "Stmt", "bank-to-customer statement"),
    "054": CamtMessage(
        "054", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "bank-to-customer debit/credit notification"
    ),
}


@dataclass(frozen=True)
class _Profile:
    """Where a version keeps what the reader needs (see the module docstring)."""

    version: int

    @property
    def transaction_amount(self) -> bool:
        return self.version >= 3

    @property
    def transaction_amount_mandatory(self) -> bool:
        return 3 <= self.version <= 6

    @property
    def status_choice(self) -> bool:
        return self.version >= 7

    @property
    def party_choice(self) -> bool:
        return self.version >= 7

    @property
    def typed_discount(self) -> bool:
        return self.version >= 3

    @property
    def typed_document_amounts(self) -> bool:
        """`.12` on: `RfrdDocAmt` is `RmtAmtAndTp` (typed amounts) and `AdjstmntAmtAndRsn` only."""
        return self.version >= 12

    @property
    def nested_net_total(self) -> bool:
        return self.version >= 4


@dataclass(frozen=True)
class _Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class _Entry:
    """An entry's own facts, read from the elements before its `NtryDtls`."""

    position: str
    money: _Money
    direction: Direction
    booking_date: dt.date | None
    value_date: dt.date | None
    reference: str | None
    kind: str
    charges: bool
    instructed: _Money | None


@dataclass(frozen=True)
class _Transaction:
    """What one `TxDtls` says, taken out of the tree as soon as it has been read."""

    position: str
    money: _Money | None
    direction: Direction
    reference: str | None
    end_to_end_id: str | None
    payer_name: str | None
    payer_account: str | None
    payer_id: str | None
    payee_account: str | None
    instructed: _Money | None
    free_text: tuple[str, ...]
    lines: tuple[RemittanceLine, ...]


@dataclass
class _EntryDetailsGroup:
    element: etree._Element
    #: the group's first `Btch`, taken when it closes (the TxDtls after it release it from the tree)
    batch: etree._Element | None = None
    transactions: list[_Transaction] = field(default_factory=list)


@dataclass
class _OpenEntry:
    """An entry being streamed: its facts once read, and its transactions so far."""

    position: str
    element: etree._Element
    facts: _Entry | None = None
    groups: list[_EntryDetailsGroup] = field(default_factory=list)
    transactions: list[_Transaction] = field(default_factory=list)


@dataclass
class _DocumentAmounts:
    remitted: Decimal | None = None
    due: Decimal | None = None
    credit_note: Decimal | None = None
    adjustments: list[tuple[Decimal, str]] = field(default_factory=list)


@dataclass
class _Summary:
    count: int | None = None
    total: Decimal | None = None
    net: Decimal | None = None  # signed: credits positive
    net_path: str = "TtlNtries/TtlNetNtry"
    credit_count: int | None = None
    credit_total: Decimal | None = None
    debit_count: int | None = None
    debit_total: Decimal | None = None


@dataclass
class _Report:
    position: str
    account: str | None = None
    owner: str | None = None
    currency: str | None = None
    servicer: str | None = None
    summary: _Summary | None = None
    entries: int = 0
    credit_count: int = 0
    debit_count: int = 0
    credit_total: Decimal = Decimal(0)
    debit_total: Decimal = Decimal(0)
    currencies: set[str] = field(default_factory=set)
    balances: list[StatementBalance] = field(default_factory=list)
    period_from: dt.date | None = None
    period_to: dt.date | None = None


@dataclass(frozen=True)
class StatementBalance:
    """One `Bal` of a statement (`OPBD`, `CLBD`, `PRCD`, `ITBD`, …): signed, credit positive."""

    code: str
    amount: Decimal
    currency: str
    date: dt.date | None
    position: str


@dataclass(frozen=True)
class StatementEntry:
    """One `Ntry` as the statement books it, with what its payments say of themselves.

    A statement is reconciled entry by entry (one booked amount each), while intake books one payment per
    transaction: `references` are the bank references its payments carry (`AcctSvcrRef`, `AcctSvcrRef/n`
    for the n-th transaction of a batch), so a booked payment can be traced back to its entry.
    """

    position: str
    account: str | None
    amount: Decimal
    currency: str
    direction: Direction
    booking_date: dt.date | None
    value_date: dt.date | None
    reference: str | None
    kind: str
    references: tuple[str, ...] = ()
    payer_names: tuple[str, ...] = ()
    payer_accounts: tuple[str, ...] = ()
    payee_accounts: tuple[str, ...] = ()

    @property
    def booked(self) -> bool:
        """Booked money that moved: neither pending (status not BOOK) nor a reversal of an earlier entry."""
        return not (self.pending or self.reversal)

    @property
    def pending(self) -> bool:
        return self.kind.endswith("-pending")

    @property
    def reversal(self) -> bool:
        return "-reversal" in self.kind


@dataclass(frozen=True)
class CamtStatement:
    """A camt.053 statement as bank reconciliation reads it: account, period, balances and entries.

    Several `Stmt` of one file are kept in file order: `balances` and `entries` carry their positions
    (`Stmt[2]/Bal[1]`) and accounts; `accounts` lists the accounts the statements are for.
    """

    format: str
    message_id: str | None
    accounts: tuple[str | None, ...]
    currency: str | None
    period_from: dt.date | None
    period_to: dt.date | None
    balances: tuple[StatementBalance, ...]
    entries: tuple[StatementEntry, ...]
    document: RemittanceDocument

    def balance(self, *codes: str) -> StatementBalance | None:
        """The first balance of the first code present (e.g. `OPBD`, else `PRCD`); None when none is."""
        for code in codes:
            for balance in self.balances:
                if balance.code == code:
                    return balance
        return None

    def last_balance(self, code: str) -> StatementBalance | None:
        found = [balance for balance in self.balances if balance.code == code]
        return found[-1] if found else None


def read_statement(data: bytes, *, max_bytes: int = MAX_CAMT_BYTES) -> CamtStatement:
    """A camt.053 statement with its balances and entries, read as strictly as `parse` reads it.

    A camt.052 or camt.054 (or anything else) is refused with a `FormatError` naming the root: a
    notification carries no balances, so it cannot be reconciled against a ledger.
    """
    _refuse_hostile(data, max_bytes)
    _namespace, message, version = _identify(data)
    if message.number != "053":
        raise FormatError(
            "Document",
            f"camt.{message.number}.001.{version:02d} is a {message.title}, "
            "not a camt.053 bank-to-customer statement (only a statement carries balances)",
        )
    reader = _read(data, max_bytes=max_bytes, strict=True, statement=True)
    document = reader.document()
    reports = reader.reports
    froms = [report.period_from for report in reports if report.period_from is not None]
    tos = [report.period_to for report in reports if report.period_to is not None]
    return CamtStatement(
        format=document.format,
        message_id=document.message_id,
        accounts=tuple(dict.fromkeys(report.account for report in reports)),
        currency=document.currency,
        period_from=min(froms) if froms else None,
        period_to=max(tos) if tos else None,
        balances=tuple(balance for report in reports for balance in report.balances),
        entries=tuple(reader.entries),
        document=document,
    )


def sniff(data: bytes) -> bool:
    """True if the first few KB declare a camt.052 / camt.053 / camt.054 namespace (any version)."""
    return _SNIFF.search(data[:SNIFF_BYTES]) is not None


def parse(data: bytes, *, max_bytes: int = MAX_CAMT_BYTES) -> RemittanceDocument:
    """Every entry and transaction of a camt.052/053/054 file, checked against its own control totals.

    Raises `FormatError` naming the element for anything that makes the file untrustworthy (see the
    module docstring); a file either reads completely or not at all.
    """
    return _read(data, max_bytes=max_bytes, strict=True).document()


def _read(data: bytes, *, max_bytes: int, strict: bool, statement: bool = False) -> _CamtReader:
    """`statement`: also read balances, the period and each entry as a whole (`read_statement`)."""
    _refuse_hostile(data, max_bytes)
    namespace, message, version = _identify(data)
    reader = _CamtReader(namespace, message, version, strict=strict)
    reader.keep_statement = statement
    names: tuple[str, ...] = (
        message.root,
        "GrpHdr",
        message.report,
        "Acct",
        "TxsSummry",
        "Ntry",
        "NtryDtls",
        "Btch",
        "TxDtls",
    )
    if statement:
        names += ("Bal", "FrToDt")
    tags = [reader.tag(name) for name in names]
    try:
        for event, element in etree.iterparse(
            io.BytesIO(data), events=("start", "end"), tag=tags, **_SAFE_PARSING
        ):
            reader.handle(event, element)
    except etree.XMLSyntaxError as error:
        raise FormatError(f"line {error.lineno}", f"not well-formed XML ({error.msg})") from None
    return reader


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a camt file (for `gateway inspect`): the document, message and version.

    Read leniently: a file whose control totals do not add up is still shown, with `control_total_problems`
    and `bookable: false` — remittance intake (`parse`) refuses such a file whole.
    """
    reader = _read(data, max_bytes=MAX_CAMT_BYTES, strict=False)
    document = reader.document()
    number, _, version = document.format.removeprefix("camt.").partition(".")
    message = MESSAGES[number]
    return {
        **document.as_dict(),
        "format": document.format,
        "message": f"camt.{number}",
        "message_title": message.title,
        "version": version,
        "bookable": not reader.problems,
        "control_total_problems": reader.problems,
    }


def _refuse_hostile(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise FormatError("document", f"XML is {len(data)} bytes, the limit is {max_bytes}")
    if not data.strip():
        raise FormatError("document", "empty XML document")
    # XML keywords are case-sensitive: these finds scan the bytes without copying them.
    if data.find(b"<!DOCTYPE") != -1 or data.find(b"<!ENTITY") != -1:
        raise FormatError("document", "XML with a DOCTYPE or entity declarations is refused")


def _identify(data: bytes) -> tuple[str, CamtMessage, int]:
    """The root's namespace, message and version, read from the first start tag only."""
    root: etree._Element | None = None
    try:
        for _event, element in etree.iterparse(io.BytesIO(data), events=("start",), **_SAFE_PARSING):
            root = element
            break
    except etree.XMLSyntaxError as error:
        raise FormatError(f"line {error.lineno}", f"not well-formed XML ({error.msg})") from None
    if root is None:
        raise FormatError("document", "empty XML document")
    if root.getroottree().docinfo.internalDTD is not None:
        raise FormatError("document", "XML with a DOCTYPE or entity declarations is refused")
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    matched = _NAMESPACE.fullmatch(namespace)
    if qname.localname != "Document" or matched is None:
        found = f"{{{namespace}}}{qname.localname}" if namespace else qname.localname
        raise FormatError(
            "Document", f"the root element is {found}, not a camt.052 / camt.053 / camt.054 Document"
        )
    number, version_text = matched.group(1), matched.group(2)
    version = int(version_text)
    if version not in SUPPORTED_VERSIONS:
        raise FormatError(
            "Document",
            f"camt.{number}.001.{version_text} is not supported "
            f"(supported: .{SUPPORTED_VERSIONS.start:02d} to .{SUPPORTED_VERSIONS.stop - 1:02d})",
        )
    return namespace, MESSAGES[number], version


class _Scope:
    """Every element under one element, by its path of local names (`RltdPties/Dbtr/Pty/Nm`).

    One walk over a small subtree, then dictionary lookups: lxml's `find` with namespaced multi-step paths
    costs microseconds per call, and a transaction needs twenty of them. Elements of other namespaces
    (supplementary data) are left out with everything under them.
    """

    __slots__ = ("_descend", "_paths")

    def __init__(self, root: etree._Element, prefix: str, descend: frozenset[str] | None = None) -> None:
        """`descend`: the only paths whose children are indexed (None: all), to skip what is never read."""
        self._paths: dict[str, list[etree._Element]] = {}
        self._descend = descend
        self._walk(root, "", prefix, len(prefix))

    def _walk(self, node: etree._Element, base: str, prefix: str, cut: int) -> None:
        paths, descend = self._paths, self._descend
        for child in node:
            tag = child.tag
            if not isinstance(tag, str) or not tag.startswith(prefix):
                continue  # comments, processing instructions, other namespaces
            path = base + tag[cut:]
            found = paths.get(path)
            if found is None:
                paths[path] = [child]
            else:
                found.append(child)
            if len(child) and (descend is None or path in descend):
                self._walk(child, path + "/", prefix, cut)

    def first(self, path: str) -> etree._Element | None:
        found = self._paths.get(path)
        return found[0] if found else None

    def all(self, path: str) -> list[etree._Element]:
        return self._paths.get(path, [])

    def text(self, path: str) -> str | None:
        found = self._paths.get(path)
        if not found:
            return None
        return (found[0].text or "").strip() or None

    def texts(self, path: str) -> list[str]:
        return [value for element in self._paths.get(path, ()) if (value := (element.text or "").strip())]


class _CamtReader:
    """State of one streaming read: the header, the current report, and the payments so far."""

    def __init__(self, namespace: str, message: CamtMessage, version: int, *, strict: bool = True) -> None:
        self.namespace = namespace
        self.strict = strict
        #: control totals that do not add up, when reading leniently (for `inspect`); strict reading raises
        self.problems: list[dict[str, str]] = []
        self.message = message
        self.version = version
        self.profile = _Profile(version)
        self.format = f"camt.{message.number}.001.{version:02d}"
        self._paths: dict[str, str] = {}
        self._prefix = f"{{{namespace}}}"
        self._root_tag = self.tag(message.root)
        self._report_tag = self.tag(message.report)
        self._entry_tag = self.tag("Ntry")
        self._details_tag = self.tag("NtryDtls")
        self._transaction_tag = self.tag("TxDtls")
        self._batch_tag = self.tag("Btch")
        self._entry: _OpenEntry | None = None
        self._seen_root = False
        self._header_read = False
        self.message_id: str | None = None
        self.created_at: dt.datetime | None = None
        self.receiver: str | None = None
        self.reports: list[_Report] = []
        self.payments: list[Payment] = []
        self.notes: list[str] = []
        self.warnings: list[str] = []
        #: entries whose Sts has the other versions' shape (text where a choice is due, or the reverse)
        self._status_shape_entries = 0
        self._unknown_status_entries = 0
        #: read balances, the period and whole entries too (`read_statement`)
        self.keep_statement = False
        self.entries: list[StatementEntry] = []

    # -- element access ------------------------------------------------------------------------------

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def path(self, path: str) -> str:
        """`A/B` in this document's namespace, as lxml's `find` wants it."""
        found = self._paths.get(path)
        if found is None:
            found = "/".join(self.tag(step) for step in path.split("/"))
            self._paths[path] = found
        return found

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        return element.find(self.path(path))

    def text(self, element: etree._Element, path: str) -> str | None:
        value = element.findtext(self.path(path))
        if value is None:
            return None
        return value.strip() or None

    def scope(self, element: etree._Element, descend: frozenset[str] | None = None) -> _Scope:
        return _Scope(element, self._prefix, descend)

    # -- streaming -----------------------------------------------------------------------------------

    def handle(self, event: str, element: etree._Element) -> None:
        """One iterparse event: entries are opened on their start tag, read and released on their end."""
        parent = element.getparent()
        if parent is None:
            return
        tag, parent_tag = element.tag, parent.tag
        if event == "start":
            if tag == self._root_tag:
                if parent.getparent() is not None:
                    raise FormatError(self.message.root, "must be the element directly inside Document")
                self._seen_root = True
            elif tag == self._report_tag and parent_tag == self._root_tag:
                self.reports.append(_Report(f"{self.message.report}[{len(self.reports) + 1}]"))
            elif tag == self._entry_tag and parent_tag == self._report_tag and self.reports:
                report = self.reports[-1]
                report.entries += 1
                self._entry = _OpenEntry(f"{report.position}/Ntry[{report.entries}]", element)
            elif tag == self._details_tag and parent_tag == self._entry_tag and self._entry is not None:
                self._entry.groups.append(_EntryDetailsGroup(element))
            return
        if tag == self._transaction_tag:
            if parent_tag == self._details_tag and self._entry is not None and self._entry.groups:
                self._read_transaction(element, self._entry)
                _release(element)
        elif tag == self._batch_tag:
            if parent_tag == self._details_tag and self._entry is not None and self._entry.groups:
                group = self._entry.groups[-1]
                if group.batch is None:
                    group.batch = element
        elif parent_tag == self._report_tag and self.reports:
            if tag == self._entry_tag and self._entry is not None:
                self._close_entry(self._entry, self.reports[-1])
                self._entry = None
                _release(element)
            elif tag == self.tag("Acct"):
                self._read_account(element, self.reports[-1])
            elif tag == self.tag("TxsSummry"):
                self.reports[-1].summary = self._read_summary(element, self.reports[-1].position)
            elif self.keep_statement and tag == self.tag("Bal"):
                self._read_balance(element, self.reports[-1])
            elif self.keep_statement and tag == self.tag("FrToDt"):
                self._read_period(element, self.reports[-1])
        elif parent_tag == self._root_tag:
            if tag == self.tag("GrpHdr"):
                self._read_group_header(element)
            elif tag == self._report_tag:
                self._check_report(self.reports[-1])
                _release(element)

    # -- header, account, summary --------------------------------------------------------------------

    def _read_group_header(self, header: etree._Element) -> None:
        self._header_read = True
        self.message_id = self.text(header, "MsgId")
        if self.message_id is None:
            raise FormatError("GrpHdr/MsgId", "missing (mandatory)")
        created = self.text(header, "CreDtTm")
        if created is None:
            raise FormatError("GrpHdr/CreDtTm", "missing (mandatory)")
        self.created_at = _datetime(created, "GrpHdr/CreDtTm")
        if self.created_at.tzinfo is None:
            self.created_at = self.created_at.replace(tzinfo=dt.UTC)
            self.notes.append(f"GrpHdr/CreDtTm {created} has no UTC offset: read as UTC")
        self.receiver = self.text(header, "MsgRcpt/Nm")

    def _read_account(self, account: etree._Element, report: _Report) -> None:
        report.account = self.text(account, "Id/IBAN") or self.text(account, "Id/Othr/Id")
        report.owner = self.text(account, "Ownr/Nm")
        currency = self.text(account, "Ccy")
        report.currency = _currency(currency, f"{report.position}/Acct/Ccy") if currency else None
        report.servicer = (
            self.text(account, "Svcr/FinInstnId/BICFI")
            or self.text(account, "Svcr/FinInstnId/BIC")
            or self.text(account, "Svcr/FinInstnId/Nm")
        )

    def _read_balance(self, balance: etree._Element, report: _Report) -> None:
        position = f"{report.position}/Bal[{len(report.balances) + 1}]"
        scope = self.scope(balance)
        code = scope.text("Tp/CdOrPrtry/Cd") or scope.text("Tp/CdOrPrtry/Prtry")
        if code is None:
            raise FormatError(f"{position}/Tp/CdOrPrtry", "missing (mandatory)")
        amount_element = scope.first("Amt")
        if amount_element is None:
            raise FormatError(f"{position}/Amt", "missing (mandatory)")
        money = _money(amount_element, f"{position}/Amt")
        indicator = scope.text("CdtDbtInd")
        if indicator is None:
            raise FormatError(f"{position}/CdtDbtInd", "missing (mandatory)")
        sign = -1 if _direction(indicator, f"{position}/CdtDbtInd") == "debit" else 1
        date = _date_choice(scope, "Dt", position)
        report.balances.append(StatementBalance(code, sign * money.amount, money.currency, date, position))

    def _read_period(self, period: etree._Element, report: _Report) -> None:
        position = f"{report.position}/FrToDt"
        start, end = self.text(period, "FrDtTm"), self.text(period, "ToDtTm")
        if start is not None:
            report.period_from = _datetime(start, f"{position}/FrDtTm").date()
        if end is not None:
            report.period_to = _datetime(end, f"{position}/ToDtTm").date()

    def _read_summary(self, summary: etree._Element, position: str) -> _Summary:
        where = f"{position}/TxsSummry"
        result = _Summary()
        result.count = self._count(summary, "TtlNtries/NbOfNtries", where)
        result.total = self._decimal(summary, "TtlNtries/Sum", where)
        if self.profile.nested_net_total:
            result.net_path = "TtlNtries/TtlNetNtry"
            net = self._decimal(summary, "TtlNtries/TtlNetNtry/Amt", where)
            net_direction = self.text(summary, "TtlNtries/TtlNetNtry/CdtDbtInd")
            net_where = f"{where}/TtlNtries/TtlNetNtry/CdtDbtInd"
        else:
            result.net_path = "TtlNtries/TtlNetNtryAmt"
            net = self._decimal(summary, "TtlNtries/TtlNetNtryAmt", where)
            net_direction = self.text(summary, "TtlNtries/CdtDbtInd")
            net_where = f"{where}/TtlNtries/CdtDbtInd"
        if net is not None:
            sign = -1 if net_direction and _direction(net_direction, net_where) == "debit" else 1
            result.net = sign * net
        result.credit_count = self._count(summary, "TtlCdtNtries/NbOfNtries", where)
        result.credit_total = self._decimal(summary, "TtlCdtNtries/Sum", where)
        result.debit_count = self._count(summary, "TtlDbtNtries/NbOfNtries", where)
        result.debit_total = self._decimal(summary, "TtlDbtNtries/Sum", where)
        return result

    def _count(self, element: etree._Element | _Scope, path: str, where: str) -> int | None:
        value = element.text(path) if isinstance(element, _Scope) else self.text(element, path)
        if value is None:
            return None
        if not value.isdigit() or len(value) > 15:
            raise FormatError(f"{where}/{path}", f"not a count: {value!r}")
        return int(value)

    def _decimal(self, element: etree._Element, path: str, where: str) -> Decimal | None:
        value = self.text(element, path)
        if value is None:
            return None
        if not _DECIMAL_TEXT.fullmatch(value):
            raise FormatError(f"{where}/{path}", f"not a decimal number: {value!r}")
        return Decimal(value)

    def _mismatch(self, where: str, reason: str) -> None:
        """A control total that does not add up: the whole file is refused, or (lenient) the problem noted."""
        if self.strict:
            raise FormatError(where, reason)
        self.problems.append({"field": where, "reason": reason})

    def _check_report(self, report: _Report) -> None:
        """The report's `TxsSummry` against the entries it actually has."""
        summary = report.summary
        if summary is None:
            return
        where = f"{report.position}/TxsSummry"
        single_currency = len(report.currencies) <= 1
        counts = [
            ("TtlNtries/NbOfNtries", summary.count, report.entries, "entries"),
            ("TtlCdtNtries/NbOfNtries", summary.credit_count, report.credit_count, "credit entries"),
            ("TtlDbtNtries/NbOfNtries", summary.debit_count, report.debit_count, "debit entries"),
        ]
        for path, declared, actual, what in counts:
            if declared is not None and declared != actual:
                self._mismatch(
                    f"{where}/{path}", f"declares {declared} {what}, the {self.message.report} has {actual}"
                )
        totals = [
            ("TtlNtries/Sum", summary.total, report.credit_total + report.debit_total, "entry amounts"),
            (summary.net_path, summary.net, report.credit_total - report.debit_total, "net of entries"),
            ("TtlCdtNtries/Sum", summary.credit_total, report.credit_total, "credit entry amounts"),
            ("TtlDbtNtries/Sum", summary.debit_total, report.debit_total, "debit entry amounts"),
        ]
        for path, declared_total, actual_total, what in totals:
            if declared_total is None:
                continue
            if not single_currency:
                self.notes.append(
                    f"{where}/{path} not compared: the entries are in {', '.join(sorted(report.currencies))}"
                )
                continue
            if declared_total != actual_total:
                self._mismatch(
                    f"{where}/{path}",
                    f"declares {declared_total}, "
                    f"the {what} of the {self.message.report} come to {actual_total}",
                )

    # -- entries -------------------------------------------------------------------------------------

    def _facts(self, entry: _OpenEntry) -> _Entry:
        """The entry's own elements (all before `NtryDtls`), read once, on its first TxDtls or its end."""
        if entry.facts is not None:
            return entry.facts
        header, position, report = self.scope(entry.element, _ENTRY_DESCEND), entry.position, self.reports[-1]
        amount_element = header.first("Amt")
        if amount_element is None:
            raise FormatError(f"{position}/Amt", "missing (mandatory)")
        money = _money(amount_element, f"{position}/Amt")
        indicator = header.text("CdtDbtInd")
        if indicator is None:
            raise FormatError(f"{position}/CdtDbtInd", "missing (mandatory)")
        direction = _direction(indicator, f"{position}/CdtDbtInd")
        reversal = _boolean(header.text("RvslInd"), f"{position}/RvslInd")
        status = self._status(header, position)  # None: it cannot be told (reported, never booked)

        report.currencies.add(money.currency)
        if direction == "credit":
            report.credit_count += 1
            report.credit_total += money.amount
        else:
            report.debit_count += 1
            report.debit_total += money.amount

        kind = self.message.kind
        if reversal:
            kind += "-reversal"
            self.notes.append(
                f"{position}: reversal (RvslInd true) of an earlier {_OPPOSITE[direction]} entry: "
                f"the direction is flipped against the original, so the money moved as {direction}; "
                "not a new payment"
            )
        if status != "BOOK":
            kind += "-pending"
            if status is not None:
                self.notes.append(
                    f"{position}: status {status}, not booked: kept as {kind}, never matched or booked"
                )
        entry.facts = _Entry(
            position=position,
            money=money,
            direction=direction,
            booking_date=_date_choice(header, "BookgDt", position),
            value_date=_date_choice(header, "ValDt", position),
            reference=header.text("AcctSvcrRef"),
            kind=kind,
            charges=header.first("Chrgs") is not None,
            instructed=_instructed(header.first, position, money),
        )
        return entry.facts

    def _close_entry(self, entry: _OpenEntry, report: _Report) -> None:
        """Check the entry's batches and total, then turn it into payments."""
        facts = self._facts(entry)
        ntry, position, transactions = entry.element, entry.position, entry.transactions
        for index, group in enumerate(entry.groups, 1):
            group_position = position if len(entry.groups) == 1 else f"{position}/NtryDtls[{index}]"
            self._check_batch(group.batch, group_position, group.transactions, facts)
        self._check_entry_total(facts, transactions)
        first_payment = len(self.payments)
        self._entry_payments(ntry, facts, transactions)
        if self.keep_statement:
            self.entries.append(_statement_entry(facts, report, self.payments[first_payment:]))

    def _entry_payments(self, ntry: etree._Element, facts: _Entry, transactions: list[_Transaction]) -> None:
        """The entry as payments: one per transaction, or one of the entry amount (module docstring)."""
        position = facts.position
        if not transactions:
            self.payments.append(self._entry_payment(ntry, facts, []))
        elif len(transactions) == 1 and transactions[0].money is None:
            self.payments.append(self._transaction_payment(transactions[0], facts, facts.money, 1, 1))
        elif any(tx.money is None for tx in transactions):
            self.notes.append(
                f"{position}: {len(transactions)} TxDtls without amounts of their own: read as one payment "
                "of the entry amount carrying all their references"
            )
            self.payments.append(self._entry_payment(ntry, facts, transactions))
        else:
            count = len(transactions)
            for index, tx in enumerate(transactions, 1):
                assert tx.money is not None
                self.payments.append(self._transaction_payment(tx, facts, tx.money, index, count))

    def _status(self, header: _Scope, position: str) -> str | None:
        """The entry's status as its file says it, in either shape; None when it cannot be told.

        `.02`–`.06` have `Sts` as text, `.07` on the choice `Sts/Cd` | `Sts/Prtry`; real files mix them (a
        camt.053.001.08 with `<Sts>BOOK</Sts>`). A status is read when it is unambiguous: one value, in any
        of the three places, that is a known code (`READABLE_STATUSES`). Anything else — no `Sts`, an empty
        one, two places that disagree, an unknown code — is reported and the entry is never booked.
        """
        where = f"{position}/Sts"
        if header.first("Sts") is None:
            return self._unknown_status(where, f"missing (mandatory in {self.format})")
        text = header.text("Sts")
        code, proprietary = header.text("Sts/Cd"), header.text("Sts/Prtry")
        found = {value for value in (text, code, proprietary) if value is not None}
        if not found:
            return self._unknown_status(where, "empty")
        if len(found) > 1:
            said = ", ".join(
                f"{name} {value!r}"
                for name, value in (("text", text), ("Cd", code), ("Prtry", proprietary))
                if value is not None
            )
            return self._unknown_status(where, f"says two things ({said})")
        [status] = found
        if status not in READABLE_STATUSES:
            place = "Sts" if text is not None else "Sts/Prtry" if proprietary is not None else "Sts/Cd"
            known = ", ".join(sorted(READABLE_STATUSES))
            return self._unknown_status(f"{position}/{place}", f"{status!r} is not a status code ({known})")
        if (text is not None) == self.profile.status_choice:
            self._status_shape_entries += 1
        if proprietary is not None and code is None:
            self.notes.append(f"{where}/Prtry {status}: a proprietary status naming the code, read as it")
        return status

    def _unknown_status(self, where: str, why: str) -> str | None:
        """An entry whose status cannot be told: reported on the receipt, kept as `-pending`, never booked."""
        self._unknown_status_entries += 1
        if self._unknown_status_entries <= _LISTED_UNKNOWN_STATUSES:
            self.warnings.append(
                f"{where}: {why}: the entry's status cannot be told, so it is kept and shown but never "
                "booked or matched"
            )
        return None  # the status: not told

    def _status_warnings(self) -> list[str]:
        """What the file as a whole should be told about its statuses (after the entries were read)."""
        found: list[str] = []
        if self._status_shape_entries:
            shape, expected = (
                ("as text (the .02-.06 shape)", "Sts/Cd")
                if self.profile.status_choice
                else ("as Sts/Cd or Sts/Prtry (the .07 shape)", "Sts as text")
            )
            found.append(
                f"Sts: {self._status_shape_entries} "
                f"{'entry gives' if self._status_shape_entries == 1 else 'entries give'} the status {shape}, "
                f"where {self.format} has {expected}: read as the code named"
            )
        hidden = self._unknown_status_entries - _LISTED_UNKNOWN_STATUSES
        if hidden > 0:
            found.append(f"Sts: {hidden} more entries whose status cannot be told (not booked)")
        return found

    def _read_transaction(self, tx: etree._Element, entry: _OpenEntry) -> None:
        """Everything the payment needs from one `TxDtls`, so the element can be released at once.

        `TxDtls[n]` counts the entry's transactions across all its `NtryDtls`.
        """
        facts = self._facts(entry)
        position = f"{entry.position}/TxDtls[{len(entry.transactions) + 1}]"
        scope = self.scope(tx, _TRANSACTION_DESCEND)
        money: _Money | None = None
        direction = facts.direction
        if self.profile.transaction_amount:
            amount_element = scope.first("Amt")
            if amount_element is not None:
                money = _money(amount_element, f"{position}/Amt")
            elif self.profile.transaction_amount_mandatory:
                raise FormatError(f"{position}/Amt", f"missing (mandatory in {self.format})")
            indicator = scope.text("CdtDbtInd")
            if indicator is not None:
                direction = _direction(indicator, f"{position}/CdtDbtInd")
            elif self.profile.transaction_amount_mandatory:
                raise FormatError(f"{position}/CdtDbtInd", f"missing (mandatory in {self.format})")
        if money is None:
            transaction_amount = scope.first("AmtDtls/TxAmt/Amt")
            if transaction_amount is not None:
                money = _money(transaction_amount, f"{position}/AmtDtls/TxAmt/Amt")
        if money is not None and money.currency != facts.money.currency:
            self.notes.append(
                f"{position}: Amt is in {money.currency}, its entry in {facts.money.currency}; "
                "read as the transaction states it"
            )
        party = "RltdPties/Dbtr/Pty" if self.profile.party_choice else "RltdPties/Dbtr"
        free_text, lines = self._remittance(scope, position, (money or facts.money).currency)
        transaction = _Transaction(
            position=position,
            money=money,
            direction=direction,
            reference=scope.text("Refs/AcctSvcrRef"),
            end_to_end_id=_end_to_end(scope.text("Refs/EndToEndId")),
            payer_name=scope.text(f"{party}/Nm"),
            payer_account=_account_id(scope, "RltdPties/DbtrAcct"),
            payer_id=scope.text(f"{party}/Id/OrgId/Othr/Id"),
            payee_account=_account_id(scope, "RltdPties/CdtrAcct"),
            instructed=_instructed(scope.first, position, money or facts.money),
            free_text=tuple(free_text),
            lines=tuple(lines),
        )
        entry.groups[-1].transactions.append(transaction)
        entry.transactions.append(transaction)

    def _check_batch(
        self,
        batch_element: etree._Element | None,
        position: str,
        transactions: list[_Transaction],
        entry: _Entry,
    ) -> None:
        """`Btch/NbOfTxs` and `Btch/TtlAmt` (the group's first `Btch`) against the group's `TxDtls`."""
        if batch_element is None:
            return
        batch = self.scope(batch_element)
        declared = self._count(batch, "NbOfTxs", f"{position}/Btch")
        if not transactions:
            if declared is not None:
                self.notes.append(
                    f"{position}: batch of {declared} transactions (Btch/NbOfTxs) reported without TxDtls: "
                    "read as one payment of the entry amount"
                )
            return
        if declared is not None and declared != len(transactions):
            self._mismatch(
                position,
                f"Btch/NbOfTxs declares {declared} transactions, the entry has {len(transactions)} TxDtls",
            )
        total_element = batch.first("TtlAmt")
        if total_element is None:
            return
        total = _money(total_element, f"{position}/Btch/TtlAmt")
        indicator = batch.text("CdtDbtInd")
        direction = _direction(indicator, f"{position}/Btch/CdtDbtInd") if indicator else entry.direction
        net = _net(transactions, direction, total.currency)
        if net is None:
            self.notes.append(
                f"{position}: Btch/TtlAmt not compared: not every TxDtls has an amount in {total.currency}"
            )
        elif net != total.amount:
            self._mismatch(
                position,
                f"Btch/TtlAmt is {total.amount} {total.currency}, "
                f"its TxDtls add up to {net} {total.currency}",
            )

    def _check_entry_total(self, entry: _Entry, transactions: list[_Transaction]) -> None:
        """Several transactions must add up to their entry, unless the entry's charges come between them."""
        if len(transactions) < 2:
            return
        net = _net(transactions, entry.direction, entry.money.currency)
        if net is None:
            return
        if entry.charges:
            self.notes.append(f"{entry.position}: carries charges: its TxDtls are not compared with Amt")
            return
        if net != entry.money.amount:
            self._mismatch(
                entry.position,
                f"the entry amount is {entry.money.amount} {entry.money.currency}, "
                f"its TxDtls add up to {net} {entry.money.currency}",
            )

    # -- payments ------------------------------------------------------------------------------------

    def _transaction_payment(
        self, tx: _Transaction, entry: _Entry, money: _Money, index: int, count: int
    ) -> Payment:
        reference = tx.reference
        if reference is None and entry.reference is not None:
            reference = entry.reference if count == 1 else f"{entry.reference}/{index}"
        return Payment(
            amount=money.amount,
            currency=money.currency,
            direction=tx.direction,
            booking_date=entry.booking_date,
            value_date=entry.value_date,
            payer_name=tx.payer_name,
            payer_account=tx.payer_account,
            payer_id=tx.payer_id,
            payee_account=tx.payee_account,
            bank_reference=reference,
            end_to_end_id=tx.end_to_end_id,
            instructed_amount=tx.instructed.amount if tx.instructed else None,
            instructed_currency=tx.instructed.currency if tx.instructed else None,
            free_text=tx.free_text,
            lines=tx.lines,
            kind=entry.kind,
            position=tx.position,
        )

    def _entry_payment(
        self, ntry: etree._Element, entry: _Entry, transactions: list[_Transaction]
    ) -> Payment:
        """One payment of the entry amount: an entry without TxDtls, or whose TxDtls carry no amounts."""
        free_text = [text for tx in transactions for text in tx.free_text]
        additional = self.text(ntry, "AddtlNtryInf")
        if additional:
            free_text.append(additional)
        instructed = None if transactions else entry.instructed
        return Payment(
            amount=entry.money.amount,
            currency=entry.money.currency,
            direction=entry.direction,
            booking_date=entry.booking_date,
            value_date=entry.value_date,
            payer_name=_only({tx.payer_name for tx in transactions}),
            payer_account=_only({tx.payer_account for tx in transactions}),
            payer_id=_only({tx.payer_id for tx in transactions}),
            payee_account=_only({tx.payee_account for tx in transactions}),
            bank_reference=entry.reference,
            end_to_end_id=_only({tx.end_to_end_id for tx in transactions}),
            instructed_amount=instructed.amount if instructed else None,
            instructed_currency=instructed.currency if instructed else None,
            free_text=tuple(free_text),
            lines=tuple(line for tx in transactions for line in tx.lines),
            kind=entry.kind,
            position=entry.position,
        )

    # -- remittance information ----------------------------------------------------------------------

    def _remittance(self, tx: _Scope, position: str, currency: str) -> tuple[list[str], list[RemittanceLine]]:
        where = f"{position}/RmtInf"
        lines: list[RemittanceLine] = []
        for index, structured in enumerate(tx.all("RmtInf/Strd"), 1):
            lines.extend(self._structured(self.scope(structured), f"{where}/Strd[{index}]", currency))
        return tx.texts("RmtInf/Ustrd"), lines

    def _structured(self, structured: _Scope, where: str, currency: str) -> list[RemittanceLine]:
        kid: str | None = None
        texts: list[str] = []
        if ref := structured.text("CdtrRefInf/Ref"):
            code = structured.text("CdtrRefInf/Tp/CdOrPrtry/Cd")
            if code == "SCOR":
                kid = ref
            else:
                label = code or structured.text("CdtrRefInf/Tp/CdOrPrtry/Prtry") or "creditor reference"
                texts.append(f"{label}: {ref}")
        texts.extend(structured.texts("AddtlRmtInf"))
        text = "; ".join(texts) or None
        documents = [
            self._referred_document(self.scope(document), f"{where}/RfrdDocInf[{index}]")
            for index, document in enumerate(structured.all("RfrdDocInf"), 1)
        ]
        amounts = (
            self._document_amounts(structured, f"{where}/RfrdDocAmt", currency)
            if structured.first("RfrdDocAmt") is not None
            else None
        )
        if len(documents) <= 1:
            number, kind, date = documents[0] if documents else (None, None, None)
            if kid is None and number is None and amounts is None and text is None:
                return []
            return [
                RemittanceLine(
                    kid=kid,
                    invoice_number=number,
                    document_kind=kind,
                    document_date=date,
                    text=text,
                    **_line_amounts(amounts, kind),
                )
            ]
        if amounts is not None:
            self.notes.append(
                f"{where}: one RfrdDocAmt for {len(documents)} RfrdDocInf: "
                "the amounts are not split between them"
            )
        lines = [RemittanceLine(kid=kid, text=text)] if kid is not None else []
        for number, kind, date in documents:
            lines.append(
                RemittanceLine(
                    invoice_number=number,
                    document_kind=kind,
                    document_date=date,
                    text=None if lines else text,
                )
            )
        return lines

    def _referred_document(
        self, document: _Scope, where: str
    ) -> tuple[str | None, DocumentKind | None, dt.date | None]:
        code = document.text("Tp/CdOrPrtry/Cd")
        kind: DocumentKind | None
        if code is not None:
            kind = _DOCUMENT_KINDS.get(code, "other")
        else:
            kind = "other" if document.text("Tp/CdOrPrtry/Prtry") else None
        date: dt.date | None = None
        # A date (to .10); later versions nest it as RltdDt/Dt: read either.
        nested = document.text("RltdDt/Dt")
        value = nested or document.text("RltdDt")
        if value:
            date = _date(value, f"{where}/RltdDt" + ("/Dt" if nested else ""))
        return document.text("Nb"), kind, date

    def _document_amounts(self, structured: _Scope, where: str, currency: str) -> _DocumentAmounts:
        """`RfrdDocAmt` of one `Strd` (`where` names the RfrdDocAmt)."""
        result = _DocumentAmounts()

        def amount(element: etree._Element, path: str) -> Decimal:
            money = _money(element, f"{where}/{path}")
            if money.currency != currency:
                self.notes.append(f"{where}/{path} is in {money.currency}, the payment in {currency}")
            return money.amount

        if self.profile.typed_document_amounts:
            for index, typed_amount in enumerate(structured.all("RfrdDocAmt/RmtAmtAndTp"), 1):
                amount_type = self.scope(typed_amount)
                type_code = amount_type.text("Tp/Cd") or amount_type.text("Tp/Prtry") or "untyped"
                self.notes.append(
                    f"{where}/RmtAmtAndTp[{index}] ({type_code}): a typed document amount ({self.format}) is "
                    "kept with the file, not read into the line's amounts"
                )
        for name in ("RmtdAmt", "DuePyblAmt", "CdtNoteAmt"):
            element = structured.first(f"RfrdDocAmt/{name}")
            if element is not None:
                value = amount(element, name)
                if name == "RmtdAmt":
                    result.remitted = value
                elif name == "DuePyblAmt":
                    result.due = value
                else:
                    result.credit_note = value
        for index, discount in enumerate(structured.all("RfrdDocAmt/DscntApldAmt"), 1):
            path = f"DscntApldAmt[{index}]"
            if self.profile.typed_discount:
                typed = self.scope(discount)
                element = typed.first("Amt")
                if element is None:
                    raise FormatError(f"{where}/{path}/Amt", "missing (mandatory)")
                value = amount(element, f"{path}/Amt")
                code = typed.text("Tp/Cd") or typed.text("Tp/Prtry")
            else:
                value, code = amount(discount, path), None
            result.adjustments.append((value, f"discount {code}" if code else "discount"))
        for index, adjustment_element in enumerate(structured.all("RfrdDocAmt/AdjstmntAmtAndRsn"), 1):
            path = f"AdjstmntAmtAndRsn[{index}]"
            adjustment = self.scope(adjustment_element)
            element = adjustment.first("Amt")
            if element is None:
                raise FormatError(f"{where}/{path}/Amt", "missing (mandatory)")
            value = amount(element, f"{path}/Amt")
            indicator = adjustment.text("CdtDbtInd")
            # CRDT: the adjustment increases what is paid; DBIT (or none): the payer pays that much less.
            if indicator and _direction(indicator, f"{where}/{path}/CdtDbtInd") == "credit":
                value = -value
            reason = " ".join(filter(None, (adjustment.text("Rsn"), adjustment.text("AddtlInf"))))
            result.adjustments.append((value, reason or "adjustment"))
        return result

    # -- the document --------------------------------------------------------------------------------

    def document(self) -> RemittanceDocument:
        if not self._seen_root:
            raise FormatError("Document", f"{self.format} must contain {self.message.root}")
        if not self._header_read:
            raise FormatError(f"{self.message.root}/GrpHdr", "missing (mandatory)")
        if not self.reports:
            raise FormatError(
                f"{self.message.root}/{self.message.report}", "missing (at least one is mandatory)"
            )
        first = self.reports[0]
        for report in self.reports[1:]:
            if report.account != first.account:
                self.notes.append(
                    f"{report.position}: account {report.account or '(none)'}; the document's account is "
                    f"{first.account or '(none)'} from {first.position}"
                )
        summaries = [report.summary for report in self.reports]
        declared_count: int | None = None
        declared_total: Decimal | None = None
        if all(summary is not None and summary.count is not None for summary in summaries):
            declared_count = sum(summary.count or 0 for summary in summaries if summary)
        if all(summary is not None and summary.total is not None for summary in summaries):
            declared_total = sum(
                (summary.total or Decimal(0) for summary in summaries if summary), Decimal(0)
            )
        currency = first.currency or (next(iter(first.currencies)) if len(first.currencies) == 1 else None)
        return RemittanceDocument(
            format=self.format,
            payments=self.payments,
            message_id=self.message_id,
            created_at=self.created_at,
            account=first.account,
            account_owner=first.owner,
            currency=currency,
            sender=first.servicer,
            receiver=self.receiver,
            declared_count=declared_count,
            declared_total=declared_total,
            notes=self.notes,
            warnings=[*self.warnings, *self._status_warnings()],
        )


def _statement_entry(facts: _Entry, report: _Report, payments: list[Payment]) -> StatementEntry:
    return StatementEntry(
        position=facts.position,
        account=report.account,
        amount=facts.money.amount,
        currency=facts.money.currency,
        direction=facts.direction,
        booking_date=facts.booking_date,
        value_date=facts.value_date,
        reference=facts.reference,
        kind=facts.kind,
        references=tuple(dict.fromkeys(p.bank_reference for p in payments if p.bank_reference)),
        payer_names=tuple(dict.fromkeys(p.payer_name for p in payments if p.payer_name)),
        payer_accounts=tuple(dict.fromkeys(p.payer_account for p in payments if p.payer_account)),
        payee_accounts=tuple(dict.fromkeys(p.payee_account for p in payments if p.payee_account)),
    )


def _release(element: etree._Element) -> None:
    """Free a read element and everything before it in its parent, so the tree holds one of each at a time.

    The iterparse idiom, done for every element as it is read: `clear` (its tail, still to be parsed, is
    kept), then the parent's first child is deleted while the element has a preceding sibling. Each child is
    deleted once, from the front, so a parent of n children costs O(n) in all. What a later step still needs
    from a released sibling (an entry's `Btch`) was taken when that sibling closed: a Python reference keeps
    a deleted element alive.
    """
    element.clear(keep_tail=True)  # type: ignore[call-arg]  # lxml-stubs lack keep_tail
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]


def _date_choice(header: _Scope, name: str, position: str) -> dt.date | None:
    """`BookgDt` / `ValDt`: a `Dt`, or the date of a `DtTm` as the bank wrote it."""
    if header.first(name) is None:
        return None
    day = header.text(f"{name}/Dt")
    if day is not None:
        return _date(day, f"{position}/{name}/Dt")
    moment = header.text(f"{name}/DtTm")
    if moment is not None:
        return _datetime(moment, f"{position}/{name}/DtTm").date()
    raise FormatError(f"{position}/{name}", "has neither Dt nor DtTm")


def _account_id(scope: _Scope, path: str) -> str | None:
    return scope.text(f"{path}/Id/IBAN") or scope.text(f"{path}/Id/Othr/Id")


def _instructed(find: Callable[[str], etree._Element | None], position: str, money: _Money) -> _Money | None:
    """What the payer sent before conversion or charges (`InstdAmt`, else a `TxAmt` that differs)."""
    for path in ("AmtDtls/InstdAmt/Amt", "AmtDtls/TxAmt/Amt"):
        amount_element = find(path)
        if amount_element is not None:
            instructed = _money(amount_element, f"{position}/{path}")
            return None if instructed == money else instructed
    return None


def _net(transactions: list[_Transaction], direction: Direction, currency: str) -> Decimal | None:
    """Sum in `direction` (opposite ones subtract); None if a transaction has no amount in `currency`."""
    total = Decimal(0)
    for tx in transactions:
        if tx.money is None or tx.money.currency != currency:
            return None
        total += tx.money.amount if tx.direction == direction else -tx.money.amount
    return total


def _line_amounts(amounts: _DocumentAmounts | None, kind: DocumentKind | None) -> dict[str, Any]:
    if amounts is None:
        return {}
    amount, document_amount = amounts.remitted, amounts.due
    adjustments = list(amounts.adjustments)
    if amounts.credit_note is not None:
        if kind == "credit_note":
            amount = amount if amount is not None else amounts.credit_note
            document_amount = document_amount if document_amount is not None else amounts.credit_note
        else:
            adjustments.append((amounts.credit_note, "credit note"))
    return {
        "amount": amount,
        "document_amount": document_amount,
        "adjustment": sum((value for value, _ in adjustments), Decimal(0)) if adjustments else None,
        "adjustment_reason": "; ".join(reason for _, reason in adjustments) or None,
    }


def _only(values: set[str | None]) -> str | None:
    """The one value all transactions share, else None."""
    return next(iter(values)) if len(values) == 1 else None


def _end_to_end(value: str | None) -> str | None:
    return None if value is None or value.upper() == "NOTPROVIDED" else value


def _money(element: etree._Element, where: str) -> _Money:
    """An ISO 20022 amount with its `Ccy`: positive, numeric, known currency, within its minor units."""
    text = (element.text or "").strip()
    if not _AMOUNT_TEXT.fullmatch(text):
        if _DECIMAL_TEXT.fullmatch(text):
            raise FormatError(
                where, f"negative amount {text} (the direction is CdtDbtInd, amounts are positive)"
            )
        raise FormatError(where, f"not an amount: {text!r}")
    value = Decimal(text)
    if len(value.as_tuple().digits) > _MAX_AMOUNT_DIGITS:
        raise FormatError(where, f"amount {text} has more than {_MAX_AMOUNT_DIGITS} digits")
    code = element.get("Ccy")
    if code is None:
        raise FormatError(where, "no currency (the Ccy attribute is mandatory)")
    currency = _currency(code, f"{where}/@Ccy")
    places = _minor_units(currency)
    exponent = value.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if decimals > places:
        raise FormatError(where, f"amount {text} has {decimals} decimals, {currency} has {places}")
    return _Money(value.quantize(Decimal(1).scaleb(-places)), currency)


def _currency(code: str, where: str) -> str:
    code = code.strip()
    if not _CURRENCY_TEXT.fullmatch(code) or _minor_units_or_none(code) is None:
        raise FormatError(where, f"unknown ISO 4217 currency code {code!r}")
    return code


@lru_cache(maxsize=256)
def _minor_units_or_none(code: str) -> int | None:
    try:
        return currency_minor_units(code)
    except ValueError:
        return None


def _minor_units(code: str) -> int:
    places = _minor_units_or_none(code)
    assert places is not None  # checked by _currency
    return places


def _direction(value: str, where: str) -> Direction:
    if value == "CRDT":
        return "credit"
    if value == "DBIT":
        return "debit"
    raise FormatError(where, f"must be CRDT or DBIT, not {value!r}")


def _boolean(value: str | None, where: str) -> bool:
    if value is None or value in ("false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise FormatError(where, f"must be true or false, not {value!r}")


def _date(value: str, where: str) -> dt.date:
    matched = _DATE_TEXT.fullmatch(value)
    try:
        if matched is None:
            raise ValueError(value)
        return dt.date.fromisoformat(matched.group(1))
    except ValueError:
        raise FormatError(where, f"not a date (YYYY-MM-DD): {value!r}") from None


def _datetime(value: str, where: str) -> dt.datetime:
    try:
        if not _DATETIME_TEXT.fullmatch(value):
            raise ValueError(value)
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(where, f"not a date and time (YYYY-MM-DDThh:mm:ss±hh:mm): {value!r}") from None
