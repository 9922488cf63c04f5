"""AvtaleGiro (Nets direct debit) files: the claim files a payee sends, the agreement files Nets sends back.

A payer signs an AvtaleGiro mandate in the online bank for one payee and one KID; Nets then tells the
payee in an *agreements file* (assignment type 24): each mandate new or updated, or deleted, with the
payer's wish to be notified by the bank. The payee claims each amount in a *claim file* (service code 21,
assignment type 00: one payment request per KID and due date, with the notice text the bank shows the
payer when the mandate asks for it) and may withdraw a claim before its due date with a cancellation
(assignment type 36, a copy of the claim). Settled claims come back as ordinary OCR giro payments of
transaction type 15, which `mappings.remittance.ocr_giro` reads.

Agreements files are read by `mappings.consumer.avtalegiro_agreements`. The files are written and read
with `netsgiro` (byte-identical to Nets' own examples); the structure and
every control total are checked first by the OCR giro reader (`ocr_giro.inspect`), which names the line
of a fault. `render` writes a one-claim file of an invoice so a person can check what a claim looks like
(the transmitter, recipient and assignment numbers are placeholders there; the `avtalegiro` channel writes
the real ones); the channel builds its files with `claim_file`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from netsgiro import AssignmentType, ServiceCode, Transmission
from netsgiro.objects import PaymentRequest
from netsgiro.objects import parse as netsgiro_parse

from mappings.base import FormatError, RenderedDocument
from mappings.remittance import ocr_giro
from schemas.canonical import Invoice

CLAIMS_FORMAT = "avtalegiro-claims"
MEDIA_TYPE = "text/plain; charset=iso-8859-1"
#: Nets' id as the data recipient of every file sent to it.
NETS_RECIPIENT = "00008080"
#: Placeholders in a rendered one-claim file (the channel's settings give the real numbers).
PLACEHOLDER_TRANSMITTER = "00000000"
PLACEHOLDER_ACCOUNT = "00000000000"
#: The bank's notice to the payer: at most 42 lines of 80 characters (netsgiro's limit, Nets' layout).
NOTICE_LINES, NOTICE_WIDTH = 42, 80
#: The payer's name as the claim carries it (for the payee's own cross-reference): 10 characters.
PAYER_NAME_LENGTH = 10
#: The external reference shown on the payer's account statement: 25 characters.
REFERENCE_LENGTH = 25

_TRANSMISSION_START = b"NY000010"
#: The first assignment start of each kind of AvtaleGiro file: "NY" + service code 21 + type + record 20.
_CLAIMS_STARTS = (b"NY210020", b"NY213620")


@dataclass(frozen=True)
class Claim:
    """One AvtaleGiro payment request (or, in a cancellation assignment, the claim it withdraws)."""

    kid: str
    due_date: dt.date
    amount: Decimal
    reference: str | None = None
    payer_name: str | None = None
    #: the bank's notice to the payer; None when the payee notifies the payer itself
    bank_notification: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "due_date": self.due_date.isoformat(),
            "amount": str(self.amount),
            "reference": self.reference,
            "payer_name": self.payer_name,
            "bank_notification": self.bank_notification,
        }


@dataclass(frozen=True)
class ClaimAssignment:
    """The claims and cancellations of one payee agreement (one assignment account) in a file."""

    #: the claims' assignment number (and the cancellations' one when `cancellations_number` is None)
    number: str
    account: str
    agreement_id: str | None = None
    claims: tuple[Claim, ...] = ()
    cancellations: tuple[Claim, ...] = ()
    #: the cancellations' own assignment number, as counted by the gateway; None: the one after `number`
    cancellations_number: str | None = None


@dataclass(frozen=True)
class ClaimFile:
    """A claim file as read back: its transmission number, sender and recipient, and its assignments."""

    number: str
    data_transmitter: str
    data_recipient: str
    assignments: tuple[ClaimAssignment, ...] = ()

    @property
    def claims(self) -> list[Claim]:
        return [claim for assignment in self.assignments for claim in assignment.claims]

    @property
    def cancellations(self) -> list[Claim]:
        return [claim for assignment in self.assignments for claim in assignment.cancellations]


# --- writing ----------------------------------------------------------------------------------------------


def _digits(value: str, length: int, what: str) -> str:
    if len(value) != length or not value.isdigit():
        raise FormatError(what, f"{value!r} is not {length} digits")
    return value


def _check_claim(claim: Claim, where: str) -> None:
    if not claim.kid or not claim.kid.isdigit() or len(claim.kid) > 25:
        raise FormatError(f"{where}.kid", f"{claim.kid!r} is not a KID of at most 25 digits")
    if claim.amount <= 0 or claim.amount != claim.amount.quantize(Decimal("0.01")):
        raise FormatError(f"{where}.amount", f"{claim.amount} is not a positive NOK amount in øre")
    if claim.bank_notification is not None:
        lines = claim.bank_notification.splitlines()
        if len(lines) > NOTICE_LINES or any(len(line) > NOTICE_WIDTH for line in lines):
            raise FormatError(
                f"{where}.bank_notification",
                f"at most {NOTICE_LINES} lines of {NOTICE_WIDTH} characters",
            )


class _AddsClaim(Protocol):
    def __call__(
        self,
        *,
        kid: str,
        due_date: dt.date,
        amount: Decimal,
        reference: str | None,
        payer_name: str | None,
        bank_notification: bool | str,
    ) -> object: ...


def _add_claims(add: _AddsClaim, claims: Sequence[Claim], label: str) -> None:
    """Check each claim and add it to an assignment: `add` is its `add_payment_request` (claims) or
    `add_payment_cancellation` (cancellations), which take the same fields."""
    for position, claim in enumerate(claims, start=1):
        _check_claim(claim, f"{label} {position}")
        add(
            kid=claim.kid,
            due_date=claim.due_date,
            amount=claim.amount,
            reference=claim.reference,
            payer_name=claim.payer_name,
            bank_notification=claim.bank_notification or False,
        )


def claim_file(
    *,
    number: str,
    data_transmitter: str,
    assignments: list[ClaimAssignment],
    data_recipient: str = NETS_RECIPIENT,
) -> bytes:
    """The claim file (ISO-8859-1, LF line ends) of these assignments: per assignment one claim assignment
    (type 00) and, when it cancels claims, one cancellation assignment (type 36) under its
    `cancellations_number` (else the next number: a rendered example's placeholders)."""
    transmission = Transmission(
        number=_digits(number, 7, "transmission number"),
        data_transmitter=_digits(data_transmitter, 8, "data transmitter"),
        data_recipient=_digits(data_recipient, 8, "data recipient"),
    )
    for index, assignment in enumerate(assignments):
        account = _digits(assignment.account, 11, "assignment account")
        agreement_id = (
            _digits(assignment.agreement_id, 9, "agreement id") if assignment.agreement_id else None
        )
        number_value = int(_digits(assignment.number, 7, "assignment number"))
        if assignment.claims:
            target = transmission.add_assignment(
                service_code=ServiceCode.AVTALEGIRO,
                assignment_type=AssignmentType.TRANSACTIONS,
                agreement_id=agreement_id,
                number=f"{number_value:07d}",
                account=account,
            )
            _add_claims(target.add_payment_request, assignment.claims, f"assignment {index + 1} claim")
        if assignment.cancellations:
            cancelling = transmission.add_assignment(
                service_code=ServiceCode.AVTALEGIRO,
                assignment_type=AssignmentType.AVTALEGIRO_CANCELLATIONS,
                agreement_id=None,  # Nets' layout: a cancellation assignment carries no agreement id
                number=(
                    _digits(assignment.cancellations_number, 7, "cancellation assignment number")
                    if assignment.cancellations_number is not None
                    else f"{(number_value + (1 if assignment.claims else 0)) % 10_000_000:07d}"
                ),
                account=account,
            )
            _add_claims(
                cancelling.add_payment_cancellation,
                assignment.cancellations,
                f"assignment {index + 1} cancellation",
            )
    if not transmission.assignments:
        raise FormatError("assignments", "a claim file needs at least one claim or cancellation")
    try:
        text = transmission.to_ocr()
    except ValueError as error:  # netsgiro's field limits (a notice line too long, …)
        raise FormatError("claim", str(error)) from error
    return (text + "\n").encode("iso-8859-1", errors="replace")


def _fit(text: str | None, length: int) -> str | None:
    """`text` as a fixed-width field takes it: ISO-8859-1, cut to `length`; None when empty."""
    if not text:
        return None
    cleaned = " ".join(text.split()).encode("iso-8859-1", errors="replace").decode("iso-8859-1")
    return cleaned[:length] or None


def notice_text(invoice: Invoice) -> str:
    """What the payer's bank shows with a claim when the payer asked to be notified: what it is for."""
    lines = [
        f"{invoice.seller.name}"[:NOTICE_WIDTH],
        f"Faktura {invoice.number} datert {invoice.issue_date:%d.%m.%Y}"[:NOTICE_WIDTH],
        f"Beløp NOK {invoice.totals.payable}  Forfall {invoice.due_date:%d.%m.%Y}"[:NOTICE_WIDTH]
        if invoice.due_date
        else f"Beløp NOK {invoice.totals.payable}"[:NOTICE_WIDTH],
    ]
    return "\n".join(lines)


def claim_from_invoice(invoice: Invoice, *, notify: bool) -> Claim:
    """The AvtaleGiro claim of an invoice: its KID, payable amount and due date; the bank's notice when
    the payer's mandate asks the bank to notify (`notify`). `FormatError` names what the invoice lacks."""
    kid = invoice.kid
    if not kid:
        raise FormatError("payment_means.payment_id", "an AvtaleGiro claim needs the invoice's KID")
    if invoice.currency != "NOK":
        raise FormatError("currency", f"AvtaleGiro claims are in NOK, not {invoice.currency}")
    if invoice.due_date is None:
        raise FormatError("due_date", "an AvtaleGiro claim needs the invoice's due date")
    amount = invoice.totals.payable
    if amount <= 0:
        raise FormatError("totals.payable", f"an AvtaleGiro claim is a positive amount, not {amount}")
    return Claim(
        kid=kid,
        due_date=invoice.due_date,
        amount=amount,
        reference=_fit(f"Faktura {invoice.number}", REFERENCE_LENGTH),
        payer_name=_fit(invoice.buyer.name, PAYER_NAME_LENGTH),
        bank_notification=notice_text(invoice) if notify else None,
    )


def _payee_account(invoice: Invoice) -> str:
    for means in invoice.payment_means:
        account = means.account.id.replace(" ", "").replace(".", "") if means.account else ""
        if len(account) == 11 and account.isdigit():
            return account
    return PLACEHOLDER_ACCOUNT


def render(invoice: Invoice, options: Any = None) -> RenderedDocument:
    """A one-claim file of `invoice` for a person to check (bank notice included): placeholder transmitter
    and numbers, the invoice's 11-digit account when it has one."""
    claim = claim_from_invoice(invoice, notify=True)
    content = claim_file(
        number="0000001",
        data_transmitter=PLACEHOLDER_TRANSMITTER,
        assignments=[ClaimAssignment(number="0000001", account=_payee_account(invoice), claims=(claim,))],
    )
    return RenderedDocument(CLAIMS_FORMAT, content, MEDIA_TYPE, "txt")


# --- reading ----------------------------------------------------------------------------------------------


def first_assignment_start(data: bytes) -> bytes | None:
    """The first 8 bytes of a Nets transmission's first assignment start (None: no Nets transmission)."""
    if not ocr_giro.sniff(data):
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    rest = data[ocr_giro.RECORD_LENGTH :].lstrip(b"\r\n")
    return rest[:8]


def sniff(data: bytes) -> bool:
    """An AvtaleGiro claim or cancellation file: a Nets transmission whose first assignment is AvtaleGiro
    type 00 or 36 (before the OCR giro reader, which would take it for a payment file)."""
    return first_assignment_start(data) in _CLAIMS_STARTS


def read_transmission(data: bytes) -> Transmission:
    """The transmission as netsgiro reads it, after the OCR reader checked its structure and totals
    (`FormatError` naming the line otherwise)."""
    ocr_giro.inspect(data)  # FormatError naming the line of any structural fault or wrong total
    try:
        return netsgiro_parse("\n".join(ocr_giro.record_lines(data)))
    except (ValueError, TypeError, AssertionError) as error:
        raise FormatError("file", f"netsgiro cannot read it: {error}") from error


def _claim(request: PaymentRequest) -> Claim:
    notice = "\n".join(line.rstrip() for line in (request.text or "").splitlines()).strip("\n")
    return Claim(
        kid=request.kid or "",
        due_date=request.date,
        amount=Decimal(request.amount_in_cents).scaleb(-2),
        reference=request.reference,
        payer_name=request.payer_name,
        bank_notification=notice or None,
    )


def parse(data: bytes) -> ClaimFile:
    """A claim file's assignments with their claims and cancellations; `FormatError` for anything else."""
    if not sniff(data):
        raise FormatError(
            "line 2", "not an AvtaleGiro claim file (its first assignment is not 21/00 or 21/36)"
        )
    transmission = read_transmission(data)
    assignments: list[ClaimAssignment] = []
    for position, assignment in enumerate(transmission.assignments, start=1):
        if assignment.service_code != ServiceCode.AVTALEGIRO or assignment.type not in (
            AssignmentType.TRANSACTIONS,
            AssignmentType.AVTALEGIRO_CANCELLATIONS,
        ):
            raise FormatError(
                f"assignment {position}",
                f"a claim file holds AvtaleGiro claims and cancellations, not service code "
                f"{int(assignment.service_code):02d} / assignment type {int(assignment.type):02d}",
            )
        requests = [_claim(t) for t in assignment.transactions if isinstance(t, PaymentRequest)]
        cancelling = assignment.type == AssignmentType.AVTALEGIRO_CANCELLATIONS
        assignments.append(
            ClaimAssignment(
                number=assignment.number,
                account=assignment.account,
                agreement_id=assignment.agreement_id,
                claims=() if cancelling else tuple(requests),
                cancellations=tuple(requests) if cancelling else (),
            )
        )
    return ClaimFile(
        number=transmission.number,
        data_transmitter=transmission.data_transmitter,
        data_recipient=transmission.data_recipient,
        assignments=tuple(assignments),
    )


def inspect(data: bytes) -> dict[str, Any]:
    """What a claim file says, for `gateway inspect`: assignments, claims and cancellations."""
    facts = ocr_giro.inspect(data)
    read = parse(data)
    return {
        "format": CLAIMS_FORMAT,
        "meaning": "AvtaleGiro claims a payee sends Nets (and cancellations of claims sent before)",
        "transmission": facts["transmission"],
        "assignments": [
            {
                "number": assignment.number,
                "account": assignment.account,
                "agreement_id": assignment.agreement_id,
                "kind": "cancellations" if assignment.cancellations else "claims",
                "count": len(assignment.claims) + len(assignment.cancellations),
            }
            for assignment in read.assignments
        ],
        "claims": [claim.as_dict() for claim in read.claims],
        "cancellations": [claim.as_dict() for claim in read.cancellations],
        "total_amount": str(sum((claim.amount for claim in read.claims), Decimal("0.00"))),
    }


__all__ = [
    "CLAIMS_FORMAT",
    "NETS_RECIPIENT",
    "Claim",
    "ClaimAssignment",
    "ClaimFile",
    "claim_file",
    "claim_from_invoice",
    "first_assignment_start",
    "inspect",
    "notice_text",
    "parse",
    "read_transmission",
    "render",
    "sniff",
]
