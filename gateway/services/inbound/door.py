"""One inbound door beside the specific ones: any file the gateway understands, handed to the service that
takes it (`POST /inbound`, `gateway receive FILE…`).

The file is recognised by its bytes with the format registry (`mappings.detect_format`), never by its name
or declared content type, and routed by its format's family (`ROUTES`); a few formats are taken by another
service than their family's (`FORMAT_ROUTES`):

| the file | format (family) | service |
|---|---|---|
| Invoice Response, MLR, MLS (bare or in an SBDH) | invoice-response (status-document) | responses |
| e-mail delivery status notification | dsn (status-document) | bounces |
| CONTRL, APERAK, TA1, 997, 999 | edifact-ack, x12-ack (acknowledgement) | edi |
| INVOIC, 810 and any other EDIFACT / X12 (DESADV, 856…) | invoic, x12-810 (invoice), edifact, x12 | edi |
| camt.05x, OCR giro, REMADV, X12 820 | (remittance) | remittances: booked, then matched |
| a statement zip (several in one .zip) | statement-zip (remittance) | remittances: each member alone |
| signed PDF, JPEG / PNG photo, IFTSTA, X12 214 | pdf (invoice), pod, iftsta, x12-214 | pods |
| print-house receipt, production report, returned mail | print-return (print-file) | print returns |
| eFaktura receipts and rejections (our CSV / JSON) | efaktura-receipt (status-document) | efaktura-receipts |
| Nets' AvtaleGiro agreements file (mandates) | avtalegiro-agreements (direct-debit) | avtalegiro-mandates |

Where a file could be more than one thing, the rule:

* A PDF is a proof of delivery (a signed delivery note). The gateway takes no PDF invoice in — intake reads
  canonical JSON, UBL, INVOIC and 810 — and knows PDF otherwise only as what it renders.
* REMADV and X12 820 are payment advices: remittance intake books their payments and matches them, which
  is what they are sent for. IFTSTA and X12 214 are transport statuses: their delivered shipments become
  proofs of delivery. All four are EDI business messages too; to have one recorded as a trading partner's
  interchange and answered with CONTRL / 997, send it to `POST /edi` (`gateway receive-edi`). A file of
  several of their interchanges (a bank's daily REMADV file, a carrier's IFTSTA batch) goes to that service
  whole: the payments / delivered shipments of every interchange that reads, a broken interchange named in
  the receipt's `warnings`; refused (422) only when no interchange reads.
* An Invoice Response is a status document, also when it says "paid" (PD); `POST /remittances` reads that
  one as a payment hint instead.
* An SBDH envelope is opened: around a status document it goes to responses (which unwraps it itself);
  anything else inside one is not taken here.
* An invoice to send (canonical JSON, EHF / UBL) and a print batch index (what the gateway writes) are
  understood but not received here: refused like an unknown file, saying where they go.

Every service keeps its own rules: the same file twice is stored once and answered with the first receipt
(`duplicate`); a file its service refuses whole is refused here with that service's field and reason
(`InboundRefused`, 413 / 422), also when the service kept it for inspection (`refused` on the receipt). An
unknown file is `NotReceived` (an `InboundRefused` with status 415), naming the file and listing what is
understood.

Tenants: a proof of delivery or a remittance file is booked for one tenant, so it needs one; status
documents, DSNs and EDI files are linked within the tenant when one is named, else across tenants (as
their own doors do); a print return names its batches, and with a tenant only that tenant's are found.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.inbound.bounces import BounceResult, receive_bounce
from gateway.services.inbound.edi_acks import EdiReceipt, receive_edi
from gateway.services.inbound.efaktura_receipts import EfakturaReceiptOutcome, receive_efaktura_receipts
from gateway.services.inbound.pods import (
    PodReceipt,
    PodRefused,
    examine,
    receive_pod,
    references_from_filename,
)
from gateway.services.inbound.print_returns import PrintReturnOutcome, receive_print_return
from gateway.services.inbound.responses import (
    ReceiveResult,
    read_status_document,
    receive_status_document,
)
from gateway.services.outbound.avtalegiro import MandateImport, import_mandates
from gateway.services.outbound.documents import DocumentStore
from gateway.services.parsed import Parsed
from gateway.services.payments.intake import (
    RemittanceIntake,
    RemittanceUpload,
    receive_and_match,
    zip_limits,
)
from gateway.services.payments.remittances import (
    ArchiveReading,
    RemittanceNameRefused,
    RemittanceReading,
    RemittanceTooLarge,
)
from gateway.settings import Settings
from mappings import FORMATS, FormatKind, detect_format, format_entry
from mappings.acks.received import examine as examine_edi
from mappings.base import FormatError
from mappings.efaktura import receipts as efaktura_receipts
from mappings.print import returns
from mappings.sbdh import unwrap_sbdh
from mappings.status import dsn as dsn_reports
from mappings.status.dsn import MAX_DSN_BYTES, DsnTooLarge

InboundService = Literal[
    "responses",
    "bounces",
    "edi",
    "print-returns",
    "remittances",
    "pods",
    "efaktura-receipts",
    "avtalegiro-mandates",
]
ServiceResult = (
    ReceiveResult
    | BounceResult
    | EdiReceipt
    | PrintReturnOutcome
    | RemittanceIntake
    | PodReceipt
    | EfakturaReceiptOutcome
    | MandateImport
)


@dataclass(frozen=True)
class InboundFile:
    """One file at the door: its bytes, the name it came with, who sent it and for which tenant."""

    data: bytes
    filename: str | None
    tenant_id: str | None
    actor: str
    #: api or cli: what the services record as the file's source
    source: str
    #: a remittance file already read (the API reads it in its parse pool); None: read when taken
    reading: RemittanceReading | None = None
    #: a statement zip already opened and its members read (the API's parse pool); None: opened when taken
    archive: ArchiveReading | None = None
    #: any other file already read by its route's `reader` (in the API's parse pool); None: read when taken
    parsed: Parsed[Any] | None = None

    @property
    def label(self) -> str:
        return repr(self.filename) if self.filename else "the file"


@dataclass(frozen=True)
class InboundSummary:
    """The receipt in a few words, the same for every service (one row of `gateway receive`)."""

    what: str
    code: str = ""
    references: str = ""
    delivery_id: str = ""
    status: str = ""
    #: something was applied (moved, booked, linked) by this receipt; a repeat applies nothing
    applied: bool = False
    note: str = ""


@dataclass(frozen=True)
class InboundReceipt:
    """What the file was (`format` and its family `kind`), which service took it, and that service's result.

    `answer` is the service's own answer, as its own door gives it; `refused` holds the service's field and
    reason when it kept the file but refused it whole (a bank file that does not add up, an EDI file its
    syntax check refused, a malformed print return).
    """

    filename: str | None
    format: str
    kind: FormatKind
    service: InboundService
    result: ServiceResult
    answer: dict[str, Any]
    duplicate: bool
    summary: InboundSummary
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "format": self.format,
            "kind": self.kind,
            "service": self.service,
            "duplicate": self.duplicate,
            "result": self.answer,
        }


class InboundRefused(ValueError):
    """The door did not take the file: 415 not understood here, 413 too large, 422 refused by its service.

    `errors` name the field and the reason; `extra` goes beside them in an API answer (what is understood,
    the id a refused-but-kept file was stored under…).
    """

    def __init__(self, status: int, errors: list[dict[str, Any]], **extra: Any) -> None:
        super().__init__("; ".join(f"{error['field']}: {error['reason']}" for error in errors))
        self.status = status
        self.errors = errors
        self.extra = extra


class NotReceived(InboundRefused):
    """Not a file the gateway receives (415): unknown, or understood but sent elsewhere (an invoice)."""


@dataclass(frozen=True)
class InboundDoor:
    """The door's dependencies: the outbox, the document store, and the settings (limits, rules)."""

    engine: Engine
    store: DocumentStore
    settings: Settings


