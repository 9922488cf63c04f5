"""E-mail delivery status notifications (RFC 3464 DSNs) read into one shape: `DeliveryStatusNotification`.

A DSN is a `multipart/report; report-type=delivery-status` message: a human-readable part, a
`message/delivery-status` part (one block of per-message fields, then one block per recipient) and,
usually, the returned message or only its headers (`message/rfc822` or `text/rfc822-headers`).

What counts is each recipient's `Action` (failed, delayed, delivered, relayed, expanded), never the status
code: an expired message fails with a 4.x.x status, and `relayed` only means the message was handed on
to a system that does not report delivery (not that it was delivered).

What a DSN carries to find the message it reports on:

* `Original-Envelope-Id` — the `ENVID` the sender gave at `MAIL FROM` (the gateway's `<delivery>-<attempt>`);
* the DSN's own envelope recipient — the sender's envelope address, VERP-tagged (`bounces+<delivery>@…`),
  seen in `X-Envelope-To`, `Delivered-To`, `X-Original-To`, `Envelope-To` or `To`; Postfix also names it in
  `X-Postfix-Sender`, and the returned headers in `Return-Path`;
* the returned message's `Message-ID`, `X-Delivery-Id`, `X-Invoice-Number`, `Subject`, `From`, `To`.

Tolerant reading (issue 17: 60 of 118 real bounces were not understood). The RFC 3464 report is read first,
wherever it is (also inside `multipart/mixed`); a recipient block without a readable `Action` is skipped
(noted) and the blocks that have one are applied; `rfc822;<a@b>` loses its brackets. When there is no
usable report — a plain-text bounce (qmail, Exim, old Sendmail, Gmail, Yahoo, Domino…), an empty
delivery-status part — the failed recipients come from `flufl.bounce`, then from the notice's text
(`mappings.status.bounce_text`); `read_by` says which. An auto-reply / out-of-office and an ARF feedback
report (`report-type=feedback-report`) are read as such (`kind`, `classification`: `auto-reply`,
`feedback-report`) with no recipients: the gateway records them and never applies them as bounces.

Pure functions, no database: `parse`, `sniff`, `inspect`. Only the standard `email` package (with
`policy.default`) is used, on at most `MAX_DSN_BYTES`.

Hostile input is refused cheaply. The standard parser makes one message object per MIME part and one per
blank-line-separated block of a `message/delivery-status` part, at ~40 µs each: a 1 MB part of blank lines
cost 37 s of CPU before these bounds (issue 18, defect 6). So the parser's message factory counts what it
makes and stops at `MAX_RECIPIENT_BLOCKS` blocks plus `MAX_MIME_PARTS` parts; a delivery-status part
larger than `MAX_STATUS_PART_BYTES` (a real one is a few hundred bytes per recipient) and a message of more
than `MAX_DSN_LINES` lines are refused before parsing. Each is a `DsnTooLarge` naming the part and the limit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.errors import MessageDefect
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, cast

from mappings.base import FormatError
from mappings.status import bounce_text

FORMAT_NAME = "dsn"
#: A DSN with the whole returned invoice (PDF + XML) stays well below this; anything larger is refused.
MAX_DSN_BYTES = 16 * 1024 * 1024
#: Per-recipient blocks read from a delivery-status part; a DSN reports on one message's recipients.
MAX_RECIPIENT_BLOCKS = 1000
#: MIME parts (and nested messages) besides the recipient blocks: a DSN has three or four.
MAX_MIME_PARTS = 200
#: A delivery-status part larger than this is refused unread (1000 recipients fit in a quarter of it).
MAX_STATUS_PART_BYTES = 1024 * 1024
#: Lines read: the parser costs ~0.4 µs per body line and ~2.4 µs per header line. 16 MiB of base64 (76
#: characters a line) is 220,000 lines; 16 MiB of empty lines would be 16 million.
MAX_DSN_LINES = 250_000

FAILED, DELAYED, DELIVERED, RELAYED, EXPANDED = "failed", "delayed", "delivered", "relayed", "expanded"
#: What a message read here is: a delivery report (bounce, delay, delivery), or one of the two kinds of
#: automatic mail that come back to a sender and are not about delivery (recorded, never applied).
DELIVERY_STATUS, AUTO_REPLY, FEEDBACK_REPORT = "delivery-status", "auto-reply", "feedback-report"
#: How the recipients were read: the RFC 3464 report, `flufl.bounce`'s detectors, the notice's own text.
READ_BY_RFC3464, READ_BY_FLUFL, READ_BY_TEXT = "rfc3464", "flufl.bounce", "text"
ACTIONS: dict[str, str] = {
    FAILED: "could not be delivered; the reporting MTA gave up",
    DELAYED: "not delivered yet; still being retried",
    DELIVERED: "delivered to the recipient's mailbox",
    RELAYED: "handed on to a system that does not report delivery (not a delivery confirmation)",
    EXPANDED: "delivered to an alias or list that expanded it to further recipients",
}
#: The report types read here (RFC 3464; RFC 6533 for internationalised addresses).
REPORT_TYPES = frozenset({"delivery-status", "global-delivery-status"})
_STATUS_PARTS = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_PARTS = frozenset({"text/rfc822-headers", "message/global-headers"})
_MESSAGE_PARTS = frozenset({"message/rfc822", "message/global"})
#: Where an MTA or a mail store writes the envelope recipient of a message (the DSN's: our VERP address).
ENVELOPE_TO_HEADERS = ("X-Envelope-To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Rcpt-To", "To")
_STATUS_CODE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_SPACES = re.compile(r"\s+")
_LONG_TEXT = 2000


class DsnError(FormatError):
    """An e-mail that is not a delivery status notification the gateway reads (or lacks what it needs)."""


class DsnTooLarge(DsnError):
    """More than `MAX_DSN_BYTES`."""


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of the `message/delivery-status` part."""

    action: str
    status: str | None
    final_recipient: str | None
    original_recipient: str | None = None
    diagnostic_type: str | None = None
    diagnostic_code: str | None = None
    remote_mta: str | None = None
    last_attempt_date: dt.datetime | None = None
    will_retry_until: dt.datetime | None = None

    @property
    def meaning(self) -> str:
        return ACTIONS[self.action]

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "status": self.status,
            "final_recipient": self.final_recipient,
            "original_recipient": self.original_recipient,
            "diagnostic_type": self.diagnostic_type,
            "diagnostic_code": self.diagnostic_code,
            "remote_mta": self.remote_mta,
            "last_attempt_date": _iso(self.last_attempt_date),
            "will_retry_until": _iso(self.will_retry_until),
        }


