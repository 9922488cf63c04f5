"""Digipost (Posten's digital mailbox) API v8: the XML the gateway sends and the answers it reads, pure.

Digipost has no Python client; the `digipost` channel speaks HTTP itself (signing, multipart) and uses this
module for every XML body, so the documents are right whatever carries them. Everything here follows
`api_v8.xsd` and `datatypes.xsd` (digipost-api-client-java / digipost-data-types, in
`../shared/validation/digipost-v8/`): element order matters (the message type is an `xsd:sequence`), and
what the schemas do not say but Digipost and the banks need is checked here, with the field named — a KID
is at most 25 characters, a creditor account is an 11-digit Norwegian account number (MOD11), a national
identity number is a valid fødselsnummer or D-number (never echoed in an error).

* The message: `render_message` (a `message` element), its parts as dataclasses (`DigipostRecipient`,
  `DigipostDocument` with an optional `InvoiceData` — v8 dropped the invoice document type, an invoice is a
  document whose `data-type` is the `Invoice` data type —, `PrintDetails`, `PrintIfUnread`), built from a
  canonical invoice by `message_for_invoice`, read back by `parse` (what the stand-in server reads).
* Recipient identification: `render_identification` / `read_identification` (the `identify_recipient`
  request).
* Digipost's answers, each read into a dataclass (`FormatError` naming the element otherwise) and rendered
  (for the stand-in server in the tests): entry point, `message-delivery`, `identification-result`,
  `document-events`, `error`.
* `validate_digipost_xml`: the two XSDs, compiled once per schema directory.
* Registry verbs for `digipost-message`: `render` (the message XML for an invoice, no documents), `parse`,
  `sniff`, `inspect` (the recipient's national identity number masked).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import uuid as uuid_module
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args
from zoneinfo import ZoneInfo

from lxml import etree
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import orgnr

from mappings.base import FormatError, RenderedDocument
from mappings.xml import local_name, namespace, parse_xml
from schemas.canonical import DocumentType, Invoice, Party
from schemas.followup import ReminderDocument
from schemas.national_id import is_national_id, mask_national_id

FORMAT = "digipost-message"
#: Every Digipost v8 XML body and answer carries this media type (`Content-Type` and `Accept`).
MEDIA_TYPE = "application/vnd.digipost-v8+xml"
#: A message with its documents: the `message` part first, then one part per document.
MULTIPART_MEDIA_TYPE = "multipart/vnd.digipost-v8+xml"
API_NS = "http://api.digipost.no/schema/v8"
DATATYPES_NS = "http://api.digipost.no/schema/datatypes"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: Digipost names a link's relation by a URI ending in the relation's name (`…/relations/create_message`).
RELATIONS_BASE = "https://api.digipost.no/relations/"
#: Digipost's time zone: a date without a time (a due date, "print if unread after") is the start of that
#: day in Norway.
OSLO = ZoneInfo("Europe/Oslo")

MAX_KID_LENGTH = 25
MAX_ATTACHMENTS = 201

Colour = Literal["MONOCHROME", "COLORS"]
NondeliverableHandling = Literal["RETURN_TO_SENDER", "SHRED"]
DeliveryMethod = Literal["DIGIPOST", "PRINT", "PEPPOL", "EPOST", "PENDING"]
MessageStatus = Literal["NOT_COMPLETE", "COMPLETE", "DELIVERED", "DELIVERED_TO_PRINT"]
IdentificationCode = Literal["DIGIPOST", "IDENTIFIED", "UNIDENTIFIED", "INVALID"]
UnidentifiedReason = Literal["MULTIPLE_MATCHES", "NOT_FOUND"]
InvalidReason = Literal["INVALID_PERSONAL_IDENTIFICATION_NUMBER", "INVALID_ORGANISATION_NUMBER", "UNKNOWN"]
EventType = Literal[
    "EMAIL_NOTIFICATION_FAILED",
    "EMAIL_MESSAGE_SENT",
    "EMAIL_MESSAGE_FAILED",
    "SMS_NOTIFICATION_FAILED",
    "OPENED",
    "MOVE_FILES_FROM_PUBLIC_SECTOR",
    "POSTMARKED",
    "PRINT_FAILED",
    "SHREDDED",
    "PEPPOL_DELIVERED",
    "PEPPOL_FAILED",
    "SHARE_DOCUMENTS_REQUEST_DOCUMENTS_SHARED",
    "SHARE_DOCUMENTS_REQUEST_SHARING_WITHDRAWN",
]
AuthenticationLevel = Literal["PASSWORD", "TWO_FACTOR", "IDPORTEN_3", "IDPORTEN_4"]
SensitivityLevel = Literal["NORMAL", "SENSITIVE"]
AUTHENTICATION_LEVELS: tuple[str, ...] = get_args(AuthenticationLevel)
SENSITIVITY_LEVELS: tuple[str, ...] = get_args(SensitivityLevel)
COLOURS: tuple[str, ...] = get_args(Colour)
NONDELIVERABLE_HANDLINGS: tuple[str, ...] = get_args(NondeliverableHandling)
DELIVERY_METHODS: tuple[str, ...] = get_args(DeliveryMethod)
MESSAGE_STATUSES: tuple[str, ...] = get_args(MessageStatus)
IDENTIFICATION_CODES: tuple[str, ...] = get_args(IdentificationCode)
UNIDENTIFIED_REASONS: tuple[str, ...] = get_args(UnidentifiedReason)
INVALID_REASONS: tuple[str, ...] = get_args(InvalidReason)
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
#: The metadata type (`xsi:type`, all attributes) Digipost attaches to an event of each type; the other
#: types carry no metadata this module reads.
EVENT_METADATA_TYPES: dict[str, str] = {
    "POSTMARKED": "postmarked-metadata",
    "PRINT_FAILED": "failed-print-metadata",
    "PEPPOL_FAILED": "failed-peppol-metadata",
    "EMAIL_NOTIFICATION_FAILED": "email-notification-failed-metadata",
    "SMS_NOTIFICATION_FAILED": "sms-notification-failed-metadata",
    "EMAIL_MESSAGE_SENT": "email-delivered-metadata",
}
#: The attributes each metadata type requires, in the schema's order.
METADATA_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "postmarked-metadata": ("postmarked-date",),
    "failed-print-metadata": ("error-code",),
    "failed-peppol-metadata": ("error-code",),
    "email-notification-failed-metadata": ("email-address", "error-code"),
    "sms-notification-failed-metadata": ("mobile-number", "error-code"),
    "email-delivered-metadata": ("email-address",),
}

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KID = re.compile(r"^[0-9]+-?$")
_POSTAL_CODE_NO = re.compile(r"^[0-9]{4}$")
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


class DigipostError(FormatError):
    """Data Digipost would refuse or misread (a KID of 26 characters, a 10-digit account, two recipients):
    `where` names the field. A `FormatError`, so `gateway render` and intake report it like any other."""


# --- the message's parts ----------------------------------------------------------------------------------


def _mod11_ok(digits: str) -> bool:
    """Norwegian account number check: weights 5,4,3,2,7,6,5,4,3,2 over the first ten digits, MOD11."""
    weights = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(digits[:10], weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and str(check) == digits[10]


def check_creditor_account(value: str, *, where: str = "invoice.creditor-account") -> str:
    """`value` as the 11 digits Digipost's `creditor-account` takes (spaces and dots of `8601.11.17947`
    dropped), or a `DigipostError`: the schema says only "a string", the bank needs a valid account."""
    digits = re.sub(r"[ .]", "", value)
    if not re.fullmatch(r"[0-9]{11}", digits):
        raise DigipostError(where, f"{value!r} is not an 11-digit Norwegian account number")
    if not _mod11_ok(digits):
        raise DigipostError(where, f"{value!r} fails the account number's MOD11 check digit")
    return digits


def check_kid(value: str, *, where: str = "invoice.kid") -> str:
    """`value` when it can be a KID Digipost's payment flow takes: digits (a MOD11 KID may end in `-`), at
    most 25 characters — the limit is Digipost's, not in the schema."""
    if len(value) > MAX_KID_LENGTH:
        raise DigipostError(where, f"{len(value)} characters, a KID is at most {MAX_KID_LENGTH}")
    if not _KID.fullmatch(value) or len(value) < 2:
        raise DigipostError(
            where, f"{value!r} is no KID (2–{MAX_KID_LENGTH} digits, a MOD11 one may end in '-')"
        )
    return value


