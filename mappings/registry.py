"""Every wire format the gateway knows, in one registry: per format name, its family, what it is, and where
its verbs live.

The verbs are the same in every format module (`mappings/<family>/<format>.py`), each optional:

* `render(invoice, options=None)` — canonical invoice → the wire document (`RenderedDocument`);
* `parse(data)` — wire bytes → the family's model (an `Invoice` or a list of them, a `RemittanceDocument`,
  a `StatusDocument`, a list of `Acknowledgement`s…), or a `FormatError` naming the field or segment;
* `sniff(data)` — is it this format? cheap, never raises;
* `inspect(data)` — what the gateway reads from it, as plain data (for `gateway inspect --json`).

An entry names them as "module:function", imported on first use (so the CLI starts without loading lxml or
reportlab). A variant is one module function with a fixed option and its own entry (`render_options`,
`parse_options`): EDIFACT INVOIC D.96A and D.01B, X12 810 004010 and 005010. `read_as` lets another family's
intake read a format with its own reader (an Invoice Response "paid" is a payment hint to remittance
intake). `message_type` is what an EDI format's document carries (UNH 0065 / ST01), as the EDI channel
records it.

The order of `FORMATS` is the sniffing order: an envelope before what it carries (an SBDH is XML too), and
the specific EDI messages (acknowledgements, REMADV / 820, IFTSTA / 214) before plain EDIFACT / X12. Adding a
format is one module and one entry here.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from mappings.base import FormatError, RenderedDocument
from schemas.canonical import Invoice

FormatKind = Literal[
    "invoice",
    "status-document",
    "acknowledgement",
    "remittance",
    "transport-status",
    "pod-file",
    "print-file",
    "envelope",
    "syntax",
    "consumer-channel",
    "direct-debit",
    "notice",
    "ledger",
]
INVOICE: FormatKind = "invoice"
STATUS_DOCUMENT: FormatKind = "status-document"
ACKNOWLEDGEMENT: FormatKind = "acknowledgement"
REMITTANCE: FormatKind = "remittance"
TRANSPORT_STATUS: FormatKind = "transport-status"
POD_FILE: FormatKind = "pod-file"
PRINT_FILE: FormatKind = "print-file"
ENVELOPE: FormatKind = "envelope"
SYNTAX: FormatKind = "syntax"
CONSUMER_CHANNEL: FormatKind = "consumer-channel"
DIRECT_DEBIT: FormatKind = "direct-debit"
#: a follow-up notice (reminder, statement): rendered from a `ReminderDocument`; `render(invoice, options)`
#: writes the first notice the gateway would send for that invoice
NOTICE: FormatKind = "notice"
#: a file the gateway writes for the seller's general ledger (a period's journal, SAF-T Financial): written
#: from posted vouchers by `gateway.services.ledger`, never received; sniffed and inspected so `gateway
#: inspect` summarises one
LEDGER: FormatKind = "ledger"

Verb = Literal["render", "parse", "sniff", "inspect"]
VERBS: tuple[Verb, ...] = ("render", "parse", "sniff", "inspect")


@dataclass(frozen=True)
class FormatEntry:
    """One format: its family, what it is, and where its verbs live ("module:function", each optional)."""

    kind: FormatKind
    description: str
    render: str | None = None
    parse: str | None = None
    sniff: str | None = None
    inspect: str | None = None
    #: Fixed keyword options of a variant, passed to `render` / `parse` (e.g. {"version": "D96A"}).
    render_options: Mapping[str, Any] = field(default_factory=dict)
    parse_options: Mapping[str, Any] = field(default_factory=dict)
    #: Official validation (XSD + schematron) must pass before a document in this format may leave.
    validated: bool = False
    #: The EDI message a rendered document carries (UNH 0065 / ST01), as the EDI channel records it; empty
    #: for a format that is no EDI message.
    message_type: str = ""
    #: Other families whose intake also reads this format, and the reader each uses ("module:function").
    read_as: Mapping[FormatKind, str] = field(default_factory=dict)

    def target(self, verb: Verb) -> str | None:
        """Where `verb` lives, or None when the format does not support it."""
        return cast(str | None, getattr(self, verb))


FORMATS: dict[str, FormatEntry] = {
    # First: an SBDH envelope is XML too, and must be recognised as the envelope, not as what it carries.
    "sbdh": FormatEntry(
        kind=ENVELOPE,
        sniff="mappings.sbdh:sniff",
        inspect="mappings.sbdh:inspect",
        description="PEPPOL envelope: SBDH 1.3 StandardBusinessDocument around a business document",
    ),
    # The ledger journal files: cheap, exact first-line checks (before canonical JSON, which is JSON too).
    "gbat10": FormatEntry(
        kind=LEDGER,
        render="mappings.ledger.gbat10:render",
        sniff="mappings.ledger.gbat10:sniff",
        inspect="mappings.ledger.gbat10:inspect",
        description="a period's journal as GBAT10 lines (Mamut / Visma, Tripletex voucher import): one "
        "semicolon line per journal line",
    ),
    "journal-csv": FormatEntry(
        kind=LEDGER,
        render="mappings.ledger.journal_csv:render",
        sniff="mappings.ledger.journal_csv:sniff",
        inspect="mappings.ledger.journal_csv:inspect",
        description="a period's journal as CSV with a header row: one row per journal line",
    ),
    "journal-json": FormatEntry(
        kind=LEDGER,
        render="mappings.ledger.journal_json:render",
        sniff="mappings.ledger.journal_json:sniff",
        inspect="mappings.ledger.journal_json:inspect",
        description="a period's journal as JSON: the vouchers with their lines, exact decimal strings",
    ),
    # A card payment advice (a completed checkout, our JSON) before canonical JSON: an exact "type" marker.
    "card-advice": FormatEntry(
        kind=REMITTANCE,
        parse="mappings.remittance.card_advice:parse",
        sniff="mappings.remittance.card_advice:sniff",
        inspect="mappings.remittance.card_advice:inspect",
        description="the gateway's card payment advice (JSON): a Stripe / Vipps checkout's payment with the "
        "invoices it paid",
    ),
    "canonical-json": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.canonical_json:render",
        parse="mappings.invoice.canonical_json:parse",
        parse_options={"many": True},  # one invoice or a list, as bulk intake takes them
        sniff="mappings.invoice.canonical_json:sniff",
        inspect="mappings.invoice.canonical_json:inspect",
        description="the gateway's canonical invoice (EN 16931 fields) as JSON",
    ),
    # Before ehf: an EHF Reminder is a UBL Invoice too, in its own profile, and is no invoice to send.
    "ehf-reminder": FormatEntry(
        kind=NOTICE,
        render="mappings.reminder.ehf_reminder:render",
        parse="mappings.reminder.ehf_reminder:parse",
        sniff="mappings.reminder.ehf_reminder:sniff",
        inspect="mappings.reminder.ehf_reminder:inspect",
        description="EHF Reminder 3.0 (purring): UBL 2.1 Invoice in the reminder profile, the fee as a REM "
        "charge, the reminded invoices referenced",
        validated=True,
    ),
    # Before ehf: a self-billed invoice is UBL too, and is read (and written back) as what it is.
    "peppol-self-billing": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.peppol_self_billing:render",
        parse="mappings.invoice.peppol_self_billing:parse",
        sniff="mappings.invoice.peppol_self_billing:sniff",
        inspect="mappings.invoice.peppol_self_billing:inspect",
        description="PEPPOL BIS Self-Billing 3.0: self-billed UBL 2.1 Invoice (389) or CreditNote (261)",
        validated=True,
    ),
    "ehf": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.ubl:render",
        parse="mappings.invoice.ubl:parse",
        sniff="mappings.invoice.ubl:sniff",
        inspect="mappings.invoice.ubl:inspect",
        description="EHF 3.0 / PEPPOL BIS Billing 3.0: UBL 2.1 Invoice or CreditNote (written in the "
        "invoice's own profile: EHF forward billing, XRechnung, self-billing…)",
        validated=True,
    ),
    "cii": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.cii:render",
        parse="mappings.invoice.cii:parse",
        sniff="mappings.invoice.cii:sniff",
        inspect="mappings.invoice.cii:inspect",
        description="UN/CEFACT Cross Industry Invoice D16B (EN 16931 CII): XRechnung CII, Factur-X / ZUGFeRD "
        "XML",
        validated=True,
    ),
    # Before the plain PDF: a Factur-X PDF is read as the invoice it carries.
    "factur-x": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.facturx:render",
        parse="mappings.invoice.facturx:parse",
        sniff="mappings.invoice.facturx:sniff",
        inspect="mappings.invoice.facturx:inspect",
        description="Factur-X / ZUGFeRD: the invoice PDF as PDF/A-3 with the CII XML (EN 16931 profile) "
        "embedded",
        validated=True,  # the embedded CII, with the CII rules
    ),
    "pdf": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.pdf:render",
        sniff="mappings.invoice.pdf:sniff",
        inspect="mappings.invoice.pdf:inspect",
        description="printable A4 invoice or credit note PDF (embedded fonts, free 15 mm left margin)",
    ),
    "reminder-pdf": FormatEntry(
        kind=NOTICE,
        render="mappings.reminder.reminder_pdf:render",
        description="printable A4 follow-up notice PDF: reminder, debt-collection warning, payment demand "
        "or nudge, in the invoice PDF's branding",
    ),
    "statement-pdf": FormatEntry(
        kind=NOTICE,
        render="mappings.reminder.reminder_pdf:render",
        render_options={"statement": True},
        description="printable A4 customer statement PDF: every open item with its KID",
    ),
    "invoice-response": FormatEntry(
        kind=STATUS_DOCUMENT,
        parse="mappings.status.invoice_response:parse",
        sniff="mappings.status.invoice_response:sniff",
        inspect="mappings.status.invoice_response:inspect",
        description="PEPPOL status documents: Invoice Response (T111), MLR (T71), MLS (ApplicationResponse)",
        # A buyer's Invoice Response "paid" (PD) is a payment hint: remittance intake books it, matching
        # never applies it.
        read_as={REMITTANCE: "mappings.remittance.payment_hints:parse"},
    ),
    "dsn": FormatEntry(
        kind=STATUS_DOCUMENT,
        parse="mappings.status.dsn:parse",
        sniff="mappings.status.dsn:sniff",
        inspect="mappings.status.dsn:inspect",
        description="e-mail bounce (RFC 3464 DSN or plain text); auto-replies, ARF reports recorded",
    ),
    "efaktura-receipt": FormatEntry(
        kind=STATUS_DOCUMENT,
        parse="mappings.efaktura.receipts:parse",
        sniff="mappings.efaktura.receipts:sniff",
        inspect="mappings.efaktura.receipts:inspect",
        description="eFaktura receipts and rejections (the gateway's CSV or JSON, one line per invoice)",
    ),
    # Not received at the door: a tenant's registry import (`gateway efaktura recipients import`).
    "efaktura-recipients": FormatEntry(
        kind=STATUS_DOCUMENT,
        parse="mappings.efaktura.recipients:parse",
        sniff="mappings.efaktura.recipients:sniff",
        inspect="mappings.efaktura.recipients:inspect",
        description="eFaktura recipient-search answer (the gateway's CSV): consent, eFaktura id or blocked",
    ),
    # Before camt: a zip whose members are stored (not deflated) shows their XML in its first bytes. No parse:
    # remittance intake opens the archive and reads each member as the file it is.
    "statement-zip": FormatEntry(
        kind=REMITTANCE,
        sniff="mappings.remittance.statement_zip:sniff",
        inspect="mappings.remittance.statement_zip:inspect",
        description="a statement zip: several bank files (camt, OCR giro…) in one .zip, each read on its own",
    ),
    "camt": FormatEntry(
        kind=REMITTANCE,
        parse="mappings.remittance.camt:parse",
        sniff="mappings.remittance.camt:sniff",
        inspect="mappings.remittance.camt:inspect",
        description="ISO 20022 camt.052 / camt.053 / camt.054 (.001.02 to .13): bank statements and "
        "debit/credit notifications with remittance information",
    ),
    # AvtaleGiro claim and agreement files are Nets transmissions too: read as what they are, before the
    # OCR giro payment reader (they carry no payments).
    "avtalegiro-claims": FormatEntry(
        kind=DIRECT_DEBIT,
        render="mappings.consumer.avtalegiro:render",
        parse="mappings.consumer.avtalegiro:parse",
        sniff="mappings.consumer.avtalegiro:sniff",
        inspect="mappings.consumer.avtalegiro:inspect",
        description="Nets AvtaleGiro claim file: payment requests (and cancellations) a payee sends Nets",
    ),
    "avtalegiro-agreements": FormatEntry(
        kind=DIRECT_DEBIT,
        parse="mappings.consumer.avtalegiro_agreements:parse",
        sniff="mappings.consumer.avtalegiro_agreements:sniff",
        inspect="mappings.consumer.avtalegiro_agreements:inspect",
        description="Nets AvtaleGiro agreements file: payers' mandates new, updated or deleted, notify flag",
    ),
    "ocr-giro": FormatEntry(
        kind=REMITTANCE,
        parse="mappings.remittance.ocr_giro:parse",
        sniff="mappings.remittance.ocr_giro:sniff",
        inspect="mappings.remittance.ocr_giro:inspect",
        description="Nets OCR giro (incoming KID payments, AvtaleGiro payments) and AvtaleGiro claim / "
        "agreement files",
    ),
    # The EDI business messages and acknowledgements before the generic syntax entries: an INVOIC or a
    # CONTRL is EDIFACT too, but is read as what it is.
    "invoic": FormatEntry(
        kind=INVOICE,
        parse="mappings.invoice.edifact_invoic:parse",
        sniff="mappings.invoice.edifact_invoic:sniff",
        inspect="mappings.invoice.edifact_invoic:inspect",
        description="UN/EDIFACT INVOIC interchange (EANCOM D.96A EAN008, D.01B, other D releases): "
        "invoices and credit notes",
    ),
    "edifact-d96a": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.edifact_invoic:render",
        render_options={"version": "D96A"},
        message_type="INVOIC",
        description="EANCOM 1997 INVOIC (UN D.96A, EAN008) in an EDIFACT interchange",
    ),
    "edifact-d01b": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.edifact_invoic:render",
        render_options={"version": "D01B"},
        message_type="INVOIC",
        description="UN D.01B INVOIC in an EDIFACT interchange",
    ),
    "edifact-ack": FormatEntry(
        kind=ACKNOWLEDGEMENT,
        parse="mappings.acks.edifact_acks:parse",
        sniff="mappings.acks.edifact_acks:sniff",
        inspect="mappings.acks.edifact_acks:inspect",
        description="EDIFACT acknowledgements: CONTRL (syntax, UCI/UCF/UCM/UCS/UCD) and APERAK (application)",
    ),
    "x12-ack": FormatEntry(
        kind=ACKNOWLEDGEMENT,
        parse="mappings.acks.x12_acks:parse",
        sniff="mappings.acks.x12_acks:sniff",
        inspect="mappings.acks.x12_acks:inspect",
        description="X12 acknowledgements: TA1 (interchange), 997 / 999 (functional group, AK3/AK4, IK3/IK4)",
    ),
    "x12-810": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.x12_810:render",
        render_options={"version": "004010"},
        parse="mappings.invoice.x12_810:parse",
        sniff="mappings.invoice.x12_810:sniff",
        inspect="mappings.invoice.x12_810:inspect",
        message_type="810",
        description="ASC X12 810 invoice, 004010 (reads any 810 interchange)",
    ),
    "x12-810-5010": FormatEntry(
        kind=INVOICE,
        render="mappings.invoice.x12_810:render",
        render_options={"version": "005010"},
        message_type="810",
        description="ASC X12 810 invoice, 005010",
    ),
    "remadv": FormatEntry(
        kind=REMITTANCE,
        parse="mappings.remittance.edifact_remadv:parse",
        sniff="mappings.remittance.edifact_remadv:sniff",
        inspect="mappings.remittance.edifact_remadv:inspect",
        description="UN/EDIFACT REMADV remittance advice (EANCOM D.96A / D.01B): one payment per message",
    ),
    "x12-820": FormatEntry(
        kind=REMITTANCE,
        parse="mappings.remittance.x12_820:parse",
        # BPR02 is the money; the RMR lines are how the payer means it. Real 820s differ from their lines
        # by taxes, withholding or adjustments they do not itemise (every 820 sample in `../shared` does),
        # and X12 has no control total over them: intake keeps such a set, with a note, as evidence for
        # matching (a short or over payment). Envelope and segment faults are still refused whole.
        parse_options={"unbalanced": "note"},
        sniff="mappings.remittance.x12_820:sniff",
        inspect="mappings.remittance.x12_820:inspect",
        description="ASC X12 820 payment order / remittance advice: BPR, TRN, RMR/ADX; one payment per set",
    ),
    "iftsta": FormatEntry(
        kind=TRANSPORT_STATUS,
        parse="mappings.status.iftsta:parse",
        sniff="mappings.status.iftsta:sniff",
        inspect="mappings.status.iftsta:inspect",
        description="UN/EDIFACT IFTSTA transport status (D.96A … D.01B): consignments, status, signer",
    ),
    "x12-214": FormatEntry(
        kind=TRANSPORT_STATUS,
        parse="mappings.status.x12_214:parse",
        sniff="mappings.status.x12_214:sniff",
        inspect="mappings.status.x12_214:inspect",
        description="ASC X12 214 carrier shipment status: B10, L11, AT7 status (D1 = delivered), POD",
    ),
    "edifact": FormatEntry(
        kind=SYNTAX,
        parse="mappings.syntax.edifact:parse",
        sniff="mappings.syntax.edifact:sniff",
        inspect="mappings.syntax.edifact:inspect",
        description="UN/EDIFACT interchange (ISO 9735 syntax 1–4): UNA/UNB…UNZ, UNG groups, UNH…UNT messages",
    ),
    "x12": FormatEntry(
        kind=SYNTAX,
        parse="mappings.syntax.x12:parse",
        sniff="mappings.syntax.x12:sniff",
        inspect="mappings.syntax.x12:inspect",
        description="ANSI ASC X12 interchange: ISA/IEA, GS/GE groups, ST…SE transaction sets, TA1",
    ),
    "print-index": FormatEntry(
        kind=PRINT_FILE,
        render="mappings.print.batch:render",
        parse="mappings.print.batch:parse",
        sniff="mappings.print.batch:sniff",
        inspect="mappings.print.batch:inspect",
        description="print-house batch index, CSV or XML (urn:invoice-gateway:print-batch:1)",
    ),
    "print-return": FormatEntry(
        kind=PRINT_FILE,
        parse="mappings.print.returns:parse",
        sniff="mappings.print.returns:sniff",
        inspect="mappings.print.returns:inspect",
        description="print-house return file (CSV or XML urn:invoice-gateway:print-return:1): receipt, "
        "production report or returned mail",
    ),
    "digipost-message": FormatEntry(
        kind=CONSUMER_CHANNEL,
        render="mappings.consumer.digipost:render",
        parse="mappings.consumer.digipost:parse",
        sniff="mappings.consumer.digipost:sniff",
        inspect="mappings.consumer.digipost:inspect",
        description="Digipost API v8 message (application/vnd.digipost-v8+xml): recipient, documents with "
        "the Invoice data type, print fallback",
    ),
    "digipost-delivery": FormatEntry(
        kind=CONSUMER_CHANNEL,
        parse="mappings.consumer.digipost_delivery:parse",
        sniff="mappings.consumer.digipost_delivery:sniff",
        inspect="mappings.consumer.digipost_delivery:inspect",
        description="Digipost API v8 message-delivery answer: delivery method (DIGIPOST, PRINT, PEPPOL, "
        "EPOST), status, time",
    ),
    "digipost-events": FormatEntry(
        kind=CONSUMER_CHANNEL,
        parse="mappings.consumer.digipost_events:parse",
        sniff="mappings.consumer.digipost_events:sniff",
        inspect="mappings.consumer.digipost_events:inspect",
        description="Digipost API v8 document-events answer: POSTMARKED, PRINT_FAILED, SHREDDED, OPENED, "
        "PEPPOL_FAILED … per document",
    ),
    "saft-financial": FormatEntry(
        kind=LEDGER,
        sniff="mappings.ledger.saft:sniff",
        inspect="mappings.ledger.saft:inspect",
        description="SAF-T Financial 1.30 (Norway): header, master files (accounts with grouping codes, "
        "customers' balances, tax table) and the journal's transactions; written by `gateway ledger saft`",
    ),
    # Last: a PDF, IFTSTA or 214 is read as what it is above; a photo of a signed delivery note is a POD.
    "pod": FormatEntry(
        kind=POD_FILE,
        sniff="mappings.status.pod_files:sniff",
        inspect="mappings.status.pod_files:inspect",
        description="proof of delivery: signed PDF, JPEG or PNG photo, EDIFACT IFTSTA or X12 214",
    ),
}


class UnknownFormat(LookupError):
    """A format name the registry does not know (for that verb), with the closest known name."""

    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown format {name!r}.{hint} Known formats: {', '.join(sorted(known))}")
        self.name = name
        self.known = known


def _load(target: str) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    return cast(Callable[..., Any], getattr(importlib.import_module(module_name), attribute))


def format_entry(name: str) -> FormatEntry:
    """The entry named `name`; `UnknownFormat` (with "did you mean") otherwise."""
    entry = FORMATS.get(name)
    if entry is None:
        raise UnknownFormat(name, list(FORMATS))
    return entry


def formats(kind: FormatKind | None = None, *, can: Verb | None = None) -> list[str]:
    """Format names in sniffing order: all, or one family's (its own formats first, then the formats it
    reads as well — `read_as`), optionally only those that support the verb `can`."""
    if kind is None:
        names = list(FORMATS)
    else:
        names = [name for name, entry in FORMATS.items() if entry.kind == kind]
        names += [name for name, entry in FORMATS.items() if entry.kind != kind and kind in entry.read_as]
    if can is None:
        return names
    if kind is not None and can == "parse":
        return [name for name in names if FORMATS[name].parse or kind in FORMATS[name].read_as]
    return [name for name in names if FORMATS[name].target(can)]


def _verb(name: str, verb: Verb) -> Callable[..., Any]:
    entry = FORMATS.get(name)
    target = entry.target(verb) if entry is not None else None
    if entry is None or target is None:
        raise UnknownFormat(name, formats(can=verb))
    return _load(target)


def renderer(name: str) -> Callable[..., RenderedDocument]:
    """`render` of the named format, its fixed options bound: call it with (invoice) or (invoice, options)."""
    function = _verb(name, "render")
    options = FORMATS[name].render_options
    bound = functools.partial(function, **options) if options else function
    return cast(Callable[..., RenderedDocument], bound)


def parser(name: str, *, kind: FormatKind | None = None) -> Callable[[bytes], Any]:
    """`parse` of the named format (its fixed options bound); with `kind`, the reader that family's intake
    uses — the format's own `parse` for a format of that family, else its `read_as` reader."""
    entry = FORMATS.get(name)
    if entry is not None and kind is not None and entry.kind != kind:
        reader = entry.read_as.get(kind)
        if reader is None:
            raise UnknownFormat(name, formats(kind, can="parse"))
        return _load(reader)
    function = _verb(name, "parse")
    options = FORMATS[name].parse_options
    return functools.partial(function, **options) if options else function