@dataclass(frozen=True)
class ReturnedMessage:
    """The headers of the message the DSN reports on (whole message or headers only)."""

    part: str
    message_id: str | None = None
    delivery_id: str | None = None
    invoice_number: str | None = None
    subject: str | None = None
    from_: str | None = None
    to: list[str] = field(default_factory=list)
    return_path: str | None = None
    date: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.part,
            "message_id": self.message_id,
            "delivery_id": self.delivery_id,
            "invoice_number": self.invoice_number,
            "subject": self.subject,
            "from": self.from_,
            "to": self.to,
            "return_path": self.return_path,
            "date": self.date,
        }


@dataclass(frozen=True)
class DeliveryStatusNotification:
    report_type: str
    message_id: str | None
    subject: str | None
    from_: str | None
    date: dt.datetime | None
    #: The DSN's own envelope recipient(s): where the MTA sent it, i.e. our (VERP) envelope sender.
    envelope_recipients: list[str]
    reporting_mta: str | None
    arrival_date: dt.datetime | None
    original_envelope_id: str | None
    #: The original envelope sender when the reporting MTA names it (Postfix: `X-Postfix-Sender`).
    original_sender: str | None
    recipients: list[RecipientStatus]
    returned: ReturnedMessage | None
    human_text: str | None = None
    #: `delivery-status`, `auto-reply` or `feedback-report` (the latter two have no recipients).
    kind: str = DELIVERY_STATUS
    #: `rfc3464`, `flufl.bounce` or `text`: where the recipients were read.
    read_by: str = READ_BY_RFC3464
    #: The message ids the notice itself refers to (`In-Reply-To`, `References`): an auto-reply's link.
    references: list[str] = field(default_factory=list)
    #: What was read leniently (a recipient block skipped, why the report was not used).
    notes: list[str] = field(default_factory=list)

    @property
    def actions(self) -> list[str]:
        return [recipient.action for recipient in self.recipients]

    @property
    def is_delivery_report(self) -> bool:
        return self.kind == DELIVERY_STATUS

    @property
    def classification(self) -> str:
        """The one action that sums the report up: failed > delayed > delivered > expanded > relayed.

        An auto-reply or feedback report is classified as what it is (`auto-reply`, `feedback-report`).
        """
        if self.kind != DELIVERY_STATUS:
            return self.kind
        for action in (FAILED, DELAYED, DELIVERED, EXPANDED, RELAYED):
            if action in self.actions:
                return action
        raise AssertionError("a DSN always has a recipient")  # pragma: no cover - parse ensures it

    def verp_addresses(self) -> list[str]:
        """Addresses that may carry a VERP tag, most direct first, without repeats."""
        candidates = [*self.envelope_recipients]
        if self.original_sender:
            candidates.append(self.original_sender)
        if self.returned and self.returned.return_path:
            candidates.append(self.returned.return_path)
        seen: list[str] = []
        for address in candidates:
            if address and address.lower() not in (s.lower() for s in seen):
                seen.append(address)
        return seen

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_type": self.report_type,
            "message_id": self.message_id,
            "subject": self.subject,
            "from": self.from_,
            "date": _iso(self.date),
            "envelope_recipients": self.envelope_recipients,
            "reporting_mta": self.reporting_mta,
            "arrival_date": _iso(self.arrival_date),
            "original_envelope_id": self.original_envelope_id,
            "original_sender": self.original_sender,
            "classification": self.classification,
            "kind": self.kind,
            "read_by": self.read_by,
            "references": self.references,
            "notes": self.notes,
            "recipients": [recipient.as_dict() for recipient in self.recipients],
            "returned": self.returned.as_dict() if self.returned else None,
        }