@dataclass(frozen=True)
class InvoiceData:
    """Digipost's `Invoice` data type on a document: what the recipient's bank pays (due date, sum in NOK,
    creditor account, KID). Checked when made: a wrong account or an overlong KID would reach the payer."""

    due_date: dt.date
    sum: Decimal
    creditor_account: str
    kid: str | None = None
    #: An optional link shown with the invoice (`externalLink`: an absolute URL and a text).
    link_url: str | None = None
    link_description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.sum, Decimal) or not self.sum.is_finite():
            raise DigipostError("invoice.sum", f"{self.sum!r} is not a finite decimal amount")
        if self.sum <= 0:
            raise DigipostError("invoice.sum", f"{self.sum} leaves nothing to pay")
        if self.sum.as_tuple().exponent < -2:  # type: ignore[operator]
            raise DigipostError("invoice.sum", f"{self.sum} has more than two decimals (NOK and øre)")
        object.__setattr__(self, "creditor_account", check_creditor_account(self.creditor_account))
        if self.kid is not None:
            check_kid(self.kid)
        if self.link_url is not None and not re.match(r"^https?://\S+$", self.link_url):
            raise DigipostError("invoice.link.url", f"{self.link_url!r} is not an absolute http(s) URL")


@dataclass(frozen=True)
class DigipostDocument:
    """A document of a message (the primary one or an attachment): its uuid (the multipart part's
    Content-Disposition names it), subject, file type (`pdf`) and, for an invoice, its `InvoiceData`."""

    uuid: str
    subject: str
    file_type: str = "pdf"
    invoice: InvoiceData | None = None
    authentication_level: AuthenticationLevel | None = None
    sensitivity_level: SensitivityLevel | None = None

    def __post_init__(self) -> None:
        value = str(self.uuid).lower()
        if not _UUID.fullmatch(value):
            raise DigipostError("document.uuid", f"{self.uuid!r} is not a UUID")
        object.__setattr__(self, "uuid", value)
        if not 1 <= len(self.subject) <= 255:
            raise DigipostError("document.subject", "1–255 characters")
        if not re.fullmatch(r"[A-Za-z0-9]{1,10}", self.file_type):
            raise DigipostError("document.file-type", f"{self.file_type!r} is not a file type such as 'pdf'")


@dataclass(frozen=True)
class NameAndAddress:
    """A recipient Digipost identifies by name and Norwegian postal address (one or two address lines)."""

    fullname: str
    address_lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str = "NO"
    birth_date: dt.date | None = None

    def __post_init__(self) -> None:
        where = "recipient.name-and-address"
        object.__setattr__(self, "address_lines", tuple(line for line in self.address_lines if line.strip()))
        if not 1 <= len(self.fullname.strip()) <= 130:
            raise DigipostError(f"{where}.fullname", "1–130 characters")
        if not 1 <= len(self.address_lines) <= 2:
            raise DigipostError(f"{where}.addressline", "one or two address lines")
        if any(len(line) > 100 for line in self.address_lines):
            raise DigipostError(f"{where}.addressline", "an address line is at most 100 characters")
        if self.country.upper() != "NO":
            raise DigipostError(
                f"{where}.country", f"{self.country!r}: Digipost identifies by a Norwegian address only"
            )
        if not _POSTAL_CODE_NO.fullmatch(self.postal_code):
            raise DigipostError(f"{where}.postalcode", f"{self.postal_code!r} is not a 4-digit postal code")
        if not 1 <= len(self.city.strip()) <= 80:
            raise DigipostError(f"{where}.city", "1–80 characters")


