"""The portal's own e-mails: a one-time sign-in link, or an invitation, sent over SMTP with the installation's
e-mail channel settings (`channels.email.EmailConfig`: host, port, security, credentials, From).

The message names the seller (From display name and Subject), says what the link is for, how long it works
and that a person who did not ask for it may ignore it, in the user's language (nb or en). The link is a
credential: it is never logged (nor is the message); a failure is logged by its kind and the server's reply
code only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import math
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy.orm import Session

from channels.email import EmailConfig, run_coroutine
from db.models import Tenant
from gateway.services.portal.access import INVITE, LinkToSend, PortalUserView, invite_user
from gateway.services.tenancy.tenants import tenant_settings
from gateway.settings import Settings

log = logging.getLogger("gateway.portal.mail")


class MailNotSent(Exception):
    """The message did not leave: no e-mail settings, or the server refused or could not be reached."""


@dataclass(frozen=True)
class LinkMail:
    """What one link e-mail says."""

    to: str
    seller: str
    language: str
    purpose: str  # sign-in or invite
    link: str
    lifetime: dt.timedelta


def _lifetime_text(lifetime: dt.timedelta, language: str) -> str:
    minutes = math.ceil(lifetime.total_seconds() / 60)
    if minutes < 120:
        return f"{minutes} minutter" if language == "nb" else f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    if hours < 48:
        return f"{hours} timer" if language == "nb" else f"{hours} hours"
    days = math.ceil(hours / 24)
    return f"{days} dager" if language == "nb" else f"{days} days"


_SUBJECTS = {
    ("sign-in", "nb"): "Innlogging til fakturaportalen for {seller}",
    ("sign-in", "en"): "Sign in to {seller}'s invoice portal",
    ("invite", "nb"): "Invitasjon til fakturaportalen for {seller}",
    ("invite", "en"): "Invitation to {seller}'s invoice portal",
}

_BODIES = {
    ("sign-in", "nb"): """\
Hei,

Du har bedt om å logge inn i fakturaportalen for {seller}. Åpne lenken under i den samme nettleseren:

{link}

Lenken virker i {lifetime} og kan brukes én gang.

Har du ikke bedt om dette, kan du se bort fra denne e-posten. Ingen får tilgang uten lenken.

Med vennlig hilsen
{seller}
""",
    ("sign-in", "en"): """\
Hello,

You asked to sign in to {seller}'s invoice portal. Open the link below in the same browser:

{link}

The link works for {lifetime} and can be used once.

If you did not ask for this, ignore this e-mail. Nobody gets in without the link.

Kind regards
{seller}
""",
    ("invite", "nb"): """\
Hei,

{seller} har invitert deg til sin fakturaportal. Der ser du fakturaene dine, dokumentene og betalingene,
kan betale med kort og stille spørsmål om en faktura.

Åpne lenken for å komme inn:

{link}

Lenken virker i {lifetime} og kan brukes én gang. Senere logger du inn med en lenke på e-post, eller med
et passord du kan velge under «Konto».

Har du ikke ventet denne invitasjonen, kan du se bort fra denne e-posten.

Med vennlig hilsen
{seller}
""",
    ("invite", "en"): """\
Hello,

{seller} has invited you to its invoice portal. There you see your invoices, their documents and payments,
can pay by card and ask about an invoice.

Open the link to get in:

{link}

The link works for {lifetime} and can be used once. Later you sign in with a link by e-mail, or with a
password you may choose under "Account".

If you did not expect this invitation, ignore this e-mail.

Kind regards
{seller}
""",
}


def seller_name(session: Session, tenant_id: str) -> str:
    """The seller as its customers know it: the PDF template's display name, else the tenant's name."""
    template = tenant_settings(session, tenant_id).pdf_template
    if template is not None and template.company_display_name:
        return template.company_display_name
    tenant = session.get(Tenant, tenant_id)
    return tenant.name if tenant is not None and tenant.name else tenant_id


def link_mail(settings: Settings, link: LinkToSend, *, seller: str, base_url: str | None) -> LinkMail:
    """The e-mail for a link just made: to its user, in its language, with the portal's address first
    (`portal_base_url`, else `base_url`: the address the request came to)."""
    base = (settings.portal_base_url or base_url or "").rstrip("/")
    if not base:
        raise MailNotSent("no portal address to put in the link: set portal_base_url")
    lifetime = (
        dt.timedelta(days=settings.portal_invite_days)
        if link.purpose == INVITE
        else dt.timedelta(minutes=settings.portal_link_minutes)
    )
    return LinkMail(
        to=link.email,
        seller=seller,
        language=link.language,
        purpose=link.purpose,
        link=f"{base}/portal/link/{link.token}",
        lifetime=lifetime,
    )


def email_config(settings: Settings) -> EmailConfig:
    """The installation's e-mail settings, or `MailNotSent` when there are none that hold."""
    raw = settings.channel_settings("email")
    if not raw.get("from_address"):
        raise MailNotSent("no e-mail settings (channels.email.from_address) to send portal links with")
    try:
        return EmailConfig.model_validate(raw)
    except ValueError as error:
        raise MailNotSent(f"the e-mail settings do not hold: {type(error).__name__}") from None


