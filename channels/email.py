"""The e-mail channel: the invoice as a PDF (and the EHF XML beside it) to the receiver's mailbox over SMTP.

One message per delivery attempt, one SMTP connection per message (`aiosmtplib`, run with `asyncio.run`
because the worker is synchronous):

- the envelope sender is VERP-tagged, `bounces+<delivery id>@<bounce_domain>`, so a bounce names its
  delivery even when it carries nothing else of the message;
- when the server advertises DSN (RFC 3461) the MAIL FROM asks `RET=HDRS ENVID=<delivery id>-<attempt>`
  and the RCPT TO `NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;<address>`;
- the `Message-ID` is `<delivery id>-<attempt>@<bounce_domain>`: the same for every try of one attempt, so
  a try repeated after a crash (or after a lost `250` reply) is recognisably the same message.

Outcomes. An accepted message is `Sent`, never `Delivered`: the relay took it, the receiver's mailbox may
still refuse it later (that comes back as a DSN, see `mappings/dsn.py`). A 5xx reply at any stage is a
deviation with the code and the server's text; a 4xx, a refused or timed-out connection and a TLS failure
are retries; a failed login (535) is a deviation an operator must fix (credentials). The password is never
in a reason or a log line: the base class masks it, and its AUTH PLAIN / LOGIN base64 forms too.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import datetime as dt
import email.utils
import html
import logging
import socket
import ssl
import string
from collections.abc import Coroutine
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import aiosmtplib
from email_validator import EmailNotValidError, validate_email
from pydantic import Field, SecretStr, field_validator, model_validator

from channels.base import (
    Channel,
    ChannelCapabilities,
    ChannelConfig,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
    Sent,
)
from channels.context import DocumentKind
from schemas.canonical import DocumentType, Invoice, currency_minor_units
from schemas.followup import ReminderDocument
from transports.files import safe_name

log = logging.getLogger("gateway.channels.email")

#: Placeholders the subject and body templates may use.
TEMPLATE_FIELDS = frozenset(
    {
        "number",
        "seller",
        "buyer",
        "amount",
        "currency",
        "issue_date",
        "due_date",
        "kid",
        "account",
        "buyer_reference",
        "order_reference",
        # the customer portal (issue 21): the bare link, and the line saying it in the tenant's language
        "portal_link",
        "portal_link_line",
    }
)

#: The line an e-mail says the portal link with (`{portal_link_line}`), by the PDF template's language.
PORTAL_LINK_LINES = {
    "nb": "Se fakturaen på nett og betal: {link}",
    "en": "View the invoice online and pay: {link}",
}
PORTAL_LINK_LINES_CREDIT = {
    "nb": "Se kreditnotaen på nett: {link}",
    "en": "View the credit note online: {link}",
}
PORTAL_LINK_LINES_NOTICE = {
    "nb": "Se og betal på nett: {link}",
    "en": "View and pay online: {link}",
}

#: What a follow-up notice's subject and body may use besides `TEMPLATE_FIELDS` (those then describe the
#: first reminded invoice): what the notice is, every invoice number on it, its deadline and what to pay.
REMINDER_TEMPLATE_FIELDS = TEMPLATE_FIELDS | frozenset(
    {"notice", "notice_id", "numbers", "deadline", "total", "fee", "interest", "notice_kid"}
)

#: The notice as its subject names it (inkassoforskriften's words; a nudge is a friendly reminder).
NOTICE_TITLES = {
    "nudge": "Betalingspåminnelse",
    "reminder": "Purring",
    "collection_warning": "Inkassovarsel",
    "payment_demand": "Betalingsoppfordring",
    "statement": "Kontoutskrift",
}

DEFAULT_SUBJECT_REMINDER = "{notice} – faktura {numbers} fra {seller}"

DEFAULT_BODY_REMINDER = """\
Hei,

Vi kan ikke se å ha mottatt betaling for faktura {numbers} fra {seller}.