def verp_tag(address: str, prefix: str | None = "bounces") -> str | None:
    """`<tag>` of `<prefix>+<tag>@domain` (prefix compared case-insensitively; None: any), or None."""
    local, at, _ = address.strip().strip("<>").rpartition("@")
    if not at:
        return None
    head, plus, tag = local.partition("+")
    if not plus or not head or not tag or (prefix is not None and head.lower() != prefix.lower()):
        return None
    return tag


# --- reading -------------------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text[:_LONG_TEXT] or None


def _header(message: Message, name: str) -> str | None:
    return _clean(message.get(name))


def _xtext(value: str | None) -> str | None:
    """RFC 3461 xtext (`ENVID`): `+XX` is the byte XX in hex."""
    if value is None:
        return None
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda match: chr(int(match.group(1), 16)), value)


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _typed(value: str | None) -> tuple[str | None, str | None]:
    """`type; value` (RFC 3464 address-type / diagnostic-type / mta-name-type) → (type, value)."""
    if value is None:
        return None, None
    kind, semicolon, rest = value.partition(";")
    if not semicolon:
        return None, value.strip() or None
    return kind.strip().lower() or None, rest.strip() or None


def _address(value: str | None) -> str | None:
    """The address of `type; value`, without the angle brackets some MTAs put around it."""
    address = None if value is None else _typed(value)[1]
    if address is None:
        return None
    return address.strip().removeprefix("<").removesuffix(">").strip() or None


def _addresses(values: list[str]) -> list[str]:
    found: list[str] = []
    for _, address in getaddresses(values):
        if address and address not in found:
            found.append(address)
    return found