@dataclass(frozen=True)
class DigipostRecipient:
    """Whom a message goes to: exactly one of a national identity number (11 digits, checked), an
    organisation number (9 digits, checked), a Digipost address, or a name and address."""

    national_id: str | None = None
    organisation_number: str | None = None
    digipost_address: str | None = None
    name_and_address: NameAndAddress | None = None

    def __post_init__(self) -> None:
        given = [
            name
            for name in ("national_id", "organisation_number", "digipost_address", "name_and_address")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise DigipostError(
                "recipient",
                "exactly one of national_id, organisation_number, digipost_address or name_and_address "
                f"(given: {', '.join(given) or 'none'})",
            )
        if self.national_id is not None:
            digits = re.sub(r"[ -]", "", self.national_id)
            if not is_national_id(digits):  # the number itself is never echoed
                raise DigipostError(
                    "recipient.personal-identification-number",
                    "not a valid Norwegian national identity number",
                )
            object.__setattr__(self, "national_id", digits)
        if self.organisation_number is not None:
            digits = re.sub(r"[ ]", "", self.organisation_number)
            try:
                object.__setattr__(self, "organisation_number", orgnr.validate(digits))
            except StdnumError:
                raise DigipostError(
                    "recipient.organisation-number",
                    f"{self.organisation_number!r} is not a valid Norwegian organisation number",
                ) from None
        if self.digipost_address is not None and not re.fullmatch(r"\S{1,200}", self.digipost_address):
            raise DigipostError(
                "recipient.digipost-address", f"{self.digipost_address!r} is no Digipost address"
            )

    @property
    def kind(self) -> Literal["national-id", "organisation-number", "digipost-address", "name-and-address"]:
        if self.national_id is not None:
            return "national-id"
        if self.organisation_number is not None:
            return "organisation-number"
        if self.digipost_address is not None:
            return "digipost-address"
        return "name-and-address"

    def masked(self) -> dict[str, Any]:
        """What a view shows: how the recipient is named, a national identity number masked."""
        shown: dict[str, Any] = {"by": self.kind}
        if self.national_id is not None:
            shown["national_id"] = mask_national_id(self.national_id)
        if self.organisation_number is not None:
            shown["organisation_number"] = self.organisation_number
        if self.digipost_address is not None:
            shown["digipost_address"] = self.digipost_address
        if self.name_and_address is not None:
            shown["name"] = self.name_and_address.fullname
            shown["address_lines"] = list(self.name_and_address.address_lines)
            shown["postal_code"] = self.name_and_address.postal_code
            shown["city"] = self.name_and_address.city
        return shown


@dataclass(frozen=True)
class PrintAddress:
    """A name and postal address on paper (recipient or return address). Country `NO` is a Norwegian
    address (0–3 lines, 4-digit postal code, city); any other ISO 3166-1 alpha-2 code a foreign one (1–4
    lines, the postal code and city written into the lines, as the letter shows them)."""

    name: str
    address_lines: tuple[str, ...]
    postal_code: str | None = None
    city: str | None = None
    country: str = "NO"

    def __post_init__(self) -> None:
        object.__setattr__(self, "address_lines", tuple(line for line in self.address_lines if line.strip()))
        object.__setattr__(self, "country", self.country.upper())
        if not 1 <= len(self.name.strip()) <= 130:
            raise DigipostError("print-details.name", "1–130 characters")
        if any(len(line) > 100 for line in self.address_lines):
            raise DigipostError("print-details.addressline", "an address line is at most 100 characters")
        if not _COUNTRY_CODE.fullmatch(self.country):
            raise DigipostError("print-details.country-code", f"{self.country!r} is not ISO 3166-1 alpha-2")
        if self.is_norwegian:
            if len(self.address_lines) > 3:
                raise DigipostError("print-details.norwegian-address", "at most three address lines")
            if self.postal_code is None or not _POSTAL_CODE_NO.fullmatch(self.postal_code):
                raise DigipostError(
                    "print-details.norwegian-address.zip-code", f"{self.postal_code!r} is not 4 digits"
                )
            if not self.city or len(self.city) > 80:
                raise DigipostError("print-details.norwegian-address.city", "1–80 characters")
        elif not 1 <= len(self.foreign_lines) <= 4:
            raise DigipostError(
                "print-details.foreign-address", "one to four address lines (postal code and city included)"
            )

    @property
    def is_norwegian(self) -> bool:
        return self.country == "NO"

    @property
    def foreign_lines(self) -> tuple[str, ...]:
        """A foreign address as the letter shows it: the lines, then postal code and city on one line."""
        place = " ".join(part for part in (self.postal_code, self.city) if part)
        return (*self.address_lines, place) if place else self.address_lines


@dataclass(frozen=True)
class PrintDetails:
    """How Digipost prints a message on paper when it cannot deliver it digitally: to whom, where it
    goes back (`return_address`), in colour or not, and what happens when it cannot be delivered."""

    recipient: PrintAddress
    return_address: PrintAddress
    colour: Colour = "MONOCHROME"
    nondeliverable_handling: NondeliverableHandling = "RETURN_TO_SENDER"

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise DigipostError("print-details.color", f"{self.colour!r} is not one of {', '.join(COLOURS)}")
        if self.nondeliverable_handling not in NONDELIVERABLE_HANDLINGS:
            raise DigipostError(
                "print-details.nondeliverable-handling",
                f"{self.nondeliverable_handling!r} is not one of {', '.join(NONDELIVERABLE_HANDLINGS)}",
            )


@dataclass(frozen=True)
class PrintIfUnread:
    """Print the message on paper when it is still unread in the mailbox at `print_if_unread_after` (a
    date: the start of that day in Norway; or an aware datetime)."""

    print_if_unread_after: dt.date
    print_details: PrintDetails


@dataclass(frozen=True)
class DigipostMessage:
    """A whole message as `render_message` takes it and `parse` reads it back."""

    message_id: str | None
    sender_id: int | None
    recipient: DigipostRecipient
    primary_document: DigipostDocument
    attachments: tuple[DigipostDocument, ...] = ()
    print_details: PrintDetails | None = None
    print_if_unread: PrintIfUnread | None = None
    invoice_reference: str | None = None

    @property
    def documents(self) -> tuple[DigipostDocument, ...]:
        """The primary document, then the attachments: the order of the multipart body's parts."""
        return (self.primary_document, *self.attachments)

    def xml(self) -> bytes:
        """This message as `render_message` writes it."""
        return render_message(
            message_id=self.message_id,
            sender_id=self.sender_id,
            recipient=self.recipient,
            primary_document=self.primary_document,
            attachments=self.attachments,
            print_details=self.print_details,
            print_if_unread=self.print_if_unread,
            invoice_reference=self.invoice_reference,
        )


# --- XML helpers ------------------------------------------------------------------------------------------


#: lxml-stubs want str keys; None is lxml's default namespace.
_API_NSMAP: Any = {None: API_NS}
_DATATYPES_NSMAP: Any = {None: DATATYPES_NS}
_EVENTS_NSMAP: Any = {None: API_NS, "xsi": XSI_NS}


def _q(name: str) -> str:
    return f"{{{API_NS}}}{name}"


def _root(name: str) -> etree._Element:
    return etree.Element(_q(name), nsmap=_API_NSMAP)


def _sub(parent: etree._Element, name: str, text: str | None = None, *, ns: str = API_NS) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        element.text = text
    return element


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _datetime(value: dt.datetime) -> str:
    """An xs:dateTime with its offset; a naive value is taken as UTC."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def _start_of_day(value: dt.date) -> str:
    """A date as the xs:dateTime Digipost takes for it: the start of that day in Norway (an aware datetime
    as it is)."""
    if isinstance(value, dt.datetime):
        return _datetime(value)
    return dt.datetime.combine(value, dt.time(0), tzinfo=OSLO).isoformat()


# --- rendering the message --------------------------------------------------------------------------------


def _recipient_choice(parent: etree._Element, recipient: DigipostRecipient) -> None:
    if recipient.national_id is not None:
        _sub(parent, "personal-identification-number", recipient.national_id)
    elif recipient.organisation_number is not None:
        _sub(parent, "organisation-number", recipient.organisation_number)
    elif recipient.digipost_address is not None:
        _sub(parent, "digipost-address", recipient.digipost_address)
    elif recipient.name_and_address is not None:
        found = recipient.name_and_address
        block = _sub(parent, "name-and-address")
        _sub(block, "fullname", found.fullname)
        for index, line in enumerate(found.address_lines, start=1):
            _sub(block, f"addressline{index}", line)
        _sub(block, "postalcode", found.postal_code)
        _sub(block, "city", found.city)
        if found.birth_date is not None:
            _sub(block, "birth-date", found.birth_date.isoformat())


def _print_recipient(parent: etree._Element, name: str, address: PrintAddress) -> None:
    block = _sub(parent, name)
    _sub(block, "name", address.name)
    if address.is_norwegian:
        postal = _sub(block, "norwegian-address")
        for index, line in enumerate(address.address_lines, start=1):
            _sub(postal, f"addressline{index}", line)
        _sub(postal, "zip-code", address.postal_code)
        _sub(postal, "city", address.city)
    else:
        postal = _sub(block, "foreign-address")
        for index, line in enumerate(address.foreign_lines, start=1):
            _sub(postal, f"addressline{index}", line)
        _sub(postal, "country-code", address.country)


def _print_details(parent: etree._Element, details: PrintDetails) -> None:
    block = _sub(parent, "print-details")
    _print_recipient(block, "recipient", details.recipient)
    _print_recipient(block, "return-address", details.return_address)
    _sub(block, "color", details.colour)
    _sub(block, "nondeliverable-handling", details.nondeliverable_handling)


def _invoice_data(parent: etree._Element, invoice: InvoiceData) -> None:
    holder = _sub(parent, "data-type")
    block = etree.SubElement(holder, f"{{{DATATYPES_NS}}}invoice", nsmap=_DATATYPES_NSMAP)
    if invoice.link_url is not None:
        link = _sub(block, "link", ns=DATATYPES_NS)
        _sub(link, "url", invoice.link_url, ns=DATATYPES_NS)
        if invoice.link_description:
            _sub(link, "description", invoice.link_description, ns=DATATYPES_NS)
    _sub(block, "due-date", _start_of_day(invoice.due_date), ns=DATATYPES_NS)
    _sub(block, "sum", f"{invoice.sum:f}", ns=DATATYPES_NS)
    _sub(block, "creditor-account", invoice.creditor_account, ns=DATATYPES_NS)
    if invoice.kid is not None:
        _sub(block, "kid", invoice.kid, ns=DATATYPES_NS)


def _document(parent: etree._Element, name: str, document: DigipostDocument) -> None:
    block = _sub(parent, name)
    _sub(block, "uuid", document.uuid)
    _sub(block, "subject", document.subject)
    _sub(block, "file-type", document.file_type)
    if document.authentication_level is not None:
        _sub(block, "authentication-level", document.authentication_level)
    if document.sensitivity_level is not None:
        _sub(block, "sensitivity-level", document.sensitivity_level)
    if document.invoice is not None:
        _invoice_data(block, document.invoice)


def render_message(
    *,
    message_id: str | None,
    sender_id: int | None,
    recipient: DigipostRecipient,
    primary_document: DigipostDocument,
    attachments: Sequence[DigipostDocument] = (),
    print_details: PrintDetails | None = None,
    print_if_unread: PrintIfUnread | None = None,
    invoice_reference: str | None = None,
) -> bytes:
    """The v8 `message` element (UTF-8 XML with declaration) in the schema's order: message-id, sender-id,
    recipient (with `print_details`: Digipost prints when the recipient has no mailbox), invoice-reference,
    primary-document, attachments, print-if-unread.

    `sender_id` is the sender Digipost shows when a broker sends on its behalf (None: the broker itself).
    Document uuids must differ: the multipart body names each part by its document's uuid.
    """
    if message_id is not None and not 1 <= len(message_id) <= 100:
        raise DigipostError("message.message-id", "1–100 characters")
    if sender_id is not None and not 0 < sender_id < 2**63:
        raise DigipostError("message.sender-id", f"{sender_id} is not a Digipost sender id")
    if len(attachments) > MAX_ATTACHMENTS:
        raise DigipostError(
            "message.attachment", f"{len(attachments)} attachments, at most {MAX_ATTACHMENTS}"
        )
    uuids = [primary_document.uuid, *(document.uuid for document in attachments)]
    if len(set(uuids)) != len(uuids):
        raise DigipostError("message.attachment.uuid", "two documents of the message share a uuid")
    if invoice_reference is not None and not 1 <= len(invoice_reference) <= 100:
        raise DigipostError("message.invoice-reference", "1–100 characters")
    root = _root("message")
    if message_id is not None:
        _sub(root, "message-id", message_id)
    if sender_id is not None:
        _sub(root, "sender-id", str(sender_id))
    recipient_block = _sub(root, "recipient")
    _recipient_choice(recipient_block, recipient)
    if print_details is not None:
        _print_details(recipient_block, print_details)
    if invoice_reference is not None:
        _sub(root, "invoice-reference", invoice_reference)
    _document(root, "primary-document", primary_document)
    for attachment in attachments:
        _document(root, "attachment", attachment)
    if print_if_unread is not None:
        block = _sub(root, "print-if-unread")
        _sub(block, "print-if-unread-after", _start_of_day(print_if_unread.print_if_unread_after))
        _print_details(block, print_if_unread.print_details)
    return _bytes(root)


def render_identification(recipient: DigipostRecipient) -> bytes:
    """The `identification` body of an `identify_recipient` request: is this person or organisation in
    Digipost (or can Digipost print to them)?"""
    root = _root("identification")
    _recipient_choice(root, recipient)
    return _bytes(root)


# --- from a canonical invoice -----------------------------------------------------------------------------


def norwegian_account(account_id: str, *, where: str = "payment_means.account.id") -> str:
    """The 11-digit Norwegian account number (BBAN) of an account given as a BBAN (`8601.11.17947`) or as
    a Norwegian IBAN (`NO93 8601 1117 947`); a `DigipostError` naming `where` for anything else (a foreign
    IBAN cannot be paid through Digipost's invoice flow)."""
    compact = re.sub(r"[ .\-]", "", account_id).upper()
    if compact.startswith("NO") and len(compact) == 15:
        from stdnum import iban

        if not iban.is_valid(compact):
            raise DigipostError(where, f"{account_id!r} is not a valid IBAN")
        compact = compact[4:]
    elif compact[:2].isalpha():
        raise DigipostError(where, f"{account_id!r} is not a Norwegian account (11-digit BBAN or NO IBAN)")
    return check_creditor_account(compact, where=where)


def recipient_for_buyer(buyer: Party, *, national_id: str | None = None) -> DigipostRecipient:
    """Whom to address a message to for `buyer`, best identification first: a national identity number
    (given — from the receiver profile — or a buyer identifier that is one), the organisation number (legal
    registration scheme 0192), else the buyer's name and Norwegian postal address."""
    if national_id is not None:
        return DigipostRecipient(national_id=national_id)
    identifiers = [*buyer.identifiers, *([buyer.legal_registration] if buyer.legal_registration else [])]
    for identifier in identifiers:
        if identifier.scheme != "0192" and is_national_id(identifier.value):
            return DigipostRecipient(national_id=identifier.value)
    registration = buyer.legal_registration
    if registration is not None and registration.scheme == "0192":
        return DigipostRecipient(organisation_number=registration.value)
    address = buyer.address
    if (
        address is not None
        and address.country == "NO"
        and address.lines
        and address.postal_code
        and address.city
    ):
        return DigipostRecipient(
            name_and_address=NameAndAddress(
                fullname=buyer.name,
                address_lines=tuple(address.lines[:2]),
                postal_code=address.postal_code,
                city=address.city,
            )
        )
    raise DigipostError(
        "buyer",
        "no national identity number, organisation number (scheme 0192) or Norwegian postal address "
        "(line, postal code, city) to address a Digipost message to",
    )


def document_uuid(invoice: Invoice, index: int) -> str:
    """A stable uuid for the `index`th document (0: the invoice PDF) of `invoice`'s message: the same
    invoice sent again names the same documents (Digipost refuses a second message with a known uuid,
    which keeps a retry from delivering twice)."""
    seller = (
        invoice.seller.legal_registration.value if invoice.seller.legal_registration else invoice.seller.name
    )
    return str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"digipost:{seller}:{invoice.number}:{index}"))