Å betale: {total} {currency}
Herav gebyr: {fee} {currency}
Herav renter: {interest} {currency}
Betalingsfrist: {deadline}
KID: {notice_kid}
Kontonummer: {account}

{notice} ligger vedlagt som PDF. Har du nylig betalt, kan du se bort fra denne henvendelsen.
{portal_link_line}

Med vennlig hilsen
{seller}
"""

DEFAULT_BODY_INVOICE = """\
Hei,

Vedlagt er faktura {number} fra {seller}.

Beløp å betale: {amount} {currency}
Forfallsdato: {due_date}
KID: {kid}
Kontonummer: {account}
Deres referanse: {buyer_reference}

Fakturaen ligger vedlagt som PDF. Er EHF-filen (XML) vedlagt, kan den leses rett inn i regnskapssystemet.
{portal_link_line}

Med vennlig hilsen
{seller}
"""

DEFAULT_BODY_CREDIT_NOTE = """\
Hei,

Vedlagt er kreditnota {number} fra {seller}.

Beløp: {amount} {currency}
Deres referanse: {buyer_reference}

Kreditnotaen ligger vedlagt som PDF. Er EHF-filen (XML) vedlagt, kan den leses rett inn i regnskapssystemet.
{portal_link_line}

Med vennlig hilsen
{seller}
"""


def mail_address(value: str) -> str:
    """`value` as a normalised mailbox address; ValueError (EmailNotValidError) when it is not one.

    Syntax only (no DNS). `.test` domains pass (RFC 6761: the test rigs use them); the other special-use
    names (`.local`, `.invalid`, `localhost`, …) do not.
    """
    return validate_email(value, check_deliverability=False, test_environment=True).normalized


def template_fields(template: str) -> set[str]:
    """The placeholder names in a `str.format` template (raises ValueError on a malformed one)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def check_template(template: str, known: frozenset[str] = TEMPLATE_FIELDS) -> str:
    """`template` if it only uses known placeholders, plainly (no indexing, attributes or conversions)."""
    try:
        names = template_fields(template)
    except ValueError as error:
        raise ValueError(f"malformed template: {error}") from error
    unknown = sorted(name for name in names if name not in known)
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)};"
            f" known: {', '.join(sorted(known))}"
        )
    return template


def fill_template(template: str, values: dict[str, str]) -> str:
    """Fill `template`; a line whose placeholders are all empty (no KID, no due date…) is left out."""
    lines: list[str] = []
    for line in template.splitlines():
        names = template_fields(line)
        if names and not any(values.get(name) for name in names):
            continue
        lines.append(line.format_map(values))
    return "\n".join(lines).strip() + "\n"


def portal_values(delivery: OutboundDelivery, lines: dict[str, str]) -> dict[str, str]:
    """`{portal_link}` and `{portal_link_line}` (in the language of the tenant's PDF template): empty when
    the delivery carries no portal link, so the default bodies' link line is left out."""
    link = delivery.portal_link or ""
    template = delivery.tenant_settings.pdf_template if delivery.tenant_settings is not None else None
    language = template.language if template is not None else "nb"
    return {"portal_link": link, "portal_link_line": lines[language].format(link=link) if link else ""}


def html_line(line: str, link: str | None) -> str:
    """One line of the body as HTML: escaped, the portal link (if the line has it) a proper `<a>`."""
    escaped = html.escape(line)
    if not link or link not in line:
        return escaped
    target = html.escape(link)
    return escaped.replace(target, f'<a href="{target}">{target}</a>')


def format_amount(value: Decimal, currency: str) -> str:
    """Norwegian style: `12 345,50` (the currency's minor units)."""
    places = currency_minor_units(currency)
    text = f"{value:,.{places}f}"
    return text.replace(",", " ").replace(".", ",")


def xtext(value: str) -> str:
    """RFC 3461 xtext: `+`, `=`, controls, space and non-ASCII as `+XX` (per UTF-8 byte)."""
    out: list[str] = []
    for byte in value.encode():
        if 33 <= byte <= 126 and byte not in (ord("+"), ord("=")):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)


