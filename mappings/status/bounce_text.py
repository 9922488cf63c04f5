"""What a bounce that is not an RFC 3464 report says: failed recipients, the returned headers, auto-replies.

Half the bounces mail systems send are not `multipart/report; report-type=delivery-status` (measured over
sisimai's set of real bounces, issue 17): qmail, Exim, older Sendmail, Gmail, Yahoo, Domino, Amazon SES and
others write a plain-text notice, a DSN inside `multipart/mixed`, or an empty delivery-status part beside a
text that names the failure. This module reads those, for `mappings.status.dsn.parse`, which tries the RFC
3464 report first and comes here only when there is no usable one:

1. `flufl.bounce` (GNU Mailman's bounce detectors, one per mail system) gives the failed recipients;
2. failing that, the notice's own text: inline `Final-Recipient:` fields, else addresses the text names
   that were recipients of the returned message (or, with no returned recipients, that are not the
   sender's) — read only from a message that looks like a bounce (`looks_like_bounce`), so an ordinary
   e-mail that names addresses is never taken for one.

Auto-replies (out-of-office, vacation) and bounces share headers — Exim and many MTAs mark their bounces
`Auto-Submitted: auto-replied` — so `is_auto_reply` says yes only for a message that does not look like a
bounce. Pure functions on an `email.message.Message`; no database.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from flufl.bounce import all_failures

#: Parts that carry the returned message (or its headers); a walk for the notice's own parts stops there.
RETURNED_PARTS = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
#: Local parts of the addresses mail systems send bounces from (never a failed recipient).
_SYSTEM_LOCALS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon", "root"})
#: Subjects of bounces in the wild (English, German, French, Spanish, Italian, Dutch, Scandinavian).
_BOUNCE_SUBJECT = re.compile(
    r"(?i)(undeliver|undelivered|delivery (status|failure|notification|has failed)|"
    r"failure notice|mail delivery (failed|failure|system)|returned mail|returned to sender|"
    r"could not be delivered|delivery failed|nondeliver|non-deliver|mail system error|"
    r"message delivery has failed|failure delivery|delivery problem|unzustellbar|nicht zustellbar|"
    r"non remis|non distribuable|no entregado|non recapitato|onbestelbaar|ikke levert|"
    r"kunde inte levereras|error sending your mail|message you sent blocked)"
)
#: Subjects of auto-replies (out-of-office, vacation) in several languages.
_AUTO_REPLY_SUBJECT = re.compile(
    r"(?i)^\s*(auto(matic|matische|matisk|matiskt)?[ _:-]*(reply|response|antwort|svar|answer)|"
    r"autoreply|auto-reply|out of (the )?office|abwesend|abwesenheit|r[ée]ponse automatique|absent|"
    r"absence|risposta automatica|respuesta autom[aá]tica|automatisch antwoord|afwezig|fravær|"
    r"frånvaro|poissa|vacation|on vacation|away from|自動応答|自動返信|自动回复)"
)
_AUTO_SUBMITTED_REPLY = re.compile(r"(?i)^\s*auto-replied\b")
_PRECEDENCE_REPLY = re.compile(r"(?i)^\s*auto[_-]?reply\b")
#: Lines that start the returned message inside a plain-text bounce.
_RETURNED_MARKER = re.compile(
    r"(?im)^.*(copy of (the|your) message|message headers follow|below this line|headers? of the original|"
    r"unsent message below|original message follows|original mail as follows|returned message|"
    r"^[ \t]*-{2,}[ \t]*original message|^[ \t]*original message[ \t]*:?[ \t]*$).*$"
)
_HEADER_LINE = re.compile(r"^[ \t]*(Return-Path|Received|Message-I[Dd]|Date|From|To|Cc|Subject|X-[\w-]+):")
_FINAL_RECIPIENT = re.compile(
    r"(?im)^\s*(?:final|original)-recipient:\s*[\w.-]+\s*;\s*<?([^\s<>;]+@[^\s<>;]+)>?"
)
_INLINE_ACTION = re.compile(r"(?im)^\s*action:\s*(failed|delayed)\b")
_FAILURE_WORDS = re.compile(
    r"(?i)(fail|error|undeliver|could not|couldn't|unable|not be delivered|rejected|unknown|permanent|"
    r"does not exist|no such|denied|blocked|giving up|given up|wasn't able|not deliver)"
)
_LONG_TEXT = 200_000
_MESSAGE_ID_IN_TEXT = re.compile(r"(?im)^[ \t]*(?:message-id|in-reply-to|references):[ \t]*<([^<>\s]+)>")


def addresses_in(values: list[str]) -> list[str]:
    """Addresses named by header values (`Name <a@b>`, lists), without repeats."""
    found: list[str] = []
    for _, address in getaddresses(values):
        if address and "@" in address and address not in found:
            found.append(address)
    return found


def _header_addresses(message: Message, *names: str) -> list[str]:
    return addresses_in([str(value) for name in names for value in message.get_all(name, [])])


def _folded(address: str) -> str:
    return address.strip().strip("<>").casefold()


def _is_system(address: str) -> bool:
    return _folded(address).partition("@")[0] in _SYSTEM_LOCALS


def notice_parts(message: Message) -> Iterator[Message]:
    """The notice's own parts, depth first, not descending into a returned message."""
    yield message
    if message.is_multipart() and message.get_content_type() not in RETURNED_PARTS:
        payload = message.get_payload()
        if isinstance(payload, list):
            for part in payload:
                if isinstance(part, Message):
                    yield from notice_parts(part)