def invoice_data_for(invoice: Invoice) -> InvoiceData | None:
    """The `Invoice` data type for `invoice`: due date, payable amount, the first payment means with a
    Norwegian account (its BBAN) and its KID (payment id). None for a credit note or nothing to pay; a
    `DigipostError` naming the canonical field when the invoice cannot be paid through Digipost."""
    if invoice.document_type == DocumentType.CREDIT_NOTE or invoice.totals.payable <= 0:
        return None
    if invoice.currency != "NOK":
        raise DigipostError("currency", f"{invoice.currency}: Digipost's invoice sum is in NOK")
    if invoice.due_date is None:
        raise DigipostError("due_date", "required for a Digipost invoice (the bank pays on it)")
    accounts = [(i, means) for i, means in enumerate(invoice.payment_means) if means.account is not None]
    if not accounts:
        raise DigipostError("payment_means", "no bank account to pay to (a Norwegian BBAN or NO IBAN)")
    index, means = accounts[0]
    assert means.account is not None
    account = norwegian_account(means.account.id, where=f"payment_means[{index}].account.id")
    kid = None
    if means.payment_id:
        kid = check_kid(means.payment_id.replace(" ", ""), where=f"payment_means[{index}].payment_id")
    return InvoiceData(
        due_date=invoice.due_date, sum=invoice.totals.payable, creditor_account=account, kid=kid
    )


def _file_type(name: str) -> str:
    suffix = Path(name).suffix.lstrip(".").lower()
    return suffix if re.fullmatch(r"[a-z0-9]{1,10}", suffix) else "pdf"