class EmailConfig(ChannelConfig):
    host: str = Field("localhost", description="SMTP server (the organisation's relay or submission server)")
    port: int | None = Field(None, ge=1, le=65535, description="unset → 25 / 587 (starttls) / 465 (tls)")
    security: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="none: plain SMTP; starttls: upgrade required; tls: implicit TLS (SMTPS)"
    )
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = Field(
        None, description="CA bundle (PEM) to verify the server with; unset → system"
    )
    verify: bool = Field(True, description="verify the server certificate and host name")
    local_hostname: str | None = Field(None, description="the name given in EHLO; unset → this host's FQDN")
    from_address: str = Field(description="the From address, e.g. faktura@acme.no")
    from_name: str | None = Field(None, description="the From display name, e.g. 'Faktura ACME AS'")
    reply_to: str | None = None
    bounce_domain: str | None = Field(
        None,
        description="domain of the envelope sender bounces+<delivery id>@… and of Message-IDs; "
        "unset → the From address's domain",
    )
    bounce_local_part: str = Field("bounces", pattern=r"^[A-Za-z0-9._-]{1,40}$")
    subject_invoice: str = "Faktura {number} fra {seller}"
    subject_credit_note: str = "Kreditnota {number} fra {seller}"
    body_invoice: str = DEFAULT_BODY_INVOICE
    body_credit_note: str = DEFAULT_BODY_CREDIT_NOTE
    subject_reminder: str = DEFAULT_SUBJECT_REMINDER
    body_reminder: str = DEFAULT_BODY_REMINDER
    html: bool = Field(True, description="add a simple HTML alternative to the plain-text body")
    date_format: str = Field("%d.%m.%Y", description="strftime format of issue_date / due_date")
    attach_ehf: bool = Field(True, description="attach the EHF / UBL XML beside the PDF")
    dsn: bool = Field(True, description="ask for delivery status notifications where the server offers DSN")

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return mail_address(value)
        except EmailNotValidError as error:
            raise ValueError(str(error)) from error

    @field_validator("subject_invoice", "subject_credit_note", "body_invoice", "body_credit_note")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_template(value)

    @field_validator("subject_reminder", "body_reminder")
    @classmethod
    def _reminder_template(cls, value: str) -> str:
        return check_template(value, REMINDER_TEMPLATE_FIELDS)

    @field_validator("bounce_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            mail_address(f"bounces@{value}")
        except EmailNotValidError as error:
            raise ValueError(f"not a mail domain: {error}") from error
        return value.lower()

    @model_validator(mode="after")
    def _consistent(self) -> EmailConfig:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        if self.username is not None and self.security == "none":
            raise ValueError("security 'none' would send the password in clear: use 'starttls' or 'tls'")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"none": 25, "starttls": 587, "tls": 465}[self.security]

    @property
    def effective_bounce_domain(self) -> str:
        return self.bounce_domain or self.from_address.rpartition("@")[2].lower()


class SmtpRefused(Exception):
    """A reply the channel reads as an outcome (kept apart so the stage is named in the reason)."""