def sniffer(name: str) -> Callable[[bytes], bool]:
    return cast(Callable[[bytes], bool], _verb(name, "sniff"))


def inspector(name: str) -> Callable[[bytes], dict[str, Any]]:
    return cast(Callable[[bytes], dict[str, Any]], _verb(name, "inspect"))


def render(format_name: str, invoice: Invoice, options: Any = None) -> RenderedDocument:
    """Render `invoice` in the named wire format; `options` (e.g. a tenant's PDF template) if it takes any."""
    function = renderer(format_name)
    return function(invoice) if options is None else function(invoice, options)


def parse(format_name: str, data: bytes) -> Any:
    """Read `data` as the named format into its family's model; `FormatError` naming the field otherwise."""
    return parser(format_name)(data)


def detect_format(data: bytes) -> str | None:
    """The first registered format whose sniffer recognises `data`."""
    for name, entry in FORMATS.items():
        if entry.sniff and _load(entry.sniff)(data):
            return name
    return None


def inspect_file(data: bytes) -> dict[str, Any]:
    """Detect what `data` is and return what the gateway reads from it; `FormatError` if nothing fits.

    An EDI file of several interchanges (a VAN's concatenated daily file) shows each interchange: its
    envelope, messages and errors, and what its own format's inspect reads (`inspect_interchanges`)."""
    if _load("mappings.syntax.edifact:sniff")(data) or _load("mappings.syntax.x12:sniff")(data):
        pieces = _load("mappings.syntax.interchanges:split_interchanges")(data)
        if len(pieces) > 1:
            return inspect_interchanges(pieces)
    name = detect_format(data)
    if name is None:
        raise FormatError("file", "not a format the gateway understands (known: " + ", ".join(FORMATS) + ")")
    inspect = FORMATS[name].inspect
    if inspect is None:
        return {"format": name}
    return cast(dict[str, Any], _load(inspect)(data))