def _header_blocks(part: Message) -> list[Message]:
    """The blocks of a delivery-status part: Python splits `message/delivery-status`, not the global one."""
    payload = part.get_payload()
    if isinstance(payload, list) and all(isinstance(block, Message) for block in payload):
        return cast(list[Message], payload)
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):  # pragma: no cover - a non-multipart part always decodes to bytes
        return []
    text = raw.replace(b"\r\n", b"\n")
    parser = BytesHeaderParser(policy=policy.default)
    blocks = [stripped for block in re.split(rb"\n\s*\n", text) if (stripped := block.strip())]
    if len(blocks) > MAX_RECIPIENT_BLOCKS + 1:  # + the per-message block
        raise _too_many_blocks(len(blocks) - 1)
    return [parser.parsebytes(block + b"\n") for block in blocks]


def _too_many_blocks(count: int) -> DsnTooLarge:
    return DsnTooLarge(
        "message/delivery-status",
        f"{count} recipient blocks (blank-line-separated); a DSN reports on at most {MAX_RECIPIENT_BLOCKS}",
    )


def _recipient(block: Message, number: int) -> RecipientStatus:
    where = f"delivery-status/recipient[{number}]"
    action = (_header(block, "Action") or "").lower()
    final = _address(_header(block, "Final-Recipient"))
    if not action:
        raise DsnError(f"{where}/Action", f"missing (recipient {final or '?'})")
    # RFC 3464 §2.3.3: an action may be followed by a comment; only the word counts.
    action = action.split()[0].split("(")[0]
    if action not in ACTIONS:
        known = ", ".join(ACTIONS)
        raise DsnError(f"{where}/Action", f"{action!r} is not an RFC 3464 action (one of {known})")
    status = _header(block, "Status")
    status = status.split()[0] if status else None
    if status is not None and not _STATUS_CODE.match(status):
        raise DsnError(f"{where}/Status", f"{status!r} is not an RFC 3463 status code (class.subject.detail)")
    diagnostic_type, diagnostic = _typed(_header(block, "Diagnostic-Code"))
    return RecipientStatus(
        action=action,
        status=status,
        final_recipient=final,
        original_recipient=_address(_header(block, "Original-Recipient")),
        diagnostic_type=diagnostic_type,
        diagnostic_code=diagnostic,
        remote_mta=_address(_header(block, "Remote-MTA")),
        last_attempt_date=_date(_header(block, "Last-Attempt-Date")),
        will_retry_until=_date(_header(block, "Will-Retry-Until")),
    )


def _returned(part: Message) -> ReturnedMessage | None:
    content_type = part.get_content_type()
    headers: Message
    if content_type not in _MESSAGE_PARTS | _HEADER_PARTS:  # headers found in a plain-text bounce
        headers = part
        content_type = "text/plain"
    elif content_type in _MESSAGE_PARTS:
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            headers = payload[0]
        else:  # pragma: no cover - the parser always makes a sub-message of message/rfc822
            return None
    else:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
        headers = HeaderParser(policy=policy.default).parsestr(text)
    return ReturnedMessage(
        part=content_type,
        message_id=_header(headers, "Message-ID"),
        delivery_id=_header(headers, "X-Delivery-Id"),
        invoice_number=_header(headers, "X-Invoice-Number"),
        subject=_header(headers, "Subject"),
        from_=_header(headers, "From"),
        to=_addresses([str(v) for v in headers.get_all("To", [])]),
        return_path=next(iter(_addresses([str(v) for v in headers.get_all("Return-Path", [])])), None),
        date=_header(headers, "Date"),
    )


_STATUS_PART_HEADER = re.compile(rb"(?im)^content-type:\s*message/(?:global-)?delivery-status\b")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_PART_END = re.compile(rb"\n--")