Handler = Callable[[InboundDoor, InboundFile, str], InboundReceipt]


@dataclass(frozen=True)
class Route:
    """One service at the door: its name, its size limit (from the settings), and how it takes a file."""

    service: InboundService
    take: Handler
    #: the route family whose intake limit applies (`Settings.intake_limit`)
    family: str
    #: the reader's own bound, when lower than any setting may be (a DSN: `MAX_DSN_BYTES`)
    cap: int | None = None

    def limit(self, settings: Settings) -> int:
        return self.limit_and_setting(settings)[0]

    def limit_and_setting(self, settings: Settings) -> tuple[int, str]:
        limit, setting = settings.intake_limit(self.family)
        return (limit, setting) if self.cap is None or limit <= self.cap else (self.cap, "the reader's bound")


# --- the services -----------------------------------------------------------------------------------------


def _receipt(
    file: InboundFile,
    name: str,
    service: InboundService,
    result: ServiceResult,
    answer: dict[str, Any],
    duplicate: bool,
    summary: InboundSummary,
    refused: list[dict[str, Any]] | None = None,
) -> InboundReceipt:
    return InboundReceipt(
        filename=file.filename,
        format=name,
        kind=format_entry(name).kind,
        service=service,
        result=result,
        answer=answer,
        duplicate=duplicate,
        summary=summary,
        refused=refused or [],
    )