def message_for_invoice(
    invoice: Invoice,
    *,
    recipient: DigipostRecipient | None = None,
    national_id: str | None = None,
    sender_id: int | None = None,
    message_id: str | None = None,
    subject: str | None = None,
    primary_uuid: str | None = None,
    attachment_names: Sequence[str] = (),
    attachment_uuids: Sequence[str] | None = None,
    print_details: PrintDetails | None = None,
    print_if_unread: PrintIfUnread | None = None,
) -> DigipostMessage:
    """The message for `invoice`: its PDF as the primary document carrying the `Invoice` data type (none
    for a credit note), one attachment per name in `attachment_names` (a POD, terms; the file type from the
    name's suffix, `pdf` otherwise), paper fallback as given.

    The recipient is `recipient`, else chosen from the buyer (`recipient_for_buyer`, `national_id` from the
    receiver profile first). Uuids default to stable ones (`document_uuid`), the message id to the invoice
    number. The documents' bytes are the channel's business: they go in the multipart body by uuid.
    """
    chosen = (
        recipient if recipient is not None else recipient_for_buyer(invoice.buyer, national_id=national_id)
    )
    if attachment_uuids is not None and len(attachment_uuids) != len(attachment_names):
        raise DigipostError("attachment_uuids", "one uuid per attachment name")
    uuids = list(attachment_uuids) if attachment_uuids is not None else [
        document_uuid(invoice, index) for index in range(1, len(attachment_names) + 1)
    ]  # fmt: skip
    what = "Kreditnota" if invoice.document_type == DocumentType.CREDIT_NOTE else "Faktura"
    primary = DigipostDocument(
        uuid=primary_uuid or document_uuid(invoice, 0),
        subject=(subject or f"{what} {invoice.number} fra {invoice.seller.name}")[:255],
        file_type="pdf",
        invoice=invoice_data_for(invoice),
    )
    attachments = tuple(
        DigipostDocument(uuid=uuid, subject=Path(name).stem[:255] or name[:255], file_type=_file_type(name))
        for uuid, name in zip(uuids, attachment_names, strict=True)
    )
    return DigipostMessage(
        message_id=message_id if message_id is not None else invoice.number,
        sender_id=sender_id,
        recipient=chosen,
        primary_document=primary,
        attachments=attachments,
        print_details=print_details,
        print_if_unread=print_if_unread,
        invoice_reference=invoice.number,
    )


#: A follow-up notice's subject word, by its kind (what the consumer sees in the mailbox list).
NOTICE_SUBJECTS = {
    "nudge": "Betalingspåminnelse",
    "reminder": "Purring",
    "collection_warning": "Inkassovarsel",
    "payment_demand": "Betalingsoppfordring",
    "statement": "Kontoutskrift",
}


def message_for_notice(
    notice: ReminderDocument,
    *,
    recipient: DigipostRecipient,
    primary_uuid: str,
    sender_id: int | None = None,
    message_id: str | None = None,
    print_details: PrintDetails | None = None,
    print_if_unread: PrintIfUnread | None = None,
) -> DigipostMessage:
    """The message for a follow-up notice: its PDF as a plain letter, subject "Purring" (or "Inkassovarsel",
    …) with the reminded invoices' numbers and the seller's name.

    A plain letter, not the `Invoice` data type: that is what the recipient's bank pays as an invoice,
    and a reminder must not show up as a second bill beside the invoice it reminds of. The v8 data types'
    `inkasso` is a debt collector's case document, which a creditor's own notice is not.
    """
    word = NOTICE_SUBJECTS.get(str(notice.kind), "Purring")
    numbers = ", ".join(invoice.number for invoice in notice.invoices)
    label = "faktura" if len(notice.invoices) == 1 else "fakturaer"
    seller = str(notice.seller.get("name") or "").strip()
    subject = f"{word} – {label} {numbers}" + (f" fra {seller}" if seller else "")
    return DigipostMessage(
        message_id=message_id if message_id is not None else notice.notice_id[:100],
        sender_id=sender_id,
        recipient=recipient,
        primary_document=DigipostDocument(uuid=primary_uuid, subject=subject[:255], file_type="pdf"),
        print_details=print_details,
        print_if_unread=print_if_unread,
        invoice_reference=notice.notice_id[:100],
    )


# --- Digipost's answers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A link in an answer: its relation (a URI ending in the relation's name), where, and what it takes."""

    rel: str | None
    uri: str
    media_type: str | None = None

    @property
    def relation(self) -> str | None:
        """The relation's name: `create_message` for `https://api.digipost.no/relations/create_message`."""
        return self.rel.rstrip("/").rsplit("/", 1)[-1] if self.rel else None


@dataclass(frozen=True)
class EntryPoint:
    """The API's root (`GET /`): Digipost's current certificate (PEM; it verifies every answer's
    signature) and the links by relation (`create_message`, `identify_recipient`, `document_events`, …)."""

    certificate: str | None
    links: tuple[Link, ...] = ()

    @classmethod
    def of(
        cls, certificate: str | None, links: Mapping[str, str], *, base: str = RELATIONS_BASE
    ) -> EntryPoint:
        """An entry point from relation names → URIs (the relation URIs made from `base`)."""
        made = tuple(Link(rel=base + name, uri=uri, media_type=MEDIA_TYPE) for name, uri in links.items())
        return cls(certificate=certificate, links=made)

    def uri(self, relation: str) -> str:
        """The URI of the link whose relation is `relation` (its full URI or its last part);
        `FormatError` when the entry point has none."""
        for link in self.links:
            if link.rel == relation or link.relation == relation:
                return link.uri
        raise FormatError("entrypoint/link", f"no link with relation {relation!r}")


@dataclass(frozen=True)
class MessageDelivery:
    """Digipost's answer to a sent message: how it went out (`delivery_method` DIGIPOST, PRINT, PEPPOL,
    EPOST or PENDING), the message's status, when, and its documents."""

    message_id: str | None
    delivery_method: DeliveryMethod
    sender_id: int
    status: MessageStatus
    delivery_time: dt.datetime | None
    primary_document: DigipostDocument
    attachments: tuple[DigipostDocument, ...] = ()
    links: tuple[Link, ...] = ()

    @property
    def primary_document_uuid(self) -> str:
        return self.primary_document.uuid


@dataclass(frozen=True)
class IdentificationResult:
    """Digipost's answer to `identify_recipient`: DIGIPOST (has a mailbox; its Digipost address),
    IDENTIFIED (known, no mailbox: Digipost can print), UNIDENTIFIED (with the reason) or INVALID (with the
    reason)."""

    result: IdentificationCode
    digipost_address: str | None = None
    person_alias: str | None = None
    unidentified_reason: UnidentifiedReason | None = None
    invalid_reason: InvalidReason | None = None

    @property
    def reason(self) -> str | None:
        return self.unidentified_reason or self.invalid_reason


@dataclass(frozen=True)
class DocumentEvent:
    """One event on a sent document: its type (POSTMARKED, PRINT_FAILED, SHREDDED, OPENED, PEPPOL_FAILED,
    …), when, and the metadata attributes of its type (`postmarked-date`, `error-code`, …)."""

    uuid: str
    type: EventType
    created: dt.datetime
    document_created: dt.datetime
    metadata: Mapping[str, str] = field(default_factory=dict)
    metadata_type: str | None = None


@dataclass(frozen=True)
class DocumentEvents:
    """A page of document events (`document_events`), oldest first as Digipost lists them."""

    events: tuple[DocumentEvent, ...] = ()


@dataclass(frozen=True)
class ErrorAnswer:
    """Digipost's `error` answer: a code (e.g. `UNKNOWN_RECIPIENT`), a message and a type (`CLIENT_DATA`,
    `SERVER`, …) that says whether sending again can help."""

    error_code: str
    error_message: str
    error_type: str
    links: tuple[Link, ...] = ()