def _refuse_large_status_parts(data: bytes) -> None:
    """Every delivery-status part (also one nested in a returned message) within `MAX_STATUS_PART_BYTES`.

    Found with regular expressions over the bytes (C speed), before the e-mail parser sees them: a part runs
    from the blank line after its Content-Type to the next boundary line.
    """
    for found in _STATUS_PART_HEADER.finditer(data):
        body = _HEADER_END.search(data, found.end())
        if body is None:
            return
        end = _PART_END.search(data, body.end())
        size = (end.start() if end else len(data)) - body.end()
        if size > MAX_STATUS_PART_BYTES:
            raise DsnTooLarge(
                "message/delivery-status",
                f"{size} bytes; a delivery-status part may have at most {MAX_STATUS_PART_BYTES}",
            )


class _MessageBudget:
    """The parser's message factory: makes `EmailMessage`s and refuses past the bound (see the module)."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, policy: Any = policy.default) -> EmailMessage:
        self.made += 1
        if self.made > MAX_RECIPIENT_BLOCKS + MAX_MIME_PARTS:
            raise DsnTooLarge(
                "message",
                f"more than {MAX_RECIPIENT_BLOCKS} recipient blocks (blank-line-separated) and "
                f"{MAX_MIME_PARTS} MIME parts: a DSN reports on at most {MAX_RECIPIENT_BLOCKS} recipients",
            )
        return EmailMessage(policy=policy)


def _message(data: bytes) -> EmailMessage:
    if not data.strip():
        raise FormatError("message", "empty")
    if len(data) > MAX_DSN_BYTES:
        raise DsnTooLarge("message", f"{len(data)} bytes; a DSN may have at most {MAX_DSN_BYTES}")
    lines = data.count(b"\n")
    if lines > MAX_DSN_LINES:
        raise DsnTooLarge("message", f"{lines} lines; a DSN may have at most {MAX_DSN_LINES}")
    _refuse_large_status_parts(data)
    message = BytesParser(_MessageBudget(), policy=policy.default).parsebytes(data)
    if not message.keys() or any(_is_missing_headers(defect) for defect in message.defects):
        raise FormatError("message", "not an e-mail message (no header fields before the body)")
    return message


def _is_missing_headers(defect: MessageDefect) -> bool:
    return type(defect).__name__ in {"MissingHeaderBodySeparatorDefect", "MissingHeaderBodySeparator"}


def _human_text(parts: Sequence[Message]) -> str | None:
    human = next((p for p in parts if p.get_content_type() == "text/plain"), None)
    if human is None:
        return None
    try:
        return str(cast(EmailMessage, human).get_content())[:_LONG_TEXT]
    except (LookupError, ValueError):  # an unknown charset: the text is for people, not needed
        return None


def _envelope(message: Message) -> list[str]:
    envelope: list[str] = []
    for name in ENVELOPE_TO_HEADERS:
        for address in _addresses([str(v) for v in message.get_all(name, [])]):
            if address not in envelope:
                envelope.append(address)
    return envelope


def _references(message: Message) -> list[str]:
    found: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in re.findall(r"<[^<>\s]+>", str(message.get(name, ""))):
            if value not in found:
                found.append(value)
    return found


def _notice(
    message: Message,
    *,
    report_type: str,
    recipients: list[RecipientStatus],
    returned: ReturnedMessage | None,
    per_message: Message | None = None,
    human_text: str | None = None,
    kind: str = DELIVERY_STATUS,
    read_by: str = READ_BY_RFC3464,
    notes: list[str] | None = None,
) -> DeliveryStatusNotification:
    fields = per_message if per_message is not None else EmailMessage(policy=policy.default)
    return DeliveryStatusNotification(
        report_type=report_type,
        message_id=_header(message, "Message-ID"),
        subject=_header(message, "Subject"),
        from_=_header(message, "From"),
        date=_date(_header(message, "Date")),
        envelope_recipients=_envelope(message),
        reporting_mta=_address(_header(fields, "Reporting-MTA")),
        arrival_date=_date(_header(fields, "Arrival-Date")),
        original_envelope_id=_xtext(_header(fields, "Original-Envelope-Id")),
        original_sender=_address(_header(fields, "X-Postfix-Sender")),
        recipients=recipients,
        returned=returned,
        human_text=human_text,
        kind=kind,
        read_by=read_by,
        references=_references(message),
        notes=notes or [],
    )


def _status_part(message: Message) -> tuple[Message, Message] | None:
    """(the delivery-status part, the multipart holding it), anywhere but inside a returned message."""
    for container in bounce_text.notice_parts(message):
        if not container.is_multipart():
            continue
        payload = container.get_payload()
        for part in payload if isinstance(payload, list) else []:
            if isinstance(part, Message) and part.get_content_type() in _STATUS_PARTS:
                return part, container
    return None


def _rfc3464(
    message: Message, status_part: Message, container: Message, report_type: str
) -> DeliveryStatusNotification:
    """The report's per-recipient blocks that have a readable `Action`; `DsnError` when none has."""
    blocks = [block for block in _header_blocks(status_part) if block.keys()]
    if not blocks:
        raise DsnError("message/delivery-status", "empty")
    per_message, recipient_blocks = blocks[0], blocks[1:]
    if per_message.get("Final-Recipient") is not None:  # a report without per-message fields
        per_message, recipient_blocks = EmailMessage(policy=policy.default), blocks
    if len(recipient_blocks) > MAX_RECIPIENT_BLOCKS:
        raise _too_many_blocks(len(recipient_blocks))
    recipients: list[RecipientStatus] = []
    skipped: list[DsnError] = []
    for number, block in enumerate(recipient_blocks, start=1):
        try:
            recipients.append(_recipient(block, number))
        except DsnError as error:
            skipped.append(error)
    if not recipients:
        if skipped:
            raise skipped[0]
        raise DsnError("message/delivery-status", "no per-recipient fields (Final-Recipient, Action, Status)")
    parts = [p for p in container.iter_parts()] if isinstance(container, EmailMessage) else []
    returned_part = bounce_text.returned_part(message)
    return _notice(
        message,
        report_type=report_type or "delivery-status",
        recipients=recipients,
        returned=_returned(returned_part) if returned_part is not None else None,
        per_message=per_message,
        human_text=_human_text(parts),
        notes=[f"{error.where}: {error.reason}; that block is skipped" for error in skipped],
    )