def _status_document(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    try:
        result = receive_status_document(
            door.engine, file.data, actor=file.actor, tenant_id=file.tenant_id,
            rules_dir=door.settings.rules_dir, parsed=file.parsed,
        )  # fmt: skip
    except FormatError as error:
        raise InboundRefused(422, [error.as_dict()], format=name, service="responses") from None
    summary = InboundSummary(
        result.kind, result.response_code or "", result.referenced_document_id or "",
        result.delivery_id or "", result.delivery_status or "", result.applied, result.note or "",
    )  # fmt: skip
    return _receipt(file, name, "responses", result, result.as_dict(), result.duplicate, summary)


def _bounce(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    try:
        result = receive_bounce(
            door.engine, file.data, actor=file.actor, tenant_id=file.tenant_id, parsed=file.parsed
        )
    except DsnTooLarge as error:
        raise InboundRefused(413, [error.as_dict()], format=name, service="bounces") from None
    except FormatError as error:
        raise InboundRefused(422, [error.as_dict()], format=name, service="bounces") from None
    summary = InboundSummary(
        result.kind, result.classification or "", result.linked_by or "", result.delivery_id or "",
        result.delivery_status or "", result.applied, result.note or "",
    )  # fmt: skip
    return _receipt(file, name, "bounces", result, result.as_dict(), result.duplicate, summary)


def _edi(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    try:
        result = receive_edi(
            door.engine, file.data, tenant_id=file.tenant_id, actor=file.actor, parsed=file.parsed
        )
    except FormatError as error:
        raise InboundRefused(422, [error.as_dict()], format=name, service="edi") from None
    linked = ", ".join(
        str(item.get("delivery_id") or item.get("interchange_ref") or "") for item in result.linked
    )
    summary = InboundSummary(
        result.kind, result.message_type, result.interchange_ref, linked, result.status or "",
        result.applied, result.note or "",
    )  # fmt: skip
    refused = (result.errors or [{"field": "file", "reason": result.note}]) if result.rejected else []
    return _receipt(file, name, "edi", result, result.as_dict(), result.duplicate, summary, refused)


def _print_return(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    result = receive_print_return(
        door.engine, file.data, source=file.filename, actor=file.actor, tenant_id=file.tenant_id,
        parsed=file.parsed,
    )  # fmt: skip
    note = result.rejected or result.note or ""
    if result.unlinked and not note:
        note = f"unlinked: {', '.join(result.unlinked[:5])}"
    summary = InboundSummary(
        f"print-return:{result.kind}" if result.kind else "print-return", "", result.batch_id or "", "",
        f"{result.applied} applied, {result.noted} noted", result.applied > 0, note,
    )  # fmt: skip
    refused = [{"field": "file", "reason": result.rejected}] if result.rejected else []
    return _receipt(file, name, "print-returns", result, result.as_dict(), result.repeated, summary, refused)


def _efaktura_receipt(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    result = receive_efaktura_receipts(
        door.engine, file.data, source=file.filename, actor=file.actor, tenant_id=file.tenant_id,
        default_channel=door.settings.default_channel, parsed=file.parsed,
    )  # fmt: skip
    note = result.rejected or ""
    if result.fallbacks and not note:
        note = f"fallback queued: {', '.join(result.fallbacks[:5])}"
    elif result.unlinked and not note:
        note = f"unlinked: {', '.join(result.unlinked[:5])}"
    linked = ", ".join(str(item["delivery_id"]) for item in result.results if item.get("delivery_id"))
    summary = InboundSummary(
        "efaktura-receipt", "", "", linked, f"{result.applied} applied, {result.noted} noted",
        result.applied > 0, note,
    )  # fmt: skip
    refused = [{"field": "file", "reason": result.rejected}] if result.rejected else []
    return _receipt(
        file, name, "efaktura-receipts", result, result.as_dict(), result.repeated, summary, refused
    )


def _mandates(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    tenant_id = _tenant(file, "an AvtaleGiro agreements file", "avtalegiro-mandates", name)
    try:
        with session_scope(door.engine) as session:
            result = import_mandates(session, tenant_id, file.data, source_file=file.filename)
    except FormatError as error:
        raise InboundRefused(422, [error.as_dict()], format=name, service="avtalegiro-mandates") from None
    changed = len(result.new) + len(result.updated) + len(result.deleted)
    summary = InboundSummary(
        "avtalegiro-agreements", "", result.account, "",
        f"{len(result.new)} new, {len(result.updated)} updated, {len(result.deleted)} deleted",
        changed > 0, f"{len(result.unchanged)} unchanged" if result.unchanged else "",
    )  # fmt: skip
    repeated = changed == 0 and bool(result.unchanged)
    return _receipt(file, name, "avtalegiro-mandates", result, result.as_dict(), repeated, summary)


def _tenant(file: InboundFile, what: str, service: InboundService, name: str) -> str:
    if file.tenant_id is None:
        reason = f"{what} is booked for one tenant: name the tenant"
        raise InboundRefused(422, [{"field": "tenant", "reason": reason}], format=name, service=service)
    return file.tenant_id


def _remittance(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    tenant_id = _tenant(file, "a remittance file", "remittances", name)
    limit = door.settings.max_remittance_bytes
    try:
        intake = receive_and_match(
            door.engine, door.store,
            [RemittanceUpload(file.data, file.filename, file.reading, archive=file.archive)],
            tenant_id=tenant_id, source=file.source, actor=file.actor, max_bytes=limit,
            refused_quota_bytes=door.settings.refused_remittance_quota_bytes,
            limits=zip_limits(door.settings),
        )  # fmt: skip
    except RemittanceTooLarge as error:
        errors = [{"field": "content", "reason": str(error)}]
        raise InboundRefused(413, errors, format=name, service="remittances") from None
    except RemittanceNameRefused as error:
        errors = [{"field": error.field, "reason": error.reason}]
        raise InboundRefused(422, errors, format=name, service="remittances") from None
    if intake.archives:
        return _remittance_archive(file, name, intake)
    [received] = intake.files
    receipt = received.receipt
    note = f"{receipt.payments} payment(s)"
    if intake.matching is not None:
        note += f"; matching: {dict(intake.matching.outcomes)}"
    elif intake.matching_deferred is not None:
        note += f"; matching: {intake.matching_deferred}"
    refused: list[dict[str, Any]] = []
    if receipt.status == "rejected":
        note = f"{receipt.error_field}: {receipt.reason}"
        refused = [{"field": receipt.error_field or "file", "reason": receipt.reason or "refused"}]
    summary = InboundSummary(
        f"remittance:{receipt.format or name}", receipt.outcome, receipt.file_id, "", receipt.status,
        receipt.outcome == "accepted", note,
    )  # fmt: skip
    duplicate = receipt.outcome == "duplicate"
    return _receipt(file, name, "remittances", intake, intake.file_answer(), duplicate, summary, refused)


def _remittance_archive(file: InboundFile, name: str, intake: RemittanceIntake) -> InboundReceipt:
    """A statement zip at the door: one receipt per member (as `/remittances` answers it); refused when the
    archive was refused whole, or when no member was taken and some were refused."""
    [archive] = intake.archives
    receipts = [received.receipt for received in intake.files]
    outcomes = [receipt.outcome for receipt in receipts]
    refused: list[dict[str, Any]] = []
    if archive.refused is not None:
        refused = [{"field": archive.error_field or "zip", "reason": archive.error_reason or "refused"}]
        note = archive.refused
    else:
        counts = {outcome: outcomes.count(outcome) for outcome in dict.fromkeys(outcomes)}
        note = f"{len(receipts)} member(s): " + ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        if "accepted" not in outcomes:
            refused = [
                {
                    "field": f"{received.member}: {received.receipt.error_field}",
                    "reason": received.receipt.reason,
                }
                for received in intake.files
                if received.receipt.status == "rejected"
            ]
    summary = InboundSummary(
        f"remittance:{name}", "refused" if archive.refused else "", ", ".join(r.file_id for r in receipts),
        "", "rejected" if refused else "accepted", "accepted" in outcomes, note,
    )  # fmt: skip
    duplicate = bool(outcomes) and all(outcome == "duplicate" for outcome in outcomes)
    answer = intake.archive_answer()
    return _receipt(file, name, "remittances", intake, answer, duplicate, summary, refused)


def _pod(door: InboundDoor, file: InboundFile, name: str) -> InboundReceipt:
    tenant_id = _tenant(file, "a proof of delivery", "pods", name)
    try:
        result = receive_pod(
            door.engine, door.store, tenant_id=tenant_id, data=file.data, filename=file.filename,
            references=references_from_filename(file.filename) if file.filename else None,
            source=file.source, actor=file.actor, max_bytes=door.settings.max_pod_bytes,
            examined=file.parsed,
        )  # fmt: skip
    except PodRefused as error:
        raise InboundRefused(error.status, [error.as_dict()], format=name, service="pods") from None
    linked = [link["number"] for pod in result.pods for link in pod["links"]]
    waiting = sum(1 for pod in result.pods if not pod["linked"])
    note = f"linked to {', '.join(linked)}" if linked else ""
    if waiting:
        note = "; ".join(part for part in (note, f"{waiting} waiting for an operator") if part)
    summary = InboundSummary(
        f"pod:{result.pods[0]['kind']}" if result.pods else "pod", "", ", ".join(result.pod_ids), "",
        "linked" if not waiting else "unlinked", bool(linked) and not result.duplicate, note,
    )  # fmt: skip
    return _receipt(file, name, "pods", result, result.as_dict(), result.duplicate, summary)


# --- the table --------------------------------------------------------------------------------------------


RESPONSES = Route("responses", _status_document, "responses")
BOUNCES = Route("bounces", _bounce, "bounces", cap=MAX_DSN_BYTES)
EDI = Route("edi", _edi, "edi")
PRINT_RETURNS = Route("print-returns", _print_return, "print-returns")
REMITTANCES = Route("remittances", _remittance, "remittances")
PODS = Route("pods", _pod, "pods")
#: eFaktura receipts are status documents: the status documents' limit applies
EFAKTURA_RECEIPTS = Route("efaktura-receipts", _efaktura_receipt, "responses")
#: an agreements file comes from the bank's side, like a remittance file: that limit applies
AVTALEGIRO_MANDATES = Route("avtalegiro-mandates", _mandates, "remittances")

#: Which service takes a file, by its format's family.
ROUTES: dict[FormatKind, Route] = {
    "status-document": RESPONSES,
    "acknowledgement": EDI,
    "syntax": EDI,
    "remittance": REMITTANCES,
    "transport-status": PODS,
    "pod-file": PODS,
}
#: Formats taken by another service than their family's (see the module's rules).
FORMAT_ROUTES: dict[str, Route] = {
    "dsn": BOUNCES,
    "invoic": EDI,
    "x12-810": EDI,
    "pdf": PODS,
    "print-return": PRINT_RETURNS,
    "efaktura-receipt": EFAKTURA_RECEIPTS,
    "avtalegiro-agreements": AVTALEGIRO_MANDATES,
}
#: Formats understood but not received here, and where they go instead.
NOT_RECEIVED: dict[str, str] = {
    "canonical-json": "an invoice to send: post it to /invoices (`gateway send`)",
    "ehf": "an invoice to send: post it to /invoices (`gateway send`)",
    "cii": "an invoice to send: post it to /invoices (`gateway send`)",
    "factur-x": "a Factur-X invoice to send: `gateway send` reads it, or post its CII XML to /invoices",
    "peppol-self-billing": "a self-billed invoice to send: post it to /invoices (`gateway send`)",
    "ehf-reminder": "an EHF Reminder, which the gateway writes for overdue invoices and never receives",
    "print-index": "a print batch index, which the gateway writes for the print house and never receives",
    "digipost-message": "a Digipost message, which the digipost channel sends and never receives",
    "digipost-delivery": "Digipost's answer to a message, which the digipost channel reads itself",
    "digipost-events": "Digipost's document events, which the digipost channel polls itself",
    "avtalegiro-claims": "an AvtaleGiro claim file, which the avtalegiro channel writes for Nets and never "
    "receives",
    "saft-financial": "a SAF-T Financial file, which `gateway ledger saft` writes for the ledger and never "
    "receives",
    "efaktura-recipients": "an eFaktura recipient-search answer: import it with `gateway efaktura recipients "
    "import FILE --tenant T`",
    "gbat10": "a journal file, which the gateway writes for the seller's ledger and never receives",
    "journal-csv": "a journal file, which the gateway writes for the seller's ledger and never receives",
    "journal-json": "a journal file, which the gateway writes for the seller's ledger and never receives",
}


def route_of(name: str) -> Route | None:
    """The route for a format name, or None when the door does not take that format."""
    if name in FORMAT_ROUTES:
        return FORMAT_ROUTES[name]
    if name in NOT_RECEIVED:
        return None
    return ROUTES.get(FORMATS[name].kind)


def understood() -> list[dict[str, str]]:
    """Every format the door takes, with the service that takes it (what a 415 lists)."""
    found = []
    for name, entry in FORMATS.items():
        route = route_of(name)
        if route is not None and entry.sniff is not None:
            found.append({"format": name, "service": route.service, "description": entry.description})
    return found


def body_limit(settings: Settings) -> int:
    """The largest file any service at the door takes: what the door reads before it knows the file."""
    return body_limit_and_setting(settings)[0]


def body_limit_and_setting(settings: Settings) -> tuple[int, str]:
    """`body_limit` and the setting it comes from (what a 413 names)."""
    routes = sorted({*ROUTES.values(), *FORMAT_ROUTES.values()}, key=lambda route: route.service)
    return max((route.limit_and_setting(settings) for route in routes), key=lambda found: found[0])


def _not_taken(file: InboundFile, why: str) -> NotReceived:
    names = ", ".join(entry["format"] for entry in understood())
    reason = f"{file.label}: {why}; the gateway takes in {names}"
    return NotReceived(415, [{"field": "file", "reason": reason}], understood=understood())


def detect(file: InboundFile) -> tuple[str, Route]:
    """The file's format name and the route that takes it; `NotReceived` (415) when none does."""
    name = detect_format(file.data)
    if name == "sbdh":
        try:
            inner = detect_format(unwrap_sbdh(file.data)[1])
        except FormatError as error:
            raise InboundRefused(422, [error.as_dict()], format=name) from None
        if inner != "invoice-response":
            raise _not_taken(
                file, f"an SBDH envelope around {inner or 'a document the gateway does not know'}"
            )
        name = inner
    if name is None and file.data.lstrip()[:1] in (b"{", b"["):
        name = "canonical-json"  # JSON is only ever an invoice here (as intake reads it), never received
    if name is None:
        raise _not_taken(file, "not a file the gateway understands")
    route = route_of(name)
    if route is None:
        why = NOT_RECEIVED.get(name, f"a {name} file ({FORMATS[name].description})")
        raise _not_taken(file, f"{why}, not a file to receive")
    return name, route


def reader(route: Route, file: InboundFile, settings: Settings) -> Callable[[], Any] | None:
    """The pure, CPU-heavy reading `route`'s service does first, as a picklable call for the API's parse
    pool (its outcome goes back in as `InboundFile.parsed`); None for remittances (`reading` instead)."""
    data = file.data
    if route is RESPONSES:
        return functools.partial(read_status_document, data, settings.rules_dir)
    if route is BOUNCES:
        return functools.partial(dsn_reports.parse, data)
    if route is EDI:
        return functools.partial(examine_edi, data)
    if route is PRINT_RETURNS:
        return functools.partial(returns.parse, data)
    if route is PODS:
        return functools.partial(examine, data, media_type_hint=None, max_bytes=settings.max_pod_bytes)
    if route is EFAKTURA_RECEIPTS:
        return functools.partial(efaktura_receipts.parse, data)
    return None


def receive_inbound(door: InboundDoor, file: InboundFile) -> InboundReceipt:
    """Detect the file, check it against its service's size limit, and hand it to that service."""
    name, route = detect(file)
    limit, setting = route.limit_and_setting(door.settings)
    if len(file.data) > limit:
        reason = f"{len(file.data):,} bytes; at most {limit:,} for {route.service} ({setting})"
        raise InboundRefused(
            413, [{"field": "content", "reason": reason}], format=name, service=route.service
        )
    return route.take(door, file, name)