def inspect_interchanges(pieces: Any) -> dict[str, Any]:
    """Per interchange of a multi-interchange file: sender, recipient, control reference, messages and the
    errors that refuse it (each read on its own, so one broken interchange does not hide the others), and
    the inspect of its own format under `detail`."""
    examine = _load("mappings.acks.received:examine")
    interchanges: list[dict[str, Any]] = []
    for piece in pieces:
        entry: dict[str, Any] = {"index": piece.index, "offset": piece.offset, "bytes": len(piece.data)}
        errors: list[dict[str, Any]] = []
        try:
            received = examine(piece.data)
        except FormatError as error:
            entry["standard"] = piece.standard
            errors.append(error.as_dict())
        else:
            entry.update(
                standard=received.standard,
                sender=received.sender.as_dict(),
                recipient=received.recipient.as_dict(),
                control_ref=received.control_ref,
                message_count=len(received.message_refs),
                messages=[
                    {"type": kind, "reference": ref}
                    for kind, ref in zip(received.message_types, received.message_refs, strict=False)
                ],
            )
            if received.error is not None:
                errors.append(received.error.as_dict())
            if received.warnings:
                entry["warnings"] = list(received.warnings)
        if not errors:
            name = detect_format(piece.data)
            entry["format"] = name
            entry_inspect = FORMATS[name].inspect if name else None
            if entry_inspect is not None:
                try:
                    entry["detail"] = _load(entry_inspect)(piece.data)
                except FormatError as error:
                    errors.append(error.as_dict())
        entry["valid"] = not errors
        entry["errors"] = errors
        interchanges.append(entry)
    return {
        "format": "edi-interchanges",
        "interchange_count": len(interchanges),
        "refused_count": sum(not entry["valid"] for entry in interchanges),
        "interchanges": interchanges,
    }


def read_invoices(data: bytes) -> tuple[str, list[Invoice]]:
    """Which invoice format `data` is, and its invoices in the canonical model.

    Every invoice format intake takes: canonical JSON (one invoice or a list), EHF / UBL Invoice or
    CreditNote, EDIFACT INVOIC and X12 810. JSON that the sniffer does not recognise (an invoice missing its
    lines, say) is still read as canonical JSON, so the errors name the fields. Anything else is a
    `FormatError` saying what the file is; a file that is an invoice format but does not validate raises
    that format's error (`InvoiceValidationError` with every field).
    """
    invoice_formats = formats(INVOICE, can="parse")
    name = detect_format(data)
    if name is None and data.lstrip()[:1] in (b"{", b"["):
        name = "canonical-json"
    if name is None or name not in invoice_formats:
        what = f"{name} ({FORMATS[name].description})" if name else "not a format the gateway understands"
        known = ", ".join(invoice_formats)
        raise FormatError("file", f"{what}, not an invoice format the gateway reads ({known})")
    found = parser(name)(data)
    return name, list(found) if isinstance(found, list) else [found]