def _feedback_report(message: Message) -> DeliveryStatusNotification:
    """An ARF report (RFC 5965: abuse, a complaint): recorded as what it is, with the message it is about."""
    returned_part = bounce_text.returned_part(message)
    return _notice(
        message,
        report_type="feedback-report",
        recipients=[],
        returned=_returned(returned_part) if returned_part is not None else None,
        kind=FEEDBACK_REPORT,
        read_by=READ_BY_RFC3464,
    )


def _unstructured(message: Message, problem: DsnError) -> DeliveryStatusNotification | None:
    """A bounce without a usable report: failed recipients by `flufl.bounce`, else by the notice's text."""
    returned_part = bounce_text.returned_part(message)
    text = bounce_text.notice_text(message)
    returned_headers = returned_part
    if returned_headers is not None and returned_headers.get_content_type() in _MESSAGE_PARTS:
        payload = returned_headers.get_payload()
        first = payload[0] if isinstance(payload, list) and payload else None
        returned_headers = first if isinstance(first, Message) else None
    elif returned_headers is not None:
        returned_headers = HeaderParser(policy=policy.default).parsestr(
            bounce_text.notice_text(returned_headers) or str(returned_headers.get_payload())
        )
    if returned_headers is None:
        returned_headers = bounce_text.inline_headers(bounce_text.split_notice(text)[1])
    failed, delayed = bounce_text.flufl_failures(message, returned_headers, text)
    read_by = READ_BY_FLUFL
    if not failed and not delayed:
        failed, delayed = bounce_text.text_failures(message, returned_headers, text)
        read_by = READ_BY_TEXT
    if not failed and not delayed:
        return None
    said = bounce_text.split_notice(text)[0].strip()
    diagnostic = _clean(said[:_LONG_TEXT]) if said else None
    recipients = [
        RecipientStatus(action=action, status=None, final_recipient=address, diagnostic_code=diagnostic)
        for action, addresses in ((FAILED, failed), (DELAYED, delayed))
        for address in addresses
    ]
    return _notice(
        message,
        report_type="text",
        recipients=recipients,
        returned=_returned(returned_headers) if returned_headers is not None else None,
        human_text=said[:_LONG_TEXT] or None,
        read_by=read_by,
        notes=[
            f"no usable RFC 3464 report ({problem.where}: {problem.reason}); recipients read by {read_by}"
        ],
    )