T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, also when called from a thread that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class EmailChannel(Channel[EmailConfig]):
    """Delivers the invoice by e-mail: PDF (and EHF XML) attachments, VERP sender, DSN where offered."""

    name: ClassVar[str] = "email"
    config_model: ClassVar[type[ChannelConfig]] = EmailConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("pdf", "ehf", "canonical-json", "factur-x", "cii"),
        default_format="pdf",
        needs_address=True,
        confirms_delivery=False,
        description="e-mail over SMTP: the PDF (or a Factur-X PDF with the CII inside) and the EHF XML as "
        "attachments; bounces come back as DSNs",
        attachment_formats=("ehf",),
        documents=(DocumentKind.INVOICE, DocumentKind.REMINDER),
        extra={"dsn": True, "verp": True},
    )

    def __init__(self, config: EmailConfig) -> None:
        super().__init__(config)
        self._tls: ssl.SSLContext | None = None
        self._local_hostname = config.local_hostname
        if config.password is not None and config.username is not None:
            # The password as it goes over the wire in AUTH PLAIN / LOGIN: masked like the password itself.
            password = config.password.get_secret_value()
            if password:
                plain = f"\0{config.username}\0{password}".encode()
                self._secrets.extend(
                    [base64.b64encode(plain).decode(), base64.b64encode(password.encode()).decode()]
                )

    def attachment_formats(self) -> tuple[str, ...]:
        return ("ehf",) if self.config.attach_ehf else ()

    # -- the message -----------------------------------------------------------------------------

    def envelope_sender(self, delivery: OutboundDelivery) -> str:
        tag = safe_name(delivery.delivery_id)
        return f"{self.config.bounce_local_part}+{tag}@{self.config.effective_bounce_domain}"

    def message_id(self, delivery: OutboundDelivery) -> str:
        return f"<{safe_name(delivery.idempotency_key)}@{self.config.effective_bounce_domain}>"

    def template_values(self, invoice: Invoice) -> dict[str, str]:
        def day(value: dt.date | None) -> str:
            return value.strftime(self.config.date_format) if value else ""

        account = next((m.account.id for m in invoice.payment_means if m.account), None)
        return {
            "number": invoice.number,
            "seller": invoice.seller.trading_name or invoice.seller.name,
            "buyer": invoice.buyer.name,
            "amount": format_amount(invoice.totals.payable, invoice.currency),
            "currency": invoice.currency,
            "issue_date": day(invoice.issue_date),
            "due_date": day(invoice.due_date),
            "kid": invoice.kid or "",
            "account": account or "",
            "buyer_reference": invoice.buyer_reference or "",
            "order_reference": invoice.order_reference or "",
        }

    def notice_values(self, notice: ReminderDocument, invoice: Invoice) -> dict[str, str]:
        """`template_values` of the first reminded invoice, and what the notice itself says."""
        currency = notice.currency
        return {
            **self.template_values(invoice),
            "notice": NOTICE_TITLES.get(str(notice.kind), "Purring"),
            "notice_id": notice.notice_id,
            "numbers": ", ".join(item.number for item in notice.invoices),
            "deadline": notice.deadline.strftime(self.config.date_format),
            "total": format_amount(notice.total, currency),
            "fee": format_amount(notice.fee, currency) if notice.fee else "",
            "interest": format_amount(notice.interest, currency) if notice.interest else "",
            "notice_kid": notice.kid or "",
            "account": notice.payee_account or self.template_values(invoice)["account"],
            "currency": currency,
        }

    def build_message(self, delivery: OutboundDelivery, recipient: str) -> EmailMessage:
        """The whole message, as it will leave (no `Bcc`, no envelope). A follow-up notice (`notice`)
        says what it is in its subject and body, so the customer does not take it for the invoice again."""
        config = self.config
        invoice = delivery.the_invoice()
        notice = delivery.notice if delivery.document_kind is DocumentKind.REMINDER else None
        credit = invoice.document_type is DocumentType.CREDIT_NOTE
        if notice is not None:
            values = self.notice_values(notice, invoice)
            body = config.body_reminder
            values.update(portal_values(delivery, PORTAL_LINK_LINES_NOTICE))
            subject = fill_template(config.subject_reminder, values)
        else:
            values = self.template_values(invoice)
            body = config.body_credit_note if credit else config.body_invoice
            values.update(portal_values(delivery, PORTAL_LINK_LINES_CREDIT if credit else PORTAL_LINK_LINES))
            subject = fill_template(config.subject_credit_note if credit else config.subject_invoice, values)
        text = fill_template(body, values)
        if values["portal_link"] and not template_fields(body) & {"portal_link", "portal_link_line"}:
            text += "\n" + values["portal_link_line"] + "\n"  # a tenant's own body that does not say it

        message = EmailMessage()
        local, _, domain = config.from_address.rpartition("@")
        message["From"] = Address(display_name=config.from_name or "", username=local, domain=domain)
        message["To"] = recipient
        if config.reply_to:
            message["Reply-To"] = config.reply_to
        message["Subject"] = " ".join(subject.split())
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))
        message["Message-ID"] = self.message_id(delivery)
        message["X-Invoice-Number"] = invoice.number
        if notice is not None:
            message["X-Reminder-Notice"] = notice.notice_id
        message["X-Delivery-Id"] = delivery.delivery_id
        message["X-Delivery-Attempt"] = str(delivery.attempt)
        # Quoted-printable keeps the body 7-bit clean whether or not the server offers 8BITMIME.
        message.set_content(text, charset="utf-8", cte="quoted-printable")
        if config.html:
            paragraphs = "".join(
                "<p>"
                + "<br>\n".join(html_line(line, delivery.portal_link) for line in block.splitlines())
                + "</p>\n"
                for block in text.strip().split("\n\n")
            )
            page = (
                '<!DOCTYPE html>\n<html lang="no"><head><meta charset="utf-8"></head>\n'
                f"<body>\n{paragraphs}</body></html>\n"
            )
            message.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
        stem = safe_name(invoice.number if notice is None else f"{values['notice']}-{invoice.number}")
        for document in (delivery.document, *delivery.attachments):
            maintype, _, subtype = document.media_type.partition("/")
            message.add_attachment(
                document.content,
                maintype=maintype or "application",
                subtype=(subtype or "octet-stream").split(";")[0].strip(),
                filename=f"{stem}.{document.extension}",
            )
        return message

    # -- sending ---------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context(
                cafile=str(self.config.ca_file) if self.config.ca_file else None
            )
            if not self.config.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._tls = context
        return self._tls

    def _ehlo_name(self) -> str:
        if self._local_hostname is None:
            self._local_hostname = socket.getfqdn() or "localhost"
        return self._local_hostname

    async def _transmit(
        self, message: EmailMessage, sender: str, recipient: str, envid: str
    ) -> tuple[str, bool]:
        """Send one message on a fresh connection; the server's reply to DATA and whether DSN was asked."""
        config = self.config
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.effective_port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=self._tls_context() if config.security != "none" else None,
            timeout=config.timeout_seconds,
            local_hostname=self._ehlo_name(),
        )
        transport: asyncio.BaseTransport | None = None
        try:
            async with asyncio.timeout(config.timeout_seconds):
                await smtp.connect()
                transport = smtp.transport
                if config.username is not None:
                    password = config.password.get_secret_value() if config.password else ""
                    await smtp.login(config.username, password)
                mail_options: list[str] = []
                rcpt_options: list[str] = []
                if smtp.is_ehlo_or_helo_needed:
                    # supports_extension() only knows what EHLO answered; connect() does not send EHLO
                    try:
                        await smtp.ehlo()
                    except aiosmtplib.SMTPHeloError:
                        await smtp.helo()
                dsn = config.dsn and smtp.supports_extension("dsn")
                if dsn:
                    mail_options = ["RET=HDRS", f"ENVID={xtext(envid)}"]
                    rcpt_options = ["NOTIFY=SUCCESS,FAILURE,DELAY", f"ORCPT=rfc822;{xtext(recipient)}"]
                _, reply = await smtp.send_message(
                    message,
                    sender=sender,
                    recipients=[recipient],
                    mail_options=mail_options,
                    rcpt_options=rcpt_options,
                )
        finally:
            transport = smtp.transport or transport
            if smtp.is_connected:
                # The message is in (or not) whatever QUIT answers; a slow or broken QUIT changes nothing.
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await asyncio.wait_for(smtp.quit(), timeout=min(5.0, config.timeout_seconds))
            smtp.close()
            if isinstance(transport, asyncio.Transport):
                # Nothing is owed after QUIT: drop the socket now rather than wait for the TLS close_notify
                # exchange, which would outlive this event loop (and leave the socket open behind it).
                transport.abort()
                await asyncio.sleep(0)
        return reply, dsn

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        address = (delivery.address or "").strip()
        try:
            recipient = mail_address(address)
        except EmailNotValidError as error:
            return Failed(f"receiver address {address!r} is not an e-mail address: {error}", deviation=True)
        sender = self.envelope_sender(delivery)
        try:
            message = self.build_message(delivery, recipient)
        except ValueError as error:  # e.g. a line break in a header value (invoice number, from_name)
            return Failed(f"cannot build the e-mail: {error}", deviation=True)
        where = f"{self.config.host}:{self.config.effective_port}"
        try:
            reply, dsn = run_coroutine(self._transmit(message, sender, recipient, delivery.idempotency_key))
        except Exception as error:
            result = self.classify(error, where)
            log.warning("email: %s to %s: %s", delivery.delivery_id, recipient, self.mask(str(result)))
            return result
        message_id = str(message["Message-ID"])
        log.info(
            "email: %s accepted by %s for %s as %s%s",
            delivery.delivery_id,
            where,
            recipient,
            message_id,
            "" if dsn else " (no DSN: the server does not offer it)",
        )
        detail = f"accepted by {where}: {reply.strip() or 'OK'}"
        if self.config.dsn and not dsn:
            detail += " (server offers no DSN; only bounces will report)"
        return Sent(message_id=message_id, detail=detail)

    def classify(self, error: BaseException, where: str) -> DeliveryResult:
        """What an exception from the SMTP conversation means for the delivery."""
        if isinstance(error, aiosmtplib.SMTPAuthenticationError):
            text = f"{error.code} {error.message}".strip()
            if 400 <= error.code < 500:
                return Retry(f"{where} cannot authenticate now: {text}")
            return Failed(
                f"{where} refused the login for {self.config.username!r} ({text}):"
                " check the email channel's username and password",
                deviation=True,
            )
        if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
            refusals = error.recipients or []
            codes = [refusal.code for refusal in refusals]
            text = "; ".join(f"{r.code} {r.message}".strip() for r in refusals) or str(error)
            if codes and all(400 <= code < 500 for code in codes):
                return Retry(f"{where} deferred the recipient at RCPT TO: {text}")
            return Failed(f"{where} refused the recipient at RCPT TO: {text}", deviation=True)
        if isinstance(error, aiosmtplib.SMTPResponseException):
            stage = {
                aiosmtplib.SMTPSenderRefused: "MAIL FROM",
                aiosmtplib.SMTPDataError: "DATA",
                aiosmtplib.SMTPHeloError: "EHLO",
                aiosmtplib.SMTPConnectResponseError: "the greeting",
            }.get(type(error), "the conversation")
            text = f"{error.code} {error.message}".strip()
            if error.code >= 500:
                return Failed(f"{where} refused the message at {stage}: {text}", deviation=True)
            return Retry(f"{where} answered {text} at {stage}")
        if isinstance(error, TimeoutError):  # aiosmtplib's timeouts and the overall one
            return Retry(f"{where} did not answer within {self.config.timeout_seconds:g}s")
        if isinstance(error, ssl.SSLError) or isinstance(error.__cause__, ssl.SSLError):
            # an implicit-TLS handshake fails inside the connect, so aiosmtplib reports it as SMTPConnectError
            return Retry(f"TLS with {where} failed: {error.__cause__ or error}")
        if isinstance(error, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPServerDisconnected | OSError):
            return Retry(f"{where} unreachable: {error}")
        if isinstance(error, aiosmtplib.SMTPNotSupported):
            return Failed(f"{where} cannot take this message: {error}", deviation=True)
        if isinstance(error, aiosmtplib.SMTPException):
            # STARTTLS or AUTH required by the configuration but not offered by the server, and the like.
            return Failed(f"{where}: {error}; check the email channel's security settings", deviation=True)
        if isinstance(error, ValueError):
            return Failed(f"cannot send to {where}: {error}", deviation=True)
        return Retry(f"unexpected error talking to {where}: {error!r}")


__all__ = ["EmailChannel", "EmailConfig", "check_template", "fill_template", "format_amount", "xtext"]