def build_message(config: EmailConfig, mail: LinkMail) -> EmailMessage:
    """The whole message as it leaves: plain text only (a link in plain text is what scanners and readers
    handle best)."""
    language = mail.language if mail.language in ("nb", "en") else "nb"
    purpose = mail.purpose if mail.purpose in ("sign-in", "invite") else "sign-in"
    values = {"seller": mail.seller, "link": mail.link, "lifetime": _lifetime_text(mail.lifetime, language)}
    message = EmailMessage()
    local, _, domain = config.from_address.rpartition("@")
    message["From"] = Address(
        display_name=mail.seller or config.from_name or "", username=local, domain=domain
    )
    message["To"] = mail.to
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Subject"] = " ".join(_SUBJECTS[(purpose, language)].format(**values).split())
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))
    message["Message-ID"] = email.utils.make_msgid(domain=config.effective_bounce_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        _BODIES[(purpose, language)].format(**values), charset="utf-8", cte="quoted-printable"
    )
    return message


def _tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if not config.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def _transmit(config: EmailConfig, message: EmailMessage, recipient: str) -> None:
    smtp = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.effective_port,
        use_tls=config.security == "tls",
        start_tls=config.security == "starttls",
        tls_context=_tls_context(config) if config.security != "none" else None,
        timeout=config.timeout_seconds,
        local_hostname=config.local_hostname,
    )
    try:
        async with asyncio.timeout(config.timeout_seconds):
            await smtp.connect()
            if config.username is not None:
                await smtp.login(
                    config.username, config.password.get_secret_value() if config.password else ""
                )
            await smtp.send_message(message, sender=config.from_address, recipients=[recipient])
    finally:
        if smtp.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await asyncio.wait_for(smtp.quit(), timeout=min(5.0, config.timeout_seconds))
        smtp.close()


def send_link_mail(settings: Settings, mail: LinkMail) -> None:
    """Send the link e-mail now; `MailNotSent` (the reason says nothing of the link) when it did not go."""
    config = email_config(settings)
    message = build_message(config, mail)
    try:
        run_coroutine(_transmit(config, message, mail.to))
    except aiosmtplib.SMTPResponseException as error:
        log.warning("portal link e-mail refused", extra={"code": error.code, "purpose": mail.purpose})
        raise MailNotSent(f"the mail server refused the message ({error.code})") from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        log.warning(
            "portal link e-mail not sent", extra={"error": type(error).__name__, "purpose": mail.purpose}
        )
        raise MailNotSent(f"the mail server could not be reached ({type(error).__name__})") from None
    log.info("portal link e-mail sent", extra={"purpose": mail.purpose})


@dataclass(frozen=True)
class Invitation:
    """An invitation made: the user, and whether its e-mail left (`mail_error` says why not)."""

    user: PortalUserView
    mail_error: str | None

    @property
    def mail_sent(self) -> bool:
        return self.mail_error is None


def invite_and_send(
    session: Session,
    settings: Settings,
    tenant_id: str,
    receiver_id: str,
    email: str,
    *,
    language: str | None,
    invited_by: str,
    base_url: str | None,
    now: dt.datetime,
) -> Invitation:
    """Invite `email` to customer `receiver_id`'s portal pages (`access.invite_user`) and send the
    invitation e-mail: what the API, the CLI and the console do alike.

    The user and its link are committed before the e-mail is tried, so a mail server that is down leaves an
    invitation that can be sent again (inviting again makes a fresh link); the answer says whether the
    e-mail left. `UnknownCustomer` / `PortalAccessError` from `invite_user` when nothing was made."""
    view, link = invite_user(
        session,
        tenant_id,
        receiver_id,
        email,
        language=language,
        invited_by=invited_by,
        lifetime=dt.timedelta(days=settings.portal_invite_days),
        now=now,
    )
    session.commit()  # the user and its link are kept whether or not the mail goes
    try:
        mail = link_mail(settings, link, seller=seller_name(session, tenant_id), base_url=base_url)
        send_link_mail(settings, mail)
    except MailNotSent as error:
        return Invitation(view, str(error))
    return Invitation(view, None)


# --- notices to the customer (gateway.services.portal.notify) ----------------------------------------------


@dataclass(frozen=True)
class NoticeMail:
    """A plain-text notice to one portal user: an answer to its inquiry, or a receipt. It may carry a link
    to a portal page, never a credential (the page asks the reader to sign in)."""

    to: str
    seller: str
    subject: str
    body: str
    kind: str  # inquiry-answer, inquiry-outcome, receipt: what the log lines name


def build_notice(config: EmailConfig, mail: NoticeMail) -> EmailMessage:
    """The notice as it leaves: From the seller's name, plain text, marked auto-generated."""
    message = EmailMessage()
    local, _, domain = config.from_address.rpartition("@")
    message["From"] = Address(
        display_name=mail.seller or config.from_name or "", username=local, domain=domain
    )
    message["To"] = mail.to
    if config.reply_to:
        message["Reply-To"] = config.reply_to
    message["Subject"] = " ".join(mail.subject.split())
    message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))
    message["Message-ID"] = email.utils.make_msgid(domain=config.effective_bounce_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body, charset="utf-8", cte="quoted-printable")
    return message


def send_notice_mail(settings: Settings, mail: NoticeMail) -> None:
    """Send the notice now; `MailNotSent` (with the reason) when it did not go. The log names the kind and
    the server's reply, not the text."""
    config = email_config(settings)
    message = build_notice(config, mail)
    try:
        run_coroutine(_transmit(config, message, mail.to))
    except aiosmtplib.SMTPResponseException as error:
        log.warning("portal notice e-mail refused", extra={"code": error.code, "kind": mail.kind})
        raise MailNotSent(f"the mail server refused the message ({error.code})") from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        log.warning("portal notice e-mail not sent", extra={"error": type(error).__name__, "kind": mail.kind})
        raise MailNotSent(f"the mail server could not be reached ({type(error).__name__})") from None
    log.info("portal notice e-mail sent", extra={"kind": mail.kind})