def _ses(message: Message, ses: bounce_text.SesNotification) -> DeliveryStatusNotification:
    """An Amazon SES notification: its bounced or delivered recipients; a complaint is a feedback report."""
    returned = ReturnedMessage(part="application/json", message_id=ses.message_id, from_=ses.source)
    if ses.notification_type == "Complaint" or not ses.recipients:
        return _notice(
            message, report_type="ses", recipients=[], returned=returned, kind=FEEDBACK_REPORT, read_by="ses"
        )
    recipients = [
        RecipientStatus(action=action, status=None, final_recipient=address)
        for address, action in ses.recipients
    ]
    return _notice(message, report_type="ses", recipients=recipients, returned=returned, read_by="ses")


def parse(data: bytes) -> DeliveryStatusNotification:
    """Read a DSN or another bounce; `FormatError` when `data` is no e-mail at all, `DsnError` when it is
    an e-mail that is neither a bounce nor an auto-reply / feedback report.
    """
    message = _message(data)
    content_type = message.get_content_type()
    report_type = (str(message.get_param("report-type", "", header="content-type")) or "").lower()
    if content_type == "multipart/report" and report_type == "feedback-report":
        return _feedback_report(message)
    found = _status_part(message)
    problem: DsnError
    if found is not None:
        try:
            return _rfc3464(message, found[0], found[1], report_type)
        except DsnTooLarge:
            raise
        except DsnError as error:
            if error.where != "message/delivery-status":  # blocks there, but unreadable: say so
                raise
            problem = error  # an empty report: the text may name the failure
    elif content_type != "multipart/report":
        problem = DsnError(
            "Content-Type", f"{content_type}, not multipart/report: not a delivery status notification"
        )
    elif report_type not in REPORT_TYPES:
        problem = DsnError(
            "Content-Type",
            f"report-type={report_type or '(none)'}, not delivery-status: a report, but not about delivery",
        )
    else:
        problem = DsnError("message/delivery-status", "missing: the report has no delivery-status part")
    if bounce_text.is_auto_reply(message):
        return _notice(message, report_type="auto-reply", recipients=[], returned=None, kind=AUTO_REPLY)
    ses = bounce_text.ses_notification(bounce_text.notice_text(message))
    if ses is not None:
        return _ses(message, ses)
    unstructured = _unstructured(message, problem)
    if unstructured is None:
        raise problem
    return unstructured


def sniff(data: bytes) -> bool:
    """Cheap check on the top-level headers only: an RFC 3464 or ARF report, or an e-mail whose headers
    say bounce (a mail-system sender, `X-Failed-Recipients`, a bounce subject) or auto-reply.
    """
    head = data[:65536]
    end = re.search(rb"\r?\n\r?\n", head)
    if end is None or b":" not in head[: end.start()]:
        return False
    headers = BytesHeaderParser(policy=policy.default).parsebytes(head[: end.start() + 1])
    if not headers.keys() or any(_is_missing_headers(defect) for defect in headers.defects):
        return False
    if headers.get_content_type() == "multipart/report":
        report_type = str(headers.get_param("report-type", "", header="content-type") or "").lower()
        if report_type in REPORT_TYPES | {FEEDBACK_REPORT}:
            return True
    if headers.get("From") is None:
        return False
    return bounce_text.looks_like_bounce(headers) or bounce_text.is_auto_reply(headers)


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a DSN (for `gateway inspect`)."""
    dsn = parse(data)
    return {
        "format": FORMAT_NAME,
        **dsn.as_dict(),
        "meaning": {action: ACTIONS[action] for action in dict.fromkeys(dsn.actions)},
    }