def returned_part(message: Message) -> Message | None:
    """The first part holding the returned message or its headers, outside any returned message."""
    for part in notice_parts(message):
        if part is not message and part.get_content_type() in RETURNED_PARTS:
            return part
    return None


def _text_of(part: Message) -> str:
    if part.get_content_maintype() == "multipart":  # a boundary never found: the body is one text
        payload = part.get_payload()
        return payload[:_LONG_TEXT] if isinstance(payload, str) else ""
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, "replace")[:_LONG_TEXT]
    except LookupError:  # an unknown charset: read what ASCII there is
        return raw.decode("ascii", "replace")[:_LONG_TEXT]


def notice_text(message: Message) -> str:
    """The text of the notice's `text/*` parts (not of the returned message), joined."""
    texts = [
        _text_of(part)
        for part in notice_parts(message)
        if (
            part.get_content_maintype() == "text"
            or (part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), str))
        )
        and part.get_content_type() not in RETURNED_PARTS
    ]
    return "\n".join(text for text in texts if text)


def split_notice(text: str) -> tuple[str, str]:
    """(what the notice says, the returned message as text): split at the first returned-message marker."""
    marker = _RETURNED_MARKER.search(text)
    if marker is not None:
        return text[: marker.start()], text[marker.end() :]
    return text, ""


def inline_headers(text: str) -> Message | None:
    """The returned message's headers written into a plain-text bounce (indented or not), if any."""
    lines = text.replace("\r\n", "\n").split("\n")
    for start, line in enumerate(lines):
        if (
            _HEADER_LINE.match(line)
            and start + 1 < len(lines)
            and (_HEADER_LINE.match(lines[start + 1]) or lines[start + 1][:1] in (" ", "\t"))
        ):
            block: list[str] = []
            for following in lines[start:]:
                if not following.strip():
                    break
                block.append(following)
            indent = min(len(b) - len(b.lstrip()) for b in block if _HEADER_LINE.match(b))
            dedented = [b[indent:] if b[:indent].strip() == "" else b for b in block]
            return HeaderParser(policy=policy.default).parsestr("\n".join(dedented) + "\n\n")
    return None


def looks_like_bounce(message: Message) -> bool:
    """Sent by a mail system about a delivery: a system sender, `X-Failed-Recipients`, or a bounce subject."""
    if message.get("X-Failed-Recipients"):
        return True
    senders = _header_addresses(message, "From", "Sender")
    if any(_is_system(sender) for sender in senders) or str(message.get("From", "")).strip().endswith("<>"):
        return True
    return bool(_BOUNCE_SUBJECT.search(str(message.get("Subject", ""))))