def _links(parent: etree._Element, links: Sequence[Link]) -> None:
    for link in links:
        element = _sub(parent, "link")
        if link.rel is not None:
            element.set("rel", link.rel)
        element.set("uri", link.uri)
        if link.media_type is not None:
            element.set("media-type", link.media_type)


def render_entry_point(entry_point: EntryPoint) -> bytes:
    """The `entrypoint` answer: certificate, then the links."""
    root = _root("entrypoint")
    if entry_point.certificate is not None:
        _sub(root, "certificate", entry_point.certificate)
    _links(root, entry_point.links)
    return _bytes(root)


def render_message_delivery(delivery: MessageDelivery) -> bytes:
    """The `message-delivery` answer in the schema's order."""
    root = _root("message-delivery")
    if delivery.message_id is not None:
        _sub(root, "message-id", delivery.message_id)
    _sub(root, "delivery-method", delivery.delivery_method)
    _sub(root, "sender-id", str(delivery.sender_id))
    _sub(root, "status", delivery.status)
    if delivery.delivery_time is not None:
        _sub(root, "delivery-time", _datetime(delivery.delivery_time))
    _document(root, "primary-document", delivery.primary_document)
    for attachment in delivery.attachments:
        _document(root, "attachment", attachment)
    _links(root, delivery.links)
    return _bytes(root)


def render_identification_result(result: IdentificationResult) -> bytes:
    """The `identification-result` answer: the code, then the address/alias or the reason its code takes."""
    root = _root("identification-result")
    _sub(root, "result", result.result)
    if result.digipost_address is not None:
        _sub(root, "digipost-address", result.digipost_address)
        if result.person_alias is not None:
            _sub(root, "person-alias", result.person_alias)
    elif result.person_alias is not None:
        _sub(root, "person-alias", result.person_alias)
    elif result.unidentified_reason is not None:
        _sub(root, "unidentified-reason", result.unidentified_reason)
    elif result.invalid_reason is not None:
        _sub(root, "invalid-reason", result.invalid_reason)
    return _bytes(root)


def render_document_events(events: DocumentEvents | Sequence[DocumentEvent]) -> bytes:
    """The `document-events` answer; an event's metadata as its type's `xsi:type` (`postmarked-metadata`
    …) with the attributes that type requires."""
    listed = events.events if isinstance(events, DocumentEvents) else tuple(events)
    root = etree.Element(_q("document-events"), nsmap=_EVENTS_NSMAP)
    for event in listed:
        element = _sub(root, "event")
        element.set("uuid", event.uuid)
        element.set("type", event.type)
        element.set("created", _datetime(event.created))
        element.set("document-created", _datetime(event.document_created))
        if event.metadata:
            metadata_type = event.metadata_type or EVENT_METADATA_TYPES.get(event.type)
            if metadata_type not in METADATA_ATTRIBUTES:
                raise DigipostError("event.metadata", f"no metadata type for an event of type {event.type}")
            metadata = _sub(element, "metadata")
            metadata.set(f"{{{XSI_NS}}}type", metadata_type)
            for name in METADATA_ATTRIBUTES[metadata_type]:
                if name not in event.metadata:
                    raise DigipostError(f"event.metadata.{name}", f"required by {metadata_type}")
                metadata.set(name, event.metadata[name])
    return _bytes(root)


def render_error(error: ErrorAnswer) -> bytes:
    """The `error` answer."""
    root = _root("error")
    _sub(root, "error-code", error.error_code)
    _sub(root, "error-message", error.error_message)
    _sub(root, "error-type", error.error_type)
    _links(root, error.links)
    return _bytes(root)


# --- reading ----------------------------------------------------------------------------------------------


def _document_root(data: bytes, name: str) -> etree._Element:
    root = parse_xml(data)
    if local_name(root) != name or namespace(root) != API_NS:
        raise FormatError("document", f"not a Digipost v8 <{name}> (found <{local_name(root)}>)")
    return root


def _children(element: etree._Element, name: str, *, ns: str = API_NS) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str) and child.tag == f"{{{ns}}}{name}"]


def _text(
    element: etree._Element, name: str, where: str, *, ns: str = API_NS, required: bool = True
) -> str | None:
    found = _children(element, name, ns=ns)
    if len(found) > 1:
        raise FormatError(f"{where}/{name}", "given more than once")
    if not found or found[0].text is None or not found[0].text.strip():
        if required:
            raise FormatError(f"{where}/{name}", "missing or empty")
        return None
    return found[0].text.strip()


def _required(element: etree._Element, name: str, where: str, *, ns: str = API_NS) -> str:
    return cast(str, _text(element, name, where, ns=ns))