def is_auto_reply(message: Message) -> bool:
    """An RFC 3834 auto-reply, out-of-office or vacation notice (and not a bounce marked auto-replied)."""
    if looks_like_bounce(message):
        return False
    if _AUTO_SUBMITTED_REPLY.match(str(message.get("Auto-Submitted", ""))):
        return True
    if any(message.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse", "X-Vacation")):
        return True
    if _PRECEDENCE_REPLY.match(str(message.get("Precedence", ""))):
        return True
    if str(message.get("X-Apple-Action", "")).strip().upper() == "VACATION":
        return True
    return bool(_AUTO_REPLY_SUBJECT.match(str(message.get("Subject", ""))))


def _not_recipients(message: Message, returned: Message | None, text: str = "") -> set[str]:
    """Addresses that are never a failed recipient: the notice's sender and addressee, the returned sender,
    and message ids (`<local@host>` looks like an address) named anywhere in the notice.
    """
    excluded = {_folded(a) for a in _header_addresses(message, "From", "To", "Delivered-To", "Return-Path")}
    if returned is not None:
        excluded |= {_folded(a) for a in _header_addresses(returned, "From", "Return-Path", "Sender")}
    for holder in (message, returned):
        if holder is not None:
            for name in ("Message-ID", "In-Reply-To", "References"):
                excluded |= {_folded(m) for m in re.findall(r"<([^<>\s]+)>", str(holder.get(name, "")))}
    excluded |= {_folded(m) for m in _MESSAGE_ID_IN_TEXT.findall(text)}
    return excluded


def _usable(candidates: list[str], excluded: set[str]) -> list[str]:
    found: list[str] = []
    for candidate in candidates:
        match = _ADDRESS.search(candidate)
        if match is None:
            continue
        address = match.group(0).rstrip(".")
        if _folded(address) in excluded or _is_system(address):
            continue
        if _folded(address) not in (_folded(f) for f in found):
            found.append(address)
    return found


def flufl_failures(message: Message, returned: Message | None, text: str = "") -> tuple[list[str], list[str]]:
    """(permanent, temporary) failed recipients by `flufl.bounce`; ([], []) when it finds none or fails.

    Only for a message that looks like a bounce: the detectors are heuristics made for a bounce mailbox,
    and on a delivery report they name an address from the returned headers as failed.
    """
    if not looks_like_bounce(message):
        return [], []
    logger = logging.getLogger("flufl.bounce")
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector tripping on odd input: this reader then says nothing
        logger.debug("flufl.bounce could not read the message", exc_info=True)
        return [], []
    excluded = _not_recipients(message, returned, text)

    def text_of(values: frozenset[bytes]) -> list[str]:
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]

    failed = _usable(sorted(text_of(permanent)), excluded)
    delayed = [a for a in _usable(sorted(text_of(temporary)), excluded) if a not in failed]
    return failed, delayed


def text_failures(message: Message, returned: Message | None, text: str) -> tuple[list[str], list[str]]:
    """(failed, delayed) recipients the notice's text names; only for a message that looks like a bounce."""
    if not looks_like_bounce(message):
        return [], []
    said, _ = split_notice(text)
    excluded = _not_recipients(message, returned, text)
    inline = _usable(_FINAL_RECIPIENT.findall(text), excluded)
    if inline:
        action = _INLINE_ACTION.search(text)
        if action is not None and action.group(1).lower() == "delayed":
            return [], inline
        return inline, []
    if not _FAILURE_WORDS.search(said):
        return [], []
    named = _usable(_ADDRESS.findall(said), excluded)
    original = _usable(_header_addresses(returned, "To", "Cc"), excluded) if returned is not None else []
    if original:
        ours = {_folded(a) for a in original}
        both = [a for a in named if _folded(a) in ours]
        if both:
            return both, []
        if not named and len(original) == 1:  # the notice names no one: the one it was sent to
            return original, []
    return named, []


@dataclass(frozen=True)
class SesNotification:
    """An Amazon SES notification (JSON, by SNS or e-mail): `Bounce`, `Delivery` or `Complaint`."""

    notification_type: str
    #: (address, "failed" | "delayed" | "delivered")
    recipients: list[tuple[str, str]]
    message_id: str | None
    source: str | None


def ses_notification(text: str) -> SesNotification | None:
    """The SES notification a body holds (also wrapped in an SNS envelope's `Message`), or None."""
    body = text.strip()
    if not body.startswith("{") or "notificationType" not in body[:_LONG_TEXT]:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(body)  # SNS by e-mail appends a footer
        if isinstance(data, dict) and isinstance(data.get("Message"), str):
            data = json.loads(data["Message"])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "")
    mail = data.get("mail") if isinstance(data.get("mail"), dict) else {}
    recipients: list[tuple[str, str]] = []
    if kind == "Bounce" and isinstance(data.get("bounce"), dict):
        bounce = data["bounce"]
        action = "delayed" if str(bounce.get("bounceType")) == "Transient" else "failed"
        for entry in bounce.get("bouncedRecipients") or []:
            if isinstance(entry, dict) and isinstance(entry.get("emailAddress"), str):
                recipients.append((entry["emailAddress"], action))
    elif kind == "Delivery" and isinstance(data.get("delivery"), dict):
        for address in data["delivery"].get("recipients") or []:
            if isinstance(address, str):
                recipients.append((address, "delivered"))
    elif kind != "Complaint":
        return None
    return SesNotification(
        notification_type=kind,
        recipients=recipients,
        message_id=str(mail["messageId"]) if isinstance(mail, dict) and mail.get("messageId") else None,
        source=str(mail["source"]) if isinstance(mail, dict) and mail.get("source") else None,
    )