def _one_of(value: str | None, allowed: tuple[str, ...], where: str) -> Any:
    """`value` when it is one of `allowed`; None for an optional element that was not given."""
    if not value:
        return None
    if value not in allowed:
        raise FormatError(where, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _read_datetime(value: str, where: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(where, f"{value!r} is not an xs:dateTime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _read_date(value: str, where: str) -> dt.date:
    """A date Digipost writes as a date or as the start of a day (`2020-09-10T00:00:00+01:00`)."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return _read_datetime(value, where).astimezone(OSLO).date()


def _read_int(value: str, where: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,19}", value):
        raise FormatError(where, f"{value!r} is not an integer")
    return int(value)


T = TypeVar("T")


def _if_given(read: Callable[[str, str], T], value: str | None, where: str) -> T | None:
    """`read(value, where)` for an optional element's text; None when it was not given."""
    return read(value, where) if value else None


def _child(element: etree._Element, name: str, where: str) -> etree._Element:
    """The (first) `name` child, which must be there."""
    found = _children(element, name)
    if not found:
        raise FormatError(f"{where}/{name}", "missing")
    return found[0]


def _only_child(element: etree._Element, name: str, where: str) -> etree._Element:
    """The `name` child, which must be there exactly once."""
    found = _children(element, name)
    if len(found) != 1:
        raise FormatError(f"{where}/{name}", "exactly one is required")
    return found[0]


@contextlib.contextmanager
def _checked(where: str) -> Iterator[None]:
    """What the model's own checks refuse (`DigipostError`, named by its field) named under `where`."""
    try:
        yield
    except DigipostError as error:
        raise FormatError(f"{where} ({error.where})", error.reason) from None


def _read_links(element: etree._Element, where: str) -> tuple[Link, ...]:
    links = []
    for link in _children(element, "link"):
        uri = link.get("uri")
        if not uri:
            raise FormatError(f"{where}/link", "no uri attribute")
        links.append(Link(rel=link.get("rel"), uri=uri, media_type=link.get("media-type")))
    return tuple(links)


def _read_recipient_choice(element: etree._Element, where: str) -> DigipostRecipient:
    national_id = _text(element, "personal-identification-number", where, required=False)
    organisation = _text(element, "organisation-number", where, required=False)
    address = _text(element, "digipost-address", where, required=False)
    block = _children(element, "name-and-address")
    name_and_address = None
    if block:
        inner = f"{where}/name-and-address"
        lines = tuple(
            line
            for line in (_text(block[0], f"addressline{i}", inner, required=i == 1) for i in (1, 2))
            if line is not None
        )
        birth = _text(block[0], "birth-date", inner, required=False)
        with _checked(inner):
            name_and_address = NameAndAddress(
                fullname=_required(block[0], "fullname", inner),
                address_lines=lines,
                postal_code=_required(block[0], "postalcode", inner),
                city=_required(block[0], "city", inner),
                birth_date=_if_given(_read_date, birth, f"{inner}/birth-date"),
            )
    with _checked(where):
        return DigipostRecipient(
            national_id=national_id,
            organisation_number=organisation,
            digipost_address=address,
            name_and_address=name_and_address,
        )


def _address_lines(
    element: etree._Element, where: str, *, count: int, first_required: bool
) -> tuple[str, ...]:
    """`addressline1` … `addressline<count>` as given (a line may be left out)."""
    found = (
        _text(element, f"addressline{i}", where, required=first_required and i == 1)
        for i in range(1, count + 1)
    )
    return tuple(line for line in found if line is not None)


def _read_print_address(element: etree._Element, where: str) -> PrintAddress:
    name = _required(element, "name", where)
    norwegian = _children(element, "norwegian-address")
    foreign = _children(element, "foreign-address")
    with _checked(where):
        if norwegian:
            inner = f"{where}/norwegian-address"
            lines = _address_lines(norwegian[0], inner, count=3, first_required=False)
            return PrintAddress(
                name=name,
                address_lines=lines,
                postal_code=_required(norwegian[0], "zip-code", inner),
                city=_required(norwegian[0], "city", inner),
            )
        if foreign:
            inner = f"{where}/foreign-address"
            lines = _address_lines(foreign[0], inner, count=4, first_required=True)
            code = _text(foreign[0], "country-code", inner, required=False)
            country = _text(foreign[0], "country", inner, required=False)
            if code is None:
                raise FormatError(
                    f"{inner}/country-code", f"missing (country {country!r} given by name only)"
                )
            return PrintAddress(name=name, address_lines=lines, country=code)
    raise FormatError(where, "neither a norwegian-address nor a foreign-address")


def _read_print_details(element: etree._Element, where: str) -> PrintDetails:
    recipient = _child(element, "recipient", where)
    returns = _child(element, "return-address", where)
    colour = _text(element, "color", where, required=False) or "MONOCHROME"
    handling = _text(element, "nondeliverable-handling", where, required=False) or "RETURN_TO_SENDER"
    return PrintDetails(
        recipient=_read_print_address(recipient, f"{where}/recipient"),
        return_address=_read_print_address(returns, f"{where}/return-address"),
        colour=_one_of(colour, COLOURS, f"{where}/color"),
        nondeliverable_handling=_one_of(
            handling, NONDELIVERABLE_HANDLINGS, f"{where}/nondeliverable-handling"
        ),
    )


def _read_invoice_data(element: etree._Element, where: str) -> InvoiceData | None:
    holders = _children(element, "data-type")
    if not holders:
        return None
    inner = f"{where}/data-type"
    invoices = _children(holders[0], "invoice", ns=DATATYPES_NS)
    if not invoices:
        return None  # another data type (an appointment, a payslip…): not an invoice
    block = invoices[0]
    inner += "/invoice"
    amount = _required(block, "sum", inner, ns=DATATYPES_NS)
    try:
        total = Decimal(amount)
    except InvalidOperation:
        raise FormatError(f"{inner}/sum", f"{amount!r} is not a decimal") from None
    link_url = link_description = None
    links = _children(block, "link", ns=DATATYPES_NS)
    if links:
        link_url = _required(links[0], "url", f"{inner}/link", ns=DATATYPES_NS)
        link_description = _text(links[0], "description", f"{inner}/link", ns=DATATYPES_NS, required=False)
    with _checked(inner):
        return InvoiceData(
            due_date=_read_date(_required(block, "due-date", inner, ns=DATATYPES_NS), f"{inner}/due-date"),
            sum=total,
            creditor_account=_required(block, "creditor-account", inner, ns=DATATYPES_NS),
            kid=_text(block, "kid", inner, ns=DATATYPES_NS, required=False),
            link_url=link_url,
            link_description=link_description,
        )


def _read_document(element: etree._Element, where: str) -> DigipostDocument:
    uuid = _required(element, "uuid", where)
    subject = _text(element, "subject", where, required=False) or ""
    level = _text(element, "authentication-level", where, required=False)
    sensitivity = _text(element, "sensitivity-level", where, required=False)
    with _checked(where):
        return DigipostDocument(
            uuid=uuid,
            subject=subject or "(no subject)",
            file_type=_required(element, "file-type", where),
            invoice=_read_invoice_data(element, where),
            authentication_level=_one_of(level, AUTHENTICATION_LEVELS, f"{where}/authentication-level"),
            sensitivity_level=_one_of(sensitivity, SENSITIVITY_LEVELS, f"{where}/sensitivity-level"),
        )


def _read_documents(
    root: etree._Element, where: str
) -> tuple[DigipostDocument, tuple[DigipostDocument, ...]]:
    primary = _only_child(root, "primary-document", where)
    attachments = _children(root, "attachment")
    if len(attachments) > MAX_ATTACHMENTS:
        raise FormatError(f"{where}/attachment", f"{len(attachments)} attachments, at most {MAX_ATTACHMENTS}")
    return _read_document(primary, f"{where}/primary-document"), tuple(
        _read_document(attachment, f"{where}/attachment[{i}]") for i, attachment in enumerate(attachments, 1)
    )


def parse(data: bytes) -> DigipostMessage:
    """A `message` read back (what the stand-in server receives): recipient, documents with their invoice
    data, print details; `FormatError` naming the element otherwise. Checks what this module checks when
    rendering (a KID over 25 characters is refused here too)."""
    root = _document_root(data, "message")
    where = "message"
    recipient_block = _only_child(root, "recipient", where)
    recipient = _read_recipient_choice(recipient_block, f"{where}/recipient")
    details = _children(recipient_block, "print-details")
    print_details = _read_print_details(details[0], f"{where}/recipient/print-details") if details else None
    primary, attachments = _read_documents(root, where)
    print_if_unread = None
    unread = _children(root, "print-if-unread")
    if unread:
        inner = f"{where}/print-if-unread"
        after = _read_datetime(
            _required(unread[0], "print-if-unread-after", inner), f"{inner}/print-if-unread-after"
        )
        unread_details = _child(unread[0], "print-details", inner)
        local = after.astimezone(OSLO)
        print_if_unread = PrintIfUnread(
            print_if_unread_after=local.date() if local.time() == dt.time(0) else after,
            print_details=_read_print_details(unread_details, f"{inner}/print-details"),
        )
    sender = _text(root, "sender-id", where, required=False)
    return DigipostMessage(
        message_id=_text(root, "message-id", where, required=False),
        sender_id=_if_given(_read_int, sender, f"{where}/sender-id"),
        recipient=recipient,
        primary_document=primary,
        attachments=attachments,
        print_details=print_details,
        print_if_unread=print_if_unread,
        invoice_reference=_text(root, "invoice-reference", where, required=False),
    )


def read_identification(data: bytes) -> DigipostRecipient:
    """An `identification` request body read back (the stand-in server's side of `identify_recipient`)."""
    return _read_recipient_choice(_document_root(data, "identification"), "identification")


def read_entry_point(data: bytes) -> EntryPoint:
    """The entry point (`GET /`): certificate and links; `FormatError` naming the element otherwise."""
    root = _document_root(data, "entrypoint")
    certificates = _children(root, "certificate")  # as given: a PEM's line breaks are its own
    return EntryPoint(
        certificate=certificates[0].text if certificates and certificates[0].text else None,
        links=_read_links(root, "entrypoint"),
    )


def read_message_delivery(data: bytes) -> MessageDelivery:
    """The answer to a sent message: how it went out, its status and documents."""
    root = _document_root(data, "message-delivery")
    where = "message-delivery"
    primary, attachments = _read_documents(root, where)
    delivered = _text(root, "delivery-time", where, required=False)
    return MessageDelivery(
        message_id=_text(root, "message-id", where, required=False),
        delivery_method=_one_of(
            _required(root, "delivery-method", where), DELIVERY_METHODS, f"{where}/delivery-method"
        ),
        sender_id=_read_int(_required(root, "sender-id", where), f"{where}/sender-id"),
        status=_one_of(_required(root, "status", where), MESSAGE_STATUSES, f"{where}/status"),
        delivery_time=_if_given(_read_datetime, delivered, f"{where}/delivery-time"),
        primary_document=primary,
        attachments=attachments,
        links=_read_links(root, where),
    )


def read_identification_result(data: bytes) -> IdentificationResult:
    """The answer to `identify_recipient`: the code and, as its code takes, the address or the reason."""
    root = _document_root(data, "identification-result")
    where = "identification-result"
    code = _one_of(_required(root, "result", where), IDENTIFICATION_CODES, f"{where}/result")
    unidentified = _text(root, "unidentified-reason", where, required=False)
    invalid = _text(root, "invalid-reason", where, required=False)
    return IdentificationResult(
        result=code,
        digipost_address=_text(root, "digipost-address", where, required=False),
        person_alias=_text(root, "person-alias", where, required=False),
        unidentified_reason=_one_of(unidentified, UNIDENTIFIED_REASONS, f"{where}/unidentified-reason"),
        invalid_reason=_one_of(invalid, INVALID_REASONS, f"{where}/invalid-reason"),
    )


def read_document_events(data: bytes) -> DocumentEvents:
    """The polled events, each with its metadata's attributes (an unknown event type is a `FormatError`)."""
    root = _document_root(data, "document-events")
    events = []
    for index, element in enumerate(_children(root, "event"), start=1):
        where = f"document-events/event[{index}]"
        attributes = {name: element.get(name) for name in ("uuid", "type", "created", "document-created")}
        for name, value in attributes.items():
            if not value:
                raise FormatError(f"{where}/@{name}", "missing")
        uuid = cast(str, attributes["uuid"])
        if not _UUID.fullmatch(uuid):
            raise FormatError(f"{where}/@uuid", f"{uuid!r} is not a UUID")
        metadata: dict[str, str] = {}
        metadata_type = None
        blocks = _children(element, "metadata")
        if blocks:
            declared = blocks[0].get(f"{{{XSI_NS}}}type")
            metadata_type = declared.rsplit(":", 1)[-1] if declared else None
            metadata = {
                str(name): str(value)
                for name, value in blocks[0].attrib.items()
                if not str(name).startswith("{")
            }
        events.append(
            DocumentEvent(
                uuid=uuid,
                type=_one_of(cast(str, attributes["type"]), EVENT_TYPES, f"{where}/@type"),
                created=_read_datetime(cast(str, attributes["created"]), f"{where}/@created"),
                document_created=_read_datetime(
                    cast(str, attributes["document-created"]), f"{where}/@document-created"
                ),
                metadata=metadata,
                metadata_type=metadata_type,
            )
        )
    return DocumentEvents(events=tuple(events))


def read_error(data: bytes) -> ErrorAnswer:
    """Digipost's `error` answer (sent with a 4xx or 5xx status)."""
    root = _document_root(data, "error")
    return ErrorAnswer(
        error_code=_required(root, "error-code", "error"),
        error_message=_required(root, "error-message", "error"),
        error_type=_required(root, "error-type", "error"),
        links=_read_links(root, "error"),
    )


# --- validation -------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _schema(schema_dir: str) -> etree.XMLSchema:
    """Both schemas as one: `api_v8.xsd` does not import `datatypes.xsd`, yet a document's `data-type`
    holds an element of that namespace (`xsd:any`, strict) — a small schema importing both validates it."""
    directory = Path(schema_dir).resolve()
    api, datatypes = directory / "api_v8.xsd", directory / "datatypes.xsd"
    for path in (api, datatypes):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the Digipost v8 schema is not there")
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        f'<xs:import namespace="{API_NS}" schemaLocation="{api.as_uri()}"/>'
        f'<xs:import namespace="{DATATYPES_NS}" schemaLocation="{datatypes.as_uri()}"/>'
        "</xs:schema>"
    )
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(
        etree.fromstring(wrapper.encode(), parser=parser, base_url=directory.as_uri() + "/")
    )


def validate_digipost_xml(data: bytes, schema_dir: Path | str) -> list[str]:
    """What `api_v8.xsd` and `datatypes.xsd` find wrong in `data` ("line N: message"); empty when valid.
    The compiled schema is cached per directory (compiling takes longer than validating)."""
    schema = _schema(str(schema_dir))
    try:
        document = parse_xml(data)
    except FormatError as error:
        return [str(error)]
    if schema.validate(document):
        return []
    log: Iterable[Any] = schema.error_log  # type: ignore[assignment]  # lxml-stubs: not iterable
    return [f"line {entry.line}: {entry.message}" for entry in log]


# --- registry verbs ---------------------------------------------------------------------------------------


def render(invoice: Invoice, options: Mapping[str, Any] | None = None) -> RenderedDocument:
    """The `message` XML Digipost would get for `invoice` (no documents: those are the multipart body's
    other parts), recipient from the buyer; `options` are `message_for_invoice`'s keywords."""
    message = message_for_invoice(invoice, **dict(options or {}))
    return RenderedDocument(format=FORMAT, content=message.xml(), media_type=MEDIA_TYPE, extension="xml")


def sniff(data: bytes) -> bool:
    """A Digipost v8 `message` element (cheap: the namespace in the head, then the root's name)."""
    return sniff_root(data, "message")


def sniff_root(data: bytes, name: str) -> bool:
    """Is `data` a Digipost v8 document whose root is `name`? Cheap on anything else (the namespace must be
    in the head); never raises."""
    head = data[:2048].lstrip()
    if not head.startswith(b"<") or API_NS.encode() not in head:
        return False
    try:
        root = parse_xml(data)
    except FormatError:
        return False
    return local_name(root) == name and namespace(root) == API_NS


def _document_view(document: DigipostDocument) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uuid": document.uuid,
        "subject": document.subject,
        "file_type": document.file_type,
    }
    if document.invoice is not None:
        view["invoice"] = {
            "due_date": document.invoice.due_date.isoformat(),
            "sum": f"{document.invoice.sum:f}",
            "creditor_account": document.invoice.creditor_account,
            "kid": document.invoice.kid,
        }
    return view


def _address_view(address: PrintAddress) -> dict[str, Any]:
    return {
        "name": address.name,
        "address_lines": list(address.address_lines),
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
    }


def _print_view(details: PrintDetails) -> dict[str, Any]:
    return {
        "recipient": _address_view(details.recipient),
        "return_address": _address_view(details.return_address),
        "colour": details.colour,
        "nondeliverable_handling": details.nondeliverable_handling,
    }


def inspect(data: bytes) -> dict[str, Any]:
    """What the message says, for a person: the recipient (a national identity number masked), the
    documents with their invoice data, paper fallback."""
    message = parse(data)
    view: dict[str, Any] = {
        "format": FORMAT,
        "message_id": message.message_id,
        "sender_id": message.sender_id,
        "invoice_reference": message.invoice_reference,
        "recipient": message.recipient.masked(),
        "primary_document": _document_view(message.primary_document),
        "attachments": [_document_view(document) for document in message.attachments],
    }
    if message.print_details is not None:
        view["print_details"] = _print_view(message.print_details)
    if message.print_if_unread is not None:
        after = message.print_if_unread.print_if_unread_after
        view["print_if_unread"] = {
            "after": after.isoformat(),
            "print_details": _print_view(message.print_if_unread.print_details),
        }
    return view
